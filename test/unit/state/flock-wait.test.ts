// The addon's flockWait (issue 16): a blocking flock bounded by a timeout, under Node and Bun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCK_EX, LOCK_NB, LOCK_UN, native } from '../../../shared/native/addon';
import { spawnLockHolder } from '../../helpers/lock-holder';

const ROOT = path.resolve(__dirname, '../../../..');
const BUN = path.join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');

function tmpFile(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'flock-wait-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return path.join(d, 'lock');
}

const open = (p: string): number => fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
const threads = (): number => fs.readdirSync('/proc/self/task').length;

test('free lock: resolves at once', async (t) => {
  const fd = open(tmpFile(t));
  await native().flockWait(fd, LOCK_EX, 1000);
  native().flock(fd, LOCK_UN);
  fs.closeSync(fd);
});

test('held elsewhere: rejects with ETIMEDOUT at the deadline, leaves no thread and no lock behind', async (t) => {
  const p = tmpFile(t);
  const holder = open(p);
  native().flock(holder, LOCK_EX);
  const fd = open(p);
  await assert.rejects(native().flockWait(fd, LOCK_EX, 0), { code: 'ETIMEDOUT' });
  const before = threads();
  const t0 = Date.now();
  await assert.rejects(native().flockWait(fd, LOCK_EX, 150), (e: NodeJS.ErrnoException) => e.code === 'ETIMEDOUT' && /^flock: /.test(e.message));
  const took = Date.now() - t0;
  assert.ok(took >= 140 && took < 1000, `took ${took} ms`);
  assert.equal(threads(), before, 'the helper thread was joined');
  native().flock(holder, LOCK_UN);
  native().flock(fd, LOCK_EX | LOCK_NB); // the abandoned wait did not leave a lock queued or held
  native().flock(fd, LOCK_UN);
  fs.closeSync(fd);
  fs.closeSync(holder);
});

test('a blocked waiter gets the lock as soon as another process releases it', async (t) => {
  const p = tmpFile(t);
  const child = await spawnLockHolder(t, p);
  const fd = open(p);
  const waiting = native().flockWait(fd, LOCK_EX, 5000);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  child.kill('SIGKILL');
  await waiting;
  assert.ok(Date.now() - t0 < 100, `granted ${Date.now() - t0} ms after the holder died`);
  native().flock(fd, LOCK_UN);
  fs.closeSync(fd);
});

test('bad arguments are refused', () => {
  assert.throws(() => native().flockWait(0, LOCK_EX | LOCK_NB, 10), TypeError);
  assert.throws(() => native().flockWait(0, LOCK_EX, -1), TypeError);
});

test('under Bun too (the shipped runtime): granted on release, ETIMEDOUT at the deadline', (t) => {
  assert.ok(fs.existsSync(BUN), `Bun missing at ${BUN}`);
  const p = tmpFile(t);
  const addon = JSON.stringify(path.join(ROOT, 'build/Release/cni_native.node'));
  const script = `
    const fs = require('fs'); const a = require(${addon});
    const o = () => fs.openSync(${JSON.stringify(p)}, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    const h = o(); a.flock(h, 2); const w = o();
    (async () => {
      let code = '';
      try { await a.flockWait(w, 2, 100); } catch (e) { code = e.code; }
      setTimeout(() => a.flock(h, 8), 50);
      const t0 = Date.now(); await a.flockWait(w, 2, 5000);
      console.log(JSON.stringify({ code, ms: Date.now() - t0 }));
    })().catch((e) => { console.log('ERR ' + e.message); process.exit(1); });`;
  const r = spawnSync(BUN, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { code: string; ms: number };
  assert.equal(out.code, 'ETIMEDOUT');
  assert.ok(out.ms < 1000, `granted after ${out.ms} ms`);
});
