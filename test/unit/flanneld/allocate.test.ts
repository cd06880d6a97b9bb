import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateSubnet, freeCandidates, isCompatible, MAX_CANDIDATES } from '../../../flanneld/subnet/allocate';
import { OutOfSubnetsError } from '../../../flanneld/subnet/errors';
import { formatCIDR, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import type { FamilyPlan } from '../../../flanneld/types';

const plan = (net: string, len: number, min: string, max: string): FamilyPlan => ({ network: mustParseCIDR(net), subnetLen: len, subnetMin: mustParseIP(min), subnetMax: mustParseIP(max) });
const P4 = plan('10.5.0.0/16', 24, '10.5.1.0', '10.5.4.0');

test('candidates walk SubnetMin..SubnetMax in subnet steps, skipping leases and reservations', () => {
  const taken = [mustParseCIDR('10.5.2.0/24'), mustParseCIDR('10.6.3.0/24')];
  assert.deepEqual(freeCandidates(P4, taken).map(formatCIDR), ['10.5.1.0/24', '10.5.3.0/24', '10.5.4.0/24']);
  // A bigger overlapping lease (/22) blocks all it covers.
  assert.deepEqual(freeCandidates(P4, [mustParseCIDR('10.5.0.0/22')]).map(formatCIDR), ['10.5.4.0/24']);
});

test('at most 100 candidates; a random pick among them; huge v6 ranges stay cheap', () => {
  const big = plan('10.0.0.0/8', 24, '10.0.1.0', '10.255.255.0');
  assert.equal(freeCandidates(big, []).length, MAX_CANDIDATES);
  assert.equal(formatCIDR(allocateSubnet(big, [], () => 0)), '10.0.1.0/24');
  assert.equal(formatCIDR(allocateSubnet(big, [], () => 0.999999)), '10.0.100.0/24');
  const v6 = plan('fc00::/16', 64, 'fc00:0:0:1::', 'fc00:ffff:ffff:ffff::');
  // A /17 lease covering the first half: the walk jumps over it instead of 2^47 steps.
  const t0 = Date.now();
  const c = freeCandidates(v6, [mustParseCIDR('fc00::/17')], 3).map(formatCIDR);
  assert.deepEqual(c, ['fc00:8000::/64', 'fc00:8000:0:1::/64', 'fc00:8000:0:2::/64']);
  assert.ok(Date.now() - t0 < 100);
});

test('exhaustion → OutOfSubnetsError with the network, count and range', () => {
  const taken = ['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24', '10.5.4.0/24', '10.5.9.0/24'].map(mustParseCIDR);
  assert.throws(() => allocateSubnet(P4, taken, Math.random), (e: Error) =>
    e instanceof OutOfSubnetsError && e.message === 'out of subnets in 10.5.0.0/16 (4 leased between 10.5.1.0 and 10.5.4.0)');
});

test('isCompatible: prefix length and range', () => {
  assert.equal(isCompatible(P4, mustParseCIDR('10.5.1.0/24')), true);
  assert.equal(isCompatible(P4, mustParseCIDR('10.5.4.0/24')), true);
  assert.equal(isCompatible(P4, mustParseCIDR('10.5.5.0/24')), false);
  assert.equal(isCompatible(P4, mustParseCIDR('10.5.0.0/24')), false);
  assert.equal(isCompatible(P4, mustParseCIDR('10.5.2.0/25')), false);
  assert.equal(isCompatible(P4, mustParseCIDR('fc00::/24')), false);
});
