// containerd 1.6 `ctr run --cni` driving our plugins (issue 7, "real runtimes end to end"), on
// both builds: a private containerd under a /tmp/cts-* dir, a hand-made busybox OCI image, and
// ctr run inside a private mount namespace whose /etc/cni/net.d and /opt/cni/bin carry our
// flannel + portmap conflist and our plugin dir (the host's /etc/cni and /opt/cni never change).
// See ../../../shared/reference/runtimes.md for how ctr calls plugins: CNI_CONTAINERID
// `<namespace>-<id>`, CNI_NETNS /proc/<pid>/ns/net, DEL with an EMPTY CNI_NETNS on `run --rm`,
// no DEL at all after `run -d` + kill/rm (GC reclaims), failed ADD → `ctr: plugin type=...`.
//
// ctr containers live on the host side of the network: our bridge plugin makes a bridge, veths
// and nat rules on the real host and turns forwarding on (isGateway). Hence unique names and
// ranges (10.251.<n>.0/24 not routed here, bridge ctsctr<n>, network cts-ctr-<pid>-<build>), and
// a teardown that must leave the host exactly as before (iptables, nftables, links, forwarding,
// mounts, processes, cgroups, /run/containerd, the temp dir), asserted by its own test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContainerdDaemon, type CniView, type CtrResult } from '../helpers/containerd';
import { buildBusyboxRootfs } from '../helpers/busybox-rootfs';
import { buildOciImage } from '../helpers/oci-image';
import { compareHost, hostState, lineDiff, removeNewEmptyNftTables, restoreForwarding, type HostState } from '../helpers/host-state';
import { type ConfList, Runtime } from '../helpers/libcni';
import { builds, tempDir } from '../helpers/plugins';
import { sh, shStatus } from '../helpers/sh';
import { contains, mustParseCIDR, overlaps, parseCIDR, parseIP } from '../../shared/ip';
import { formatChainName } from '../../shared/netfilter/names';

const NS = `cts-ctr-${process.pid}`;
const IMAGE = 'localhost/bb:latest';
const IFNAME = 'eth0';
const FLANNEL_NETWORK = '10.251.0.0/16';
/** GC leaves younger scratch files and reservations alone (shared/state/gc-grace.ts, 60 s): dead attachments are aged past it. */
const AGE_MS = 120_000;

interface Net {
  label: string;
  pluginDir: string;
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  dir: string;
  subnetEnv: string;
  flannelDir: string;
  ipamDir: string;
  logFile: string;
  list: ConfList;
  cni: CniView;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cidOf = (id: string): string => `${NS}-${id}`;
const show = (r: CtrResult): string => `exit ${r.code} in ${r.ms} ms\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;

/** Third octets n of 10.251.n.0/24 that nothing on this host routes or addresses, and whose bridge name is free. */
function pickOctets(count: number): number[] {
  const taken = [
    ...(JSON.parse(sh('ip', ['-j', '-4', 'route', 'show', 'table', 'all']) || '[]') as any[]).map((r) => String(r.dst)),
    ...(JSON.parse(sh('ip', ['-j', '-4', 'addr', 'show']) || '[]') as any[]).flatMap((l) => (l.addr_info ?? []).map((a: any) => `${a.local}/${a.prefixlen}`)),
  ]
    .filter((d) => d !== 'default')
    .map((d) => parseCIDR(d.includes('/') ? d : `${d}/32`))
    .filter((c): c is NonNullable<typeof c> => c !== null);
  const links = new Set((JSON.parse(sh('ip', ['-j', 'link', 'show']) || '[]') as any[]).map((l) => String(l.ifname)));
  const out: number[] = [];
  for (let k = 0; k < 230 && out.length < count; k++) {
    const n = 20 + ((process.pid + k) % 230);
    const c = mustParseCIDR(`10.251.${n}.0/24`);
    if (taken.some((t) => overlaps(t, c)) || links.has(`ctsctr${n}`)) continue;
    out.push(n);
  }
  if (out.length < count) throw new Error('no free 10.251.<n>.0/24 on this host');
  return out;
}

function makeNet(root: string, label: string, pluginDir: string, octet: number): Net {
  const dir = path.join(root, label);
  const confDir = path.join(dir, 'net.d');
  fs.mkdirSync(confDir, { recursive: true });
  const net: Omit<Net, 'list' | 'cni'> = {
    label,
    pluginDir,
    name: `${NS}-${label}`,
    bridge: `ctsctr${octet}`,
    subnet: `10.251.${octet}.0/24`,
    gateway: `10.251.${octet}.1`,
    dir,
    subnetEnv: path.join(dir, 'subnet.env'),
    flannelDir: path.join(dir, 'flannel'),
    ipamDir: path.join(dir, 'ipam'),
    logFile: path.join(dir, 'plugins.log'),
  };
  fs.writeFileSync(net.subnetEnv, `FLANNEL_NETWORK=${FLANNEL_NETWORK}\nFLANNEL_SUBNET=${net.gateway}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
  // cniVersion 1.0.0 for ctr (containerd 1.6 vendors libcni 1.1.x, which predates spec 1.1.0);
  // cniVersions lets a 1.1-aware runtime (libcni.ts, for GC) negotiate 1.1.0 from the same file.
  const list: ConfList = {
    name: net.name,
    cniVersion: '1.0.0',
    cniVersions: ['1.0.0', '1.1.0'],
    plugins: [
      {
        type: 'flannel',
        subnetFile: net.subnetEnv,
        dataDir: net.flannelDir,
        delegate: { bridge: net.bridge, hairpinMode: true, isDefaultGateway: true },
        ipam: { dataDir: net.ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  fs.writeFileSync(path.join(confDir, '10-flannel.conflist'), JSON.stringify(list, null, 2));
  return { ...net, list, cni: { confDir, pluginDir } };
}

// ------------------------------------------------------------------ oracles (independent tools)

/** Reservations host-local holds for `cid` (files `<ip>` holding `<containerID>\r\n<ifname>`). */
function addressFiles(net: Net, cid?: string): { ip: string; id: string; ifname: string }[] {
  const d = path.join(net.ipamDir, net.name);
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d)
    .filter((f) => parseIP(f) !== null)
    .map((f) => {
      const [id = '', ifname = ''] = fs.readFileSync(path.join(d, f), 'utf8').split(/\r?\n/);
      return { ip: f, id, ifname };
    })
    .filter((a) => cid === undefined || a.id === cid);
}

const scratchFile = (net: Net, cid: string): string => path.join(net.flannelDir, cid);
const scratchFiles = (net: Net): string[] => (fs.existsSync(net.flannelDir) ? fs.readdirSync(net.flannelDir) : []);

const iptablesSave = (): string[] => sh('iptables-save', []).split('\n');

/** iptables rules whose comment names this attachment (`id: "<cid>"`, as the bridge ipMasq writes it). */
const masqRules = (cid: string, lines = iptablesSave()): string[] => lines.filter((l) => l.startsWith('-A ') && l.includes(`id: \\"${cid}\\"`));

/** The per-attachment masquerade chains (declared, with rules tagged for `cid`). */
function masqChains(cid: string): string[] {
  const lines = iptablesSave();
  const chains = new Set<string>();
  for (const l of masqRules(cid, lines)) {
    const m = /^-A (CNI-[0-9a-f]{24}) /.exec(l);
    if (m) chains.add(m[1]!);
  }
  return [...chains].filter((c) => lines.some((l) => l.startsWith(`:${c} `)));
}

function bridgePorts(net: Net): string[] {
  const r = shStatus('ip', ['-j', 'link', 'show', 'master', net.bridge]);
  if (r.code !== 0) return [];
  return (JSON.parse(r.out || '[]') as any[]).map((l) => String(l.ifname)).sort();
}

/** Labels of the CNI_TS_TIMING lines our plugins print on stderr (ctr relays a plugin's stderr on success). */
const timingLabels = (stderr: string): string[] =>
  [...stderr.matchAll(/^CNI_TS_TIMING (\{.*\})$/gm)].map((m) => String(JSON.parse(m[1]!).label));

/** Our plugins' log lines of the flannel process that handled `cid`'s ADD (CNI_TS_LOG_FILE). */
function addLog(net: Net, cid: string): string[] {
  const lines = fs.existsSync(net.logFile) ? fs.readFileSync(net.logFile, 'utf8').split('\n') : [];
  const first = lines.find((l) => l.includes(`flannel: delegate config for ${cid}:`));
  const pid = first && /\[(\d+)\]/.exec(first)?.[1];
  return pid ? lines.filter((l) => l.includes(`[${pid}]`)) : [];
}

/** Paths under `dir` (null when it does not exist). */
function tree(dir: string): string[] | null {
  if (!fs.existsSync(dir)) return null;
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ------------------------------------------------------------------ suite state

let tmp: { path: string; cleanup(): void } | undefined;
let daemon: ContainerdDaemon | undefined;
let hostBefore: HostState | undefined;
let runContainerdExisted = false;
let varLibCniBefore: string[] | null = null;
const nets: Net[] = [];
let execN = 0;
/** Container IDs (ctr's) this suite used, and the ipMasq chain names their attachments get. */
const usedIds = new Set<string>();
const ourChains = new Set<string>();

/** Registers a container before ctr runs it, so its host state is recognised as ours. */
function use(net: Net, id: string): string {
  usedIds.add(id);
  ourChains.add(formatChainName(net.name, cidOf(id)));
  return id;
}

/**
 * Whether a host state line names one of our identifiers: the namespace (prefix of every
 * network name and CNI_CONTAINERID here), an ipMasq chain of ours, a bridge of ours. Other tests
 * may use the same host at the same time; their lines are not ours.
 */
function isOurs(line: string): boolean {
  if (line.includes(NS)) return true;
  for (const c of ourChains) if (line.includes(c)) return true;
  return nets.some((n) => new RegExp(`(^|[^\\w])${n.bridge}($|[^\\w])`).test(line));
}

const ourIptables = (): string[] => hostState().iptables.filter(isOurs);

const ctrEnv = (net: Net): Record<string, string> => ({
  CNI_TS_LOG_FILE: net.logFile,
  CNI_TS_TIMING: '1',
  // The Node build's plugins start with `#!/usr/bin/env node`.
  PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
});

function d(): ContainerdDaemon {
  if (!daemon) throw new Error('containerd did not start (see the before hook)');
  return daemon;
}

const runDetached = (net: Net, id: string): CtrResult =>
  d().ctr(['run', '-d', '--cni', '--null-io', '--runc-root', d().runcRoot, IMAGE, use(net, id), 'sleep', '600'], { cni: net.cni, env: ctrEnv(net) });

const execIn = (id: string, args: string[]): CtrResult =>
  d().ctr(['task', 'exec', '--exec-id', `x${++execN}`, '--fifo-dir', d().fifoDir, id, ...args], { timeoutMs: 20_000 });

function containerIPv4(id: string): string {
  const r = execIn(id, ['ip', '-o', '-4', 'addr', 'show', 'dev', IFNAME]);
  assert.equal(r.code, 0, show(r));
  const m = /inet (\d+\.\d+\.\d+\.\d+)\/24 /.exec(r.stdout);
  assert.ok(m, `no /24 IPv4 address on ${IFNAME} in ${id}: ${r.stdout}`);
  return m[1]!;
}

/** The attachments a runtime knows: running tasks of this network's containers. */
function runningAttachments(net: Net): { containerID: string; ifname: string }[] {
  const out = d().ctrOk(['task', 'ls']);
  return out
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter(([id, , status]) => !!id && id.startsWith(`${net.label}-`) && status === 'RUNNING')
    .map(([id]) => ({ containerID: cidOf(id!), ifname: IFNAME }));
}

/** Ages the scratch files and address reservations of `cids` (all when absent) past the GC grace. */
function ageScratch(net: Net, cids?: string[]): void {
  const t = new Date(Date.now() - AGE_MS);
  for (const f of scratchFiles(net)) if (!cids || cids.includes(f)) fs.utimesSync(scratchFile(net, f), t, t);
  for (const a of addressFiles(net)) if (!cids || cids.includes(a.id)) fs.utimesSync(path.join(net.ipamDir, net.name, a.ip), t, t);
}

/**
 * A libcni runtime for GC with an empty cache (ctr keeps none): no synthesised DELs, only the
 * plugins' GC with the valid list. `results/` exists, as in any runtime that ever cached.
 */
const gcRuntime = (net: Net): Runtime => {
  const cache = fs.mkdtempSync(path.join(net.dir, 'libcni-cache-'));
  fs.mkdirSync(path.join(cache, 'results'));
  return new Runtime(net.list, net.pluginDir, cache, undefined, { CNI_TS_LOG_FILE: net.logFile });
};

/** Netfilter differences made by other users of the host (their attachments are live). */
const othersNetfilter = (diff: ReturnType<typeof compareHost> | undefined): string[] =>
  (diff?.others ?? []).filter((l) => l.startsWith('iptables ') || l.startsWith('nft '));

interface Teardown {
  problems: string[];
  notes: string[];
  /** The host compared with before the suite (after the cleanup). */
  diff?: ReturnType<typeof compareHost>;
}
let teardownResult: Teardown | undefined;

/**
 * Everything back: containers and daemon gone (no DEL: ctr never sends one for them), the
 * attachments they leaked reclaimed by GC, bridges deleted, the nat base chains/table that
 * appeared for our rules removed, forwarding restored (unless other tests are using the host
 * network right now), temp dir removed. Runs once; never throws.
 */
async function teardown(): Promise<Teardown> {
  if (teardownResult) return teardownResult;
  const res: Teardown = { problems: [], notes: [] };
  teardownResult = res;
  const { problems, notes } = res;
  const step = async (what: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  if (daemon) problems.push(...(await daemon.stop()));
  for (const net of nets) {
    // The kernel destroys a dead container's netns (and its veth) asynchronously.
    await step(`veths of ${net.bridge}`, () => until(`the ports of ${net.bridge} to go`, 10_000, () => bridgePorts(net).length === 0));
    await step(`GC of ${net.name}`, () => {
      ageScratch(net);
      const errors = gcRuntime(net).gc([]);
      if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
    });
    const leftIps = addressFiles(net);
    if (leftIps.length) problems.push(`${net.name}: reservations left after GC: ${JSON.stringify(leftIps)}`);
    const leftScratch = scratchFiles(net);
    if (leftScratch.length) problems.push(`${net.name}: flannel scratch files left after GC: ${leftScratch.join(' ')}`);
    if (shStatus('ip', ['link', 'show', net.bridge]).code === 0) {
      await step(`deleting ${net.bridge}`, () => sh('ip', ['link', 'del', net.bridge]));
    }
  }
  if (hostBefore) {
    const before = hostBefore;
    await step('nftables', () => {
      const r = removeNewEmptyNftTables(before);
      problems.push(...r.problems);
      if (r.deleted.length) notes.push(`removed the empty nftables tables our rules brought: ${r.deleted.join(', ')}`);
      if (r.kept.length) notes.push(`kept new nftables tables others use: ${r.kept.join(', ')}`);
    });
    await step('host comparison', () => {
      res.diff = compareHost(before, hostState(), isOurs);
    });
    await step('forwarding', () => {
      // Another test's containers on the host side (its nat rules show) may need forwarding now.
      const busy = othersNetfilter(res.diff);
      if (busy.length > 0) {
        notes.push(`forwarding left as is (${JSON.stringify(hostState().forwarding)}): another test's rules are on the host: ${busy.join(' | ')}`);
        return;
      }
      const changed = restoreForwarding(before);
      if (changed.length) notes.push(`restored ${changed.join(', ')}`);
    });
  }
  await step('temp dir', () => tmp?.cleanup());
  return res;
}

// ------------------------------------------------------------------ the suite

describe('containerd 1.6 `ctr run --cni` with our flannel + portmap conflist', () => {
  before(async () => {
    for (const tool of ['containerd', 'ctr', 'runc', 'unshare', 'iptables-save', 'nft']) {
      if (shStatus('sh', ['-c', `command -v ${tool}`]).code !== 0) throw new Error(`${tool} is not installed: run bash scripts/test-runtimes.sh (installs containerd, runc, busybox-static)`);
    }
    const bs = builds();
    hostBefore = hostState();
    runContainerdExisted = fs.existsSync('/run/containerd');
    varLibCniBefore = tree('/var/lib/cni');
    tmp = tempDir('ctr');
    const octets = pickOctets(bs.length);
    bs.forEach((b, i) => nets.push(makeNet(tmp!.path, b.label, b.dir, octets[i]!)));
    const image = buildOciImage(buildBusyboxRootfs(tmp.path), tmp.path, { name: IMAGE });
    daemon = await ContainerdDaemon.start(path.join(tmp.path, 'containerd'), NS);
    d().ctrOk(['images', 'import', image.tar], { timeoutMs: 60_000 });
    assert.match(d().ctrOk(['images', 'ls', '-q']), /^localhost\/bb:latest$/m);
  });

  after(async () => {
    // The last test tears down and asserts; this is for runs that never got there.
    const asserted = teardownResult !== undefined;
    const { problems } = await teardown();
    if (!asserted && problems.length) throw new Error(`teardown problems:\n${problems.join('\n')}`);
  });

  for (const label of ['standalone', 'node'] as const) {
    const net = (): Net => {
      const n = nets.find((x) => x.label === label);
      if (!n) throw new Error(`${label} build not set up (see the before hook)`);
      return n;
    };

    test(`${label}: run -d --cni twice: addresses in the node /24, default route via .1, the two ping each other`, { timeout: 60_000 }, async () => {
      const n = net();
      const ids = [`${label}-ping-a`, `${label}-ping-b`];
      const portsBefore = bridgePorts(n);
      for (const id of ids) {
        const r = runDetached(n, id);
        assert.equal(r.code, 0, show(r));
        // Only our builds print CNI_TS_TIMING: both plugins of the list were ours, not /usr/lib/cni's.
        assert.deepEqual(timingLabels(r.stderr), ['flannel ADD', 'portmap ADD'], show(r));
        const log = addLog(n, cidOf(id)).join('\n');
        assert.match(log, /delegate ADD bridge: in-process \(\/opt\/cni\/bin\/bridge\)/, `flannel's bridge delegate was not ours:\n${log}`);
        assert.match(log, /delegate ADD host-local: in-process \(\/opt\/cni\/bin\/host-local\)/, `bridge's IPAM delegate was not ours:\n${log}`);
      }
      const ips = ids.map(containerIPv4);
      for (const ip of ips) {
        assert.ok(contains(mustParseCIDR(n.subnet), parseIP(ip)!), `${ip} not in ${n.subnet}`);
        assert.notEqual(ip, n.gateway);
      }
      assert.notEqual(ips[0], ips[1], 'both containers got the same address');
      for (const id of ids) {
        const r = execIn(id, ['ip', '-4', 'route', 'show']);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, new RegExp(`^default via ${n.gateway.replace(/\./g, '\\.')} dev ${IFNAME}`, 'm'), r.stdout);
      }
      // Host side: the reservation names ctr's CNI_CONTAINERID (<namespace>-<id>) and ifname.
      ids.forEach((id, i) => {
        // libcni in ctr cached the result in what it saw as /var/lib/cni: our dir, not the host's.
        const cache = path.join(d().cniCacheDir, 'results', `${n.name}-${cidOf(id)}-${IFNAME}`);
        assert.equal(JSON.parse(fs.readFileSync(cache, 'utf8')).kind, 'cniCacheV1', cache);
        assert.deepEqual(addressFiles(n, cidOf(id)), [{ ip: ips[i], id: cidOf(id), ifname: IFNAME }]);
        assert.ok(fs.existsSync(scratchFile(n, cidOf(id))), `no flannel scratch file for ${cidOf(id)}`);
        assert.equal(masqChains(cidOf(id)).length, 1, `no ipMasq chain for ${cidOf(id)}:\n${iptablesSave().join('\n')}`);
      });
      const addrs = (JSON.parse(sh('ip', ['-j', '-4', 'addr', 'show', 'dev', n.bridge])) as any[])[0]?.addr_info ?? [];
      assert.deepEqual(addrs.map((a: any) => `${a.local}/${a.prefixlen}`), [`${n.gateway}/24`]);
      assert.equal(bridgePorts(n).length, portsBefore.length + 2, `ports of ${n.bridge}: ${bridgePorts(n).join(' ')}`);
      for (const [from, to] of [[ids[0]!, ips[1]!], [ids[1]!, ips[0]!]]) {
        const r = execIn(from, ['ping', '-c', '1', '-W', '3', to]);
        assert.equal(r.code, 0, `ping ${from} -> ${to}: ${show(r)}`);
        assert.match(r.stdout, /1 packets received/);
      }
    });

    test(`${label}: run --rm --cni: DEL with an empty CNI_NETNS leaves no address, scratch file, veth or ipMasq rule`, { timeout: 60_000 }, async () => {
      const n = net();
      const id = use(n, `${label}-rm`);
      const cid = cidOf(id);
      const portsBefore = bridgePorts(n);
      const iptBefore = ourIptables();
      const running = d().ctrAsync(
        ['run', '--rm', '--cni', '--runc-root', d().runcRoot, '--fifo-dir', d().fifoDir, IMAGE, id, 'sh', '-c', `ip -o -4 addr show dev ${IFNAME}; sleep 1`],
        { cni: n.cni, env: ctrEnv(n), timeoutMs: 30_000 },
      );
      let done = false;
      void running.then(() => (done = true));
      const seen = { address: false, scratch: false, masq: false, veth: false };
      while (!done) {
        seen.address ||= addressFiles(n, cid).length === 1;
        seen.scratch ||= fs.existsSync(scratchFile(n, cid));
        seen.masq ||= masqChains(cid).length === 1;
        seen.veth ||= bridgePorts(n).length === portsBefore.length + 1;
        await sleep(40);
      }
      const r = await running;
      assert.equal(r.code, 0, show(r));
      const m = /inet (\d+\.\d+\.\d+\.\d+)\/24 /.exec(r.stdout);
      assert.ok(m && contains(mustParseCIDR(n.subnet), parseIP(m[1]!)!), `container address not in ${n.subnet}: ${show(r)}`);
      assert.deepEqual(seen, { address: true, scratch: true, masq: true, veth: true }, 'while the container ran, its attachment was not all there');
      assert.deepEqual(addressFiles(n, cid), [], 'address not released');
      assert.equal(fs.existsSync(scratchFile(n, cid)), false, 'flannel scratch file left');
      assert.deepEqual(masqRules(cid), [], 'ipMasq rules left');
      assert.deepEqual(lineDiff(iptBefore, ourIptables()), { removed: [], added: [] }, 'iptables changed');
      await until(`the veth of ${id} to go`, 5000, () => bridgePorts(n).join() === portsBefore.join());
      // ctr ran ADD and then DEL through our plugins only (its stderr relays our timing lines;
      // bridge and host-local ran inside flannel, none was exec'd from /usr/lib/cni).
      assert.deepEqual(timingLabels(r.stderr), ['flannel ADD', 'portmap ADD', 'portmap DEL', 'flannel DEL'], show(r));
      assert.doesNotMatch(d().ctrOk(['container', 'ls', '-q']), new RegExp(`^${id}$`, 'm'));
    });

    test(`${label}: run -d then task kill/rm and c rm (no DEL): leaks that GC with the valid attachments reclaims`, { timeout: 60_000 }, async () => {
      const n = net();
      const live = `${label}-gc-live`;
      const dead = `${label}-gc-dead`;
      for (const id of [live, dead]) {
        const r = runDetached(n, id);
        assert.equal(r.code, 0, show(r));
      }
      const liveIp = containerIPv4(live);
      const deadFiles = addressFiles(n, cidOf(dead));
      assert.equal(deadFiles.length, 1);
      const deadChains = masqChains(cidOf(dead));
      assert.equal(deadChains.length, 1);
      const portsBefore = bridgePorts(n);

      const kill = d().ctr(['task', 'kill', '-s', 'SIGKILL', dead], { cni: n.cni, env: ctrEnv(n) });
      assert.equal(kill.code, 0, show(kill));
      assert.deepEqual(timingLabels(kill.stderr), [], 'ctr called a plugin on task kill');
      await until(`${dead} to stop`, 10_000, () => /\bSTOPPED\b/.test(d().ctrOk(['task', 'ls']).split('\n').find((l) => l.startsWith(dead + ' ')) ?? ''));
      for (const args of [['task', 'rm', dead], ['container', 'rm', dead]]) {
        const r = d().ctr(args, { cni: n.cni, env: ctrEnv(n) });
        assert.equal(r.code, 0, show(r));
        assert.deepEqual(timingLabels(r.stderr), [], `ctr called a plugin on ${args.join(' ')}`);
      }
      // No DEL was sent: the veth went with the netns, everything else leaked.
      await until(`the veth of ${dead} to go`, 5000, () => bridgePorts(n).length === portsBefore.length - 1);
      assert.deepEqual(addressFiles(n, cidOf(dead)), deadFiles, 'expected the leaked reservation');
      assert.ok(fs.existsSync(scratchFile(n, cidOf(dead))), 'expected the leaked scratch file');
      assert.deepEqual(masqChains(cidOf(dead)), deadChains, 'expected the leaked ipMasq chain');

      // Both scratch files are older than flannel's GC grace period, so only validity decides.
      ageScratch(n, [cidOf(dead), cidOf(live)]);
      const valid = runningAttachments(n);
      assert.ok(valid.some((v) => v.containerID === cidOf(live)));
      assert.ok(!valid.some((v) => v.containerID === cidOf(dead)));
      const keptBefore = valid.map((v) => ({ cid: v.containerID, files: addressFiles(n, v.containerID), chains: masqChains(v.containerID) }));
      const rt = gcRuntime(n);
      assert.equal(rt.version, '1.1.0', 'GC needs the list negotiated at 1.1.0');
      const errors = rt.gc(valid);
      assert.deepEqual(errors.map((e) => e.message), []);

      assert.deepEqual(addressFiles(n, cidOf(dead)), [], 'GC left the dead reservation');
      assert.equal(fs.existsSync(scratchFile(n, cidOf(dead))), false, 'GC left the dead scratch file');
      assert.deepEqual(masqRules(cidOf(dead)), [], 'GC left the dead ipMasq rules');
      assert.equal(iptablesSave().some((l) => l.startsWith(`:${deadChains[0]} `)), false, 'GC left the dead ipMasq chain');
      for (const k of keptBefore) {
        assert.deepEqual(addressFiles(n, k.cid), k.files, `GC touched the reservation of running ${k.cid}`);
        assert.equal(k.files.length, 1);
        assert.ok(fs.existsSync(scratchFile(n, k.cid)), `GC removed the scratch file of running ${k.cid}`);
        assert.deepEqual(masqChains(k.cid), k.chains, `GC touched the ipMasq chain of running ${k.cid}`);
        assert.equal(k.chains.length, 1);
      }
      assert.deepEqual(addressFiles(n, cidOf(live)).map((a) => a.ip), [liveIp]);
      const r = execIn(live, ['ping', '-c', '1', '-W', '3', n.gateway]);
      assert.equal(r.code, 0, `the live container lost its network: ${show(r)}`);
    });

    test(`${label}: a plugin failure reaches the ctr user readably and leaks nothing`, { timeout: 60_000 }, async () => {
      const n = net();
      const id = use(n, `${label}-fail`);
      const snapshot = (): unknown => ({
        iptables: ourIptables(),
        ports: bridgePorts(n),
        addresses: addressFiles(n),
        scratch: scratchFiles(n),
      });
      const away = `${n.subnetEnv}.away`;
      fs.renameSync(n.subnetEnv, away);
      try {
        const before0 = snapshot();
        const r = d().ctr(['run', '--rm', '--cni', '--runc-root', d().runcRoot, '--fifo-dir', d().fifoDir, IMAGE, id, 'true'], { cni: n.cni, env: ctrEnv(n) });
        assert.equal(r.code, 1, show(r));
        assert.ok(
          r.stderr.includes(
            `ctr: plugin type="flannel" failed (add): failed to load flannel 'subnet.env' file: open ${n.subnetEnv}: no such file or directory. Check the flannel pod log for this node.`,
          ),
          show(r),
        );
        // ctr tears the failed attachment down with a DEL, which our plugins answer successfully.
        assert.deepEqual(timingLabels(r.stderr), ['portmap DEL', 'flannel DEL'], show(r));
        assert.deepEqual(snapshot(), before0, 'the failed ADD changed the host');
        assert.equal(fs.existsSync(scratchFile(n, cidOf(id))), false);
      } finally {
        fs.renameSync(away, n.subnetEnv);
      }
      // ctr 1.6 leaves the container (task CREATED) behind after a failed `run --rm --cni`.
      for (const args of [['task', 'rm', '-f', id], ['container', 'rm', id]]) {
        const r = d().ctr(args);
        assert.ok(r.code === 0 || /not found/i.test(r.stderr), show(r));
      }
    });
  }

  test('teardown leaves the host exactly as before (iptables, nftables, links, forwarding, processes, mounts, cgroups, temp dir)', { timeout: 90_000 }, async (t) => {
    assert.ok(hostBefore, 'no host snapshot (see the before hook)');
    const root = tmp?.path;
    const { problems, notes, diff } = await teardown();
    for (const note of notes) t.diagnostic(note);
    assert.deepEqual(problems, []);
    assert.ok(diff, 'no host comparison');
    // iptables-save / ip6tables-save, nft list ruleset and links against the snapshot taken before
    // the suite: nothing of ours is left, no skeleton our rules brought. Rules of other tests
    // running on this host at the same time are reported, not failed on.
    assert.deepEqual(diff.ours, [], 'the host differs from before the suite');
    if (othersNetfilter(diff).length === 0) assert.deepEqual(hostState().forwarding, hostBefore.forwarding, 'forwarding not restored');
    if (diff.others.length > 0) t.diagnostic(`changes by other users of the host, not ours: ${diff.others.join(' | ')}`);
    assert.ok(root && !fs.existsSync(root), `${root} still exists`);
    const procs = sh('ps', ['-eo', 'pid=,args=']).split('\n').filter((l) => l.includes(NS) || (root !== undefined && l.includes(root)));
    assert.deepEqual(procs, []);
    assert.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(root ?? '/nonexistent'), false, 'mounts left under the temp dir');
    const cgroups = sh('sh', ['-c', `ls -d /sys/fs/cgroup/${NS} /sys/fs/cgroup/*/${NS} 2>/dev/null || true`]).trim();
    assert.equal(cgroups, '', 'cgroups of the containerd namespace left');
    const sockets = [...usedIds].map((id) => d().shimSocket(id)).filter((f) => fs.existsSync(f));
    assert.deepEqual(sockets, [], 'shim sockets of our containers left in /run/containerd/s');
    if (!runContainerdExisted && fs.existsSync('/run/containerd')) t.diagnostic('/run/containerd exists: another containerd (another test) is using it');
    // libcni's cache of ctr went to our dir: the host's /var/lib/cni is as it was.
    const varLibCni = tree('/var/lib/cni');
    assert.deepEqual((varLibCni ?? []).filter((f) => f.includes(NS)), [], 'ctr cached results in the host /var/lib/cni');
    if (JSON.stringify(varLibCni) !== JSON.stringify(varLibCniBefore)) t.diagnostic(`/var/lib/cni changed (by another test): ${JSON.stringify(varLibCni)}`);
});
});
