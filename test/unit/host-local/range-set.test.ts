import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR, mustParseIP } from '../../../shared/ip';
import type { RangeSpec } from '../../../plugins/host-local/range';
import {
  canonicalizeRangeSet,
  rangeFor,
  rangeSetContains,
  rangeSetString,
  rangeSetsOverlap,
} from '../../../plugins/host-local/range-set';

const s = (subnet: string, start?: string, end?: string): RangeSpec => ({
  subnet: mustParseCIDR(subnet),
  rangeStart: start ? mustParseIP(start) : undefined,
  rangeEnd: end ? mustParseIP(end) : undefined,
});

test('empty set', () => {
  assert.throws(() => canonicalizeRangeSet([]), { message: 'empty range set' });
});

test('mixed families', () => {
  assert.throws(() => canonicalizeRangeSet([s('10.0.0.0/24'), s('2001:db8::/64')]), { message: 'mixed address families' });
});

test('overlap within a set names both ranges', () => {
  assert.throws(() => canonicalizeRangeSet([s('10.0.0.0/24'), s('10.0.0.0/16')]), {
    message: 'subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.255.254 overlap',
  });
});

test('errors of a member range propagate', () => {
  assert.throws(() => canonicalizeRangeSet([s('10.0.0.0/24'), s('10.0.1.1/24')]), /Network has host bits set/);
});

test('membership, rangeFor, string', () => {
  const set = canonicalizeRangeSet([s('10.0.0.0/24', '10.0.0.10', '10.0.0.20'), s('10.0.1.0/24')]);
  assert.equal(rangeSetContains(set, mustParseIP('10.0.0.15')), true);
  assert.equal(rangeSetContains(set, mustParseIP('10.0.0.5')), false);
  assert.equal(rangeFor(set, mustParseIP('10.0.1.5')), set[1]);
  assert.equal(rangeFor(set, mustParseIP('10.0.2.5')), undefined);
  assert.equal(rangeSetString(set), '10.0.0.10-10.0.0.20,10.0.1.1-10.0.1.254');
});

test('overlap between sets', () => {
  const a = canonicalizeRangeSet([s('10.0.0.0/24'), s('10.0.1.0/24')]);
  const b = canonicalizeRangeSet([s('10.0.2.0/24'), s('10.0.1.128/25')]);
  const c = canonicalizeRangeSet([s('10.0.3.0/24')]);
  const v6 = canonicalizeRangeSet([s('2001:db8::/64')]);
  assert.equal(rangeSetsOverlap(a, b), true);
  assert.equal(rangeSetsOverlap(a, c), false);
  assert.equal(rangeSetsOverlap(a, v6), false);
});
