import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFileExclusive, readFileIfExists, writeFileAtomic } from '../../../shared/state/atomic-file';

function tmpdir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'state-atomic-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('writes exact content and exact mode (not reduced by umask), replaces, leaves no temp file', (t) => {
  const d = tmpdir(t);
  const f = path.join(d, 'subnet.env');
  const old = process.umask(0o077);
  try {
    writeFileAtomic(f, 'A=1\n', { mode: 0o644 });
  } finally {
    process.umask(old);
  }
  assert.equal(fs.readFileSync(f, 'utf8'), 'A=1\n');
  assert.equal(fs.statSync(f).mode & 0o777, 0o644);
  const ino = fs.statSync(f).ino;
  writeFileAtomic(f, Buffer.from('B=2'), { fsync: false });
  assert.equal(fs.readFileSync(f, 'utf8'), 'B=2');
  assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  assert.notEqual(fs.statSync(f).ino, ino, 'replaced by rename, not rewritten in place');
  assert.deepEqual(fs.readdirSync(d), ['subnet.env']);
});

test('failure leaves neither target nor temp file', (t) => {
  const d = tmpdir(t);
  fs.mkdirSync(path.join(d, 'target-is-a-dir'));
  assert.throws(() => writeFileAtomic(path.join(d, 'target-is-a-dir'), 'x'), (e: { code?: string }) => e.code === 'EISDIR');
  assert.deepEqual(fs.readdirSync(d), ['target-is-a-dir']);
  assert.throws(() => writeFileAtomic(path.join(d, 'nodir', 'f'), 'x'), (e: { code?: string }) => e.code === 'ENOENT');
});

test('createFileExclusive: creates once, never overwrites', (t) => {
  const d = tmpdir(t);
  const f = path.join(d, '10.0.0.2');
  assert.equal(createFileExclusive(f, 'a\r\neth0'), true);
  assert.equal(createFileExclusive(f, 'b\r\neth0'), false);
  assert.equal(fs.readFileSync(f, 'utf8'), 'a\r\neth0');
  assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  assert.throws(() => createFileExclusive(path.join(d, 'no', 'x'), 'y'), (e: { code?: string }) => e.code === 'ENOENT');
});

test('readFileIfExists', (t) => {
  const d = tmpdir(t);
  assert.equal(readFileIfExists(path.join(d, 'x')), undefined);
  fs.writeFileSync(path.join(d, 'x'), 'hi');
  assert.equal(readFileIfExists(path.join(d, 'x')), 'hi');
  assert.throws(() => readFileIfExists(d), (e: { code?: string }) => e.code === 'EISDIR');
});
