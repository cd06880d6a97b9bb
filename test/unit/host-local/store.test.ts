import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import { allocateAll } from '../../../plugins/host-local/allocator';
import { canonicalizeRangeSet } from '../../../plugins/host-local/range-set';
import { DiskStore, parseReservation, withStore } from '../../../plugins/host-local/store';
import { GC_GRACE_MS } from '../../../shared/state/gc-grace';
import { LockTimeoutError } from '../../../shared/state/lock';
import { spawnLockHolder } from '../../helpers/lock-holder';


function netdir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-store-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return path.join(d, 'mynet');
}
const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
const modeOf = (p: string): number => fs.statSync(p).mode & 0o777;
const ip = mustParseIP;

test('open creates the network dir 0755 and the lock file', async (t) => {
  const dir = netdir(t);
  const old = process.umask(0o022);
  try {
    await withStore(dir, () => undefined);
  } finally {
    process.umask(old);
  }
  assert.equal(modeOf(dir), 0o755);
  assert.deepEqual(fs.readdirSync(dir), ['lock']);
});

test('reserve: file named by the IP, content id\\r\\nifname (trimmed id, no newline), 0600; last_reserved_ip', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    assert.equal(s.reserve('   dummy\n ', 'eth0', ip('10.1.2.2'), 0), true);
    assert.equal(s.reserve('dummy', 'eth0', ip('2001:db8:1::2'), 1), true);
    assert.equal(s.reserve('other', 'eth0', ip('10.1.2.2'), 0), false);
  });
  assert.equal(read(dir, '10.1.2.2'), 'dummy\r\neth0');
  assert.equal(read(dir, '2001:db8:1::2'), 'dummy\r\neth0');
  assert.equal(modeOf(path.join(dir, '10.1.2.2')), 0o600);
  assert.equal(read(dir, 'last_reserved_ip.0'), '10.1.2.2');
  assert.equal(read(dir, 'last_reserved_ip.1'), '2001:db8:1::2');
  assert.equal(modeOf(path.join(dir, 'last_reserved_ip.0')), 0o600);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['10.1.2.2', '2001:db8:1::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});

test('IPv6 file names use the canonical (Go) form', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => s.reserve('c', 'eth0', ip('2001:0DB8:0000:0000:0001:0000:0000:0010'), 0));
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(':')), ['2001:db8::1:0:0:10']);
});

test('lastReservedIP: absent, valid, corrupt (treated as absent, allocation still works)', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    assert.equal(s.lastReservedIP(0), undefined);
    fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), '10.1.2.7\n');
    assert.equal(formatIP(s.lastReservedIP(0)!), '10.1.2.7');
    fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), '\x00\x00garbage');
    assert.equal(s.lastReservedIP(0), undefined);
    fs.rmSync(path.join(dir, 'last_reserved_ip.0'));
    fs.mkdirSync(path.join(dir, 'last_reserved_ip.0')); // unreadable as a file
    assert.equal(s.lastReservedIP(0), undefined);
    fs.rmdirSync(path.join(dir, 'last_reserved_ip.0'));
    fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), '');
    const set = canonicalizeRangeSet([{ subnet: mustParseCIDR('10.1.2.0/24') }]);
    assert.equal(formatIP(allocateAll(s, [set], 'c', 'eth0', [])[0]!.ip), '10.1.2.2');
  });
});

test('legacy id-only files: found, counted as duplicates, released as fallback', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    fs.writeFileSync(path.join(dir, '10.1.2.9'), 'legacy\n');
    fs.writeFileSync(path.join(dir, '10.1.2.10'), 'legacy');
    s.reserve('modern', 'eth0', ip('10.1.2.11'), 0);
    assert.deepEqual(s.getByID('legacy', 'eth0').map(formatIP).sort(), ['10.1.2.10', '10.1.2.9']);
    assert.deepEqual(s.findByID('legacy', 'eth0').map((r) => r.file).sort(), ['10.1.2.10', '10.1.2.9']);
    assert.deepEqual(s.releaseByID('legacy', 'eth0').length, 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['10.1.2.11', 'last_reserved_ip.0', 'lock']);
  });
});

test('release by (id, ifname) only; legacy fallback only when nothing matched exactly', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    s.reserve('c', 'eth0', ip('10.1.2.2'), 0);
    s.reserve('c', 'eth0', ip('2001:db8::2'), 1);
    s.reserve('c', 'net1', ip('10.1.2.3'), 0);
    fs.writeFileSync(path.join(dir, '10.1.2.4'), 'c');
    assert.deepEqual(s.releaseByID('c', 'eth0').map((r) => r.file).sort(), ['10.1.2.2', '2001:db8::2']);
    assert.ok(fs.existsSync(path.join(dir, '10.1.2.3')));
    assert.ok(fs.existsSync(path.join(dir, '10.1.2.4')), 'legacy file kept: exact matches existed');
    assert.deepEqual(s.releaseByID('c', 'eth0').map((r) => r.file), ['10.1.2.4']);
    assert.deepEqual(s.releaseByID('unknown', 'eth0'), []);
  });
});

test('list: only IP-named regular files are reservations', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    s.reserve('c', 'eth0', ip('10.1.2.2'), 0);
    fs.writeFileSync(path.join(dir, 'last_reserved_ip.0.tmp-1-abcd'), '10.1.2.2');
    fs.writeFileSync(path.join(dir, 'README'), 'c\r\neth0');
    fs.mkdirSync(path.join(dir, '10.1.2.99'));
    assert.deepEqual(s.list().map((r) => [r.file, r.containerID, r.ifname]), [['10.1.2.2', 'c', 'eth0']]);
    // A container named like an IP must not match last_reserved_ip files (their content is an IP).
    assert.deepEqual(s.releaseByID('10.1.2.2', 'eth0'), []);
    assert.ok(fs.existsSync(path.join(dir, 'last_reserved_ip.0')));
  });
});

test('GC keeps valid attachments (and legacy files of valid ids), removes the rest, never lock/last_reserved_ip', async (t) => {
  const dir = netdir(t);
  await withStore(dir, (s) => {
    s.reserve('keep', 'eth0', ip('10.1.2.2'), 0);
    s.reserve('keep', 'eth1', ip('10.1.2.3'), 0); // same id, ifname not listed
    s.reserve('gone', 'eth0', ip('2001:db8::2'), 1);
    fs.writeFileSync(path.join(dir, '10.1.2.4'), 'keep');
    fs.writeFileSync(path.join(dir, '10.1.2.5'), 'gone');
    fs.writeFileSync(path.join(dir, '10.1.2.6'), ''); // zero-length leftover of a crash
    // Within the grace (an ADD may be in flight) nothing goes; measured later, past it, they do.
    assert.deepEqual(s.gc([]), []);
    const later = Date.now() + GC_GRACE_MS + 1000;
    const released = s.gc([{ containerID: ' keep ', ifname: 'eth0' }], later).map((r) => r.file).sort();
    assert.deepEqual(released, ['10.1.2.3', '10.1.2.5', '10.1.2.6', '2001:db8::2']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['10.1.2.2', '10.1.2.4', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    assert.equal(s.gc([], later).length, 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });
});

test('all or nothing on disk: a failing second set leaves no file of the first', async (t) => {
  const dir = netdir(t);
  const sets = [
    canonicalizeRangeSet([{ subnet: mustParseCIDR('10.1.2.0/24') }]),
    canonicalizeRangeSet([{ subnet: mustParseCIDR('10.9.0.0/30') }]),
  ];
  await withStore(dir, (s) => {
    s.reserve('other', 'eth0', ip('10.9.0.2'), 1);
    assert.throws(() => allocateAll(s, sets, 'c', 'eth0', []), /failed to allocate for range 1: no IP addresses available/);
  });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['10.9.0.2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
});

test('parseReservation', () => {
  assert.deepEqual(parseReservation('id\r\neth0'), { containerID: 'id', ifname: 'eth0' });
  assert.deepEqual(parseReservation(' id \n'), { containerID: 'id' });
  assert.deepEqual(parseReservation('id\r\n'), { containerID: 'id' }); // trimmed like the reference
});

test('a store holder killed with SIGKILL does not delay the next open by more than 1 s', async (t) => {
  const dir = netdir(t);
  fs.mkdirSync(dir, { recursive: true });
  const child = await spawnLockHolder(t, path.join(dir, 'lock'));
  await assert.rejects(DiskStore.open(dir, { timeoutMs: 150 }), LockTimeoutError);
  const t0 = Date.now();
  child.kill('SIGKILL');
  const s = await DiskStore.open(dir, { timeoutMs: 5000 });
  const waited = Date.now() - t0;
  s.close();
  assert.ok(waited < 1000, `waited ${waited} ms`);
});
