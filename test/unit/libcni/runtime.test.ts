// The libcni harness's command sequences (test/helpers/libcni.ts) run against recording fake
// plugins (small node scripts that log what they receive): ADD order and chaining, the cache
// file, DEL in reverse with the cached result and args, CHECK, GC (synthesised DEL, then GC with
// the valid list), STATUS, validation. No root: the fakes touch nothing but their log.
import { after, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CniPluginError, LibcniError, Runtime, type ConfList, type RuntimeConf } from '../../helpers/libcni';
import { tempDir } from '../../helpers/plugins';

const tmp = tempDir('libcni-rt');
after(() => tmp.cleanup());
const binDir = path.join(tmp.path, 'bin');
const logFile = path.join(tmp.path, 'calls.log');

// A fake plugin: logs {plugin, command, env, conf}; fails as `conf.fakeFail[COMMAND]` says
// (optionally only for the container IDs in `ids`); ADD appends `conf.fakeIp` to prevResult.
const FAKE = `#!/usr/bin/env node
const fs = require('fs');
const name = require('path').basename(process.argv[1]);
const cmd = process.env.CNI_COMMAND;
let input = '';
if (cmd !== 'VERSION') input = fs.readFileSync(0, 'utf8');
const conf = input ? JSON.parse(input) : {};
const env = {};
for (const k of Object.keys(process.env)) if (k.startsWith('CNI_')) env[k] = process.env[k];
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ plugin: name, command: cmd, env, conf }) + '\\n');
const fail = (conf.fakeFail || {})[cmd];
if (fail && (!fail.ids || fail.ids.includes(process.env.CNI_CONTAINERID))) {
  process.stderr.write('fake ' + name + ' failing ' + cmd + '\\n');
  process.stdout.write(JSON.stringify({ code: fail.code, msg: fail.msg, details: fail.details }));
  process.exit(1);
}
if (cmd === 'VERSION') {
  const all = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
  process.stdout.write(JSON.stringify({ cniVersion: '1.1.0', supportedVersions: name === 'fake-old' ? all.slice(0, 4) : all }));
} else if (cmd === 'ADD') {
  const prev = conf.prevResult || { interfaces: [{ name: process.env.CNI_IFNAME, sandbox: process.env.CNI_NETNS }], ips: [] };
  const out = { ...prev, cniVersion: conf.cniVersion };
  if (conf.fakeIp) out.ips = [...(prev.ips || []), { address: conf.fakeIp, interface: 0 }];
  if (conf.fakeOmitVersion) delete out.cniVersion;
  process.stdout.write(JSON.stringify(out));
}
`;

interface Logged {
  plugin: string;
  command: string;
  env: Record<string, string>;
  conf: Record<string, any>;
}
const logged = (): Logged[] =>
  fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Logged) : [];
const seq = (l: Logged[]): string[] => l.map((c) => `${c.command} ${c.plugin}${c.env.CNI_CONTAINERID ? ' ' + c.env.CNI_CONTAINERID : ''}`);

fs.mkdirSync(binDir, { recursive: true });
for (const p of ['fake-a', 'fake-b', 'fake-old']) fs.writeFileSync(path.join(binDir, p), FAKE, { mode: 0o755 });

const caps = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } };
const rc = (id: string, extra: Partial<RuntimeConf> = {}): RuntimeConf => ({ containerId: id, netns: `/run/netns/${id}`, ifname: 'eth0', ...extra });
const list = (over: Partial<ConfList> = {}, a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): ConfList => ({
  name: 'testnet',
  cniVersion: '1.1.0',
  plugins: [
    { type: 'fake-a', fakeIp: '10.9.0.2/24', ...a },
    { type: 'fake-b', capabilities: { portMappings: true }, ...b },
  ],
  ...over,
});

let cacheSeq = 0;
let cacheDir = '';
const runtime = (l: ConfList = list()): Runtime => new Runtime(l, binDir, cacheDir, undefined, { FAKE_LOG: logFile });

beforeEach(() => {
  fs.rmSync(logFile, { force: true });
  cacheDir = path.join(tmp.path, `cache${++cacheSeq}`);
});

describe('ADD', () => {
  it('runs the plugins in order, chaining each result as the next prevResult, and returns the last', () => {
    const rt = runtime();
    const r = rt.add(rc('c1', { cniArgs: [['IgnoreUnknown', '1']], capabilityArgs: caps }));
    const l = logged();
    assert.deepEqual(seq(l), ['ADD fake-a c1', 'ADD fake-b c1']);
    assert.equal(l[0]!.conf.prevResult, undefined, 'the first plugin gets no prevResult');
    assert.deepEqual(l[1]!.conf.prevResult, { interfaces: [{ name: 'eth0', sandbox: '/run/netns/c1' }], ips: [{ address: '10.9.0.2/24', interface: 0 }], cniVersion: '1.1.0' });
    assert.equal(l[0]!.conf.runtimeConfig, undefined, 'fake-a declares no capability');
    assert.deepEqual(l[1]!.conf.runtimeConfig, { portMappings: caps.portMappings }, 'only the declared capability');
    for (const c of l) {
      assert.equal(c.conf.name, 'testnet');
      assert.equal(c.conf.cniVersion, '1.1.0');
      assert.deepEqual(c.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_ARGS: 'IgnoreUnknown=1', CNI_IFNAME: 'eth0', CNI_PATH: binDir });
    }
    assert.deepEqual(r, l[1]!.conf.prevResult);
  });

  it('caches the final result as a cniCacheV1 file (dir 0700, file 0600)', () => {
    const l = list();
    const rt = runtime(l);
    const r = rt.add(rc('c1', { cniArgs: [['K', 'V']], capabilityArgs: caps }));
    const file = path.join(cacheDir, 'results', 'testnet-c1-eth0');
    assert.equal(rt.cacheFile(rc('c1')), file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const c = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(Object.keys(c), ['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'capabilityArgs', 'result']);
    assert.equal(c.kind, 'cniCacheV1');
    assert.equal(Buffer.from(c.config, 'base64').toString(), JSON.stringify(l));
    assert.deepEqual([c.containerId, c.ifName, c.networkName, c.netns], ['c1', 'eth0', 'testnet', '/run/netns/c1']);
    assert.deepEqual(c.cniArgs, [['K', 'V']]);
    assert.deepEqual(c.capabilityArgs, caps);
    assert.deepEqual(c.result, r);
  });

  it('empty args are left out of the cache (Go omitempty)', () => {
    const rt = runtime();
    rt.add(rc('c2'));
    assert.deepEqual(Object.keys(rt.cached(rc('c2'))), ['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'result']);
  });

  it('a result without cniVersion gets the list\'s', () => {
    const r = runtime(list({ cniVersion: '1.0.0' }, {}, { fakeOmitVersion: true })).add(rc('c3'));
    assert.equal(r.cniVersion, '1.0.0');
  });

  it('validates container ID, network name and ifname before running anything', () => {
    const rt = runtime();
    assert.throws(() => rt.add(rc('c1', { ifname: 'a/b' })), (e: unknown) => e instanceof LibcniError && e.code === 4);
    assert.throws(() => runtime(list({ name: 'bad name' })).add(rc('c1')), (e: unknown) => e instanceof LibcniError && e.code === 7);
    assert.throws(() => rt.add(rc('.c1')), (e: unknown) => e instanceof LibcniError && e.code === 4);
    assert.deepEqual(logged(), []);
  });

  it('a failing plugin stops the chain: CniPluginError with its code, msg and details; nothing cached', () => {
    const rt = runtime(list({}, { fakeFail: { ADD: { code: 11, msg: 'try later', details: 'lock held' } } }));
    assert.throws(() => rt.add(rc('c1')), (e: unknown) => {
      assert.ok(e instanceof CniPluginError);
      assert.deepEqual([e.plugin, e.command, e.code, e.msg, e.details], ['fake-a', 'ADD', 11, 'try later', 'lock held']);
      assert.match(e.message, /^plugin type="fake-a" failed \(add\): try later; lock held \[stderr: fake fake-a failing ADD\]$/);
      return true;
    });
    assert.deepEqual(seq(logged()), ['ADD fake-a c1']);
    assert.equal(rt.cached(rc('c1')), undefined);
  });
});

describe('DEL', () => {
  it('reverse order, each plugin with the cached result and the cached args; the cache file goes', () => {
    const rt = runtime();
    const r = rt.add(rc('c1', { cniArgs: [['K', 'V']], capabilityArgs: caps }));
    fs.rmSync(logFile);
    rt.del(rc('c1'));
    const l = logged();
    assert.deepEqual(seq(l), ['DEL fake-b c1', 'DEL fake-a c1']);
    for (const c of l) {
      assert.deepEqual(c.conf.prevResult, r);
      assert.equal(c.env.CNI_ARGS, 'K=V');
    }
    assert.deepEqual(l[0]!.conf.runtimeConfig, { portMappings: caps.portMappings }, 'capability args restored from the cache');
    assert.equal(fs.existsSync(rt.cacheFile(rc('c1'))), false);
  });

  it('the caller\'s capability args win over the cached ones', () => {
    const rt = runtime();
    rt.add(rc('c1', { capabilityArgs: caps }));
    fs.rmSync(logFile);
    rt.del(rc('c1', { capabilityArgs: { portMappings: [] } }));
    assert.deepEqual(logged()[0]!.conf.runtimeConfig, { portMappings: [] });
  });

  it('without a cache file: no prevResult, DEL still runs (idempotent)', () => {
    const rt = runtime();
    rt.del(rc('never'));
    rt.del(rc('never'));
    const l = logged();
    assert.deepEqual(seq(l), ['DEL fake-b never', 'DEL fake-a never', 'DEL fake-b never', 'DEL fake-a never']);
    assert.ok(l.every((c) => !('prevResult' in c.conf)));
  });

  it('below 0.4.0 no prevResult even with a cache', () => {
    const rt = runtime(list({ cniVersion: '0.3.1' }, { fakeIp: undefined }));
    rt.add(rc('c1'));
    fs.rmSync(logFile);
    rt.del(rc('c1'));
    assert.ok(logged().every((c) => !('prevResult' in c.conf)));
  });

  it('the cached result is converted to the list\'s current version', () => {
    const rt = runtime();
    rt.add(rc('c1'));
    fs.rmSync(logFile);
    rt.withList(list({ cniVersion: '0.4.0' })).del(rc('c1'));
    const prev = logged()[0]!.conf.prevResult;
    assert.equal(prev.cniVersion, '0.4.0');
    assert.deepEqual(prev.ips, [{ version: '4', address: '10.9.0.2/24', interface: 0 }]);
  });

  it('an unreadable cache is dropped and DEL goes on without prevResult', () => {
    const rt = runtime();
    rt.add(rc('c1'));
    fs.writeFileSync(rt.cacheFile(rc('c1')), JSON.stringify({ kind: 'cniCacheV1', containerId: 'c1', ifName: 'eth0', networkName: 'testnet', result: { cniVersion: '7.0.0' } }));
    fs.rmSync(logFile);
    rt.del(rc('c1'));
    assert.deepEqual(seq(logged()), ['DEL fake-b c1', 'DEL fake-a c1']);
    assert.ok(logged().every((c) => !('prevResult' in c.conf)));
  });

  it('stops at the first failing plugin and keeps the cache', () => {
    const rt = runtime(list({}, {}, { fakeFail: { DEL: { code: 999, msg: 'no' } } }));
    rt.add(rc('c1'));
    fs.rmSync(logFile);
    assert.throws(() => rt.del(rc('c1')), (e: unknown) => e instanceof CniPluginError && e.plugin === 'fake-b' && /failed \(delete\): no/.test(e.message));
    assert.deepEqual(seq(logged()), ['DEL fake-b c1']);
    assert.ok(rt.cached(rc('c1')));
  });
});

describe('CHECK', () => {
  it('in order, with the cached result and cached args', () => {
    const rt = runtime();
    const r = rt.add(rc('c1', { capabilityArgs: caps }));
    fs.rmSync(logFile);
    rt.check(rc('c1'));
    const l = logged();
    assert.deepEqual(seq(l), ['CHECK fake-a c1', 'CHECK fake-b c1']);
    for (const c of l) assert.deepEqual(c.conf.prevResult, r);
    assert.deepEqual(l[1]!.conf.runtimeConfig, { portMappings: caps.portMappings });
  });

  it('without a cache the plugins get no prevResult (libcni does not refuse)', () => {
    runtime().check(rc('nocache'));
    assert.ok(logged().every((c) => !('prevResult' in c.conf)));
  });

  it('a failing plugin surfaces as CniPluginError and stops the chain', () => {
    const rt = runtime(list({}, { fakeFail: { CHECK: { code: 999, msg: 'address gone' } } }));
    rt.add(rc('c1'));
    fs.rmSync(logFile);
    assert.throws(() => rt.check(rc('c1')), (e: unknown) => e instanceof CniPluginError && e.msg === 'address gone');
    assert.deepEqual(seq(logged()), ['CHECK fake-a c1']);
  });

  it('disableCheck ("true" string) runs nothing; below 0.4.0 refused', () => {
    runtime(list({ disableCheck: 'true' })).check(rc('c1'));
    assert.deepEqual(logged(), []);
    assert.throws(() => runtime(list({ cniVersion: '0.3.1' })).check(rc('c1')), /does not support the CHECK command/);
  });
});

describe('GC', () => {
  it('DELs stale cached attachments of this network (from their cache), then GC to every plugin with the valid list', () => {
    const rt = runtime();
    rt.add(rc('live', { capabilityArgs: caps }));
    const stale = rt.add(rc('stale', { cniArgs: [['K', 'V']], capabilityArgs: caps }));
    const other = rt.withList(list({ name: 'othernet' }));
    other.add(rc('elsewhere'));
    fs.rmSync(logFile);
    const errors = rt.gc([{ containerID: 'live', ifname: 'eth0' }]);
    assert.deepEqual(errors, []);
    const l = logged();
    assert.deepEqual(seq(l), ['DEL fake-b stale', 'DEL fake-a stale', 'GC fake-a', 'GC fake-b']);
    const del = l[0]!;
    assert.equal(del.env.CNI_NETNS, '/run/netns/stale');
    assert.equal(del.env.CNI_ARGS, 'K=V');
    assert.deepEqual(del.conf.runtimeConfig, { portMappings: caps.portMappings });
    assert.deepEqual(del.conf.prevResult, stale);
    for (const g of l.slice(2)) {
      assert.deepEqual(g.env, { CNI_COMMAND: 'GC', CNI_CONTAINERID: '', CNI_NETNS: '', CNI_ARGS: '', CNI_IFNAME: '', CNI_PATH: binDir });
      assert.deepEqual(g.conf['cni.dev/valid-attachments'], [{ containerID: 'live', ifname: 'eth0' }]);
      assert.deepEqual(g.conf['cni.dev/attachments'], [{ containerID: 'live', ifname: 'eth0' }]);
      assert.ok(!('prevResult' in g.conf) && !('runtimeConfig' in g.conf));
    }
    assert.equal(rt.cached(rc('stale')), undefined, 'the stale cache file is removed');
    assert.ok(rt.cached(rc('live')), 'the live one stays');
    assert.ok(other.cached(rc('elsewhere')), 'another network\'s attachment is not touched');
  });

  it('no valid list (cnitool gc): every cached attachment of the network is DELeted; GC without the keys', () => {
    const rt = runtime();
    rt.add(rc('a1'));
    rt.add(rc('a2'));
    fs.rmSync(logFile);
    assert.deepEqual(rt.gc(), []);
    const l = logged();
    assert.deepEqual(seq(l), ['DEL fake-b a1', 'DEL fake-a a1', 'DEL fake-b a2', 'DEL fake-a a2', 'GC fake-a', 'GC fake-b']);
    assert.ok(l.slice(4).every((g) => !('cni.dev/valid-attachments' in g.conf) && !('cni.dev/attachments' in g.conf)));
  });

  it('below 1.1.0 only the synthesised DELs', () => {
    const rt = runtime(list({ cniVersion: '1.0.0' }));
    rt.add(rc('s1'));
    fs.rmSync(logFile);
    assert.deepEqual(rt.gc([]), []);
    assert.deepEqual(seq(logged()), ['DEL fake-b s1', 'DEL fake-a s1']);
  });

  it('an unreadable results dir makes libcni skip GC entirely (no plugin GC either)', () => {
    assert.deepEqual(runtime().gc([]), []);
    assert.deepEqual(logged(), []);
  });

  it('goes on after errors and returns them all', () => {
    const rt = runtime(list({}, { fakeFail: { DEL: { code: 999, msg: 'del broke', ids: ['bad'] }, GC: { code: 999, msg: 'gc broke' } } }));
    rt.add(rc('bad'));
    rt.add(rc('good'));
    fs.rmSync(logFile);
    const errors = rt.gc([]);
    assert.deepEqual(errors.map((e) => e.message.replace(/ \[stderr:.*$/, '')), [
      'failed to delete stale attachment bad eth0: plugin type="fake-a" failed (delete): del broke',
      'failed to GC plugin fake-a: plugin type="fake-a" failed (gc): gc broke',
    ]);
    assert.ok((errors[0] as Error & { cause?: unknown }).cause instanceof CniPluginError);
    assert.deepEqual(seq(logged()), ['DEL fake-b bad', 'DEL fake-a bad', 'DEL fake-b good', 'DEL fake-a good', 'GC fake-a', 'GC fake-b']);
    assert.ok(rt.cached(rc('bad')), 'the attachment whose DEL failed stays cached');
    assert.equal(rt.cached(rc('good')), undefined);
  });

  it('disableGC runs nothing', () => {
    const rt = runtime();
    rt.add(rc('x1'));
    fs.rmSync(logFile);
    assert.deepEqual(rt.withList(list({ disableGC: true })).gc([]), []);
    assert.deepEqual(logged(), []);
    assert.ok(rt.cached(rc('x1')));
  });
});

describe('STATUS', () => {
  it('each plugin in order with name and version, no container variables', () => {
    runtime().status();
    const l = logged();
    assert.deepEqual(seq(l), ['STATUS fake-a', 'STATUS fake-b']);
    assert.deepEqual(l[0]!.env, { CNI_COMMAND: 'STATUS', CNI_CONTAINERID: '', CNI_NETNS: '', CNI_ARGS: '', CNI_IFNAME: '', CNI_PATH: binDir });
    assert.equal(l[0]!.conf.name, 'testnet');
  });

  it('the first error is thrown as is (code 50) and stops', () => {
    const rt = runtime(list({}, { fakeFail: { STATUS: { code: 50, msg: 'not ready' } } }));
    assert.throws(() => rt.status(), (e: unknown) => e instanceof CniPluginError && e.code === 50 && e.command === 'STATUS');
    assert.deepEqual(seq(logged()), ['STATUS fake-a']);
  });
});

describe('validate (ValidateNetworkList) and loading from a conf dir', () => {
  it('returns the enabled capabilities; a plugin without the list\'s version is an error', () => {
    assert.deepEqual(runtime().validate(), ['portMappings']);
    const bad = runtime(list({}, { type: 'fake-old' }));
    assert.throws(() => bad.validate(), { message: '[plugin fake-old does not support config version "1.1.0"]' });
    runtime(list({ cniVersion: '0.3.1' }, { type: 'fake-old' })).validate();
  });

  it('a Runtime from a conf dir caches the file\'s bytes as config', () => {
    const dir = path.join(tmp.path, 'net.d');
    fs.mkdirSync(dir, { recursive: true });
    const text = JSON.stringify(list({ cniVersions: ['1.0.0', '1.1.0'], cniVersion: undefined }), null, 2);
    fs.writeFileSync(path.join(dir, '10-test.conflist'), text);
    const rt = Runtime.fromConfDir(dir, 'testnet', binDir, cacheDir, undefined, { FAKE_LOG: logFile });
    assert.equal(rt.version, '1.1.0');
    rt.add(rc('f1'));
    assert.equal(Buffer.from(rt.cached(rc('f1')).config, 'base64').toString(), text);
    assert.ok(logged().every((c) => c.conf.cniVersion === '1.1.0'));
  });
});
