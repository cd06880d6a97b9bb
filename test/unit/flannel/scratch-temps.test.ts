// Temp files of an interrupted save (an ADD killed between writing `<id>.tmp-<pid>-<hex>` and
// renaming it): removed with the container's saved config, and on their own when there is none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { removeDelegateConf, removeScratchTemps } from '../../../plugins/flannel/scratch';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-temps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('removeScratchTemps removes only this container\'s temp files', async (t) => {
  const dir = tempDir(t);
  for (const f of ['abc', 'abc.tmp-1-00ff', 'abc.tmp-22-0badf00d', 'abcd.tmp-1-00ff', 'xabc.tmp-1-00ff', 'abc.tmp-x-00ff']) writeFileSync(path.join(dir, f), '{');
  await removeScratchTemps(dir, 'abc');
  assert.deepEqual(readdirSync(dir).sort(), ['abc', 'abc.tmp-x-00ff', 'abcd.tmp-1-00ff', 'xabc.tmp-1-00ff']);
});

test('removeScratchTemps of a missing dir is a no-op', async (t) => {
  await removeScratchTemps(path.join(tempDir(t), 'gone'), 'abc');
});

test('removeDelegateConf removes the saved config and its temp files', async (t) => {
  const dir = tempDir(t);
  for (const f of ['abc', 'abc.tmp-1-00ff', 'other']) writeFileSync(path.join(dir, f), '{}');
  await removeDelegateConf(dir, 'abc');
  assert.deepEqual(readdirSync(dir), ['other']);
});
