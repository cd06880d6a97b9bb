import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../../../shared/cni/errors';
import { formatCIDR, mustParseCIDR } from '../../../shared/ip';
import { calcGateways, firstGateways, planBridgeAddresses } from '../../../plugins/bridge/gateway';
import { formatIP } from '../../../shared/ip';

const cidrs = (xs: readonly { ip: unknown; prefix: number }[]): string[] => xs.map((x) => formatCIDR(x as never));

test('isGateway computes network+1 when IPAM gave no gateway, keeps a given one', () => {
  const p = calcGateways(
    [{ address: '10.1.2.5/24' }, { address: '2001:db8::5/64', gateway: '2001:db8::fe' }],
    [],
    { isGateway: true, isDefaultGateway: false },
  );
  assert.equal(p.ips[0]!.gateway, '10.1.2.1');
  assert.equal(p.ips[1]!.gateway, '2001:db8::fe');
  assert.deepEqual(cidrs(p.bridgeAddrs[4]), ['10.1.2.1/24']);
  assert.deepEqual(cidrs(p.bridgeAddrs[6]), ['2001:db8::fe/64']);
  assert.deepEqual(p.routes, []);
});

test('without isGateway no gateway is invented and the bridge gets no address', () => {
  const p = calcGateways([{ address: '10.1.2.5/24' }], [{ dst: '10.9.0.0/16' }], { isGateway: false, isDefaultGateway: false });
  assert.equal(p.ips[0]!.gateway, undefined);
  assert.deepEqual(p.bridgeAddrs[4], []);
  assert.deepEqual(p.routes, [{ dst: '10.9.0.0/16' }]);
});

test('isDefaultGateway adds one default route per family via the first IP of that family', () => {
  const p = calcGateways(
    [{ address: '192.168.0.5/24' }, { address: 'fd00::5/64' }, { address: '2001:db8:1::5/64' }],
    [],
    { isGateway: false, isDefaultGateway: true },
  );
  assert.deepEqual(p.routes, [
    { dst: '0.0.0.0/0', gw: '192.168.0.1' },
    { dst: '::/0', gw: 'fd00::1' },
  ]);
  assert.deepEqual(cidrs(p.bridgeAddrs[6]), ['fd00::1/64', '2001:db8:1::1/64']);
});

test('an IPAM default route with a gateway suppresses ours; one without a gateway does not', () => {
  const withGw = calcGateways([{ address: '10.1.2.5/24' }], [{ dst: '0.0.0.0/0', gw: '10.1.2.254' }], { isGateway: true, isDefaultGateway: true });
  assert.deepEqual(withGw.routes, [{ dst: '0.0.0.0/0', gw: '10.1.2.254' }]);
  const noGw = calcGateways([{ address: '10.1.2.5/24' }], [{ dst: '0.0.0.0/0' }], { isGateway: true, isDefaultGateway: true });
  assert.deepEqual(noGw.routes, [{ dst: '0.0.0.0/0' }, { dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
  // A v6 default does not count for v4.
  const other = calcGateways([{ address: '10.1.2.5/24' }], [{ dst: '::/0', gw: 'fd00::1' }], { isGateway: true, isDefaultGateway: true });
  assert.deepEqual(other.routes, [{ dst: '::/0', gw: 'fd00::1' }, { dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
});

test('bridge gateway addresses are de-duplicated; 0.3.x version field dropped', () => {
  const p = calcGateways([{ address: '10.1.2.5/24', version: '4' }, { address: '10.1.2.6/24' }], [], { isGateway: true, isDefaultGateway: false });
  assert.deepEqual(cidrs(p.bridgeAddrs[4]), ['10.1.2.1/24']);
  assert.equal(p.ips[0]!.version, undefined);
});

test('unparseable IP → Unknown IP object', () => {
  assert.throws(() => calcGateways([{ address: 'bogus' }], [], { isGateway: true, isDefaultGateway: false }), (e: unknown) => e instanceof CniError && e.code === 999 && /^Unknown IP object: /.test(e.message));
});

test('firstGateways picks the first of each family', () => {
  const g = firstGateways([{ address: '10.0.0.2/24', gateway: '10.0.0.1' }, { address: '10.0.1.2/24', gateway: '10.0.1.1' }, { address: 'fd00::2/64', gateway: 'fd00::1' }]);
  assert.equal(formatIP(g[4]!), '10.0.0.1');
  assert.equal(formatIP(g[6]!), 'fd00::1');
});

const C = mustParseCIDR;

test('bridge v4: exact address present → nothing to do', () => {
  assert.deepEqual(planBridgeAddresses('cni0', [C('10.1.2.1/24')], [C('10.1.2.1/24')], false), { remove: [], add: [] });
});

test('bridge v4: other address → error without forceAddress, replaced with it (reference 10.0.0.1/8 then 10.1.2.3/16)', () => {
  assert.throws(
    () => planBridgeAddresses('cni0', [C('10.0.0.1/8')], [C('10.1.2.3/16')], false),
    (e: unknown) => e instanceof CniError && e.code === 999 && e.message === '"cni0" already has an IP address different from 10.1.2.3/16',
  );
  const p = planBridgeAddresses('cni0', [C('10.0.0.1/8')], [C('10.1.2.3/16')], true);
  assert.deepEqual(cidrs(p.remove), ['10.0.0.1/8']);
  assert.deepEqual(cidrs(p.add), ['10.1.2.3/16']);
});

test('bridge v4: same IP with another prefix conflicts too', () => {
  assert.throws(() => planBridgeAddresses('cni0', [C('10.1.2.1/16')], [C('10.1.2.1/24')], false), /already has an IP address different from 10.1.2.1\/24/);
});

test('bridge v6: overlapping replaced with forceAddress, error without', () => {
  assert.throws(() => planBridgeAddresses('cni0', [C('2001:db8:1::1/48')], [C('2001:db8:1:2::1/64')], false), /"cni0" already has an IP address different from 2001:db8:1:2::1\/64/);
  const p = planBridgeAddresses('cni0', [C('2001:db8:1::1/48'), C('fe80::1/64')], [C('2001:db8:1:2::1/64')], true);
  assert.deepEqual(cidrs(p.remove), ['2001:db8:1::1/48']);
  assert.deepEqual(cidrs(p.add), ['2001:db8:1:2::1/64']);
});

test('bridge v6: non-overlapping subnets are both kept', () => {
  const p = planBridgeAddresses('cni0', [C('2001:db8:1:2::1/64'), C('fe80::1/64')], [C('fd00:1234::1/64')], false);
  assert.deepEqual(p, { remove: [], add: [C('fd00:1234::1/64')] });
});

test('bridge: several wanted addresses of one family do not conflict with each other', () => {
  const p = planBridgeAddresses('cni0', [C('10.1.2.1/24')], [C('10.1.2.1/24'), C('10.2.2.1/24')], false);
  assert.deepEqual(cidrs(p.add), ['10.2.2.1/24']);
  assert.deepEqual(p.remove, []);
});
