// scripts/install.sh: reinstalling the Node build at the same version while plugins are being
// exec'd. Every plugin name must resolve to a complete install at every moment (a runtime may
// exec it then), and only the current and the previous install are kept.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, runPlugin, tempDir } from '../helpers/plugins';

const PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'];
const REPO = path.resolve(__dirname, '../../..');

function install(dist: string, dest: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('bash', [path.join(REPO, 'scripts/install.sh'), '--dest', dest, '--runtime', 'node', '--quiet'], {
      env: { ...process.env, CNI_TS_DIST: dist },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('install.sh --runtime node', () => {
  const node = builds().find((b) => b.label === 'node')!;
  // dist/node/bin → dist
  const dist = path.resolve(node.dir, '../..');
  const tmp = tempDir('install');
  after(() => tmp.cleanup());

  it('a same-version reinstall never leaves a plugin name dangling; the previous install is kept, older ones go', async () => {
    const dest = path.join(tmp.path, 'bin');
    assert.equal((await install(dist, dest)).code, 0);
    let checks = 0;
    const dangling: string[] = [];
    for (let round = 0; round < 4; round++) {
      const running = install(dist, dest);
      let done = false;
      void running.then(() => (done = true));
      // Resolve every name (following the symlinks, as execve does) as often as possible while
      // the install runs.
      while (!done) {
        for (const p of PLUGINS) {
          checks++;
          try {
            if (!fs.statSync(path.join(dest, p)).isFile()) throw new Error('not a file');
          } catch (e) {
            dangling.push(`${p}: ${(e as Error).message}`);
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      const r = await running;
      assert.equal(r.code, 0, r.stderr);
    }
    assert.ok(checks > 100, `only ${checks} checks ran during the installs`);
    assert.deepEqual(dangling.slice(0, 5), [], `${dangling.length} of ${checks} lookups failed`);
    // The current install and the one before it.
    const gens = fs.readdirSync(path.join(dest, '.cni-ts-node'));
    assert.equal(gens.length, 2, gens.join(' '));
    const current = new Set(PLUGINS.map((p) => fs.readlinkSync(path.join(dest, p)).split('/')[1]));
    assert.equal(current.size, 1);
    assert.ok(gens.includes([...current][0]!));
    for (const p of PLUGINS) {
      const v = runPlugin(dest, p, { CNI_COMMAND: 'VERSION' });
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.json.cniVersion, '1.1.0');
    }
  });
});

describe('install.sh --daemon-dest', () => {
  const dist = path.resolve(builds()[0]!.dir, '../..');
  const tmp = tempDir('install-daemon');
  after(() => tmp.cleanup());

  for (const runtime of ['standalone', 'node'] as const) {
    it(`installs flanneld (and its mk-docker-opts names) alone (${runtime}); a reinstall keeps it runnable and keeps one previous install at most`, () => {
      const dest = path.join(tmp.path, runtime);
      for (let i = 0; i < 3; i++) {
        const r = spawnSync('bash', [path.join(REPO, 'scripts/install.sh'), '--daemon-dest', dest, '--runtime', runtime, '--quiet'], {
          env: { ...process.env, CNI_TS_DIST: dist },
          encoding: 'utf8',
        });
        assert.equal(r.status, 0, r.stderr);
        const v = spawnSync(path.join(dest, 'flanneld'), ['--version'], { encoding: 'utf8' });
        assert.equal(v.status, 0, v.stderr);
        assert.match(v.stdout, /^v\d+\.\d+\.\d+\n$/);
      }
      const names = fs.readdirSync(dest).filter((n) => !n.startsWith('.'));
      assert.deepEqual(names.sort(), ['flanneld', 'mk-docker-opts', 'mk-docker-opts.sh'], 'only the daemon and its mk-docker-opts names: no plugin was installed');
      if (runtime === 'node') assert.ok(fs.readdirSync(path.join(dest, '.flanneld-node')).length <= 2);
    });
  }
});
