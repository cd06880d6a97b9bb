import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CniError, ErrorCode } from '../../../shared/cni/errors';
import type { CmdArgs, Command } from '../../../shared/cni/plugin';
import type { AnyResult, NetConf } from '../../../shared/cni/types';
import { tempNameFor } from '../../../shared/state/atomic-file';
import { type FlannelDeps, makeFlannelPlugin, SCRATCH_GC_GRACE_MS } from '../../../plugins/flannel/plugin';
import { rejectsCni } from '../../helpers/assert-cni';
import { GC_GRACE_MS } from '../../../shared/state/gc-grace';

const V4 = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const RESULT: AnyResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.17.2/24', gateway: '10.1.17.1', interface: 2 }] };

interface Call {
  op: string;
  type: string;
  conf: Record<string, unknown>;
  raw: string;
}

/** Fake delegate: records calls; `fail[op]` > 0 makes the next calls of that op fail. */
function fakeDeps(now = Date.now()) {
  const calls: Call[] = [];
  const warnings: string[] = [];
  const fail: Record<string, number> = {};
  const rec = (op: string) => async (type: string, conf: Buffer): Promise<void> => {
    calls.push({ op, type, conf: JSON.parse(conf.toString()) as Record<string, unknown>, raw: conf.toString() });
    if ((fail[op] ?? 0) > 0) {
      fail[op]!--;
      throw new CniError(ErrorCode.TryAgainLater, `${op} exploded`);
    }
  };
  const deps: FlannelDeps = {
    delegateAdd: async (type, conf, a) => {
      await rec('ADD')(type, conf);
      void a;
      return RESULT;
    },
    delegateDel: rec('DEL'),
    delegateCheck: rec('CHECK'),
    delegateGC: rec('GC'),
    delegateStatus: rec('STATUS'),
    warn: (m) => warnings.push(m),
    now: () => now,
  };
  return { deps, calls, warnings, fail };
}

function setup(t: { after(fn: () => void): void }, env: string | null = V4) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-plugin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const subnetFile = path.join(dir, 'subnet.env');
  const dataDir = path.join(dir, 'data');
  if (env !== null) writeFileSync(subnetFile, env);
  const conf = (extra: Record<string, unknown> = {}): NetConf => ({
    cniVersion: '1.1.0',
    name: 'cbr0',
    type: 'flannel',
    subnetFile,
    dataDir,
    delegate: { hairpinMode: true, isDefaultGateway: true },
    ...extra,
  });
  const args = (command: Command, c: NetConf, containerId = 'ctr1'): CmdArgs => ({
    command,
    containerId: command === 'GC' || command === 'STATUS' ? '' : containerId,
    netns: '/var/run/netns/x',
    ifname: 'eth0',
    args: '',
    path: ['/opt/cni/bin'],
    stdin: Buffer.from(JSON.stringify(c)),
    conf: c,
    env: {},
  });
  return { dir, subnetFile, dataDir, conf, args };
}


test('ADD saves the rendered delegate before delegating and returns its result as is', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  let savedAtDelegation = '';
  const p = makeFlannelPlugin({
    ...f.deps,
    delegateAdd: async (type, conf, a) => {
      savedAtDelegation = readFileSync(path.join(s.dataDir, 'ctr1'), 'utf8');
      return f.deps.delegateAdd(type, conf, a);
    },
  });
  const r = await p.add(s.args('ADD', s.conf({ runtimeConfig: { portMappings: [] } })));
  assert.equal(r, RESULT);
  assert.equal(f.calls.length, 1);
  assert.equal(f.calls[0]!.type, 'bridge');
  assert.equal(savedAtDelegation, f.calls[0]!.raw);
  assert.equal(
    f.calls[0]!.raw,
    '{"cniVersion":"1.1.0","name":"cbr0","type":"bridge","mtu":1472,"ipMasq":false,"isGateway":true,"hairpinMode":true,' +
      '"isDefaultGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]},' +
      '"runtimeConfig":{"portMappings":[]}}',
  );
});

test('ADD without subnet.env: the wrapped reference message, naming the missing file', async (t) => {
  const s = setup(t, null);
  const f = fakeDeps();
  await rejectsCni(
    makeFlannelPlugin(f.deps).add(s.args('ADD', s.conf())),
    ErrorCode.TryAgainLater,
    `failed to load flannel 'subnet.env' file: open ${s.subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
  );
  writeFileSync(s.subnetFile, 'foo=bar\n');
  await rejectsCni(
    makeFlannelPlugin(f.deps).add(s.args('ADD', s.conf())),
    ErrorCode.Internal,
    `failed to load flannel 'subnet.env' file: ${s.subnetFile} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ. Check the flannel pod log for this node.`,
  );
  assert.equal(f.calls.length, 0);
  assert.equal(existsSync(s.dataDir), false);
});

test('ADD delegate failure: wrapped, code kept, saved file left for the runtime\'s DEL', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  f.fail.ADD = 1;
  await rejectsCni(makeFlannelPlugin(f.deps).add(s.args('ADD', s.conf())), ErrorCode.TryAgainLater, 'failed to delegate add: ADD exploded');
  assert.ok(existsSync(path.join(s.dataDir, 'ctr1')));
});

test('DEL: saved bytes go to the delegate verbatim; file removed after success; second DEL is a no-op', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  // subnet.env and config changing between ADD and DEL must not matter.
  writeFileSync(s.subnetFile, V4.replace('10.1.17.1/24', '10.1.99.1/24'));
  await p.del(s.args('DEL', s.conf({ delegate: { type: 'other' } })));
  assert.deepEqual(f.calls.map((c) => c.op), ['ADD', 'DEL']);
  assert.equal(f.calls[1]!.raw, f.calls[0]!.raw);
  assert.equal(f.calls[1]!.type, 'bridge');
  assert.deepEqual(readdirSync(s.dataDir), []);
  await p.del(s.args('DEL', s.conf()));
  assert.equal(f.calls.length, 2);
});

test('DEL retry after a delegate failure reaches the delegate again (no leak)', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  f.fail.DEL = 2;
  await rejectsCni(p.del(s.args('DEL', s.conf())), ErrorCode.TryAgainLater, 'failed to delegate del: DEL exploded');
  assert.ok(existsSync(path.join(s.dataDir, 'ctr1')));
  await rejectsCni(p.del(s.args('DEL', s.conf())), ErrorCode.TryAgainLater, /DEL exploded/);
  await p.del(s.args('DEL', s.conf()));
  assert.deepEqual(f.calls.map((c) => c.op), ['ADD', 'DEL', 'DEL', 'DEL']);
  for (const c of f.calls.slice(1)) assert.equal(c.raw, f.calls[0]!.raw);
  assert.equal(existsSync(path.join(s.dataDir, 'ctr1')), false);
  await p.del(s.args('DEL', s.conf()));
  assert.equal(f.calls.length, 4);
});

test('DEL with a zero-byte saved file: rebuilt from config + subnet.env, delegated, then removed', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  writeFileSync(path.join(s.dataDir, 'ctr1'), '');
  f.fail.DEL = 1;
  await rejectsCni(p.del(s.args('DEL', s.conf())), ErrorCode.TryAgainLater, /DEL exploded/);
  assert.ok(existsSync(path.join(s.dataDir, 'ctr1')), 'kept for the retry');
  await p.del(s.args('DEL', s.conf()));
  assert.deepEqual(f.calls.map((c) => c.op), ['ADD', 'DEL', 'DEL']);
  assert.equal(f.calls[2]!.raw, f.calls[0]!.raw, 'same config as ADD rendered');
  assert.equal(existsSync(path.join(s.dataDir, 'ctr1')), false);
  assert.match(f.warnings[0]!, /saved delegate config .*ctr1 is unusable \(the file is empty\)/);
});

test('DEL with a torn saved file and no subnet.env: minimal delegate releases the address', async (t) => {
  const s = setup(t, null);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  mkdirSync(s.dataDir);
  writeFileSync(path.join(s.dataDir, 'ctr1'), '{"cniVersion":"1.1.0","name":"cb');
  await p.del(s.args('DEL', s.conf({ ipam: { dataDir: '/tmp/ipam-state' } })));
  assert.equal(f.calls.length, 1);
  assert.equal(f.calls[0]!.type, 'bridge');
  assert.deepEqual(f.calls[0]!.conf, {
    cniVersion: '1.1.0',
    name: 'cbr0',
    type: 'bridge',
    hairpinMode: true,
    isDefaultGateway: true,
    ipam: { type: 'host-local', dataDir: '/tmp/ipam-state' },
    ipMasq: true,
  });
  assert.equal(existsSync(path.join(s.dataDir, 'ctr1')), false);
});

test('CHECK: saved config + current prevResult and version; missing file is an error naming it', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  const prevResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.17.2/24' }] };
  await p.check(s.args('CHECK', s.conf({ prevResult })));
  const c = f.calls[1]!;
  assert.equal(c.op, 'CHECK');
  assert.equal(c.type, 'bridge');
  assert.deepEqual(c.conf, { ...f.calls[0]!.conf, prevResult });
  await rejectsCni(p.check(s.args('CHECK', s.conf({ prevResult }), 'other')), ErrorCode.Internal, new RegExp(`no saved delegate config ${s.dataDir}/other for container other`));
  f.fail.CHECK = 1;
  await rejectsCni(p.check(s.args('CHECK', s.conf({ prevResult }))), ErrorCode.TryAgainLater, 'failed to delegate check: CHECK exploded');
  writeFileSync(path.join(s.dataDir, 'ctr1'), '');
  await rejectsCni(p.check(s.args('CHECK', s.conf({ prevResult }))), ErrorCode.Internal, /is unusable: the file is empty/);
});

test('STATUS: 50 naming subnet.env while it is missing or invalid, else delegated', async (t) => {
  const s = setup(t, null);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  await rejectsCni(
    p.status(s.args('STATUS', s.conf())),
    ErrorCode.PluginNotAvailable,
    `flannel is not ready: open ${s.subnetFile}: no such file or directory (flanneld writes ${s.subnetFile} once it holds a lease for this node)`,
  );
  writeFileSync(s.subnetFile, 'FLANNEL_MTU=1450\n');
  await rejectsCni(p.status(s.args('STATUS', s.conf())), ErrorCode.PluginNotAvailable, `flannel is not ready: ${s.subnetFile} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_IPMASQ`);
  assert.equal(f.calls.length, 0);
  writeFileSync(s.subnetFile, V4);
  await p.status(s.args('STATUS', s.conf()));
  assert.equal(f.calls.length, 1);
  assert.equal(f.calls[0]!.op, 'STATUS');
  assert.equal(f.calls[0]!.type, 'bridge');
  assert.deepEqual(f.calls[0]!.conf.ipam, { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] });
  f.fail.STATUS = 1;
  await rejectsCni(p.status(s.args('STATUS', s.conf())), ErrorCode.TryAgainLater, 'failed to delegate status: STATUS exploded');
});

test('GC: forwards valid attachments, removes stale scratch files only (old enough), keeps the rest', async (t) => {
  const s = setup(t);
  const now = Date.now() + 10 * SCRATCH_GC_GRACE_MS;
  const f = fakeDeps(now);
  const p = makeFlannelPlugin(f.deps);
  for (const id of ['keep', 'stale', 'fresh']) await p.add(s.args('ADD', s.conf(), id));
  writeFileSync(path.join(s.dataDir, 'zero'), '');
  writeFileSync(path.join(s.dataDir, 'notes'), 'mine, not flannel\'s');
  const oldTemp = tempNameFor(path.join(s.dataDir, 'x'));
  const newTemp = tempNameFor(path.join(s.dataDir, 'y'));
  writeFileSync(oldTemp, '{');
  writeFileSync(newTemp, '{');
  const old = (now - 2 * SCRATCH_GC_GRACE_MS) / 1000;
  for (const n of ['keep', 'stale', 'zero', 'notes', path.basename(oldTemp)]) utimesSync(path.join(s.dataDir, n), old, old);
  const fresh = now / 1000;
  for (const n of ['fresh', path.basename(newTemp)]) utimesSync(path.join(s.dataDir, n), fresh, fresh);

  const valid = [{ containerID: 'keep', ifname: 'eth0' }];
  await p.gc(s.args('GC', s.conf({ 'cni.dev/valid-attachments': valid, 'cni.dev/attachments': valid })));
  const gc = f.calls.filter((c) => c.op === 'GC');
  assert.equal(gc.length, 1);
  assert.equal(gc[0]!.type, 'bridge');
  assert.deepEqual(gc[0]!.conf['cni.dev/valid-attachments'], valid);
  assert.deepEqual(gc[0]!.conf['cni.dev/attachments'], valid);
  assert.equal(gc[0]!.conf.cniVersion, '1.1.0');
  assert.deepEqual(readdirSync(s.dataDir).sort(), ['fresh', 'keep', 'notes', path.basename(newTemp)].sort());
});

test('GC without a valid-attachments list (absent or null) means none is valid: only files inside the grace stay', async (t) => {
  const s = setup(t);
  const now = Date.now();
  const f = fakeDeps(now);
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  // Just written: an ADD may still be in flight.
  await p.gc(s.args('GC', s.conf()));
  assert.deepEqual(readdirSync(s.dataDir), ['ctr1']);
  assert.equal(f.calls.at(-1)!.op, 'GC');
  assert.equal('cni.dev/valid-attachments' in f.calls.at(-1)!.conf, false);
  await p.add(s.args('ADD', s.conf(), 'ctr2'));
  const old = (now - 2 * SCRATCH_GC_GRACE_MS) / 1000;
  utimesSync(path.join(s.dataDir, 'ctr1'), old, old);
  utimesSync(path.join(s.dataDir, 'ctr2'), old, old);
  await p.gc(s.args('GC', s.conf({ 'cni.dev/valid-attachments': null, 'cni.dev/attachments': null })));
  assert.deepEqual(readdirSync(s.dataDir), []);
  assert.equal(SCRATCH_GC_GRACE_MS, GC_GRACE_MS, 'flannel and host-local share one grace');
});

test('GC with a malformed list is refused before anything is touched (no file removed, no delegate called)', async (t) => {
  const s = setup(t);
  const f = fakeDeps(Date.now() + 10 * SCRATCH_GC_GRACE_MS);
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf()));
  const before = f.calls.length;
  for (const bad of ['all', { containerID: 'ctr1', ifname: 'eth0' }, [{ containerId: 'ctr1', ifname: 'eth0' }], [{ containerID: 'ctr1' }]]) {
    await assert.rejects(p.gc(s.args('GC', s.conf({ 'cni.dev/valid-attachments': bad }))), (e: CniError) => e.code === 7 && /^invalid config: cni\.dev\/valid-attachments/.test(e.message));
  }
  assert.deepEqual(readdirSync(s.dataDir), ['ctr1']);
  assert.equal(f.calls.length, before);
});

test('GC without subnet.env: forwarded with the saved configs (one per type); delegate errors reported after cleanup', async (t) => {
  const s = setup(t);
  const now = Date.now() + 10 * SCRATCH_GC_GRACE_MS;
  const f = fakeDeps(now);
  const p = makeFlannelPlugin(f.deps);
  await p.add(s.args('ADD', s.conf({ cniVersion: '1.0.0' }), 'a'));
  await p.add(s.args('ADD', s.conf({ cniVersion: '1.0.0', delegate: { type: 'ipvlan', master: 'eth0' } }), 'b'));
  await p.add(s.args('ADD', s.conf({ cniVersion: '1.0.0' }), 'c'));
  rmSync(s.subnetFile);
  f.fail.GC = 1;
  const valid = [{ containerID: 'a', ifname: 'eth0' }];
  await rejectsCni(p.gc(s.args('GC', s.conf({ 'cni.dev/valid-attachments': valid }))), ErrorCode.TryAgainLater, /^failed to delegate gc to (bridge|ipvlan): GC exploded$/);
  const gc = f.calls.filter((c) => c.op === 'GC');
  assert.deepEqual(gc.map((c) => c.type).sort(), ['bridge', 'ipvlan']);
  for (const c of gc) {
    assert.equal(c.conf.cniVersion, '1.1.0');
    assert.deepEqual(c.conf['cni.dev/valid-attachments'], valid);
    assert.deepEqual(c.conf.ipam, { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] });
  }
  assert.deepEqual(readdirSync(s.dataDir), ['a']);
});

test('GC with nothing to go on: minimal delegate', async (t) => {
  const s = setup(t, null);
  const f = fakeDeps();
  await makeFlannelPlugin(f.deps).gc(s.args('GC', s.conf({ 'cni.dev/valid-attachments': [] })));
  assert.equal(f.calls.length, 1);
  assert.deepEqual(f.calls[0]!.conf, {
    cniVersion: '1.1.0',
    name: 'cbr0',
    type: 'bridge',
    hairpinMode: true,
    isDefaultGateway: true,
    ipam: { type: 'host-local' },
    'cni.dev/valid-attachments': [],
  });
});

test('config errors are code 7 for every command', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  const bad = s.conf({ delegate: { name: 'x' } });
  for (const cmd of ['ADD', 'CHECK', 'GC', 'STATUS'] as const) {
    const call = { ADD: p.add, CHECK: p.check, GC: p.gc, STATUS: p.status! }[cmd];
    await rejectsCni(call(s.args(cmd, bad)), ErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  }
  assert.equal(f.calls.length, 0);
});

test('DEL of a config ADD refused succeeds when nothing was saved, and reports the error when something was', async (t) => {
  const s = setup(t);
  const f = fakeDeps();
  const p = makeFlannelPlugin(f.deps);
  const bad = s.conf({ delegate: { name: 'x' } });
  await p.del(s.args('DEL', bad));
  assert.equal(f.calls.length, 0);
  await p.add(s.args('ADD', s.conf()));
  await rejectsCni(p.del(s.args('DEL', bad)), ErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'name' field, it'll be set by flannel");
});
