// ipmasq (bridge) netfilter rules on a real kernel, inside throw-away namespaces: both
// backends, setup / teardown with and without addresses / GC, and interop with the Go bridge.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupAllNetns, execIn, ipIn, makeNetns } from '../helpers/netns';

const OUT = path.resolve(__dirname, '../..');
const ROOT = process.getuid?.() === 0;
const GO_BRIDGE = '/usr/lib/cni/bridge';
const GO_HOSTLOCAL = '/usr/lib/cni/host-local';

/** Runs `body` (async JS with OUT and require in scope) in a node process inside `ns`. */
function nodeIn(ns: string, body: string): unknown {
  const script = `const OUT=${JSON.stringify(OUT)};(async()=>{${body}})().then(r=>process.stdout.write(JSON.stringify({ok:true,r:r===undefined?null:r})),e=>process.stdout.write(JSON.stringify({ok:false,code:e.code,msg:e.message})))`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node in ${ns} failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout) as { ok: boolean; r: unknown; code?: number; msg?: string };
  if (!res.ok) throw Object.assign(new Error(res.msg), { code: res.code });
  return res.r;
}

const masq = (ns: string, call: string): unknown =>
  nodeIn(ns, `const m=require(OUT+'/shared/netfilter/ipmasq.js');const {mustParseCIDR:c}=require(OUT+'/shared/ip/index.js');return ${call};`);

const save = (ns: string, v6 = false): string => execIn(ns, v6 ? 'ip6tables-save' : 'iptables-save', ['-t', 'nat']);
const natLines = (ns: string, v6 = false): string[] => save(ns, v6).split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':CNI'));
const nftRules = (ns: string): { chain: string; comment?: string }[] => {
  const out = execIn(ns, 'nft', ['-j', 'list', 'ruleset']);
  return (JSON.parse(out).nftables as { rule?: { chain: string; comment?: string } }[]).filter((o) => o.rule).map((o) => o.rule!);
};

const CHAIN1 = 'CNI-' ; // prefix; exact names computed below
let ns = '';

describe('ipmasq (netns)', { skip: !ROOT && 'needs root' }, () => {
  before(() => { ns = makeNetns('nfmasq').name; });
  after(() => cleanupAllNetns());

  test('iptables: setup creates the reference chain, rules and jump per family; repeat is idempotent', () => {
    const { formatChainName } = require(OUT + '/shared/netfilter/names.js');
    const chain: string = formatChainName('testnet', 'cid1');
    assert.ok(chain.startsWith(CHAIN1));
    masq(ns, `m.setupIPMasq('iptables',[c('10.1.2.5/24'),c('fd00:1::5/64')],'testnet','eth0','cid1')`);
    const c = '"name: \\"testnet\\" id: \\"cid1\\""';
    assert.deepEqual(natLines(ns), [
      `:${chain} - [0:0]`,
      `-A POSTROUTING -s 10.1.2.5/32 -m comment --comment ${c} -j ${chain}`,
      `-A ${chain} -d 10.1.2.0/24 -m comment --comment ${c} -j ACCEPT`,
      `-A ${chain} ! -d 224.0.0.0/4 -m comment --comment ${c} -j MASQUERADE`,
    ]);
    assert.deepEqual(natLines(ns, true), [
      `:${chain} - [0:0]`,
      `-A POSTROUTING -s fd00:1::5/128 -m comment --comment ${c} -j ${chain}`,
      `-A ${chain} -d fd00:1::/64 -m comment --comment ${c} -j ACCEPT`,
      `-A ${chain} ! -d ff00::/8 -m comment --comment ${c} -j MASQUERADE`,
    ]);
    masq(ns, `m.setupIPMasq('iptables',[c('10.1.2.5/24'),c('fd00:1::5/64')],'testnet','eth0','cid1')`);
    assert.equal(natLines(ns).length, 4);
    assert.equal(natLines(ns, true).length, 4);
  });

  test('iptables: teardown with addresses removes everything; a second teardown succeeds', () => {
    masq(ns, `m.teardownIPMasq([c('10.1.2.5/24'),c('fd00:1::5/64')],'testnet','eth0','cid1')`);
    assert.deepEqual(natLines(ns), []);
    assert.deepEqual(natLines(ns, true), []);
    masq(ns, `m.teardownIPMasq([c('10.1.2.5/24')],'testnet','eth0','cid1')`);
  });

  test('iptables: teardown without addresses (DEL with empty CNI_NETNS) still removes the rules', () => {
    masq(ns, `m.setupIPMasq('iptables',[c('10.1.2.6/24'),c('fd00:1::6/64')],'testnet','eth0','cid2')`);
    assert.equal(natLines(ns).length, 4);
    masq(ns, `m.teardownIPMasq([],'testnet','eth0','cid2')`);
    assert.deepEqual(natLines(ns), []);
    assert.deepEqual(natLines(ns, true), []);
  });

  test('iptables: GC removes only this network\'s attachments that are not valid', () => {
    const { formatChainName } = require(OUT + '/shared/netfilter/names.js');
    masq(ns, `m.setupIPMasq('iptables',[c('10.1.2.7/24')],'testnet','eth0','keep')`);
    masq(ns, `m.setupIPMasq('iptables',[c('10.1.2.8/24')],'testnet','eth0','stale')`);
    masq(ns, `m.setupIPMasq('iptables',[c('10.9.2.8/24')],'othernet','eth0','stale')`);
    masq(ns, `m.gcIPMasq('testnet',[{containerID:'keep',ifname:'eth0'}])`);
    const text = save(ns);
    assert.ok(text.includes(formatChainName('testnet', 'keep')));
    assert.ok(!text.includes(formatChainName('testnet', 'stale')));
    assert.ok(text.includes(formatChainName('othernet', 'stale')));
    assert.ok(!text.includes('10.1.2.8'));
    masq(ns, `m.gcIPMasq('testnet',[])`);
    masq(ns, `m.gcIPMasq('othernet',[])`);
    assert.deepEqual(natLines(ns), []);
  });

  test('nftables: reference scenario (4 attachments, IP reuse, teardown, GC)', () => {
    const add = (net: string, ifn: string, cid: string, a: string): unknown =>
      masq(ns, `m.setupIPMasq('nftables',[c('${a}')],'${net}','${ifn}','${cid}')`);
    add('unit-test', 'eth0', 'one', '192.168.1.1/24');
    add('unit-test', 'eth0', 'two', '192.168.1.2/24');
    add('unit-test', 'eth0', 'three', '192.168.99.5/24');
    add('alternate', 'net1', 'three', '10.0.0.5/24');
    const comments = (): string[] => nftRules(ns).filter((r) => r.chain === 'masq_checks').map((r) => r.comment ?? '');
    assert.deepEqual(comments(), [
      '6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one',
      '6fd94d501e58f0aa-d750b2c8f0f25d5f, net: unit-test, if: eth0, id: two',
      '6fd94d501e58f0aa-a4d4adb82b669cfe, net: unit-test, if: eth0, id: three',
      '82783ef24bdc7036-acb19d111858e348, net: alternate, if: net1, id: three',
    ]);
    const ruleset = execIn(ns, 'nft', ['list', 'table', 'inet', 'cni_plugins_masquerade']);
    assert.match(ruleset, /ip saddr 192\.168\.1\.1 ip daddr != 192\.168\.1\.0\/24 masquerade comment/);
    assert.match(ruleset, /ip daddr 224\.0\.0\.0\/4 return/);
    assert.match(ruleset, /goto masq_checks/);
    assert.equal(nftRules(ns).filter((r) => r.chain === 'postrouting').length, 3);
    // repeated setup replaces, not duplicates
    add('unit-test', 'eth0', 'one', '192.168.1.1/24');
    assert.equal(comments().length, 4);
    add('unit-test', 'eth0', 'four', '192.168.1.1/24');
    masq(ns, `m.teardownIPMasq([c('192.168.1.1/24')],'unit-test','eth0','one')`);
    assert.deepEqual(comments().map((s) => s.split(' ').at(-1)), ['two', 'three', 'three', 'four']);
    masq(ns, `m.gcIPMasq('unit-test',[{ifname:'eth0',containerID:'two'},{ifname:'eth0',containerID:'three'},{ifname:'eth0',containerID:'one'}])`);
    masq(ns, `m.gcIPMasq('alternate',[{ifname:'net1',containerID:'three'}])`);
    assert.deepEqual(comments().map((s) => s.split(' ').at(-1)), ['two', 'three', 'three']);
    masq(ns, `m.teardownIPMasq([],'unit-test','eth0','two')`);
    assert.deepEqual(comments().map((s) => s.split(' ').at(-1)), ['three', 'three']);
    masq(ns, `m.gcIPMasq('unit-test',[])`);
    masq(ns, `m.gcIPMasq('alternate',[])`);
    assert.deepEqual(comments(), []);
  });

  test('interop with the Go bridge (iptables ipMasq): its rules removed by ours, ours by its DEL', () => {
    // An interop test without the reference plugins fails: it must not pass by not running.
    for (const f of [GO_BRIDGE, GO_HOSTLOCAL]) assert.ok(fs.existsSync(f), `${f} missing: install containernetworking-plugins (bash scripts/install-deps.sh)`);
    const cns = makeNetns('nfmasqc').name;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-nfmasq-'));
    try {
      ipIn(ns, ['link', 'set', 'lo', 'up']);
      const conf = JSON.stringify({
        cniVersion: '0.4.0', name: 'gonet', type: 'bridge', bridge: 'ctsbr0', isGateway: true, ipMasq: true,
        ipam: { type: 'host-local', subnet: '10.77.0.0/24', dataDir: dir },
      });
      const env = (cmd: string) => ({
        CNI_COMMAND: cmd, CNI_CONTAINERID: 'gocid', CNI_NETNS: `/run/netns/${cns}`, CNI_IFNAME: 'eth0',
        CNI_PATH: path.dirname(GO_HOSTLOCAL), PATH: process.env.PATH ?? '',
      });
      const go = (cmd: string) => {
        const r = spawnSync('ip', ['netns', 'exec', ns, GO_BRIDGE], { input: conf, env: env(cmd), encoding: 'utf8' });
        assert.equal(r.status, 0, `Go bridge ${cmd}: ${r.stdout} ${r.stderr}`);
        return r.stdout;
      };
      const res = JSON.parse(go('ADD'));
      const addr: string = res.ips[0].address;
      const { formatChainName } = require(OUT + '/shared/netfilter/names.js');
      const chain = formatChainName('gonet', 'gocid');
      assert.ok(save(ns).includes(`-j ${chain}`), 'Go bridge made its ipMasq chain');
      masq(ns, `m.teardownIPMasq([],'gonet','eth0','gocid')`);
      assert.ok(!save(ns).includes(chain), 'our teardown (no addresses) removed the Go rules');
      masq(ns, `m.setupIPMasq('iptables',[c('${addr}')],'gonet','eth0','gocid')`);
      assert.ok(save(ns).includes(`-j ${chain}`));
      go('DEL');
      assert.ok(!save(ns).includes(chain), 'Go DEL removed the rules we made');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
