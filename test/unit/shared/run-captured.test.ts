// runCaptured under both runtimes: Bun.spawnSync in the standalone build, node:child_process
// under Node. The netfilter layer relies on the same status/stdout/stderr/error shape from both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCaptured, type CapturedRun } from '../../../shared/base/child-process';

const ROOT = path.resolve(__dirname, '../../../..');
const BUN = path.join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');
// The compiled module of this build (out/ or CNI_TS_OUT), next to this test.
const MODULE = path.resolve(__dirname, '../../../shared/base/child-process.js');

const CASES: Array<{ name: string; file: string; args: string[]; input: string; check(r: CapturedRun): void }> = [
  {
    name: 'stdin to stdout, exit 0, a large input',
    file: '/bin/cat', args: [], input: 'x'.repeat(1 << 20) + '\n',
    check: (r) => { assert.equal(r.status, 0); assert.equal(r.stdout.length, (1 << 20) + 1); assert.equal(r.stderr, ''); assert.equal(r.error, undefined); },
  },
  {
    name: 'stderr and a non-zero status',
    file: '/bin/sh', args: ['-c', 'echo "line 3: bad" >&2; exit 4'], input: '',
    check: (r) => { assert.equal(r.status, 4); assert.equal(r.stderr, 'line 3: bad\n'); },
  },
  {
    name: 'killed by a signal: status null',
    file: '/bin/sh', args: ['-c', 'kill -9 $$'], input: '',
    check: (r) => { assert.equal(r.status, null); assert.equal(r.error, undefined); },
  },
  {
    name: 'the environment given, not ours',
    file: '/bin/sh', args: ['-c', 'echo "$LC_ALL:${HOME:-unset}"'], input: '',
    check: (r) => assert.equal(r.stdout, 'C:unset\n'),
  },
  {
    name: 'a missing program: Node\'s error text',
    file: '/nonexistent/cts-tool', args: [], input: '',
    check: (r) => { assert.equal(r.status, null); assert.equal(r.error?.message, 'spawnSync /nonexistent/cts-tool ENOENT'); },
  },
];

describe('runCaptured', () => {
  for (const c of CASES) {
    it(`node: ${c.name}`, () => c.check(runCaptured(c.file, c.args, c.input, { LC_ALL: 'C', PATH: '/usr/bin:/bin' })));
    it(`bun: ${c.name}`, () => {
      const script = `const { runCaptured } = require(${JSON.stringify(MODULE)});
const r = runCaptured(${JSON.stringify(c.file)}, ${JSON.stringify(c.args)}, ${JSON.stringify(c.input)}, { LC_ALL: 'C', PATH: '/usr/bin:/bin' });
process.stdout.write(JSON.stringify({ ...r, error: r.error ? { message: r.error.message } : undefined }));`;
      // A file, not -e: the large input would exceed the kernel's limit on one argument.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-runcap-'));
      fs.writeFileSync(path.join(dir, 'run.js'), script);
      const p = spawnSync(BUN, [path.join(dir, 'run.js')], { encoding: 'utf8', maxBuffer: 64 << 20 });
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(p.status, 0, p.stderr);
      const r = JSON.parse(p.stdout) as CapturedRun & { error?: { message: string } };
      c.check({ ...r, error: r.error ? new Error(r.error.message) : undefined } as CapturedRun);
    });
  }
});
