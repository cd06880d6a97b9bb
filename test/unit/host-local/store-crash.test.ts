// What a holder of the network lock killed mid-write leaves, and how the store treats it: a
// zero-byte reservation file (killed between create and write) is an orphan that reserve() takes
// over and releaseByID() removes, as it does temp files of interrupted atomic writes; files with
// content, garbage or not, stay reserved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mustParseIP } from '../../../shared/ip';
import { withStore } from '../../../plugins/host-local/store';

function netdir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-crash-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const dir = path.join(d, 'mynet');
  fs.mkdirSync(dir);
  return dir;
}
const ip = mustParseIP;

test('reserve takes over a zero-byte reservation file, not one with content', async (t) => {
  const dir = netdir(t);
  fs.writeFileSync(path.join(dir, '10.1.2.2'), '');
  fs.writeFileSync(path.join(dir, '10.1.2.3'), '\0\xff garbage');
  fs.writeFileSync(path.join(dir, '10.1.2.4'), 'other\r\neth0');
  await withStore(dir, (s) => {
    assert.equal(s.reserve('ctr', 'eth0', ip('10.1.2.2'), 0), true);
    assert.equal(s.reserve('ctr', 'eth1', ip('10.1.2.3'), 0), false);
    assert.equal(s.reserve('ctr', 'eth1', ip('10.1.2.4'), 0), false);
  });
  assert.equal(fs.readFileSync(path.join(dir, '10.1.2.2'), 'utf8'), 'ctr\r\neth0');
  assert.equal(fs.statSync(path.join(dir, '10.1.2.2')).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(path.join(dir, 'last_reserved_ip.0'), 'utf8'), '10.1.2.2');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['10.1.2.2', '10.1.2.3', '10.1.2.4', 'last_reserved_ip.0', 'lock']);
});

test('releaseByID also removes orphans and temp files of interrupted writes, nothing else', async (t) => {
  const dir = netdir(t);
  fs.writeFileSync(path.join(dir, '10.1.2.2'), 'ctr\r\neth0');
  fs.writeFileSync(path.join(dir, '10.1.2.3'), '');
  fs.writeFileSync(path.join(dir, '10.1.2.4'), 'garbage');
  fs.writeFileSync(path.join(dir, '10.1.2.5'), 'other\r\neth0');
  fs.writeFileSync(path.join(dir, '10.1.2.6'), ' \n'); // whitespace: not provably an orphan
  fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), '10.1.2.2');
  fs.writeFileSync(path.join(dir, 'last_reserved_ip.0.tmp-123-0badf00d'), '10.1.2.');
  const released = await withStore(dir, (s) => s.releaseByID('ctr', 'eth0'));
  assert.deepEqual(released.map((r) => r.file), ['10.1.2.2']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['10.1.2.4', '10.1.2.5', '10.1.2.6', 'last_reserved_ip.0', 'lock']);
});

test('releaseByID of an unknown container still clears orphans', async (t) => {
  const dir = netdir(t);
  fs.writeFileSync(path.join(dir, '10.1.2.3'), '');
  const released = await withStore(dir, (s) => s.releaseByID('nobody', 'eth0'));
  assert.deepEqual(released, []);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['lock']);
});
