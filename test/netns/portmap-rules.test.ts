// portmap on a real kernel inside throw-away namespaces: the iptables and nftables rule sets
// of ADD / CHECK / DEL / GC, the one-batch fast path, recovery after a firewall flush,
// route_localnet, UDP conntrack flush, and interop with the Go portmap (/usr/lib/cni/portmap).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupAllNetns, execIn, ipIn, makeNetns } from '../helpers/netns';

const OUT = path.resolve(__dirname, '../..');
const ROOT = process.getuid?.() === 0;
const GO_PORTMAP = '/usr/lib/cni/portmap';

interface Outcome { ok: boolean; r: unknown; code?: number; msg?: string; ms: number; phases: Record<string, number> }

/** Calls portmapPlugin[cmd] in-process in a node running inside `ns`; returns result, time and netfilter phases. */
function pm(ns: string, cmd: 'add' | 'del' | 'check' | 'gc' | 'status', cid: string, conf: Record<string, unknown>): Outcome {
  const a = { command: cmd.toUpperCase(), containerId: cid, netns: '/run/netns/x', ifname: 'eth0', args: '', path: [], conf };
  const script = `const OUT=${JSON.stringify(OUT)};const a=${JSON.stringify(a)};a.stdin=Buffer.from(JSON.stringify(a.conf));a.env=process.env;
const {portmapPlugin:p}=require(OUT+'/plugins/portmap/plugin.js');const t=require(OUT+'/shared/base/timing.js');
const t0=performance.now();
p[${JSON.stringify(cmd)}](a).then(r=>({ok:true,r:r===undefined?null:r}),e=>({ok:false,r:null,code:e.code,msg:e.message})).then(o=>{o.ms=performance.now()-t0;t.printTimings('x');process.stdout.write(JSON.stringify(o));});`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', env: { ...process.env, CNI_TS_TIMING: '1' } });
  if (r.status !== 0) throw new Error(`node in ${ns}: ${r.stderr}`);
  const m = /CNI_TS_TIMING (\{.*\})/.exec(r.stderr);
  const phases = m ? (JSON.parse(m[1]!).phases as Record<string, number>) : {};
  return { ...(JSON.parse(r.stdout) as Omit<Outcome, 'phases'>), phases };
}

const must = (o: Outcome): Outcome => {
  assert.ok(o.ok, `plugin failed: ${o.code} ${o.msg}`);
  return o;
};

const save = (ns: string, v6 = false): string => execIn(ns, v6 ? 'ip6tables-save' : 'iptables-save', ['-t', 'nat']);
const natRules = (ns: string, v6 = false): string[] => save(ns, v6).split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':CNI'));
const dn = (net: string, cid: string): string => require(OUT + '/plugins/portmap/iptables-rules.js').dnatChainName(net, cid);

const prev = (v4: string, v6?: string) => ({
  cniVersion: '1.0.0',
  interfaces: [{ name: 'ctsbr' }, { name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [{ address: v4, interface: 1 }, ...(v6 ? [{ address: v6, interface: 1 }] : [])],
});

const conf = (net: string, mappings: unknown[], p: unknown, extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0', name: net, type: 'portmap', runtimeConfig: { portMappings: mappings }, prevResult: p, ...extra,
});

const TCP_UDP = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8053, containerPort: 53, protocol: 'udp' },
];

let ns = '';

describe('portmap iptables (netns)', { skip: !ROOT && 'needs root' }, () => {
  before(() => {
    ns = makeNetns('pm').name;
    ipIn(ns, ['link', 'add', 'ctsdum', 'type', 'bridge']);
    ipIn(ns, ['addr', 'add', '10.0.0.1/24', 'dev', 'ctsdum']);
    ipIn(ns, ['addr', 'add', 'fd00:1::1/64', 'dev', 'ctsdum', 'nodad']);
    ipIn(ns, ['link', 'set', 'ctsdum', 'up']);
  });
  after(() => cleanupAllNetns());

  const A = conf('pmnet', TCP_UDP, prev('10.0.0.2/24', 'fd00:1::2/64'));

  test('first ADD (dual stack) builds the reference chains; result is prevResult; route_localnet set', () => {
    const o = must(pm(ns, 'add', 'podA', A));
    assert.deepEqual(o.r, A.prevResult);
    const ch = dn('pmnet', 'podA');
    const cm = '"dnat name: \\"pmnet\\" id: \\"podA\\""';
    assert.deepEqual(natRules(ns).sort(), [
      `:${ch} - [0:0]`,
      ':CNI-HOSTPORT-DNAT - [0:0]',
      ':CNI-HOSTPORT-MASQ - [0:0]',
      ':CNI-HOSTPORT-SETMARK - [0:0]',
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment ${cm} -m multiport --dports 8080 -j ${ch}`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment ${cm} -m multiport --dports 8053 -j ${ch}`,
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      `-A ${ch} -s 10.0.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -s 10.0.0.0/24 -p udp -m udp --dport 8053 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80`,
      `-A ${ch} -p udp -m udp --dport 8053 -j DNAT --to-destination 10.0.0.2:53`,
      `-A ${ch} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -s 127.0.0.1/32 -p udp -m udp --dport 8053 -j CNI-HOSTPORT-SETMARK`,
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
    ].sort());
    const v6 = natRules(ns, true);
    assert.ok(v6.includes(`-A ${ch} -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80`), v6.join('\n'));
    assert.ok(!v6.some((l) => l.includes('127.0.0.1')));
    assert.equal(execIn(ns, 'cat', ['/proc/sys/net/ipv4/conf/ctsdum/route_localnet']).trim(), '1');
    assert.ok('netfilter:iptables-save' in o.phases, 'first pod on the node goes through the reconcile path');
  });

  test('second pod: one iptables-restore, no table listing; entries prepended (last ADD wins)', () => {
    const o = must(pm(ns, 'add', 'podB', conf('pmnet', TCP_UDP, prev('10.0.0.3/24'))));
    assert.deepEqual(Object.keys(o.phases).filter((k) => k.startsWith('netfilter:')).sort(), ['netfilter:conntrack', 'netfilter:iptables-restore']);
    const first = natRules(ns).find((l) => l.startsWith('-A CNI-HOSTPORT-DNAT'))!;
    assert.ok(first.endsWith(dn('pmnet', 'podB')), first);
    console.log(`# portmap ADD (1 tcp + 1 udp mapping, v4): ${o.ms.toFixed(1)} ms total, iptables-restore ${o.phases['netfilter:iptables-restore']!.toFixed(1)} ms`);
  });

  test('repeated ADD does not duplicate entry rules', () => {
    must(pm(ns, 'add', 'podB', conf('pmnet', TCP_UDP, prev('10.0.0.3/24'))));
    assert.equal(natRules(ns).filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT') && l.endsWith(dn('pmnet', 'podB'))).length, 2);
    assert.equal(natRules(ns).filter((l) => l.startsWith(`-A ${dn('pmnet', 'podB')} `)).length, 6);
  });

  test('CHECK passes, then names the missing rule with the reference text', () => {
    must(pm(ns, 'check', 'podA', A));
    const ch = dn('pmnet', 'podA');
    execIn(ns, 'iptables', ['-t', 'nat', '-D', ch, '-p', 'udp', '--dport', '8053', '-j', 'DNAT', '--to-destination', '10.0.0.2:53']);
    const o = pm(ns, 'check', 'podA', A);
    assert.equal(o.ok, false);
    assert.match(o.msg!, new RegExp(`^could not check ipv4 dnat: rule \\[\\[-p tcp --dport 8080 .*\\]\\] in chain ${ch} not found in table nat$`));
    const noPrev = pm(ns, 'check', 'podA', { ...A, prevResult: undefined });
    assert.equal(noPrev.msg, 'Required prevResult missing');
  });

  test('DEL removes exactly this pod (both families); a second DEL succeeds', () => {
    const o = must(pm(ns, 'del', 'podA', A)); // its chain differs from the mappings now: fallback path
    assert.ok(!save(ns).includes(dn('pmnet', 'podA')));
    assert.ok(!save(ns, true).includes(dn('pmnet', 'podA')));
    assert.ok(save(ns).includes(dn('pmnet', 'podB')));
    assert.ok(save(ns).includes('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
    assert.ok(o.ok);
    must(pm(ns, 'del', 'podA', A));
    const d = must(pm(ns, 'del', 'podB', conf('pmnet', TCP_UDP, prev('10.0.0.3/24'))));
    assert.ok(!('netfilter:iptables-save' in d.phases), 'normal DEL is one batch');
    assert.ok(!('netfilter:ip6tables-restore' in d.phases), 'IPv4-only pod: no ip6tables call');
    assert.ok(!save(ns).includes(dn('pmnet', 'podB')));
    console.log(`# portmap DEL (v4): ${d.ms.toFixed(1)} ms total, iptables-restore ${d.phases['netfilter:iptables-restore']!.toFixed(1)} ms`);
  });

  test('no port mappings: prevResult unchanged, no netfilter work', () => {
    const before = save(ns);
    const o = must(pm(ns, 'add', 'podN', conf('pmnet', [], prev('10.0.0.9/24'))));
    assert.deepEqual(o.r, prev('10.0.0.9/24'));
    assert.deepEqual(Object.keys(o.phases).filter((k) => k.startsWith('netfilter:')), []);
    must(pm(ns, 'del', 'podN', conf('pmnet', [], undefined)));
    must(pm(ns, 'check', 'podN', conf('pmnet', [], prev('10.0.0.9/24'))));
    assert.equal(save(ns).replace(/^#.*$/gm, ''), before.replace(/^#.*$/gm, ''));
  });

  test('after a firewall flush the next ADD restores the shared jumps', () => {
    execIn(ns, 'iptables', ['-t', 'nat', '-F']);
    must(pm(ns, 'add', 'podC', conf('pmnet', TCP_UDP, prev('10.0.0.4/24'))));
    const rules = natRules(ns);
    assert.ok(rules.includes('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
    assert.ok(rules.includes('-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
    assert.ok(rules.includes('-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE'));
    must(pm(ns, 'del', 'podC', conf('pmnet', TCP_UDP, prev('10.0.0.4/24'))));
  });

  test('GC removes this network\'s pods that are not valid attachments', () => {
    must(pm(ns, 'add', 'gcKeep', conf('pmnet', TCP_UDP, prev('10.0.0.5/24'))));
    must(pm(ns, 'add', 'gcGone', conf('pmnet', TCP_UDP, prev('10.0.0.6/24'))));
    must(pm(ns, 'add', 'gcGone', conf('othernet', TCP_UDP, prev('10.0.0.7/24'))));
    must(pm(ns, 'gc', '', { cniVersion: '1.1.0', name: 'pmnet', type: 'portmap', 'cni.dev/valid-attachments': [{ containerID: 'gcKeep', ifname: 'eth0' }] }));
    const t = save(ns);
    assert.ok(t.includes(dn('pmnet', 'gcKeep')));
    assert.ok(!t.includes(dn('pmnet', 'gcGone')));
    assert.ok(t.includes(dn('othernet', 'gcGone')));
    must(pm(ns, 'gc', '', { cniVersion: '1.1.0', name: 'pmnet', type: 'portmap', 'cni.dev/valid-attachments': [] }));
    must(pm(ns, 'gc', '', { cniVersion: '1.1.0', name: 'othernet', type: 'portmap' }));
    assert.ok(!save(ns).includes('CNI-DN-'));
  });

  test('UDP conntrack entries for the host port are flushed on ADD', () => {
    const ins = spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-I', '-p', 'udp', '-s', '10.0.0.50', '-d', '10.0.0.1', '--sport', '4000', '--dport', '8053', '--timeout', '120', '-f', 'ipv4'], { encoding: 'utf8' });
    if (ins.status !== 0) return; // conntrack table not writable here: nothing to observe
    assert.match(execIn(ns, 'conntrack', ['-L', '-p', 'udp']), /dport=8053/);
    must(pm(ns, 'add', 'podU', conf('pmnet', TCP_UDP, prev('10.0.0.8/24'))));
    assert.doesNotMatch(spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-L', '-p', 'udp'], { encoding: 'utf8' }).stdout, /dport=8053/);
    must(pm(ns, 'del', 'podU', conf('pmnet', TCP_UDP, prev('10.0.0.8/24'))));
  });

  test('interop with the Go portmap: its rules removed by our DEL, ours by its DEL', () => {
    // An interop test without the reference plugin fails: it must not pass by not running.
    assert.ok(fs.existsSync(GO_PORTMAP), `${GO_PORTMAP} missing: install containernetworking-plugins (bash scripts/install-deps.sh)`);
    const goConf = conf('gonet', TCP_UDP, { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', sandbox: '/x' }], ips: [{ version: '4', address: '10.0.0.20/24', interface: 0 }] }, { cniVersion: '0.4.0' });
    const go = (cmd: string) => {
      const r = spawnSync('ip', ['netns', 'exec', ns, GO_PORTMAP], {
        input: JSON.stringify(goConf), encoding: 'utf8',
        env: { CNI_COMMAND: cmd, CNI_CONTAINERID: 'goPod', CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(GO_PORTMAP), PATH: process.env.PATH ?? '' },
      });
      assert.equal(r.status, 0, `Go portmap ${cmd}: ${r.stdout} ${r.stderr}`);
    };
    const ch = dn('gonet', 'goPod');
    go('ADD');
    assert.equal(natRules(ns).filter((l) => l.endsWith(`-j ${ch}`)).length, 2);
    const o = must(pm(ns, 'del', 'goPod', goConf));
    assert.ok(!save(ns).includes(ch), 'our DEL removed the Go chain and entries');
    assert.ok(!('netfilter:iptables-save' in o.phases), 'Go-made entry rules match ours exactly: fast path');
    must(pm(ns, 'add', 'goPod', goConf));
    assert.ok(save(ns).includes(ch));
    go('DEL');
    assert.ok(!save(ns).includes(ch), 'Go DEL removed ours');
  });
});

describe('portmap nftables (netns)', { skip: !ROOT && 'needs root' }, () => {
  let nns = '';
  before(() => { nns = makeNetns('pmnft').name; });
  after(() => cleanupAllNetns());
  const nft = (): string => execIn(nns, 'nft', ['list', 'ruleset']);
  const B = (extra: Record<string, unknown> = {}) => ({ backend: 'nftables', ...extra });

  test('ADD builds the tables; CHECK; DEL scoped to network and container; GC', () => {
    const A = conf('nnet', TCP_UDP, prev('10.0.0.2/24', 'fd00:1::2/64'), B({ conditionsV4: ['ip', 'saddr', '!=', '1.2.3.4'] }));
    const o = must(pm(nns, 'add', 'podA', A));
    assert.deepEqual(Object.keys(o.phases).filter((k) => k.startsWith('netfilter:')).sort(), ['netfilter:conntrack', 'netfilter:nft']);
    const rs = nft();
    assert.match(rs, /table ip cni_hostport \{/);
    assert.match(rs, /table ip6 cni_hostport \{/);
    assert.match(rs, /type nat hook prerouting priority dstnat; policy accept;\n\s+ip saddr != 1\.2\.3\.4 fib daddr type local jump hostports_all/);
    assert.match(rs, /tcp dport 8080 dnat to 10\.0\.0\.2:80 comment "[0-9a-f]{16}-[0-9a-f]{16}, net: nnet, id: podA"/);
    assert.match(rs, /udp dport 8053 dnat to \[fd00:1::2\]:53 comment/);
    assert.match(rs, /ip saddr 127\.0\.0\.1 ip daddr 10\.0\.0\.2 masquerade comment/);
    console.log(`# portmap nft ADD (dual stack): ${o.ms.toFixed(1)} ms total, nft ${o.phases['netfilter:nft']!.toFixed(1)} ms`);
    must(pm(nns, 'check', 'podA', A));

    // the same container on another network, and another container on this one
    const other = conf('othernet', TCP_UDP, prev('10.0.1.2/24'), B());
    must(pm(nns, 'add', 'podA', other));
    must(pm(nns, 'add', 'podB', conf('nnet', TCP_UDP, prev('10.0.0.3/24'), B())));

    // a rule removed behind our back is reported
    const handles = JSON.parse(execIn(nns, 'nft', ['-j', '-a', 'list', 'chain', 'ip', 'cni_hostport', 'masquerading'])).nftables
      .filter((x: { rule?: { comment?: string } }) => x.rule?.comment?.includes('net: nnet, id: podA')).map((x: { rule: { handle: number } }) => x.rule.handle);
    execIn(nns, 'nft', ['delete', 'rule', 'ip', 'cni_hostport', 'masquerading', 'handle', String(handles[0])]);
    assert.equal(pm(nns, 'check', 'podA', A).msg, 'missing hostport rules in "masquerading" chain');

    must(pm(nns, 'del', 'podA', A));
    const after1 = nft();
    assert.doesNotMatch(after1, /net: nnet, id: podA/);
    assert.match(after1, /net: othernet, id: podA/);
    assert.match(after1, /net: nnet, id: podB/);
    must(pm(nns, 'del', 'podA', A));

    must(pm(nns, 'gc', '', { cniVersion: '1.1.0', name: 'nnet', type: 'portmap', backend: 'nftables', 'cni.dev/valid-attachments': [] }));
    assert.doesNotMatch(nft(), /net: nnet/);
    assert.match(nft(), /net: othernet, id: podA/);
    must(pm(nns, 'del', 'podA', other));
    assert.doesNotMatch(nft(), /comment "[0-9a-f]{16}-/);
  });

  test('rules with the reference\'s bare-containerID comment are removed by our DEL (scoped by address)', () => {
    execIn(nns, 'nft', ['-f', '-'], [
      'add rule ip cni_hostport hostports tcp dport 9090 dnat to 10.0.0.30:90 comment "goPod"',
      'add rule ip cni_hostport hostports tcp dport 9091 dnat to 10.0.9.30:90 comment "goPod"',
      'add rule ip cni_hostport masquerading ip saddr 10.0.0.30 ip daddr 10.0.0.30 masquerade comment "goPod"',
    ].join('\n') + '\n');
    must(pm(nns, 'del', 'goPod', conf('nnet', [{ hostPort: 9090, containerPort: 90, protocol: 'tcp' }], prev('10.0.0.30/24'), B())));
    const rs = nft();
    assert.doesNotMatch(rs, /10\.0\.0\.30/);
    assert.match(rs, /10\.0\.9\.30:90 comment "goPod"/, 'another network\'s attachment of the same container is kept');
  });

  test('STATUS succeeds when the backend is usable', () => {
    must(pm(nns, 'status', '', { cniVersion: '1.1.0', name: 'nnet', type: 'portmap', backend: 'nftables' }));
  });
});
