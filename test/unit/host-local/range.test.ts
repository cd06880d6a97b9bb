import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR, mustParseIP, formatIP, formatCIDR } from '../../../shared/ip';
import {
  type Range,
  type RangeSpec,
  canonicalizeRange,
  rangeContains,
  rangeString,
  rangesOverlap,
  reservedReason,
} from '../../../plugins/host-local/range';

function spec(subnet: string, o: { start?: string; end?: string; gw?: string } = {}): RangeSpec {
  return {
    subnet: mustParseCIDR(subnet),
    rangeStart: o.start ? mustParseIP(o.start) : undefined,
    rangeEnd: o.end ? mustParseIP(o.end) : undefined,
    gateway: o.gw ? mustParseIP(o.gw) : undefined,
  };
}
const canon = (subnet: string, o?: { start?: string; end?: string; gw?: string }): Range => canonicalizeRange(spec(subnet, o));
const show = (r: Range) => ({
  subnet: formatCIDR(r.subnet),
  start: formatIP(r.rangeStart),
  end: formatIP(r.rangeEnd),
  gw: formatIP(r.gateway),
});

test('v4 defaults: /24 → start .1, end .254, gateway .1', () => {
  assert.deepEqual(show(canon('192.0.2.0/24')), { subnet: '192.0.2.0/24', start: '192.0.2.1', end: '192.0.2.254', gw: '192.0.2.1' });
});

test('smaller v4 network: /30', () => {
  assert.deepEqual(show(canon('192.0.2.0/30')), { subnet: '192.0.2.0/30', start: '192.0.2.1', end: '192.0.2.2', gw: '192.0.2.1' });
});

test('v6 defaults: rangeEnd is the last address', () => {
  assert.deepEqual(show(canon('2001:db8:1::/64')), {
    subnet: '2001:db8:1::/64',
    start: '2001:db8:1::1',
    end: '2001:db8:1:0:ffff:ffff:ffff:ffff',
    gw: '2001:db8:1::1',
  });
});

test('all fields given are kept', () => {
  assert.deepEqual(show(canon('10.1.0.0/16', { start: '10.1.1.1', end: '10.1.2.2', gw: '10.1.0.254' })), {
    subnet: '10.1.0.0/16',
    start: '10.1.1.1',
    end: '10.1.2.2',
    gw: '10.1.0.254',
  });
});

test('host bits set is rejected with the network address', () => {
  assert.throws(() => canon('192.0.2.5/24'), { message: 'Network has host bits set. For a subnet mask of length 24 the network address is 192.0.2.0' });
  assert.throws(() => canon('2001:db8:1::1/64'), {
    message: 'Network has host bits set. For a subnet mask of length 64 the network address is 2001:db8:1::',
  });
});

test('too small networks', () => {
  for (const s of ['192.0.2.0/31', '192.0.2.1/32', '2001:db8::/127', '2001:db8::1/128']) {
    assert.throws(() => canon(s), { message: `Network ${s} too small to allocate from` });
  }
  assert.doesNotThrow(() => canon('192.0.2.0/30'));
  assert.doesNotThrow(() => canon('2001:db8::/126'));
});

test('rangeStart / rangeEnd outside the subnet', () => {
  assert.throws(() => canon('192.0.2.0/24', { start: '192.0.3.1' }), { message: 'RangeStart 192.0.3.1 not in network 192.0.2.0/24' });
  assert.throws(() => canon('192.0.2.0/24', { end: '192.0.3.1' }), { message: 'RangeEnd 192.0.3.1 not in network 192.0.2.0/24' });
  assert.throws(() => canon('2001:db8::/64', { end: '2001:db9::1' }), { message: 'RangeEnd 2001:db9::1 not in network 2001:db8::/64' });
  assert.throws(() => canon('192.0.2.0/24', { start: '192.0.2.50', end: '192.0.2.10' }), {
    message: 'RangeEnd 192.0.2.10 is before RangeStart 192.0.2.50',
  });
  assert.throws(() => canon('192.0.2.0/24', { gw: '2001:db8::1' }), /gateway 2001:db8::1 is not of the address family/);
});

test('contains: v4 and v6, bounds inclusive, other family never', () => {
  const r = canon('192.0.2.0/24', { start: '192.0.2.10', end: '192.0.2.20' });
  const has = (s: string) => rangeContains(r, mustParseIP(s));
  assert.equal(has('192.0.2.9'), false);
  assert.equal(has('192.0.2.10'), true);
  assert.equal(has('192.0.2.20'), true);
  assert.equal(has('192.0.2.21'), false);
  assert.equal(has('192.0.3.15'), false);
  assert.equal(has('::ffff:192.0.2.15'), true); // v4-mapped is v4
  const r6 = canon('2001:db8:1::/64');
  assert.equal(rangeContains(r6, mustParseIP('2001:db8:1::5')), true);
  assert.equal(rangeContains(r6, mustParseIP('2001:db8:2::5')), false);
  assert.equal(rangeContains(r6, mustParseIP('192.0.2.15')), false);
});

test('overlap table', () => {
  const cases: Array<[string, Range, Range, boolean]> = [
    ['non-overlapping', canon('10.0.0.0/24'), canon('10.0.1.0/24'), false],
    ['different families', canon('10.0.0.0/24'), canon('2001:db8::/64'), false],
    ['identical', canon('10.0.0.0/24'), canon('10.0.0.0/24'), true],
    ['containing', canon('10.0.0.0/16'), canon('10.0.5.0/24'), true],
    ['contained', canon('10.0.5.0/24'), canon('10.0.0.0/16'), true],
    ['same subnet, disjoint windows', canon('10.0.0.0/24', { end: '10.0.0.100' }), canon('10.0.0.0/24', { start: '10.0.0.101' }), false],
    ['same subnet, overlapping windows', canon('10.0.0.0/24', { end: '10.0.0.101' }), canon('10.0.0.0/24', { start: '10.0.0.101' }), true],
  ];
  for (const [name, a, b, want] of cases) {
    assert.equal(rangesOverlap(a, b), want, name);
    assert.equal(rangesOverlap(b, a), want, `${name} (swapped)`);
  }
});

test('reserved addresses: gateway, network, v4 broadcast; v6 last address is usable', () => {
  const r = canon('10.0.0.0/24', { start: '10.0.0.0', end: '10.0.0.255', gw: '10.0.0.7' });
  assert.equal(reservedReason(r, mustParseIP('10.0.0.7')), 'gateway');
  assert.equal(reservedReason(r, mustParseIP('10.0.0.0')), 'network');
  assert.equal(reservedReason(r, mustParseIP('10.0.0.255')), 'broadcast');
  assert.equal(reservedReason(r, mustParseIP('10.0.0.1')), undefined);
  const r6 = canon('2001:db8::/126');
  assert.equal(reservedReason(r6, mustParseIP('2001:db8::3')), undefined);
  assert.equal(reservedReason(r6, mustParseIP('2001:db8::')), 'network');
});

test('string form is start-end', () => {
  assert.equal(rangeString(canon('10.0.0.0/29')), '10.0.0.1-10.0.0.6');
  assert.equal(rangeString(canon('2001:db8::/126')), '2001:db8::1-2001:db8::3');
});
