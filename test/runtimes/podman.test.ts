// podman 4.3.1 with its CNI backend driving our installed plugins the way users run them: a
// kube-flannel style conflist (flannel → bridge → host-local, then portmap with the
// portMappings capability) in podman's network_config_dir, our plugin dir as cni_plugin_dirs,
// containers from a busybox image. podman calls VERSION, ADD, DEL itself (and conmon's cleanup
// process calls DEL with a minimal environment when a container exits on its own).
// podman's containers live in the host's network namespace: the bridge, veths, nat rules and
// route_localnet the plugins make are real host state, with names and ranges unique to this
// process; the last test removes what the plugins leave by design (the bridges, portmap's
// top-level chains, empty tables iptables-nft made) and asserts the host is exactly as before.
// podman's own files stay in the test's dir (test/helpers/podman.ts).
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { contains, formatIP, lastAddress, mustParseCIDR, mustParseIP, networkOf, overlaps, parseCIDR } from '../../shared/ip';
import { buildBusyboxRootfs } from '../helpers/busybox-rootfs';
import { builds, tempDir } from '../helpers/plugins';
import { hostState, lineDiff, removeNewEmptyNftChains, restoreForwarding, type HostState } from '../helpers/host-state';
import { natChains, natSection, PodmanSandbox, PORTMAP_TOP_CHAINS, purgeNat, removeNewPortmapChains } from '../helpers/podman';
import { sh, shStatus } from '../helpers/sh';

const PID = process.pid;
const IMAGE = 'localhost/bb:latest';
/** flanneld's cluster network for every network here; each network gets its own node /24 in it. */
const CLUSTER = '10.213.0.0/16';
const MTU = 1450;

interface Net {
  name: string;
  bridge: string;
  /** The node subnet (FLANNEL_SUBNET's network). */
  subnet: string;
  gateway: string;
  subnetFile: string;
  hostLocalDir: string;
  flannelDir: string;
  /** Every container ever attached here (to find leftovers by ID). */
  ids: string[];
}

interface Ctx {
  label: string;
  pluginDir: string;
  conf: string;
  /** kube-flannel's default lease (FLANNEL_IPMASQ=true: the delegate gets ipMasq false). */
  main: Net;
  /** FLANNEL_IPMASQ=false: bridge masquerades (its CNI-<hash> chain), portmap maps a port. */
  life: Net;
  /** subnet.env missing or garbled. */
  fail: Net;
  /** a /30 lease: room for one container. */
  tiny: Net;
  webPort: number;
  lifePort: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha512 = (s: string): string => createHash('sha512').update(s).digest('hex');
/** portmap's per-container chain (names are the reference's contract). */
const dnChain = (netName: string, id: string): string => `CNI-DN-${sha512(netName + id)}`.slice(0, 28);
/** bridge ipMasq's per-container chain. */
const masqChain = (netName: string, id: string): string => `CNI-${sha512(netName + id)}`.slice(0, 28);

async function eventually<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
    await sleep(100);
  }
}

function httpGet(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

/** Host IPv4 routes (every table) overlapping `cidr`, default routes aside. */
function routesOverlapping(cidr: string): string[] {
  const c = mustParseCIDR(cidr);
  return (JSON.parse(sh('ip', ['-4', '-j', 'route', 'show', 'table', 'all']) || '[]') as any[])
    .filter((r) => r.dst && r.dst !== 'default')
    .filter((r) => {
      const d = parseCIDR(String(r.dst).includes('/') ? r.dst : `${r.dst}/32`);
      return !!d && overlaps(d, c);
    })
    .map((r) => `${r.dst} dev ${r.dev ?? '?'} table ${r.table ?? 'main'}`);
}

function linkExists(name: string): boolean {
  return shStatus('ip', ['link', 'show', 'dev', name]).code === 0;
}

/** The bridge's ports with the details the kube-flannel delegate asks for. */
function bridgePorts(bridge: string): Array<{ name: string; mtu: number; hairpin: boolean | undefined }> {
  if (!linkExists(bridge)) return [];
  return (JSON.parse(sh('ip', ['-d', '-j', 'link', 'show', 'master', bridge]) || '[]') as any[]).map((l) => ({
    name: String(l.ifname),
    mtu: Number(l.mtu),
    hairpin: l.linkinfo?.info_slave_data?.hairpin,
  }));
}

/** nat rules and chains (both families) that belong to `n`: by network name, container ID or per-container chain. */
function natFootprint(n: Net): string[] {
  const needles = [n.name, ...n.ids.flatMap((id) => [id, dnChain(n.name, id), masqChain(n.name, id)])];
  return [...natSection('v4'), ...natSection('v6')]
    .map((l) => l.replace(/\s*\[\d+:\d+\]$/, ''))
    .filter((l) => needles.some((x) => l.includes(x)));
}

/** Everything the plugins keep for network `n` outside the kernel's links: reservations, flannel's saved configs, podman's result cache. */
function stateFiles(sandbox: PodmanSandbox, n: Net): { addresses: Record<string, string>; scratch: string[]; cache: string[] } {
  const ls = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);
  const netDir = path.join(n.hostLocalDir, n.name);
  const addresses: Record<string, string> = {};
  for (const f of ls(netDir)) {
    if (f === 'lock' || f.startsWith('last_reserved_ip.')) continue;
    addresses[f] = fs.readFileSync(path.join(netDir, f), 'utf8');
  }
  return { addresses, scratch: ls(n.flannelDir), cache: ls(sandbox.cniResultsDir).filter((f) => f.startsWith(`${n.name}-`)) };
}

interface ContainerNet {
  ip: string;
  cidr: string;
  mtu: number;
  routes: string[];
}

describe('podman 4.3 (CNI backend) running our plugins', { timeout: 300_000 }, () => {
  const BUILDS = builds();
  const tmp = tempDir('podman');
  let sandbox: PodmanSandbox | undefined;
  let hostBefore: HostState | undefined;
  let natBefore: ReturnType<typeof natChains> | undefined;
  let hostIP = '';
  const ctx: Ctx[] = [];
  let tornDown = false;
  /** Host paths podman 4.3 writes without a setting for them (kept in the sandbox's overlays). */
  const HOST_PATHS = ['/var/lib/cni', '/var/lib/containers', '/run/runc', '/run/containers', '/run/libpod'];
  const hostPathsBefore = new Map<string, boolean>();

  const sb = (): PodmanSandbox => {
    if (!sandbox) throw new Error('podman sandbox not set up (see the before hook failure)');
    return sandbox;
  };
  const allNets = (): Net[] => ctx.flatMap((c) => [c.main, c.life, c.fail, c.tiny]);

  function containerNet(c: Ctx, name: string): ContainerNet {
    const out = sb().podmanOk(c.conf, ['exec', name, 'sh', '-c', 'ip -4 -o addr show dev eth0; echo MTU $(cat /sys/class/net/eth0/mtu); ip -4 route show']);
    const cidr = /inet (\d+\.\d+\.\d+\.\d+\/\d+)/.exec(out)?.[1];
    const mtu = /^MTU (\d+)$/m.exec(out)?.[1];
    assert.ok(cidr && mtu, `cannot read eth0 of ${name}: ${out}`);
    const routes = out
      .split('\n')
      .filter((l) => !/inet |^MTU /.test(l) && l.trim() !== '')
      .map((l) => l.trim().replace(/\s+/g, ' '));
    return { ip: cidr.split('/')[0]!, cidr, mtu: Number(mtu), routes };
  }

  function containerId(c: Ctx, name: string): string {
    return sb().podmanOk(c.conf, ['inspect', '--format', '{{.Id}}', name]);
  }

  /** What podman recorded from our chain's result for `name` on `n`. */
  function podmanSeen(c: Ctx, name: string, n: Net): { IPAddress?: string; Gateway?: string; IPPrefixLen?: number } {
    const nets = JSON.parse(sb().podmanOk(c.conf, ['inspect', '--format', '{{json .NetworkSettings.Networks}}', name]));
    return nets?.[n.name] ?? {};
  }

  function writeSubnetEnv(n: Net, ipMasq: boolean): void {
    const prefix = n.subnet.split('/')[1];
    fs.writeFileSync(n.subnetFile, `FLANNEL_NETWORK=${CLUSTER}\nFLANNEL_SUBNET=${n.gateway}/${prefix}\nFLANNEL_MTU=${MTU}\nFLANNEL_IPMASQ=${ipMasq}\n`);
  }

  function makeNet(dir: string, name: string, bridge: string, subnet: string): Net {
    fs.mkdirSync(dir, { recursive: true });
    const s = mustParseCIDR(subnet);
    const n: Net = {
      name,
      bridge,
      subnet,
      gateway: formatIP({ family: 4, value: networkOf(s).ip.value + 1n }),
      subnetFile: path.join(dir, 'subnet.env'),
      hostLocalDir: path.join(dir, 'networks'),
      flannelDir: path.join(dir, 'flannel'),
      ids: [],
    };
    sb().writeNetwork({
      name,
      cniVersion: '0.3.1',
      plugins: [
        {
          type: 'flannel',
          subnetFile: n.subnetFile,
          dataDir: n.flannelDir,
          ipam: { dataDir: n.hostLocalDir },
          delegate: { bridge, hairpinMode: true, isDefaultGateway: true },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    });
    return n;
  }

  /** Undoes what the plugins leave by design and podman's sandbox; returns the problems found. */
  async function teardown(): Promise<{ problems: string[]; undone: string[] }> {
    const problems: string[] = [];
    const undone: string[] = [];
    if (sandbox) {
      problems.push(...(await sandbox.stop()).map((p) => `podman sandbox: ${p}`));
      sandbox = undefined;
    }
    for (const n of allNets()) {
      const ports = bridgePorts(n.bridge);
      if (ports.length) problems.push(`bridge ${n.bridge} still has ports after every container is gone: ${ports.map((p) => p.name).join(' ')}`);
      if (linkExists(n.bridge)) {
        const r = shStatus('ip', ['link', 'del', n.bridge]);
        if (r.code === 0) undone.push(`bridge ${n.bridge}`);
        else problems.push(`ip link del ${n.bridge}: ${r.err.trim()}`);
      }
    }
    // Per-container rules are the plugins' to delete: any found now is a leak (reported), removed
    // so that the host is clean even when the test fails.
    const nets = allNets();
    const leaked = purgeNat(
      nets.flatMap((n) => n.ids.flatMap((id) => [dnChain(n.name, id), masqChain(n.name, id)])),
      nets.flatMap((n) => [n.name, ...n.ids]),
    );
    problems.push(...leaked.removed.map((l) => `leaked nat rule or chain (removed): ${l}`), ...leaked.problems);
    if (natBefore) {
      const r = removeNewPortmapChains(natBefore);
      undone.push(...r.removed);
      problems.push(...r.problems);
    }
    if (hostBefore) {
      const r = removeNewEmptyNftChains(hostBefore);
      undone.push(...r.removed);
      problems.push(...r.problems);
      undone.push(...restoreForwarding(hostBefore));
    }
    tmp.cleanup();
    tornDown = true;
    return { problems, undone };
  }

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the runtimes tier needs root (podman as root, host bridges and nat rules)');
    hostBefore = hostState();
    natBefore = natChains();
    for (const p of HOST_PATHS) hostPathsBefore.set(p, fs.existsSync(p));
    // Node subnets: 8 /24s (4 per build) at a per-process offset inside the cluster /16.
    const third = 16 + (PID % 29) * 8;
    const clash = [CLUSTER, ...Array.from({ length: 8 }, (_, i) => `10.213.${third + i}.0/24`)].flatMap(routesOverlapping);
    assert.deepEqual(clash, [], `host routes overlap ${CLUSTER}: pick another range in the test`);
    const ports: number[] = [];
    for (let p = 20000 + (PID % 4000) * 2; ports.length < 2 * BUILDS.length && p < 29999; p++) if (await portFree(p)) ports.push(p);
    assert.equal(ports.length, 2 * BUILDS.length, 'no free host ports in 20000-29999');
    const ipv4 = (JSON.parse(sh('ip', ['-4', '-j', 'addr', 'show', 'up', 'scope', 'global'])) as any[]).filter((l) => l.ifname !== 'lo' && !String(l.ifname).startsWith('cts'));
    hostIP = ipv4.flatMap((l) => (l.addr_info ?? []).map((a: any) => String(a.local)))[0] ?? '';
    assert.ok(hostIP, 'the host has no global IPv4 address on an up interface: the published-port test needs one');

    sandbox = await PodmanSandbox.start(tmp.path, `ctspm-${PID}`);
    const tar = buildBusyboxRootfs(tmp.path);
    BUILDS.forEach((b, i) => {
      const k = b.label[0]!; // s | n
      const dir = (x: string): string => path.join(tmp.path, b.label, x);
      const o = third + i * 4;
      const bridge = (x: string): string => `ctspm${PID % 100000}${k}${x}`;
      const netName = (x: string): string => `ctspm-${PID}-${k}${x}`;
      const main = makeNet(dir('main'), netName('main'), bridge('m'), `10.213.${o}.0/24`);
      const life = makeNet(dir('life'), netName('life'), bridge('l'), `10.213.${o + 1}.0/24`);
      const fail = makeNet(dir('fail'), netName('fail'), bridge('f'), `10.213.${o + 2}.0/24`);
      const tiny = makeNet(dir('tiny'), netName('tiny'), bridge('t'), `10.213.${o + 3}.0/30`);
      for (const n of [main, life, fail, tiny]) assert.equal(linkExists(n.bridge), false, `link ${n.bridge} exists already`);
      writeSubnetEnv(main, true);
      writeSubnetEnv(life, false);
      writeSubnetEnv(tiny, true);
      const conf = sb().writeContainersConf(b.label, [b.dir], main.name);
      ctx.push({ label: b.label, pluginDir: b.dir, conf, main, life, fail, tiny, webPort: ports[2 * i]!, lifePort: ports[2 * i + 1]! });
    });
    sb().podmanOk(ctx[0]!.conf, ['import', '--change', 'CMD ["/bin/sh"]', tar, IMAGE]);
  });

  after(async () => {
    if (tornDown) return;
    const { problems } = await teardown();
    if (problems.length) console.error(`podman test teardown problems:\n${problems.join('\n')}`);
  });

  for (const [i, b] of BUILDS.entries()) {
    const C = (): Ctx => {
      const c = ctx[i];
      if (!c) throw new Error('setup did not complete (see the before hook failure)');
      return c;
    };

    it(`${b.label}: two containers get node addresses, MTU and routes and ping each other; an exiting one is detached by conmon`, async (t: TestContext) => {
      const c = C();
      const n = c.main;
      const names = [`${b.label}-one`, `${b.label}-two`];
      const brief = `${b.label}-brief`;
      const subnet = mustParseCIDR(n.subnet);
      // podman passes --mac-address and --ip as CNI_ARGS MAC= and IP= (bridge and host-local honour them).
      const hex = (x: number): string => x.toString(16).padStart(2, '0');
      const mac = `02:42:0a:${hex(i)}:${hex((PID >> 8) & 0xff)}:${hex(PID & 0xff)}`;
      const staticIP = formatIP({ family: 4, value: networkOf(subnet).ip.value + 77n });
      try {
        sb().podmanOk(c.conf, ['run', '-d', '--name', names[0]!, '--network', n.name, '--mac-address', mac, '--cap-add', 'NET_RAW', IMAGE, 'sleep', '300']);
        n.ids.push(containerId(c, names[0]!));
        sb().podmanOk(c.conf, ['run', '-d', '--name', names[1]!, '--network', n.name, '--ip', staticIP, '--cap-add', 'NET_RAW', IMAGE, 'sleep', '300']);
        n.ids.push(containerId(c, names[1]!));
        const seen: ContainerNet[] = [];
        for (const name of names) {
          const cn = containerNet(c, name);
          t.diagnostic(`${name}: ${cn.cidr} mtu ${cn.mtu}; ${cn.routes.join('; ')}`);
          const ip = mustParseIP(cn.ip);
          assert.ok(contains(subnet, ip), `${name}: ${cn.ip} is not in the node subnet ${n.subnet}`);
          assert.ok(![formatIP(networkOf(subnet).ip), n.gateway, formatIP(lastAddress(subnet))].includes(cn.ip), `${name}: got a reserved address ${cn.ip}`);
          assert.equal(cn.cidr.split('/')[1], n.subnet.split('/')[1], `${name}: prefix of ${cn.cidr}`);
          assert.equal(cn.mtu, MTU, `${name}: eth0 MTU`);
          assert.ok(cn.routes.includes(`default via ${n.gateway} dev eth0`), `${name}: no default route via ${n.gateway}: ${cn.routes.join('; ')}`);
          assert.ok(cn.routes.includes(`${CLUSTER} via ${n.gateway} dev eth0`), `${name}: no route to the flannel network ${CLUSTER}: ${cn.routes.join('; ')}`);
          // podman got our result (it shows it in inspect and caches it for DEL).
          const ps = podmanSeen(c, name, n);
          assert.equal(ps.IPAddress, cn.ip, `podman inspect of ${name}: ${JSON.stringify(ps)}`);
          assert.equal(ps.Gateway, n.gateway, `podman inspect of ${name}: ${JSON.stringify(ps)}`);
          seen.push(cn);
        }
        assert.notEqual(seen[0]!.ip, seen[1]!.ip, 'both containers got the same address');
        assert.equal(seen[1]!.ip, staticIP, `${names[1]} asked for --ip ${staticIP}`);
        const eth0 = sb().podmanOk(c.conf, ['exec', names[0]!, 'cat', '/sys/class/net/eth0/address']);
        assert.equal(eth0, mac, `${names[0]} asked for --mac-address ${mac}`);
        // Host side: the gateway on our bridge, one hairpin port per container with the flannel MTU.
        const brAddrs = (JSON.parse(sh('ip', ['-4', '-j', 'addr', 'show', 'dev', n.bridge]))[0]?.addr_info ?? []).map((a: any) => `${a.local}/${a.prefixlen}`);
        assert.deepEqual(brAddrs, [`${n.gateway}/${n.subnet.split('/')[1]}`], `addresses of ${n.bridge}`);
        const ports = bridgePorts(n.bridge);
        assert.equal(ports.length, 2, `ports of ${n.bridge}: ${JSON.stringify(ports)}`);
        for (const p of ports) {
          assert.equal(p.mtu, MTU, `host veth ${p.name} MTU`);
          assert.equal(p.hairpin, true, `host veth ${p.name} hairpin (delegate hairpinMode)`);
        }
        // Traffic: each way between the containers, and to the gateway on the host.
        const ping = (from: string, to: string): void => {
          const r = sb().podman(c.conf, ['exec', from, 'ping', '-c', '1', '-W', '2', to]);
          assert.equal(r.code, 0, `${from} → ${to}: ${r.stdout}${r.stderr}`);
          assert.match(r.stdout, /1 packets received/, `${from} → ${to}`);
        };
        ping(names[0]!, seen[1]!.ip);
        ping(names[1]!, seen[0]!.ip);
        ping(names[0]!, n.gateway);

        // A container whose process exits on its own: no podman command runs meanwhile, so the
        // DEL comes from conmon's cleanup process (`podman container cleanup`, minimal env).
        const before = stateFiles(sb(), n);
        sb().podmanOk(c.conf, ['run', '-d', '--name', brief, '--network', n.name, IMAGE, 'sleep', '2']);
        const bid = containerId(c, brief);
        n.ids.push(bid);
        assert.ok(Object.values(stateFiles(sb(), n).addresses).includes(`${bid}\r\neth0`), `${brief} got no reservation`);
        await eventually(
          `${brief} exits and conmon's cleanup detaches it`,
          () => {
            assert.deepEqual(stateFiles(sb(), n), before, `${brief}: state files`);
            assert.equal(bridgePorts(n.bridge).length, 2, `${brief}: ports of ${n.bridge}`);
          },
          15_000,
        );
        assert.equal(sb().podmanOk(c.conf, ['inspect', '--format', '{{.State.Status}}', brief]), 'exited');
        assert.deepEqual(natFootprint(n), [], 'nat rules (none expected: no ports, FLANNEL_IPMASQ=true)');
      } finally {
        sb().podman(c.conf, ['rm', '--force', '--time', '0', ...names, brief]);
      }
      assert.deepEqual(bridgePorts(n.bridge), [], `veths left on ${n.bridge} after rm`);
      assert.deepEqual(stateFiles(sb(), n), { addresses: {}, scratch: [], cache: [] }, 'state left after rm');
    });

    it(`${b.label}: a published port answers at the host address, at 127.0.0.1 and from the container itself`, async (t: TestContext) => {
      const c = C();
      const n = c.main;
      const name = `${b.label}-web`;
      const token = `cts-podman-${b.label}-${PID}`;
      const P = c.webPort;
      let id = '';
      try {
        sb().podmanOk(c.conf, ['run', '-d', '--name', name, '--network', n.name, '-p', `${P}:80`, IMAGE, 'sh', '-c', `mkdir -p /www && echo ${token} > /www/index.html && exec httpd -f -p 80 -h /www`]);
        id = containerId(c, name);
        n.ids.push(id);
        const { ip } = containerNet(c, name);
        // From the host to its own non-loopback address: nat OUTPUT → CNI-HOSTPORT-DNAT.
        assert.equal(await eventually(`GET http://${hostIP}:${P}/`, () => httpGet(hostIP, P)), `${token}\n`);
        // 127.0.0.1 needs the localhost SETMARK/masquerade rule and route_localnet on the bridge (reference behaviour).
        assert.equal(await httpGet('127.0.0.1', P), `${token}\n`, `GET http://127.0.0.1:${P}/`);
        assert.equal(fs.readFileSync(`/proc/sys/net/ipv4/conf/${n.bridge}/route_localnet`, 'utf8').trim(), '1', `route_localnet on ${n.bridge}`);
        // Hairpin: the container reaching itself through the host port (hairpinMode + portmap's hairpin SNAT).
        const hp = sb().podman(c.conf, ['exec', name, 'timeout', '5', 'wget', '-q', '-O', '-', `http://${hostIP}:${P}/`]);
        assert.equal(hp.stdout, `${token}\n`, `hairpin GET from ${name}: ${hp.stderr}`);
        const dn = dnChain(n.name, id);
        const nat = natFootprint(n);
        t.diagnostic(nat.join('\n'));
        assert.ok(nat.includes(`-A ${dn} -p tcp -m tcp --dport ${P} -j DNAT --to-destination ${ip}:80`), `DNAT rule for ${ip}:80 in ${dn}:\n${nat.join('\n')}`);
        assert.ok(nat.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') && l.includes(`id: \\"${id}\\"`) && l.endsWith(`-j ${dn}`)), `entry rule for ${id}:\n${nat.join('\n')}`);
        assert.ok(nat.includes(`-A ${dn} -s 127.0.0.1/32 -p tcp -m tcp --dport ${P} -j CNI-HOSTPORT-SETMARK`), `localhost SETMARK rule:\n${nat.join('\n')}`);
      } finally {
        sb().podman(c.conf, ['rm', '--force', '--time', '0', name]);
      }
      assert.deepEqual(natFootprint(n), [], `nat rules left for ${id} after rm`);
      await assert.rejects(httpGet('127.0.0.1', P, 1000), `127.0.0.1:${P} still answers after rm`);
      assert.deepEqual(stateFiles(sb(), n), { addresses: {}, scratch: [], cache: [] }, 'state left after rm');
      assert.deepEqual(bridgePorts(n.bridge), [], `veths left on ${n.bridge}`);
    });

    // The lifecycle and failure paths run with the standalone build only (the Node build's
    // extra ~0.3 s per plugin exec on every VERSION/ADD/DEL would double the tier's time);
    // the Node build runs the main scenario above, including conmon's DEL.
    if (b.label !== 'standalone') continue;

    it(`${b.label}: stop, start, restart, network reload and rm leave no reservation, scratch file, veth, rule or cache behind`, async (t: TestContext) => {
      const c = C();
      const n = c.life;
      const s = sb();
      const name = `${b.label}-life`;
      const P = c.lifePort;

      /** Exactly one attachment (container `id`) on `n`, with its masquerade and port rules. */
      const expectAttached = async (step: string, id: string): Promise<string> => {
        const f = stateFiles(s, n);
        const mine = Object.entries(f.addresses);
        assert.equal(mine.length, 1, `${step}: reservations ${JSON.stringify(f.addresses)}`);
        const [ip, owner] = mine[0]!;
        assert.equal(owner, `${id}\r\neth0`, `${step}: owner of ${ip}`);
        assert.deepEqual(f.scratch, [id], `${step}: flannel scratch files`);
        assert.deepEqual(f.cache, [`${n.name}-${id}-eth0`], `${step}: podman's result cache`);
        const cached = JSON.parse(fs.readFileSync(path.join(s.cniResultsDir, f.cache[0]!), 'utf8'));
        assert.equal(String(cached.result?.ips?.[0]?.address), `${ip}/24`, `${step}: cached result`);
        assert.equal(bridgePorts(n.bridge).length, 1, `${step}: ports of ${n.bridge}`);
        const nat = natFootprint(n);
        const masq = masqChain(n.name, id);
        const dn = dnChain(n.name, id);
        assert.ok(nat.some((l) => l.startsWith(`:${masq} `)), `${step}: ipMasq chain ${masq}:\n${nat.join('\n')}`);
        assert.ok(nat.some((l) => l.startsWith(`-A POSTROUTING -s ${ip}/32 `) && l.endsWith(`-j ${masq}`) && l.includes(`id: \\"${id}\\"`)), `${step}: masquerade jump for ${ip}:\n${nat.join('\n')}`);
        assert.ok(nat.includes(`-A ${dn} -p tcp -m tcp --dport ${P} -j DNAT --to-destination ${ip}:80`), `${step}: DNAT for ${ip}:\n${nat.join('\n')}`);
        // Only this container's rules: nothing of an earlier attachment survived.
        for (const old of n.ids.filter((x) => x !== id)) assert.deepEqual(nat.filter((l) => l.includes(old) || l.includes(dnChain(n.name, old)) || l.includes(masqChain(n.name, old))), [], `${step}: rules of ${old}`);
        assert.equal(await eventually(`${step}: GET ${hostIP}:${P}`, () => httpGet(hostIP, P)), `${name}\n`);
        return ip;
      };
      const expectDetached = (step: string): void => {
        assert.deepEqual(stateFiles(s, n), { addresses: {}, scratch: [], cache: [] }, `${step}: state files`);
        assert.deepEqual(bridgePorts(n.bridge), [], `${step}: ports of ${n.bridge}`);
        assert.deepEqual(natFootprint(n), [], `${step}: nat rules`);
      };

      try {
        s.podmanOk(c.conf, ['run', '-d', '--name', name, '--network', n.name, '-p', `${P}:80`, IMAGE, 'sh', '-c', `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 80 -h /www`]);
        const id = containerId(c, name);
        n.ids.push(id);
        const ip1 = await expectAttached('run', id);
        s.podmanOk(c.conf, ['stop', '--time', '0', name]);
        expectDetached('stop');
        s.podmanOk(c.conf, ['start', name]);
        const ip2 = await expectAttached('start', id);
        s.podmanOk(c.conf, ['restart', '--time', '0', name]);
        const ip3 = await expectAttached('restart', id);
        // network reload: DEL then ADD in the running container's netns, asking for the same
        // address again (CNI_ARGS IP=).
        s.podmanOk(c.conf, ['network', 'reload', name]);
        const ip4 = await expectAttached('network reload', id);
        assert.equal(ip4, ip3, 'network reload keeps the address');
        t.diagnostic(`addresses: run ${ip1}, start ${ip2}, restart ${ip3}, reload ${ip4}`);
        s.podmanOk(c.conf, ['rm', '--force', '--time', '0', name]);
        expectDetached('rm -f');
        assert.equal(s.podman(c.conf, ['container', 'exists', name]).code, 1, `${name} still exists`);
      } finally {
        s.podman(c.conf, ['rm', '--force', '--time', '0', name]);
      }
      expectDetached('end');
    });

    it(`${b.label}: a failing ADD reaches the user as a readable error and leaks nothing`, async (t: TestContext) => {
      const c = C();
      const s = sb();
      // podman's exit status for a failed network setup comes from the message text
      // (libpod define.ExitCode): 127 when it contains "not found" or "no such file", else 126.
      const runFailing = (n: Net, name: string, status: number): string => {
        const natBeforeRun = [...natSection('v4'), ...natSection('v6')];
        const r = s.podman(c.conf, ['run', '--rm', '--name', name, '--network', n.name, IMAGE, 'true']);
        t.diagnostic(`${name}: exit ${r.code}: ${r.stderr.trim()}`);
        assert.equal(r.code, status, `podman run on ${n.name} should fail with ${status}: ${r.stderr}`);
        assert.ok(r.stderr.includes('plugin type="flannel" failed (add)'), `stderr: ${r.stderr}`);
        assert.equal(s.podman(c.conf, ['container', 'exists', name]).code, 1, `${name} left behind`);
        assert.deepEqual(lineDiff(natBeforeRun, [...natSection('v4'), ...natSection('v6')]), { removed: [], added: [] }, `nat rules changed by the failed run`);
        return r.stderr;
      };

      // subnet.env missing (flanneld has no lease yet): flannel fails before delegating.
      const f = c.fail;
      fs.rmSync(f.subnetFile, { force: true });
      let err = runFailing(f, `${b.label}-nolease`, 127);
      assert.ok(err.includes(`open ${f.subnetFile}: no such file or directory`), `the message names the missing file: ${err}`);
      assert.deepEqual(stateFiles(s, f), { addresses: {}, scratch: [], cache: [] }, 'state after the missing subnet.env');
      assert.equal(linkExists(f.bridge), false, `${f.bridge} created although flannel failed`);

      // subnet.env garbled: the reference's message lists the missing keys.
      fs.writeFileSync(f.subnetFile, `FLANNEL_NETWORK=${CLUSTER}\nFLANNEL_SUBNET=${f.gateway}/24\n`);
      err = runFailing(f, `${b.label}-garbled`, 126);
      assert.ok(err.includes(`${f.subnetFile} is missing FLANNEL_MTU, FLANNEL_IPMASQ`), `the message names the file and the keys: ${err}`);
      assert.deepEqual(stateFiles(s, f), { addresses: {}, scratch: [], cache: [] }, 'state after the garbled subnet.env');
      assert.equal(linkExists(f.bridge), false, `${f.bridge} created although flannel failed`);

      // A failure deep in the chain (host-local: the /30 lease is full) after the bridge made
      // the veth: the failed ADD and podman's DEL without prevResult must undo all of it.
      const n = c.tiny;
      const first = `${b.label}-tiny1`;
      try {
        s.podmanOk(c.conf, ['run', '-d', '--name', first, '--network', n.name, '--cap-add', 'NET_RAW', IMAGE, 'sleep', '300']);
        const id = containerId(c, first);
        n.ids.push(id);
        const held = stateFiles(s, n);
        err = runFailing(n, `${b.label}-tiny2`, 126);
        assert.match(err, /no IP addresses available in range set/, 'host-local names the problem');
        assert.deepEqual(stateFiles(s, n), held, `only ${first}'s reservation, scratch file and cache remain`);
        assert.deepEqual(Object.values(held.addresses), [`${id}\r\neth0`], `${first}'s reservation`);
        assert.equal(bridgePorts(n.bridge).length, 1, `ports of ${n.bridge} (only ${first}'s)`);
        // The first container still works through it all.
        const pg = s.podman(c.conf, ['exec', first, 'ping', '-c', '1', '-W', '2', n.gateway]);
        assert.equal(pg.code, 0, `${first} → ${n.gateway} after the failed ADD: ${pg.stdout}${pg.stderr}`);
      } finally {
        s.podman(c.conf, ['rm', '--force', '--time', '0', first]);
      }
      assert.deepEqual(stateFiles(s, n), { addresses: {}, scratch: [], cache: [] }, `state after removing ${first}`);
      assert.deepEqual(bridgePorts(n.bridge), [], `ports of ${n.bridge}`);
    });
  }

  it('leaves the host exactly as it was', async (t: TestContext) => {
    assert.ok(hostBefore, 'no snapshot of the host (before hook failed)');
    const calls = sandbox?.calls ?? [];
    const slow = [...calls].sort((a, b) => b.ms - a.ms).slice(0, 8);
    t.diagnostic(`${calls.length} podman calls, ${calls.reduce((s, c) => s + c.ms, 0)} ms; slowest: ${slow.map((c) => `${c.args.slice(0, 3).join(' ')} ${c.ms} ms`).join(', ')}`);
    const { problems, undone } = await teardown();
    t.diagnostic(`undone after the plugins' own DELs (left by design: bridges, portmap's top-level chains, tables iptables-nft made): ${undone.join('; ') || 'nothing'}`);
    assert.deepEqual(problems, [], 'teardown problems');
    const now = hostState();
    // First nothing of ours, by name (precise even when someone else changes the host meanwhile)…
    const needles = [
      ...allNets().flatMap((n) => [n.name, n.bridge, ...n.ids.flatMap((id) => [id, dnChain(n.name, id), masqChain(n.name, id)])]),
      ...PORTMAP_TOP_CHAINS.filter((c) => !natBefore!.v4.has(c) && !natBefore!.v6.has(c)),
    ];
    const ours = [...now.iptables, ...now.nft, ...now.links].filter((l) => needles.some((x) => l.includes(x)));
    assert.deepEqual(ours, [], 'rules, chains or links of this test are still on the host');
    // …then the whole host as it was (other tests changing the host's netfilter concurrently would show here too).
    assert.deepEqual(lineDiff(hostBefore!.iptables, now.iptables), { removed: [], added: [] }, 'iptables-save / ip6tables-save differ from before the test');
    assert.deepEqual(lineDiff(hostBefore!.nft, now.nft), { removed: [], added: [] }, 'nft ruleset differs from before the test');
    assert.deepEqual(lineDiff(hostBefore!.links, now.links), { removed: [], added: [] }, 'host links differ from before the test');
    assert.deepEqual(now.forwarding, hostBefore!.forwarding, 'forwarding sysctls');
    assert.equal(fs.existsSync(tmp.path), false, `${tmp.path} still exists`);
    for (const [p, existed] of hostPathsBefore) assert.equal(fs.existsSync(p), existed, `${p} ${existed ? 'vanished' : 'appeared'} on the host`);
  });
});
