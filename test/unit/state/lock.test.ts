import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock, LockTimeoutError, withLock } from '../../../shared/state/lock';
import { spawnLockHolder } from '../../helpers/lock-holder';


function tmpdir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'state-lock-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

// The lock knows no CNI codes: host-local maps its timeout to 11 (test/unit/host-local/plugin.test.ts).
const isTimeout = (e: unknown): boolean => e instanceof LockTimeoutError;

test('a second holder waits, times out (LockTimeoutError), then gets it after release', async (t) => {
  const p = path.join(tmpdir(t), 'lock');
  const a = await acquireLock(p);
  await assert.rejects(acquireLock(p, { timeoutMs: 100 }), (e: Error) => isTimeout(e) && /timed out after 100 ms waiting for the lock on/.test(e.message));
  const t0 = Date.now();
  const waiting = acquireLock(p, { timeoutMs: 5000 });
  setTimeout(() => a.release(), 50);
  const b = await waiting;
  assert.ok(Date.now() - t0 < 1000);
  b.release();
  b.release(); // idempotent
});

test('withLock releases when the body throws', async (t) => {
  const p = path.join(tmpdir(t), 'lock');
  await assert.rejects(withLock(p, () => { throw new Error('boom'); }), /boom/);
  const l = await acquireLock(p, { timeoutMs: 100 });
  l.release();
  assert.equal(await withLock(p, async () => 42), 42);
});

test('lock file created with the given mode', async (t) => {
  const p = path.join(tmpdir(t), 'lock');
  const old = process.umask(0o022);
  try {
    (await acquireLock(p, { mode: 0o600 })).release();
  } finally {
    process.umask(old);
  }
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
});

test('a lock on a file that was unlinked meanwhile is not trusted', async (t) => {
  const p = path.join(tmpdir(t), 'lock');
  const a = await acquireLock(p);
  const waiting = acquireLock(p, { timeoutMs: 5000 }); // opened the old inode
  await new Promise((r) => setTimeout(r, 20));
  fs.unlinkSync(p);
  const c = await acquireLock(p, { timeoutMs: 100 }); // new inode, free
  let bDone = false;
  void waiting.then(() => { bDone = true; });
  a.release(); // waiter gets the old inode, must notice and queue behind c
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(bDone, false, 'waiter must not hold a lock on the unlinked file');
  c.release();
  const b = await waiting;
  b.release();
  assert.equal(bDone, true);
});

test('a holder killed with SIGKILL releases the lock at once; the timeout names its pid', async (t) => {
  const p = path.join(tmpdir(t), 'lock');
  const child = await spawnLockHolder(t, p);
  await assert.rejects(acquireLock(p, { timeoutMs: 200 }), (e: Error) => isTimeout(e) && e.message.includes(`held by pid ${child.pid}`));
  const exited = new Promise((r) => child.on('exit', r));
  const t0 = Date.now();
  child.kill('SIGKILL');
  const l = await acquireLock(p, { timeoutMs: 5000 });
  const waited = Date.now() - t0;
  l.release();
  await exited;
  assert.ok(waited < 1000, `waited ${waited} ms`);
});
