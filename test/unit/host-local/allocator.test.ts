import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import { allocateAll, allocateInSet, iterateRangeSet } from '../../../plugins/host-local/allocator';
import { type RangeSet, canonicalizeRangeSet } from '../../../plugins/host-local/range-set';
import { MemoryStore } from './memory-store';

/** "10.0.0.0/24" or "10.0.0.0/24 10.0.0.10-10.0.0.20 gw=10.0.0.1", comma separated ranges. */
function set(desc: string): RangeSet {
  return canonicalizeRangeSet(
    desc.split(',').map((d) => {
      const [subnet, win, gw] = d.trim().split(/\s+/);
      const [start, end] = win && win !== '-' ? win.split('-') : [];
      return {
        subnet: mustParseCIDR(subnet!),
        rangeStart: start ? mustParseIP(start) : undefined,
        rangeEnd: end ? mustParseIP(end) : undefined,
        gateway: gw ? mustParseIP(gw.replace('gw=', '')) : undefined,
      };
    }),
  );
}
const walk = (s: RangeSet, last?: string): string[] =>
  [...iterateRangeSet(s, last ? mustParseIP(last) : undefined)].map((c) => formatIP(c.ip));
const alloc = (st: MemoryStore, s: RangeSet, id = 'c1', ifname = 'eth0', req?: string, idx = 0): string =>
  formatIP(allocateInSet(st, s, idx, id, ifname, req ? mustParseIP(req) : undefined, st.getByID(id, ifname)).ip);

test('iterator from the beginning skips the gateway', () => {
  assert.deepEqual(walk(set('10.0.0.0/29')), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
});

test('iterator from the middle continues after the last reserved IP and wraps, last one last', () => {
  assert.deepEqual(walk(set('10.0.0.0/29'), '10.0.0.4'), ['10.0.0.5', '10.0.0.6', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
});

test('iterator from the end wraps to rangeStart', () => {
  assert.deepEqual(walk(set('10.0.0.0/29'), '10.0.0.6'), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
});

test('last reserved IP outside the set → first range start', () => {
  assert.deepEqual(walk(set('10.0.0.0/29'), '10.9.9.9')[0], '10.0.0.2');
  assert.deepEqual(walk(set('10.0.0.0/29 10.0.0.3-10.0.0.5'), '10.0.0.6')[0], '10.0.0.3');
});

test('never the network, the broadcast or the gateway, even when the window includes them', () => {
  const got = walk(set('10.0.0.0/29 10.0.0.0-10.0.0.7 gw=10.0.0.3'));
  assert.deepEqual(got, ['10.0.0.1', '10.0.0.2', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
});

test('multiple ranges: walked in order, each skipping its own gateway, wrap-around', () => {
  const s = set('10.0.0.0/29, 10.0.1.0/29 10.0.1.4-10.0.1.6');
  assert.deepEqual(walk(s), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.1.4', '10.0.1.5', '10.0.1.6']);
  // Last reserved at the end of range 0 → start of range 1.
  assert.equal(walk(s, '10.0.0.6')[0], '10.0.1.4');
  // Last reserved at the end of the last range → start of range 0.
  assert.equal(walk(s, '10.0.1.6')[0], '10.0.0.2');
  assert.equal(walk(s, '10.0.1.5').length, 8);
});

test('IPv6: lazy on a /64, starts at ::2', () => {
  const it = iterateRangeSet(set('2001:db8:1::/64'));
  const first = [it.next().value!, it.next().value!].map((c) => formatIP(c.ip));
  assert.deepEqual(first, ['2001:db8:1::2', '2001:db8:1::3']);
  assert.equal(walk(set('2001:db8::/126'), '2001:db8::3')[0], '2001:db8::2'); // last addr usable, wraps
  assert.deepEqual(walk(set('2001:db8::/126')), ['2001:db8::2', '2001:db8::3']);
});

test('round robin: consecutive allocations advance, released addresses are not reused at once', () => {
  const st = new MemoryStore();
  const s = set('10.0.0.0/29');
  assert.equal(alloc(st, s, 'a'), '10.0.0.2');
  assert.equal(alloc(st, s, 'b'), '10.0.0.3');
  st.releaseIP(mustParseIP('10.0.0.2'));
  assert.equal(alloc(st, s, 'c'), '10.0.0.4');
  assert.equal(formatIP(st.lastReservedIP(0)!), '10.0.0.4');
});

test('exhaustion: /30 with .2 used', () => {
  const st = new MemoryStore().take('10.0.0.2');
  assert.throws(() => alloc(st, set('10.0.0.0/30')), { message: 'no IP addresses available in range set: 10.0.0.1-10.0.0.2' });
});

test('exhaustion: /29 full', () => {
  const st = new MemoryStore();
  const s = set('10.0.0.0/29');
  for (let i = 0; i < 5; i++) alloc(st, s, `c${i}`);
  assert.throws(() => alloc(st, s, 'x'), { message: 'no IP addresses available in range set: 10.0.0.1-10.0.0.6' });
});

test('exhaustion: two /30s', () => {
  const st = new MemoryStore();
  const s = set('10.0.0.0/30, 10.0.1.0/30');
  assert.equal(alloc(st, s, 'a'), '10.0.0.2');
  assert.equal(alloc(st, s, 'b'), '10.0.1.2');
  assert.throws(() => alloc(st, s, 'c'), { message: 'no IP addresses available in range set: 10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2' });
});

test('requested IP: ok, already allocated, outside the window, gateway, network/broadcast', () => {
  const s = set('10.0.0.0/24 10.0.0.10-10.0.0.20');
  const st = new MemoryStore();
  assert.equal(alloc(st, s, 'a', 'eth0', '10.0.0.15'), '10.0.0.15');
  assert.throws(() => alloc(st, s, 'b', 'eth0', '10.0.0.15'), {
    message: 'requested IP address 10.0.0.15 is not available in range set 10.0.0.10-10.0.0.20',
  });
  assert.throws(() => alloc(st, s, 'b', 'eth0', '10.0.0.21'), { message: '10.0.0.21 not in range set 10.0.0.10-10.0.0.20' });
  assert.throws(() => alloc(st, s, 'b', 'eth0', '10.0.0.9'), { message: '10.0.0.9 not in range set 10.0.0.10-10.0.0.20' });
  const g = set('10.0.0.0/24 - gw=10.0.0.50');
  assert.throws(() => alloc(st, g, 'b', 'eth0', '10.0.0.50'), { message: "requested ip 10.0.0.50 is subnet's gateway" });
  const wide = set('10.0.1.0/24 10.0.1.0-10.0.1.255');
  assert.throws(() => alloc(st, wide, 'b', 'eth0', '10.0.1.255'), { message: 'requested ip 10.0.1.255 is the broadcast address of subnet 10.0.1.0/24' });
  assert.throws(() => alloc(st, wide, 'b', 'eth0', '10.0.1.0'), { message: 'requested ip 10.0.1.0 is the network address of subnet 10.0.1.0/24' });
});

test('duplicate allocation for the same (id, ifname) is rejected; other ifname / id are fine', () => {
  const st = new MemoryStore();
  const s = set('10.0.0.0/24');
  assert.equal(alloc(st, s, 'dummy', 'eth0'), '10.0.0.2');
  assert.throws(() => alloc(st, s, 'dummy', 'eth0'), { message: '10.0.0.2 has been allocated to dummy, duplicate allocation is not allowed' });
  assert.throws(() => alloc(st, s, 'dummy', 'eth0', '10.0.0.9'), /has been allocated to dummy/);
  assert.equal(alloc(st, s, 'dummy', 'eth1'), '10.0.0.3');
  assert.equal(alloc(st, s, 'dummy1', 'eth0'), '10.0.0.4');
  // A legacy id-only reservation also counts as a duplicate.
  st.files.set('10.0.0.100', 'legacy');
  assert.throws(() => alloc(st, s, 'legacy', 'eth0'), { message: '10.0.0.100 has been allocated to legacy, duplicate allocation is not allowed' });
  // An allocation in another set does not.
  assert.equal(alloc(st, set('10.1.0.0/24'), 'dummy', 'eth0', undefined, 1), '10.1.0.2');
});

test('allocateAll: one per set, requested IPs go to the set containing them', () => {
  const st = new MemoryStore();
  const sets = [set('10.1.2.0/24, 10.2.2.0/24'), set('2001:db8:1::/64')];
  const got = allocateAll(st, sets, 'c', 'eth0', [mustParseIP('2001:db8:1::99'), mustParseIP('10.2.2.7')]);
  assert.deepEqual(got.map((a) => [formatIP(a.ip), a.rangeSetIndex, formatIP(a.range.gateway)]), [
    ['10.2.2.7', 0, '10.2.2.1'],
    ['2001:db8:1::99', 1, '2001:db8:1::1'],
  ]);
});

test('allocateAll: a failing set releases what earlier sets got (all or nothing)', () => {
  const st = new MemoryStore().take('10.1.0.2');
  const sets = [set('10.0.0.0/24'), set('10.1.0.0/30')];
  assert.throws(() => allocateAll(st, sets, 'c', 'eth0', []), {
    message: 'failed to allocate for range 1: no IP addresses available in range set: 10.1.0.1-10.1.0.2',
  });
  assert.deepEqual([...st.files.keys()], ['10.1.0.2']);
});

test('allocateAll: an I/O failure in a later set also rolls back', () => {
  const st = new MemoryStore();
  st.failOn = '2001:db8::2';
  assert.throws(() => allocateAll(st, [set('10.0.0.0/24'), set('2001:db8::/64')], 'c', 'eth0', []), {
    message: 'failed to allocate for range 1: EIO: simulated failure on 2001:db8::2',
  });
  assert.equal(st.files.size, 0);
});

test('allocateAll: requested IPs that fit no set → error, everything released', () => {
  const st = new MemoryStore();
  assert.throws(
    () => allocateAll(st, [set('10.1.2.0/24')], 'c', 'eth0', [mustParseIP('10.1.2.9'), mustParseIP('10.1.2.10'), mustParseIP('10.9.9.9')]),
    { message: 'failed to allocate all requested IPs: 10.1.2.10 10.9.9.9' },
  );
  assert.equal(st.files.size, 0);
});

test('allocateAll: requested IP taken → failed to allocate for range N', () => {
  const st = new MemoryStore().take('10.1.2.9');
  assert.throws(() => allocateAll(st, [set('10.0.0.0/24'), set('10.1.2.0/24')], 'c', 'eth0', [mustParseIP('10.1.2.9')]), {
    message: 'failed to allocate for range 1: requested IP address 10.1.2.9 is not available in range set 10.1.2.1-10.1.2.254',
  });
  assert.deepEqual([...st.files.keys()], ['10.1.2.9']);
});
