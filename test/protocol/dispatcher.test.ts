// Every row of the spec's command/environment table, against the built executables.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { builds, runPlugin } from '../helpers/plugins';
import { version as suiteVersion } from '../../package.json';

const PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'];
const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const fullEnv = { CNI_CONTAINERID: 'ctr1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
const conf = (extra: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'x', ...extra });

function expectError(r: ReturnType<typeof runPlugin>, code: number, msg: string | RegExp, details?: string): void {
  assert.equal(r.code, 1, `exit status (stdout: ${r.stdout})`);
  assert.ok(r.json, `stdout is CNI error JSON: ${r.stdout}`);
  assert.equal(r.json.code, code, `code (msg: ${r.json.msg})`);
  if (typeof msg === 'string') assert.equal(r.json.msg, msg);
  else assert.match(r.json.msg, msg);
  if (details !== undefined) assert.equal(r.json.details, details);
  assert.equal(typeof r.json.cniVersion, 'string');
  assert.doesNotMatch(r.stdout, /\n\s+at /, 'no stack trace on stdout');
}

for (const b of builds()) {
  describe(`dispatcher (${b.label} build)`, () => {
    for (const p of PLUGINS) {
      it(`${p}: VERSION lists all seven versions without reading stdin`, async () => {
        // stdin is left open: a plugin that read it would hang and the test would time out.
        const child = spawn(path.join(b.dir, p), [], { env: { CNI_COMMAND: 'VERSION' } });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        const code = await new Promise<number | null>((res) => child.on('close', res));
        child.stdin.destroy();
        assert.equal(code, 0);
        const v = JSON.parse(out);
        assert.deepEqual(v.supportedVersions, ALL_VERSIONS);
        assert.equal(v.cniVersion, '1.1.0');
      });
      it(`${p}: no CNI_COMMAND prints the about text on stderr, exit 0`, () => {
        const r = runPlugin(b.dir, p, {});
        assert.equal(r.code, 0);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, /CNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
        // Operators tell which build is installed from this line.
        assert.ok(r.stderr.includes(`cni-ts-suite v${suiteVersion}\n`), r.stderr);
      });
    }

    const p = 'host-local';
    it('unknown command → 4', () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'FROB' }, conf()), 4, 'unknown CNI_COMMAND: FROB'));
    const table: [string, string[]][] = [
      ['ADD', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
      ['DEL', ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH']],
      ['CHECK', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
      ['GC', ['CNI_PATH']],
      ['STATUS', ['CNI_PATH']],
    ];
    for (const [cmd, req] of table) {
      it(`${cmd} with no environment → 4 naming every missing variable`, () => {
        expectError(runPlugin(b.dir, p, { CNI_COMMAND: cmd }, conf({ cniVersion: '1.1.0' })), 4, `required env variables [${req.join(',')}] missing`);
      });
      it(`${cmd} with one variable missing names just that one`, () => {
        const env: Record<string, string> = { ...fullEnv, CNI_COMMAND: cmd };
        delete env[req[req.length - 1]!];
        expectError(runPlugin(b.dir, p, env, conf({ cniVersion: '1.1.0' })), 4, `required env variables [${req[req.length - 1]}] missing`);
      });
    }
    it('bad container ID → 4 with the id in details', () => {
      expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD', CNI_CONTAINERID: '../etc' }, conf()), 4, 'invalid characters in containerID', '../etc');
    });
    for (const [name, msg] of [
      ['eth0123456789abc', 'interface name is too long'],
      ['..', 'interface name is . or ..'],
      ['et h0', 'interface name contains / or : or whitespace characters'],
      ['a/b', 'interface name contains / or : or whitespace characters'],
    ]) {
      it(`bad ifname ${JSON.stringify(name)} → 4`, () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD', CNI_IFNAME: name! }, conf()), 4, msg!));
    }
    it('malformed JSON → 6', () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, '{"cniVersion": "1.0.0", "name": '), 6, /^error unmarshall network config: /));
    it('a JSON array → 6', () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, '[]'), 6, /not a JSON object/));
    it('missing name → 7', () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, JSON.stringify({ cniVersion: '1.0.0', type: 'x' })), 7, 'missing network name'));
    it('invalid name → 7 with the name in details', () => {
      expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, conf({ name: '../../etc' })), 7, 'invalid characters found in network name', '../../etc');
    });
    it('unsupported version → 1 with the supported list', () => {
      expectError(
        runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.5.0' })),
        1,
        'incompatible CNI versions',
        'config is "0.5.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
      );
    });
    it('cniVersion of the wrong type → 6', () => expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'ADD' }, conf({ cniVersion: 1 })), 6, /cniVersion must be a string/));
    for (const [cmd, v] of [['CHECK', '0.3.1'], ['GC', '1.0.0'], ['STATUS', '1.0.0']]) {
      it(`${cmd} with a ${v} config → 1`, () => {
        expectError(runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: cmd! }, conf({ cniVersion: v })), 1, `config version does not allow ${cmd}`);
      });
    }
    it('an absent cniVersion means 0.1.0 (accepted)', () => {
      const r = runPlugin(b.dir, p, { ...fullEnv, CNI_COMMAND: 'DEL' }, JSON.stringify({ name: 'net1', type: 'host-local', ipam: { type: 'host-local', subnet: '10.9.0.0/24', dataDir: '/tmp/cts-none-never-created' } }));
      assert.equal(r.code, 0, r.stdout);
    });
    it('ADD naming the plugin\'s own netns → 8', () => {
      expectError(
        runPlugin(b.dir, 'bridge', { ...fullEnv, CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/self/ns/net' }, conf({ type: 'bridge' })),
        8,
        "plugin's netns and netns from CNI_NETNS should not be the same",
      );
    });
  });
}
