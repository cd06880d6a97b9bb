// The pure parts of the libcni harness (test/helpers/libcni*.ts): conflist loading, version
// negotiation, request building, env, validation and error parsing, against libcni's rules
// (cni-reference-behaviour.md §1.4, §1.8; libcni/conf.go, api.go). No root, no plugin runs.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  buildGCRequest,
  buildPluginRequest,
  buildStatusRequest,
  confFiles,
  confListFromBytes,
  confListFromConf,
  findInPath,
  LibcniError,
  loadConfList,
  loadDefaultConfList,
  negotiatedVersion,
  negotiateVersion,
  parseAddOutput,
  parsePluginError,
  parseVersion,
  pluginDescription,
  pluginEnv,
  readBool,
  runtimeConfigFor,
  Runtime,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from '../../helpers/libcni';
import { tempDir } from '../../helpers/plugins';

const REPO = path.resolve(__dirname, '../../../..');
const tmp = tempDir('libcni-unit');
after(() => tmp.cleanup());

let dirSeq = 0;
/** A fresh conf dir holding `files` (name → content; objects are JSON-encoded). */
function confDir(files: Record<string, unknown>): string {
  const dir = path.join(tmp.path, `d${++dirSeq}`);
  for (const [name, content] of Object.entries(files)) {
    const f = path.join(dir, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const libcniErr = (code: number, message: string) => (e: unknown) => {
  assert.ok(e instanceof LibcniError, String(e));
  assert.equal(e.code, code);
  assert.equal(e.message, message);
  return true;
};

describe('version parsing and negotiation (libcni NetworkConfFromBytes, pkg/version)', () => {
  it('ParseVersion: one to three numeric parts; empty or four parts are errors', () => {
    assert.deepEqual(parseVersion('1.1.0'), [1, 1, 0]);
    assert.deepEqual(parseVersion('1.1'), [1, 1, 0]);
    assert.deepEqual(parseVersion('2'), [2, 0, 0]);
    assert.throws(() => parseVersion(''), { message: 'invalid version "": the version is empty' });
    assert.throws(() => parseVersion('1.0.0.0'), { message: 'invalid version "1.0.0.0": too many parts' });
    assert.throws(() => parseVersion('1.x.0'), /failed to convert minor version part "x"/);
  });

  it('without cniVersions, cniVersion is used as given (also unknown or empty)', () => {
    assert.equal(negotiateVersion({ cniVersion: '1.0.0' }), '1.0.0');
    assert.equal(negotiateVersion({ cniVersion: '2.0.0' }), '2.0.0');
    assert.equal(negotiateVersion({}), '');
    assert.throws(() => negotiateVersion({ cniVersion: 1 }), { message: 'error parsing configuration list: invalid cniVersion type float64' });
  });

  it('with cniVersions, the highest of cniVersions ∪ cniVersion that is not above 1.1.0', () => {
    assert.equal(negotiateVersion({ cniVersion: '0.4.0', cniVersions: ['0.3.1', '1.0.0', '1.1.0', '1.2.0'] }), '1.1.0');
    assert.equal(negotiateVersion({ cniVersion: '1.1.0', cniVersions: ['0.3.1'] }), '1.1.0');
    assert.equal(negotiateVersion({ cniVersion: '2.0.0', cniVersions: ['0.4.0', '1.0.0'] }), '1.0.0');
    assert.equal(negotiateVersion({ cniVersions: ['1.2.0', '3.0.0'] }), '', 'nothing usable: cniVersion stays empty');
  });

  it('compares numerically, not as strings', () => {
    assert.equal(negotiateVersion({ cniVersions: ['0.4.0', '0.10.0'] }), '0.10.0');
  });

  it('an unparsable cniVersions entry or a wrong type is a parse error', () => {
    assert.throws(() => negotiateVersion({ cniVersions: ['1.0.0', 'one'] }), {
      message: 'error parsing configuration list: invalid cniVersions entry one at index 1: failed to convert major version part "one": strconv.Atoi: parsing "one": invalid syntax',
    });
    assert.throws(() => negotiateVersion({ cniVersions: '1.0.0' }), { message: 'error parsing configuration list: invalid type for cniVersions: string' });
    assert.throws(() => negotiateVersion({ cniVersions: [1] }), { message: 'error parsing configuration list: invalid type for cniVersions index 0: float64' });
    assert.throws(() => negotiateVersion({ cniVersion: 'x', cniVersions: ['1.0.0'] }), /^Error: error parsing configuration list: invalid cniVersion x: failed to convert major version part "x"/);
  });

  it('negotiatedVersion (the old entry point) gives the same answer for a ConfList', () => {
    assert.equal(negotiatedVersion({ cniVersion: '0.3.1', cniVersions: ['1.0.0', '1.1.0'] }), '1.1.0');
    assert.equal(negotiatedVersion({ cniVersion: '0.3.1' }), '0.3.1');
  });
});

describe('list flags (readBool)', () => {
  it('bool, or "true"/"false" in any case; absent is false', () => {
    assert.equal(readBool({ disableGC: true }, 'disableGC'), true);
    assert.equal(readBool({ disableGC: 'TRUE' }, 'disableGC'), true);
    assert.equal(readBool({ disableGC: 'False' }, 'disableGC'), false);
    assert.equal(readBool({}, 'disableGC'), false);
  });

  it('other values are parse errors naming key and value', () => {
    assert.throws(() => readBool({ disableGC: 'yes' }, 'disableGC'), { message: 'error parsing configuration list: invalid value "yes" for disableGC' });
    assert.throws(() => readBool({ disableCheck: 1 }, 'disableCheck'), { message: 'error parsing configuration list: invalid type float64 for disableCheck' });
  });
});

describe('confListFromBytes', () => {
  it('parses name, negotiated version, flags and plugins; keeps the bytes', () => {
    const text = JSON.stringify({ name: 'n', cniVersion: '1.0.0', cniVersions: ['1.1.0'], disableCheck: 'true', disableGC: false, plugins: [{ type: 'a', x: 1 }, { type: 'b' }] });
    const l = confListFromBytes(text);
    assert.equal(l.name, 'n');
    assert.equal(l.cniVersion, '1.1.0');
    assert.equal(l.disableCheck, true);
    assert.equal(l.disableGC, false);
    assert.equal(l.loadOnlyInlinedPlugins, false);
    assert.deepEqual(l.plugins, [{ type: 'a', x: 1 }, { type: 'b' }]);
    assert.equal(l.bytes.toString(), text);
  });

  it('refuses what libcni refuses, with its messages', () => {
    const bad: [unknown, string][] = [
      [{ plugins: [{ type: 'a' }] }, 'error parsing configuration list: no name'],
      [{ name: 3, plugins: [{ type: 'a' }] }, 'error parsing configuration list: invalid name type float64'],
      [{ name: 'n', plugins: {} }, "error parsing configuration list: invalid 'plugins' type map[string]interface {}"],
      [{ name: 'n', plugins: [] }, 'error parsing configuration list: no plugins in list'],
      [{ name: 'n', plugins: [{ type: 'a' }, { name: 'x' }] }, "failed to parse plugin config 1: error parsing configuration: missing 'type'"],
      [{ name: 'n', loadOnlyInlinedPlugins: true }, "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key"],
    ];
    for (const [conf, message] of bad) assert.throws(() => confListFromBytes(JSON.stringify(conf)), { message }, JSON.stringify(conf));
    assert.throws(() => confListFromBytes('{"name":'), /^Error: error parsing configuration list: /);
  });

  it('a list without plugins parses (the plugins may come from <dir>/<name>/*.conf)', () => {
    assert.deepEqual(confListFromBytes('{"name":"n"}').plugins, []);
  });

  it('a single-plugin config becomes a one-entry list with its name and version', () => {
    const l = confListFromConf(JSON.stringify({ name: 'single', cniVersion: '0.4.0', type: 'bridge', bridge: 'br9' }));
    assert.equal(l.name, 'single');
    assert.equal(l.cniVersion, '0.4.0');
    assert.deepEqual(l.plugins, [{ name: 'single', cniVersion: '0.4.0', type: 'bridge', bridge: 'br9' }]);
    assert.deepEqual(JSON.parse(l.bytes.toString()).plugins, l.plugins);
  });
});

describe('conf dir loading (ConfFiles, LoadConfList, runtimes\' default network)', () => {
  it('ConfFiles: regular files with exactly the given extensions, sorted by name; missing dir → []', () => {
    const dir = confDir({ 'b.conflist': '{}', 'a.conf': '{}', 'c.json': '{}', 'd.conflist.bak': '{}', 'e.txt': '{}', 'sub.conf/x.conf': '{}' });
    assert.deepEqual(confFiles(dir, ['.conf', '.conflist', '.json']).map((f) => path.basename(f)), ['a.conf', 'b.conflist', 'c.json']);
    assert.deepEqual(confFiles(dir, ['.conflist']).map((f) => path.basename(f)), ['b.conflist']);
    assert.deepEqual(confFiles(path.join(dir, 'missing'), ['.conf']), []);
  });

  it('LoadConfList: the first .conflist (by file name) with that name, plus <dir>/<name>/*.conf plugins', () => {
    const dir = confDir({
      '10-other.conflist': { name: 'other', cniVersion: '1.0.0', plugins: [{ type: 'x' }] },
      '20-cbr0.conflist': { name: 'cbr0', cniVersion: '1.1.0', plugins: [{ type: 'flannel' }] },
      '30-cbr0.conflist': { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'late' }] },
      '05-cbr0.conf': { name: 'cbr0', cniVersion: '0.3.1', type: 'single' },
      'cbr0/2-b.conf': { type: 'portmap', capabilities: { portMappings: true } },
      'cbr0/1-a.conf': { type: 'tuning' },
      'cbr0/3-c.json': { type: 'ignored' },
    });
    const l = loadConfList(dir, 'cbr0');
    assert.equal(l.file, path.join(dir, '20-cbr0.conflist'));
    assert.equal(l.cniVersion, '1.1.0');
    assert.deepEqual(l.plugins.map((p) => p.type), ['flannel', 'tuning', 'portmap']);
  });

  it('loadOnlyInlinedPlugins keeps the dir\'s plugin files out', () => {
    const dir = confDir({
      'cbr0.conflist': { name: 'cbr0', cniVersion: '1.1.0', loadOnlyInlinedPlugins: 'True', plugins: [{ type: 'flannel' }] },
      'cbr0/1-a.conf': { type: 'tuning' },
    });
    assert.deepEqual(loadConfList(dir, 'cbr0').plugins.map((p) => p.type), ['flannel']);
  });

  it('a list with no inline plugins takes them all from <dir>/<name>/; none at all is an error', () => {
    const dir = confDir({ 'n.conflist': { name: 'n', cniVersion: '1.1.0' }, 'n/a.conf': { type: 'bridge' } });
    assert.deepEqual(loadConfList(dir, 'n').plugins, [{ type: 'bridge' }]);
    const empty = confDir({ 'n.conflist': { name: 'n', cniVersion: '1.1.0' } });
    assert.throws(() => loadConfList(empty, 'n'), { message: 'no plugin configs found' });
  });

  it('falls back to a single-plugin .conf/.json of that name, turned into a list', () => {
    const dir = confDir({
      '10-x.conflist': { name: 'x', cniVersion: '1.0.0', plugins: [{ type: 'x' }] },
      '20-mynet.json': { name: 'mynet', cniVersion: '0.4.0', type: 'bridge', bridge: 'br1' },
    });
    const l = loadConfList(dir, 'mynet');
    assert.equal(l.name, 'mynet');
    assert.equal(l.cniVersion, '0.4.0');
    assert.deepEqual(l.plugins, [{ name: 'mynet', cniVersion: '0.4.0', type: 'bridge', bridge: 'br1' }]);
  });

  it('not found: libcni\'s two messages', () => {
    const lists = confDir({ 'a.conflist': { name: 'a', plugins: [{ type: 'x' }] } });
    assert.throws(() => loadConfList(lists, 'zz'), { message: `no net configuration with name "zz" in ${lists}` });
    const none = confDir({});
    assert.throws(() => loadConfList(none, 'zz'), { message: `no net configurations found in ${none}` });
    const singles = confDir({ 'a.conf': { name: 'a', type: 'x' } });
    assert.throws(() => loadConfList(singles, 'zz'), { message: `no net configuration with name "zz" in ${singles}` });
  });

  it('a file that does not parse stops the search, even before the wanted one', () => {
    const dir = confDir({ '00-broken.conflist': '{"name": "b", "plugins": [', '10-good.conflist': { name: 'good', plugins: [{ type: 'x' }] } });
    assert.throws(() => loadConfList(dir, 'good'), /error parsing configuration list/);
  });

  it('the runtimes\' default network is the first *.conf/*.conflist/*.json by file name', () => {
    const dir = confDir({
      '10-flannel.conflist': fs.readFileSync(path.join(REPO, 'conf-examples/10-flannel-1.1.conflist'), 'utf8'),
      '05-lo.json': { name: 'lo', cniVersion: '1.0.0', type: 'loopback' },
    });
    const first = loadDefaultConfList(dir);
    assert.equal(first.name, 'lo');
    assert.deepEqual(first.plugins.map((p) => p.type), ['loopback']);
    fs.rmSync(path.join(dir, '05-lo.json'));
    const flannel = loadDefaultConfList(dir);
    assert.equal(flannel.name, 'cbr0');
    assert.equal(flannel.cniVersion, '1.1.0');
    assert.deepEqual(flannel.plugins.map((p) => p.type), ['flannel', 'portmap']);
    assert.throws(() => loadDefaultConfList(confDir({})), /no net configurations found/);
  });

  it('the kube-flannel example loads as cbr0 at 0.3.1', () => {
    const dir = confDir({ '10-flannel.conflist': fs.readFileSync(path.join(REPO, 'conf-examples/10-flannel.conflist'), 'utf8') });
    const l = loadConfList(dir, 'cbr0');
    assert.equal(l.cniVersion, '0.3.1');
    assert.deepEqual(l.plugins[1], { type: 'portmap', capabilities: { portMappings: true } });
  });
});

describe('request building (buildOneConfig, injectRuntimeConfig, GC and STATUS)', () => {
  const flannel = { type: 'flannel', name: 'own-name', cniVersion: '0.1.0', delegate: { hairpinMode: true } };
  const portmap = { type: 'portmap', capabilities: { portMappings: true, bandwidth: false, ips: true } };
  const rt = { containerId: 'c1', netns: '/run/netns/p', ifname: 'eth0', capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], bandwidth: { ingressRate: 1 }, mac: 'aa:bb:cc:dd:ee:ff' } };
  const prev = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] };

  it('injects the list\'s name and version over the plugin\'s own, and no prevResult for the first ADD', () => {
    const r = buildPluginRequest('cbr0', '1.1.0', flannel, undefined, rt);
    assert.deepEqual(r, { type: 'flannel', name: 'cbr0', cniVersion: '1.1.0', delegate: { hairpinMode: true } });
    assert.equal(flannel.name, 'own-name', 'the configured plugin object is not changed');
  });

  it('prevResult when given', () => {
    assert.deepEqual(buildPluginRequest('cbr0', '1.1.0', flannel, prev, rt).prevResult, prev);
  });

  it('runtimeConfig only with capabilities the plugin declares true and the runtime supplied; capabilities stay', () => {
    const r = buildPluginRequest('cbr0', '1.1.0', portmap, prev, rt);
    assert.deepEqual(r.runtimeConfig, { portMappings: rt.capabilityArgs.portMappings });
    assert.deepEqual(r.capabilities, portmap.capabilities);
    assert.equal(buildPluginRequest('cbr0', '1.1.0', flannel, undefined, rt).runtimeConfig, undefined, 'no capabilities declared');
    assert.equal(buildPluginRequest('cbr0', '1.1.0', portmap, prev, { ...rt, capabilityArgs: {} }).runtimeConfig, undefined, 'nothing supplied');
    assert.deepEqual(runtimeConfigFor({ type: 'x', capabilities: { ips: 'true' } }, { ips: ['10.0.0.9'] }), undefined, 'only a JSON true declares');
  });

  it('a configured runtimeConfig is replaced only when a capability applies', () => {
    const withRc = { ...portmap, runtimeConfig: { portMappings: [], other: 1 } };
    assert.deepEqual(buildPluginRequest('n', '1.0.0', withRc, undefined, { ...rt, capabilityArgs: {} }).runtimeConfig, { portMappings: [], other: 1 });
    assert.deepEqual(buildPluginRequest('n', '1.0.0', withRc, undefined, rt).runtimeConfig, { portMappings: rt.capabilityArgs.portMappings });
  });

  it('GC: name, version and the valid list under both keys; no runtimeConfig or prevResult', () => {
    const valid = [{ containerID: 'c1', ifname: 'eth0' }];
    const r = buildGCRequest('cbr0', '1.1.0', { ...portmap, runtimeConfig: { a: 1 } }, valid);
    assert.deepEqual(r['cni.dev/valid-attachments'], valid);
    assert.deepEqual(r['cni.dev/attachments'], valid);
    assert.equal(r.prevResult, undefined);
    assert.deepEqual(r.runtimeConfig, { a: 1 }, 'only what the config itself has');
    assert.deepEqual(buildGCRequest('cbr0', '1.1.0', portmap, [])['cni.dev/valid-attachments'], [], 'an empty list is sent as []');
    const none = buildGCRequest('cbr0', '1.1.0', portmap, undefined);
    assert.ok(!('cni.dev/valid-attachments' in none) && !('cni.dev/attachments' in none), 'no list given: no key (cnitool gc)');
  });

  it('STATUS: name and version only', () => {
    assert.deepEqual(buildStatusRequest('cbr0', '1.1.0', flannel), { ...flannel, name: 'cbr0', cniVersion: '1.1.0' });
  });

  it('env: the six variables; GC/STATUS with empty ids; CNI_ARGS as K=V;K=V', () => {
    assert.deepEqual(pluginEnv('ADD', { ...rt, cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'p']] }, '/a:/b'), {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/run/netns/p',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/a:/b',
    });
    assert.deepEqual(pluginEnv('GC', undefined, '/a'), { CNI_COMMAND: 'GC', CNI_CONTAINERID: '', CNI_NETNS: '', CNI_ARGS: '', CNI_IFNAME: '', CNI_PATH: '/a' });
  });

  it('pluginDescription names the type, and the plugin\'s own name when it has one', () => {
    assert.equal(pluginDescription({ type: 'portmap' }), 'type="portmap"');
    assert.equal(pluginDescription({ type: 'flannel', name: 'x' }), 'type="flannel" name="x"');
  });
});

describe('validation before ADD (pkg/utils)', () => {
  it('container ID', () => {
    assert.throws(() => validateContainerId(''), libcniErr(3, 'missing containerID'));
    assert.throws(() => validateContainerId('-x'), libcniErr(4, 'invalid characters in containerID; -x'));
    validateContainerId('abc_1.2-3');
  });
  it('network name', () => {
    assert.throws(() => validateNetworkName(''), libcniErr(7, 'missing network name:'));
    assert.throws(() => validateNetworkName('a b'), libcniErr(7, 'invalid characters found in network name; a b'));
    validateNetworkName('cbr0');
  });
  it('interface name', () => {
    assert.throws(() => validateInterfaceName(''), libcniErr(4, 'interface name is empty'));
    assert.throws(() => validateInterfaceName('a23456789012345x'), libcniErr(4, 'interface name is too long; interface name should be less than 16 characters'));
    assert.throws(() => validateInterfaceName('..'), libcniErr(4, 'interface name is . or ..'));
    assert.throws(() => validateInterfaceName('et:h0'), libcniErr(4, 'interface name contains / or : or whitespace characters'));
    validateInterfaceName('a23456789012345');
  });
});

describe('plugin output (RawExec.pluginErr, ExecPluginWithResult)', () => {
  it('error JSON on stdout: code, msg, details', () => {
    assert.deepEqual(parsePluginError(1, '{"code":50,"msg":"not ready","details":"why"}', ''), { code: 50, msg: 'not ready', details: 'why' });
    assert.deepEqual(parsePluginError(1, '{"code":7,"msg":"bad"}', 'log'), { code: 7, msg: 'bad', details: undefined });
  });
  it('no stdout: stderr quoted, or the exit status', () => {
    assert.deepEqual(parsePluginError(2, '', 'boom\n'), { msg: 'netplugin failed: "boom\\n"' });
    assert.deepEqual(parsePluginError(2, '', ''), { msg: 'netplugin failed with no error message: exit status 2' });
  });
  it('stdout that is not JSON', () => {
    assert.match(parsePluginError(1, 'oops', '').msg, /^netplugin failed but error parsing its diagnostic message "oops": /);
  });
  it('a result without cniVersion gets the config\'s (cni#895)', () => {
    assert.deepEqual(parseAddOutput('{"ips":[]}', '1.0.0'), { ips: [], cniVersion: '1.0.0' });
    assert.equal(parseAddOutput('{"cniVersion":"0.3.1"}', '1.0.0').cniVersion, '0.3.1');
    assert.throws(() => parseAddOutput('nope', '1.0.0'), /failed to parse plugin result/);
  });
});

describe('FindInPath', () => {
  it('finds a regular file (through a symlink) in the first dir that has it', () => {
    const a = confDir({ 'other': 'x' });
    const b = confDir({ '.real/bridge.js': '#!/bin/sh\n' });
    fs.symlinkSync('.real/bridge.js', path.join(b, 'bridge'));
    fs.mkdirSync(path.join(a, 'bridge')); // a directory of that name is not a plugin
    assert.equal(findInPath('bridge', [a, b]), path.join(b, 'bridge'));
  });
  it('refuses path separators and empty names; names the dirs when not found', () => {
    assert.throws(() => findInPath('../bridge', ['/x']), { message: 'invalid plugin name: ../bridge' });
    assert.throws(() => findInPath('', ['/x']), { message: 'no plugin name provided' });
    assert.throws(() => findInPath('nope', ['/x', '/y']), { message: 'failed to find plugin "nope" in path [/x /y]' });
  });
});

describe('Runtime gates that need no plugin run', () => {
  const list = { name: 'n', cniVersion: '1.1.0', plugins: [{ type: 'no-such-plugin' }] };
  const mk = (l: Record<string, unknown>): Runtime => new Runtime(l as never, path.join(tmp.path, 'no-bin'), path.join(tmp.path, 'cache-gates'));

  it('the version is the negotiated one; flags parsed like libcni', () => {
    const r = mk({ ...list, cniVersion: '0.4.0', cniVersions: ['1.0.0', '9.9.9'], disableGC: 'TRUE' });
    assert.equal(r.version, '1.0.0');
    assert.equal(r.conf.disableGC, true);
    assert.throws(() => mk({ ...list, disableCheck: 'maybe' }), /invalid value "maybe" for disableCheck/);
    assert.throws(() => mk({ ...list, plugins: [] }), /no plugins in list/);
  });

  it('CHECK below 0.4.0 is refused before disableCheck is looked at', () => {
    const r = mk({ ...list, cniVersion: '0.3.1', disableCheck: true });
    assert.throws(() => r.check({ containerId: 'c', netns: '/x', ifname: 'eth0' }), { message: 'configuration version "0.3.1" does not support the CHECK command' });
  });

  it('disableCheck / disableGC: nothing is run (the plugin does not even exist)', () => {
    const r = mk({ ...list, disableCheck: 'true', disableGC: true });
    r.check({ containerId: 'c', netns: '/x', ifname: 'eth0' });
    assert.deepEqual(r.gc([]), []);
    assert.deepEqual(r.calls, []);
  });

  it('STATUS below 1.1.0 succeeds without running anything', () => {
    const r = mk({ ...list, cniVersion: '1.0.0' });
    r.status();
    assert.deepEqual(r.calls, []);
    assert.throws(() => mk(list).status(), /failed to find plugin "no-such-plugin"/, 'at 1.1.0 the plugin is looked up');
  });

  it('DEL of a list without a version fails like libcni (the empty version does not parse)', () => {
    assert.throws(() => mk({ name: 'n', plugins: [{ type: 'x' }] }).del({ containerId: 'c', netns: '', ifname: 'eth0' }), { message: 'invalid version "": the version is empty' });
  });
});
