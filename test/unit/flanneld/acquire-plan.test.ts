import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planAcquire, leaseFits } from '../../../flanneld/subnet/acquire-plan';
import { OutOfSubnetsError } from '../../../flanneld/subnet/errors';
import { formatCIDR, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import type { Lease, LeaseAttrs, NetworkConfig } from '../../../flanneld/types';

const cfg = (min = '10.5.1.0', max = '10.5.4.0', v6 = false): NetworkConfig => ({
  enableIPv4: true,
  enableIPv6: v6,
  enableNFTables: false,
  plans: {
    4: { network: mustParseCIDR('10.5.0.0/16'), subnetLen: 24, subnetMin: mustParseIP(min), subnetMax: mustParseIP(max) },
    ...(v6 ? { 6: { network: mustParseCIDR('fc00::/48'), subnetLen: 64, subnetMin: mustParseIP('fc00:0:0:1::'), subnetMax: mustParseIP('fc00:0:0:ffff::') } } : {}),
  },
  backend: { type: 'vxlan', raw: {} },
});
const attrs = (ip: string, nodeId?: string): LeaseAttrs => ({ publicIP: { 4: mustParseIP(ip) }, backendType: 'vxlan', backendData: {}, ...(nodeId ? { nodeId } : {}) });
const lease = (sn: string, a: LeaseAttrs, etcdLease = '7'): Lease => ({ keyName: sn.replace('/', '-'), subnets: { 4: mustParseCIDR(sn) }, attrs: a, etcdLease, modRevision: '5' });
const r0 = (): number => 0;

test('reuse order: NodeID first, then PublicIP (Go lease), then prev, then allocation', () => {
  const me = attrs('192.168.0.1', 'me');
  const byNode = lease('10.5.3.0/24', attrs('192.168.0.99', 'me'));
  const byIP = lease('10.5.2.0/24', attrs('192.168.0.1'));
  let p = planAcquire(cfg(), [byIP, byNode], me, { 4: mustParseCIDR('10.5.4.1/24') }, r0);
  assert.equal(p.kind, 'update');
  assert.equal(p.kind === 'update' && p.lease, byNode);
  // the IP-matched duplicate is ours too and stale: deleted
  assert.deepEqual(p.deletes, [byIP]);
  p = planAcquire(cfg(), [byIP], me, { 4: mustParseCIDR('10.5.4.1/24') }, r0);
  assert.equal(p.kind === 'update' && p.lease, byIP);
  p = planAcquire(cfg(), [], me, { 4: mustParseCIDR('10.5.4.1/24') }, r0);
  assert.deepEqual(p.kind === 'create' && [p.reason, formatCIDR(p.subnets[4]!)], ['prev', '10.5.4.0/24']);
  p = planAcquire(cfg(), [], me, {}, r0);
  assert.deepEqual(p.kind === 'create' && [p.reason, formatCIDR(p.subnets[4]!)], ['allocated', '10.5.1.0/24']);
});

test('never another node\'s key: same PublicIP but another NodeID, or prev held by someone else', () => {
  const me = attrs('192.168.0.1', 'me');
  const other = lease('10.5.2.0/24', attrs('192.168.0.1', 'other'));
  const p = planAcquire(cfg(), [other], me, { 4: mustParseCIDR('10.5.2.1/24') }, r0);
  assert.equal(p.kind, 'create');
  assert.equal(p.kind === 'create' && formatCIDR(p.subnets[4]!), '10.5.1.0/24');
  assert.deepEqual(p.deletes, []);
});

test('an incompatible own lease is deleted and a compatible subnet chosen', () => {
  const me = attrs('192.168.0.1', 'me');
  const old = lease('10.5.9.0/24', me); // outside the new range
  const p = planAcquire(cfg(), [old], me, {}, r0);
  assert.equal(p.kind, 'create');
  assert.deepEqual(p.deletes, [old]);
});

test('reservations (etcdLease 0) count as taken; our own reservation is used as is', () => {
  const res = lease('10.5.1.0/24', attrs('10.9.9.9'), '0');
  let p = planAcquire(cfg('10.5.1.0', '10.5.2.0'), [res], attrs('192.168.0.1', 'me'), { 4: mustParseCIDR('10.5.1.1/24') }, r0);
  assert.equal(p.kind === 'create' && formatCIDR(p.subnets[4]!), '10.5.2.0/24');
  p = planAcquire(cfg('10.5.1.0', '10.5.2.0'), [res], attrs('10.9.9.9', 'x'), {}, r0);
  assert.equal(p.kind, 'reservation');
  assert.deepEqual(p.deletes, []);
});

test('exhaustion throws OutOfSubnetsError', () => {
  const leases = ['10.5.1.0/24', '10.5.2.0/24'].map((s, i) => lease(s, attrs(`10.0.0.${i + 1}`, `n${i}`)));
  assert.throws(() => planAcquire(cfg('10.5.1.0', '10.5.2.0'), leases, attrs('10.0.0.9', 'me'), {}, r0), OutOfSubnetsError);
});

test('dual-stack: both families allocated; a v4-only lease does not fit a dual-stack config', () => {
  const p = planAcquire(cfg('10.5.1.0', '10.5.4.0', true), [], attrs('10.0.0.1', 'me'), {}, r0);
  assert.equal(p.kind === 'create' && formatCIDR(p.subnets[6]!), 'fc00:0:0:1::/64');
  assert.equal(leaseFits(cfg('10.5.1.0', '10.5.4.0', true), { 4: mustParseCIDR('10.5.1.0/24') }), false);
  assert.equal(leaseFits(cfg(), { 4: mustParseCIDR('10.5.1.0/24'), 6: mustParseCIDR('fc00:0:0:1::/64') }), false);
});
