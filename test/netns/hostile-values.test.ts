// Hostile values that are still valid per the spec (network names and container IDs within the
// spec's `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`, with `..` and at the length limits; an interface name
// with quotes, `;`, `#`, `$` and a backslash; CNI_ARGS pod names with quotes and `$(...)`;
// iptables and nft conditions carrying quotes, `;` and `#` inside their strings; a dataDir with
// `..`) go through real ADD/DEL calls of both builds on a throw-away node (test/helpers/pod-node).
// They must never reach a shell (a canary file would appear), never name a path outside the state
// dirs, and appear in iptables-save / nft listings only quoted, exactly as the comment or
// condition they are, with nothing else changed. DEL removes everything the ADD made: a second
// ADD/DEL cycle returns the node to the snapshot taken after the first (which leaves only the
// shared skeletons: top-level chains, nft tables, the host-local network dir). Values that
// would break out (a `;` or newline in a condition, shell syntax in names) are refused with
// code 4/7 and change nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, runPlugin, type Run } from '../helpers/plugins';
import { hostSnapshot } from '../helpers/host-snapshot';
import { cleanupAllNetns, execIn } from '../helpers/netns';
import { makePodNode, type PodNode } from '../helpers/pod-node';
import { formatComment, formatChainName } from '../../shared/netfilter/names';
import { nftMasqComment } from '../../shared/netfilter/ipmasq-rules';
import { commentOf, jumpTarget, parseSave, tokenize } from '../../shared/netfilter/restore';
import { dnatChainName, dnatComment } from '../../plugins/portmap/iptables-rules';
import { nftComment } from '../../plugins/portmap/nft-rules';

const ROOT = process.getuid?.() === 0;

interface Names {
  net: string;
  cid: string;
  ifname: string;
}

/** Valid per the spec, hostile in intent. */
const HOSTILE: Names = { net: 'hostile..net-_.0', cid: '0..ctr-_.hostile', ifname: 'e"1;#$\\' };
/** At the limits: comments get cut (iptables 255 bytes, nft 128), file names stay < 256. */
const LONG: Names = { net: `n${'.'.repeat(2)}${'n'.repeat(197)}`, cid: `c${'-'.repeat(3)}${'c'.repeat(246)}`, ifname: 'eth0' };

const canaryOf = (label: string): string => `/tmp/cts-hostile-pwn-${process.pid}-${label}`;
const hostileArgs = (canary: string, cid: string): string =>
  `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns$(touch ${canary});K8S_POD_NAME=web"'\`touch ${canary}\`'x;K8S_POD_INFRA_CONTAINER_ID=${cid}`;

/** Rule counters and round-robin hints change from pod to pod by design. */
function normalise(s: string): string {
  return s.replace(/counter packets \d+ bytes \d+/g, 'counter').replace(/(\/last_reserved_ip\.\d+) \S+$/gm, '$1 <ip>');
}

function section(snapshot: string, name: string): string[] {
  const m = new RegExp(`^## ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n([\\s\\S]*?)(?=^## |(?![\\s\\S]))`, 'm').exec(snapshot);
  return m ? m[1]!.split('\n').filter((l) => l !== '') : [];
}

function added(before: string[], after: string[]): string[] {
  const left = [...before];
  const out: string[] = [];
  for (const l of after) {
    const i = left.indexOf(l);
    if (i === -1) out.push(l);
    else left.splice(i, 1);
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...walk(p));
  }
  return out.sort();
}

interface Ctx {
  dir: string;
  node: PodNode;
  canary: string;
}

function call(ctx: Ctx, plugin: string, command: string, names: Names, conf: unknown, args = ''): Run {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: names.cid,
    CNI_NETNS: ctx.node.container,
    CNI_IFNAME: names.ifname,
    CNI_PATH: ctx.dir,
    CNI_ARGS: args,
  };
  return runPlugin(ctx.dir, plugin, env, JSON.stringify(conf), ctx.node.ns);
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stdout} ${r.stderr}`);
  return r;
}

interface Scenario {
  name: string;
  plugin: 'bridge' | 'portmap' | 'flannel';
  names: Names;
  conf(ctx: Ctx, n: Names): Record<string, unknown>;
  args?(ctx: Ctx, n: Names): string;
  /** Checks right after the first ADD, given the snapshots around it. */
  afterAdd(ctx: Ctx, n: Names, before: string, after: string, result: any): void;
  /** Strings that must be gone from the node after DEL (IDs, chain names, comment hashes). */
  gone(n: Names): string[];
}

const PREV = (ctx: Ctx, ifname: string): Record<string, unknown> => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: ifname, sandbox: ctx.node.container }],
  ips: [{ address: '10.244.1.50/24', interface: 0 }],
});

function bridgeConf(ctx: Ctx, n: Names, backend: 'iptables' | 'nftables'): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: n.net,
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: true,
    ipMasqBackend: backend,
    // Lexically inside the state dir: host-local resolves it before use.
    ipam: { type: 'host-local', dataDir: `${ctx.node.state}/no-such-dir/../networks`, ranges: [[{ subnet: '10.244.1.0/24' }]] },
  };
}

/** The host-local reservation of this ADD: where it is and what it says. */
function checkReservation(ctx: Ctx, n: Names, result: any): void {
  const ip = String(result.ips[0].address).split('/')[0]!;
  const file = path.join(ctx.node.state, 'networks', n.net, ip);
  assert.equal(fs.readFileSync(file, 'utf8'), `${n.cid}\r\n${n.ifname}`);
}

function checkIptMasq(ctx: Ctx, n: Names, beforeSnap: string, afterSnap: string): void {
  const chain = formatChainName(n.net, n.cid);
  const comment = formatComment(n.net, n.cid);
  const stored = Buffer.from(comment).subarray(0, 255).toString(); // iptables keeps 255 bytes
  const add = added(section(beforeSnap, 'iptables'), section(afterSnap, 'iptables'));
  assert.ok(add.length >= 4, `rules added: ${add.join('\n')}`);
  for (const l of add) {
    assert.ok(l.includes(chain), `an added line not about this attachment: ${l}`);
    if (!l.startsWith('-A')) continue;
    const args = tokenize(l).slice(2);
    assert.equal(commentOf(args), stored, l);
  }
  assert.deepEqual(added(section(afterSnap, 'iptables'), section(beforeSnap, 'iptables')), [], 'no line removed');
}

function nftRules(ns: string, family: string, table: string): Array<{ chain: string; comment?: string; text: string }> {
  const j = JSON.parse(execIn(ns, 'nft', ['-j', 'list', 'table', family, table])) as { nftables: any[] };
  return j.nftables.filter((o) => o.rule).map((o) => ({ chain: o.rule.chain, comment: o.rule.comment, text: JSON.stringify(o.rule.expr) }));
}

const SCENARIOS: Scenario[] = [
  {
    name: 'bridge + host-local, ipMasq iptables: names in the state path and the quoted comment; hostile ifname and CNI_ARGS',
    plugin: 'bridge',
    names: HOSTILE,
    conf: (ctx, n) => bridgeConf(ctx, n, 'iptables'),
    args: (ctx, n) => hostileArgs(ctx.canary, n.cid),
    afterAdd(ctx, n, b, a, result) {
      checkReservation(ctx, n, result);
      checkIptMasq(ctx, n, b, a);
    },
    gone: (n) => [n.cid, formatChainName(n.net, n.cid)],
  },
  {
    name: 'bridge, ipMasq iptables, names at the length limits: comment cut to 255 bytes, DEL still finds it',
    plugin: 'bridge',
    names: LONG,
    conf: (ctx, n) => bridgeConf(ctx, n, 'iptables'),
    afterAdd(ctx, n, b, a, result) {
      checkReservation(ctx, n, result);
      checkIptMasq(ctx, n, b, a);
    },
    gone: (n) => [n.cid.slice(0, 40), formatChainName(n.net, n.cid)],
  },
  {
    name: 'bridge, ipMasq nftables: hostile ifname stripped of quotes inside the nft comment',
    plugin: 'bridge',
    names: HOSTILE,
    conf: (ctx, n) => bridgeConf(ctx, n, 'nftables'),
    afterAdd(ctx, n, b, a, result) {
      checkReservation(ctx, n, result);
      const want = nftMasqComment(n.net, n.ifname, n.cid);
      assert.ok(!/["\\]/.test(want));
      const mine = (): unknown[] => nftRules(ctx.node.ns, 'inet', 'cni_plugins_masquerade').filter((r) => r.comment === want);
      assert.equal(mine().length, 1, `one masquerade rule commented ${JSON.stringify(want)}`);
      assert.deepEqual(added(section(b, 'iptables'), section(a, 'iptables')), []);
      // GC keeps a listed attachment's rule: the comment it computes is the one nft stored.
      const gcConf = { ...bridgeConf(ctx, n, 'nftables'), cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: n.cid, ifname: n.ifname }] };
      ok(call(ctx, 'bridge', 'GC', n, gcConf), 'GC');
      assert.equal(mine().length, 1, 'GC removed the rule of a valid attachment');
    },
    gone: (n) => [n.cid, nftMasqComment(n.net, n.ifname, n.cid).slice(0, 33)],
  },
  {
    name: 'portmap iptables: hostile names in the quoted comment, a condition with quotes, $() and # kept as one argument',
    plugin: 'portmap',
    names: HOSTILE,
    conf: (ctx, n) => ({
      cniVersion: '1.0.0',
      name: n.net,
      type: 'portmap',
      backend: 'iptables',
      conditionsV4: ['-m', 'comment', '--comment', `x";$(touch ${ctx.canary}) # '\\`],
      runtimeConfig: {
        portMappings: [
          { hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '192.168.50.10' },
          { hostPort: 8443, containerPort: 443, protocol: 'udp' },
        ],
      },
      prevResult: PREV(ctx, n.ifname),
    }),
    afterAdd(ctx, n, b, a) {
      const chain = dnatChainName(n.net, n.cid);
      const add = added(section(b, 'iptables'), section(a, 'iptables'));
      const entries = add.filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '));
      assert.equal(entries.length, 2, `added:\n${add.join('\n')}`);
      for (const l of entries) {
        const args = tokenize(l).slice(2);
        assert.equal(jumpTarget(args), chain);
        const comments = args.flatMap((x, i) => (x === '--comment' ? [args[i + 1]] : []));
        assert.deepEqual(comments, [dnatComment(n.net, n.cid), `x";$(touch ${ctx.canary}) # '\\`]);
      }
      // Besides this container's chain, only the shared skeleton (made by the first ADD on a node).
      for (const l of add) assert.ok(l.includes(chain) || /CNI-HOSTPORT-(DNAT|SETMARK|MASQ)\b/.test(l), `an added line not about this container: ${l}`);
      const t = parseSave(execIn(ctx.node.ns, 'iptables-save', ['-t', 'nat']));
      assert.equal(t.rules.filter((r) => r.chain === chain).length, 6);
    },
    gone: (n) => [n.cid, dnatChainName(n.net, n.cid)],
  },
  {
    name: 'portmap nftables: long names cut to 128 bytes in the comment; a quoted condition with ; and # stays one expression',
    plugin: 'portmap',
    names: LONG,
    conf: (ctx, n) => ({
      cniVersion: '1.0.0',
      name: n.net,
      type: 'portmap',
      backend: 'nftables',
      conditionsV4: ['iifname != "x;y#z$(id)"'],
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] },
      prevResult: PREV(ctx, n.ifname),
    }),
    afterAdd(ctx, n, b, a) {
      const want = nftComment(n.net, n.cid);
      assert.ok(Buffer.byteLength(want) <= 128);
      const rules = nftRules(ctx.node.ns, 'ip', 'cni_hostport');
      assert.equal(rules.filter((r) => r.comment === want).length, 3, 'dnat + 2 masquerade rules');
      const entry = rules.filter((r) => r.chain === 'prerouting');
      assert.equal(entry.length, 1);
      assert.ok(entry[0]!.text.includes('"x;y#z$(id)"'), entry[0]!.text);
      const tables = (snap: string): string[] => section(snap, 'nft').filter((l) => l.startsWith('table '));
      assert.deepEqual(added(tables(b), tables(a)).filter((t) => t !== 'table ip cni_hostport {'), [], 'no other table made');
    },
    gone: (n) => [nftComment(n.net, n.cid).slice(0, 33)],
  },
  {
    name: 'flannel → bridge → host-local: hostile names and CNI_ARGS, dataDir with .., every file inside the state dir',
    plugin: 'flannel',
    names: { net: 'cbr0..x-_', cid: 'pod..-_.1', ifname: 'eth0' },
    conf: (ctx, n) => ({
      cniVersion: '1.0.0',
      name: n.net,
      type: 'flannel',
      subnetFile: `${ctx.node.state}/subnet.env`,
      dataDir: `${ctx.node.state}/flannel/../flannel`,
      delegate: { bridge: 'cni0', hairpinMode: true },
      ipam: { dataDir: `${ctx.node.state}/networks/../networks` },
    }),
    args: (ctx, n) => hostileArgs(ctx.canary, n.cid),
    afterAdd(ctx, n, b, a, result) {
      const saved = JSON.parse(fs.readFileSync(path.join(ctx.node.state, 'flannel', n.cid), 'utf8'));
      assert.equal(saved.name, n.net);
      checkReservation(ctx, n, result);
    },
    gone: (n) => [n.cid],
  },
];

for (const b of builds()) {
  describe(`hostile values (${b.label} build, netns)`, { skip: !ROOT && 'needs root' }, () => {
    let ctx: Ctx;
    before(() => {
      ctx = { dir: b.dir, node: makePodNode(`hostile-${b.label}`), canary: canaryOf(b.label) };
    });
    after(() => {
      try {
        fs.rmSync(ctx?.canary ?? canaryOf(b.label), { force: true, recursive: true });
        ctx?.node.cleanup();
      } finally {
        cleanupAllNetns();
      }
    });
    const snap = (): string => normalise(hostSnapshot(ctx.node.ns, [ctx.node.state]));
    const canaryGone = (): void => assert.equal(fs.existsSync(ctx.canary), false, `${ctx.canary} was created: a value reached a shell`);

    for (const s of SCENARIOS) {
      test(s.name, () => {
        const n = s.names;
        const conf = s.conf(ctx, n);
        const args = s.args?.(ctx, n) ?? '';
        const filesBefore = walk(ctx.node.state);
        const before1 = snap();
        const r = ok(call(ctx, s.plugin, 'ADD', n, conf, args), 'ADD');
        const after1 = snap();
        canaryGone();
        // Every new path is inside the state dir's own subdirs, named by the values as given.
        for (const p of added(filesBefore, walk(ctx.node.state))) {
          const rel = path.relative(ctx.node.state, p);
          assert.ok(!rel.startsWith('..') && /^(networks|flannel)(\/|$)/.test(rel), `unexpected path ${p}`);
        }
        s.afterAdd(ctx, n, before1, after1, r.json);
        assert.deepEqual(section(after1, 'nft').filter((l) => l.startsWith('table inet node-filter')).length, 1);
        assert.ok(execIn(ctx.node.ns, 'nft', ['list', 'table', 'inet', 'node-filter']).includes('tcp dport 22 accept comment "ssh"'));

        ok(call(ctx, s.plugin, 'DEL', n, conf, args), 'DEL');
        const afterDel = snap();
        canaryGone();
        for (const g of s.gone(n)) assert.ok(!afterDel.includes(g), `${JSON.stringify(g)} still on the node after DEL`);
        // The host-local network dir stays (lock, round-robin hint), with no reservation in it.
        const netDir = path.join(ctx.node.state, 'networks', n.net);
        if (fs.existsSync(netDir)) {
          for (const f of fs.readdirSync(netDir)) assert.match(f, /^(lock|last_reserved_ip\.\d+)$/);
        }

        // A second cycle: ADD makes the same objects again, DEL returns the node exactly here.
        ok(call(ctx, s.plugin, 'ADD', n, conf, args), 'second ADD');
        ok(call(ctx, s.plugin, 'DEL', n, conf, args), 'second DEL');
        assert.equal(snap(), afterDel);
        canaryGone();
      });
    }

    test('values that would break out are refused (code 4/7) and change nothing', () => {
      const before = snap();
      const cases: Array<{ plugin: string; names: Names; conf: Record<string, unknown>; code: number; msg: RegExp }> = [
        {
          plugin: 'portmap',
          names: HOSTILE,
          conf: {
            cniVersion: '1.0.0', name: 'pm', type: 'portmap',
            conditionsV4: ['meta l4proto tcp accept; flush ruleset; add rule ip cni_hostport prerouting'],
            runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] }, prevResult: PREV(ctx, HOSTILE.ifname),
          },
          code: 7,
          msg: /conditionsV4\[0\]: .*\(got "meta l4proto tcp accept; flush ruleset; add rule ip cni_hostport prerouting"\)/,
        },
        {
          plugin: 'portmap',
          names: HOSTILE,
          conf: {
            cniVersion: '1.0.0', name: 'pm', type: 'portmap',
            // Before conditions were checked, this flushed the node's own table and nft exited 0.
            conditionsV4: ['ip saddr 10.0.0.0/8 accept; flush table inet node-filter #'],
            runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] }, prevResult: PREV(ctx, HOSTILE.ifname),
          },
          code: 7,
          msg: /conditionsV4\[0\]: /,
        },
        {
          plugin: 'portmap',
          names: HOSTILE,
          conf: {
            cniVersion: '1.0.0', name: 'pm', type: 'portmap',
            conditionsV6: ['ip6 saddr fd00::/8 accept\nflush ruleset #'],
            runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] }, prevResult: PREV(ctx, HOSTILE.ifname),
          },
          code: 7,
          msg: /conditionsV6\[0\]: /,
        },
        {
          plugin: 'portmap',
          names: HOSTILE,
          conf: {
            cniVersion: '1.0.0', name: 'pm', type: 'portmap',
            externalSetMarkChain: 'KUBE-MARK-MASQ\nCOMMIT\n*filter\n-I INPUT -j DROP',
            runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] }, prevResult: PREV(ctx, HOSTILE.ifname),
          },
          code: 7,
          msg: /externalSetMarkChain: must be an iptables chain name/,
        },
        {
          plugin: 'portmap',
          names: HOSTILE,
          conf: {
            cniVersion: '1.0.0', name: 'pm', type: 'portmap', backend: 'iptables',
            conditionsV4: ['-s', '10.0.0.0/8\nCOMMIT\n*filter\n-I INPUT -j DROP'],
            runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80 }] }, prevResult: PREV(ctx, HOSTILE.ifname),
          },
          code: 7,
          msg: /conditionsV4\[1\]: must not contain line breaks or NUL/,
        },
        {
          plugin: 'bridge',
          names: { ...HOSTILE, net: `x;touch ${ctx.canary}` },
          conf: { cniVersion: '1.0.0', name: `x;touch ${ctx.canary}`, type: 'bridge', ipMasq: true, ipam: { type: 'host-local', dataDir: `${ctx.node.state}/networks`, subnet: '10.244.1.0/24' } },
          code: 7,
          msg: /invalid characters found in network name/,
        },
        {
          plugin: 'flannel',
          names: { ...HOSTILE, cid: `$(touch ${ctx.canary})` },
          conf: { cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: `${ctx.node.state}/subnet.env`, dataDir: `${ctx.node.state}/flannel` },
          code: 4,
          msg: /invalid characters in containerID/,
        },
        {
          plugin: 'flannel',
          names: HOSTILE,
          conf: { cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: `${ctx.node.state}/subnet.env`, dataDir: `${ctx.node.state}/flannel`, delegate: { type: `../../../../../bin/sh` } },
          code: 7,
          msg: /delegate\.type: invalid plugin name: \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/bin\/sh/,
        },
      ];
      for (const c of cases) {
        const r = call(ctx, c.plugin, 'ADD', c.names, c.conf);
        assert.equal(r.code, 1, `${c.plugin}: ${r.stdout}`);
        assert.equal(r.json?.code, c.code, r.stdout);
        assert.match(String(r.json?.msg) + (r.json?.details ? ` | ${r.json.details}` : ''), c.msg);
        canaryGone();
      }
      assert.equal(snap(), before);
      assert.ok(execIn(ctx.node.ns, 'nft', ['list', 'table', 'inet', 'node-filter']).includes('tcp dport 22 accept comment "ssh"'), 'the node\'s own table is intact');
    });
  });
}
