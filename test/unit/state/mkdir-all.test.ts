import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkdirAll } from '../../../shared/state/mkdir-all';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mkdir-all-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('creates missing parents with the mode; an existing dir is fine', (t) => {
  const base = tempDir(t);
  const dir = path.join(base, 'a', 'b', 'c');
  const old = process.umask(0o022);
  try {
    mkdirAll(dir, 0o700);
    mkdirAll(dir, 0o700);
  } finally {
    process.umask(old);
  }
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(base, 'a')).mode & 0o777, 0o700);
});

test('a file in the way: the error is the real one and names the path', (t) => {
  const base = tempDir(t);
  fs.writeFileSync(path.join(base, 'f'), '');
  assert.throws(() => mkdirAll(path.join(base, 'f', 'x', 'y'), 0o755), (e: NodeJS.ErrnoException) => {
    assert.match(e.code ?? '', /^(ENOTDIR|EEXIST)$/);
    assert.match(e.message, new RegExp(path.join(base, 'f')));
    return true;
  });
});
