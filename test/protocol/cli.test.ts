// `--help` / `--version` of both builds: every plugin name, `cni-ts-suite` itself and
// `cni-ts-suite <plugin>` print the usage text on stdout and exit 0, whatever CNI_COMMAND says;
// anything else keeps its meaning (no argument: a CNI call; an unknown word: usage error).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { builds, runPlugin } from '../helpers/plugins';
import { version } from '../../package.json';

const PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'];
const KNOBS = ['CNI_TS_DEBUG', 'CNI_TS_LOG_FILE', 'CNI_TS_TIMING', 'CNI_TS_<TOOL>', 'CNI_TS_IPTABLES_RESTORE', 'CNI_TS_NFT', 'CNI_TS_CONNTRACK', 'CNI_NETNS_OVERRIDE'];

function run(file: string, args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', input: '' });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertUsage(r: ReturnType<typeof run>, build: string, plugin?: string): void {
  assert.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  assert.equal(r.stderr, '');
  const first = r.stdout.split('\n')[0]!;
  const runtime = build === 'standalone' ? 'standalone build, Bun ' : 'node build, Node v';
  assert.ok(first.startsWith(`cni-ts-suite v${version} (${runtime}`), first);
  if (plugin) assert.ok(first.endsWith(`: the ${plugin} plugin`), first);
  assert.ok(r.stdout.includes(`Plugins: ${PLUGINS.join(', ')}\n`), r.stdout);
  assert.match(r.stdout, /CNI protocol versions supported: 0\.1\.0, .*, 1\.1\.0\n/);
  for (const k of KNOBS) assert.ok(r.stdout.includes(k), `${k} in\n${r.stdout}`);
}

for (const b of builds()) {
  describe(`--help and --version (${b.label} build)`, () => {
    for (const p of PLUGINS) {
      for (const flag of ['--version', '--help']) {
        it(`${p} ${flag}: the usage text, exit 0`, () => assertUsage(run(path.join(b.dir, p), [flag]), b.label, p));
      }
      it(`${p} --version wins over CNI_COMMAND (a person typed it) and reads no stdin`, () => {
        assertUsage(run(path.join(b.dir, p), ['--version'], { CNI_COMMAND: 'ADD' }), b.label, p);
      });
    }

    it('without arguments a plugin is still a CNI plugin (VERSION answers JSON)', () => {
      const r = runPlugin(b.dir, 'bridge', { CNI_COMMAND: 'VERSION' });
      assert.equal(r.code, 0);
      assert.equal(r.json.cniVersion, '1.1.0');
    });

    it('an argument that is not a flag is ignored, as by the reference plugins', () => {
      const r = run(path.join(b.dir, 'host-local'), ['extra'], { CNI_COMMAND: 'VERSION' });
      assert.equal(r.code, 0);
      assert.equal(JSON.parse(r.stdout).cniVersion, '1.1.0');
    });

    if (b.label === 'standalone') {
      const exe = path.join(b.dir, 'cni-ts-suite');
      for (const flag of ['--version', '--help', '-h', '-v']) {
        it(`cni-ts-suite ${flag}: the usage text, exit 0`, () => assertUsage(run(exe, [flag]), b.label));
      }
      it('cni-ts-suite flannel --version: the flannel plugin\'s text', () => assertUsage(run(exe, ['flannel', '--version']), b.label, 'flannel'));
      it('cni-ts-suite with no plugin or an unknown word: usage error naming --help, exit 1', () => {
        for (const args of [[], ['frob'], ['--frob']]) {
          const r = run(exe, args);
          assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
          assert.equal(r.stdout, '');
          assert.match(r.stderr, /^cni-ts-suite: run as one of flannel, bridge, host-local, portmap .*\(cni-ts-suite --help explains\)\n$/);
        }
      });
      it('cni-ts-suite bridge with CNI_COMMAND=VERSION runs the plugin', () => {
        const r = run(exe, ['bridge'], { CNI_COMMAND: 'VERSION' });
        assert.equal(r.code, 0);
        assert.equal(JSON.parse(r.stdout).cniVersion, '1.1.0');
      });
    }
  });
}
