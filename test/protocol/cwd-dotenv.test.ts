// A compiled Bun program loads `.env` (and bunfig.toml) from its working directory at start by
// default. Runtimes exec plugins from wherever they run, and a daemon's unit may set any
// WorkingDirectory: a file there must not change what a plugin or flanneld sees in its
// environment (the build passes --no-compile-autoload-dotenv/--no-compile-autoload-bunfig).
// Both builds are checked (Node never had the behaviour).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, tempDir } from '../helpers/plugins';

const tmp = tempDir('dotenv');
const dir = tmp.path;
after(() => tmp.cleanup());
// Observable without side effects: the timing line on stderr. (flanneld is compiled with the
// same flags, scripts/build.sh; a daemon cannot be run here outside a node namespace.)
fs.writeFileSync(path.join(dir, '.env'), 'CNI_TS_TIMING=1\n');
fs.writeFileSync(path.join(dir, 'bunfig.toml'), 'preload = ["./preload.js"]\n');
fs.writeFileSync(path.join(dir, 'preload.js'), 'process.stderr.write("PRELOADED\\n");\n');

function run(file: string, args: string[], env: Record<string, string>, input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', input });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const b of builds()) {
  describe(`a .env or bunfig.toml in the working directory is ignored (${b.label} build)`, () => {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'dotenv', type: 'host-local', ipam: { type: 'host-local', subnet: '10.249.0.0/24', dataDir: path.join(dir, 'hl') } });
    it('host-local DEL: no CNI_TS_TIMING from .env, no preload from bunfig.toml', () => {
      const r = run(path.join(b.dir, 'host-local'), [], { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_PATH: b.dir }, conf);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /CNI_TS_TIMING|PRELOADED/);
    });

    it('the same variable in the real environment is applied (the check can fail)', () => {
      const r = run(path.join(b.dir, 'host-local'), [], { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_PATH: b.dir, CNI_TS_TIMING: '1' }, conf);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stderr, /CNI_TS_TIMING/);
    });
  });
}
