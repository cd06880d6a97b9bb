import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CniError, ErrorCode } from '../../../shared/cni/errors';
import { tempNameFor } from '../../../shared/state/atomic-file';
import { listScratch, loadDelegateConf, removeDelegateConf, saveDelegateConf, scratchPath, TEMP_RE } from '../../../plugins/flannel/scratch';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-scratch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const JSON_CONF = '{"cniVersion":"1.0.0","name":"cbr0","type":"bridge","ipam":{"type":"host-local"}}';

test('save creates dir 0700 and file 0600, leaves no temp file; load returns the bytes', async (t) => {
  const base = tempDir(t);
  const dataDir = path.join(base, 'a', 'flannel');
  const file = await saveDelegateConf(dataDir, 'ctr1', JSON_CONF);
  assert.equal(file, path.join(dataDir, 'ctr1'));
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dataDir), ['ctr1']);
  const s = await loadDelegateConf(dataDir, 'ctr1');
  assert.equal(s.kind, 'ok');
  if (s.kind !== 'ok') return;
  assert.equal(s.type, 'bridge');
  assert.equal(s.bytes.toString(), JSON_CONF);
  assert.equal(s.conf.name, 'cbr0');
  // Overwrite replaces atomically.
  await saveDelegateConf(dataDir, 'ctr1', '{"type":"ipvlan"}');
  assert.equal(readFileSync(file, 'utf8'), '{"type":"ipvlan"}');
  assert.deepEqual(readdirSync(dataDir), ['ctr1']);
});

test('missing, empty, torn and typeless files', async (t) => {
  const dataDir = tempDir(t);
  assert.deepEqual(await loadDelegateConf(dataDir, 'nope'), { kind: 'missing', file: path.join(dataDir, 'nope') });
  assert.deepEqual(await loadDelegateConf(path.join(dataDir, 'no-dir'), 'x'), { kind: 'missing', file: path.join(dataDir, 'no-dir', 'x') });
  writeFileSync(path.join(dataDir, 'empty'), '');
  writeFileSync(path.join(dataDir, 'torn'), '{"cniVersion":"1.0.0","na');
  writeFileSync(path.join(dataDir, 'notype'), '{"name":"x"}');
  writeFileSync(path.join(dataDir, 'array'), '[1]');
  const reasons: Record<string, RegExp> = { empty: /empty/, torn: /invalid JSON/, notype: /no delegate type/, array: /not a JSON object/ };
  for (const [id, re] of Object.entries(reasons)) {
    const s = await loadDelegateConf(dataDir, id);
    assert.equal(s.kind, 'corrupt', id);
    if (s.kind === 'corrupt') assert.match(s.reason, re);
  }
});

test('remove is idempotent', async (t) => {
  const dataDir = tempDir(t);
  await saveDelegateConf(dataDir, 'c', JSON_CONF);
  await removeDelegateConf(dataDir, 'c');
  assert.deepEqual(readdirSync(dataDir), []);
  await removeDelegateConf(dataDir, 'c');
  await removeDelegateConf(path.join(dataDir, 'gone'), 'c');
});

test('container IDs that are not one path component are refused', async () => {
  for (const id of ['', '.', '..', 'a/b', '../etc/passwd', 'a\0b']) {
    assert.throws(() => scratchPath('/tmp/d', id), (e: unknown) => e instanceof CniError && e.code === ErrorCode.InvalidEnvironment, JSON.stringify(id));
    await assert.rejects(saveDelegateConf('/tmp/d', id, '{}'), CniError);
  }
});

test('temp names of the shared atomic writer are recognised, with the target name', () => {
  const name = path.basename(tempNameFor('/d/abc'));
  assert.ok(TEMP_RE.test(name), name);
  assert.equal(TEMP_RE.exec(name)![1], 'abc');
  assert.equal(TEMP_RE.test('abc'), false);
});

test('listScratch lists only plausible scratch files and temp files', async (t) => {
  const dataDir = tempDir(t);
  assert.deepEqual(await listScratch(path.join(dataDir, 'missing')), { entries: [], temps: [] });
  await saveDelegateConf(dataDir, 'good', JSON_CONF);
  writeFileSync(path.join(dataDir, 'zero'), '');
  writeFileSync(path.join(dataDir, 'torn'), '{"cniVer');
  writeFileSync(path.join(dataDir, 'README'), 'not a config'); // plausible name, not ours
  writeFileSync(path.join(dataDir, '-bad-name'), JSON_CONF); // not a container ID
  mkdirSync(path.join(dataDir, 'subdir'));
  symlinkSync(path.join(dataDir, 'good'), path.join(dataDir, 'link'));
  writeFileSync(tempNameFor(path.join(dataDir, 'good')), '{"type":');
  writeFileSync(path.join(dataDir, '.other.tmp'), '');
  const l = await listScratch(dataDir);
  assert.deepEqual(l.entries.map((e) => [e.containerId, e.saved.kind]), [['good', 'ok'], ['torn', 'corrupt'], ['zero', 'corrupt']]);
  assert.equal(l.temps.length, 1);
  assert.match(path.basename(l.temps[0]!.file), /^good\.tmp-/);
});
