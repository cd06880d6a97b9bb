import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKeyName, formatLeaseValue, parseKeyName, parseLeaseValue } from '../../../flanneld/subnet/lease-codec';
import { LeaseParseError } from '../../../flanneld/subnet/errors';
import { formatCIDR, formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';

// Documentation/reservations.md's example, byte for byte.
const GO_EXAMPLE = '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';

test('key names: v4, dual-stack, v6-only round trip', () => {
  assert.equal(formatKeyName({ 4: mustParseCIDR('10.5.52.0/24') }), '10.5.52.0-24');
  assert.equal(formatKeyName({ 4: mustParseCIDR('10.5.52.0/24'), 6: mustParseCIDR('fc00::/64') }), '10.5.52.0-24&fc00::-64');
  assert.equal(formatKeyName({ 6: mustParseCIDR('fc00:0:0:1::/64') }), '0.0.0.0-0&fc00:0:0:1::-64');
  const d = parseKeyName('10.5.52.0-24&fc00::-64')!;
  assert.equal(formatCIDR(d[4]!), '10.5.52.0/24');
  assert.equal(formatCIDR(d[6]!), 'fc00::/64');
  const v6 = parseKeyName('0.0.0.0-0&fc00::-64')!;
  assert.equal(v6[4], undefined);
  assert.equal(formatCIDR(v6[6]!), 'fc00::/64');
});

test('key names: malformed ones are refused', () => {
  for (const k of ['bogus', '10.5.52.0-24x', '10.5.52.0', '300.1.1.0-24', '10.5.52.0-33', 'x10.5.52.0-24', '10.5.52.0-24&fc00::-129', '10.5.52.0-24&FC00::-64', '0.0.0.0-0']) {
    assert.equal(parseKeyName(k), null, k);
  }
});

test('lease value: byte-identical to Go json.Marshal(LeaseAttrs)', () => {
  const attrs = { publicIP: { 4: mustParseIP('192.168.64.3') }, backendType: 'vxlan', backendData: { 4: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' } } };
  assert.equal(formatLeaseValue(attrs), GO_EXAMPLE);
  assert.equal(formatLeaseValue({ ...attrs, nodeId: 'abc' }), GO_EXAMPLE.slice(0, -1) + ',"NodeID":"abc"}');
  // host-gw: PublicIP(+v6) and BackendType only.
  assert.equal(formatLeaseValue({ publicIP: { 4: mustParseIP('10.0.0.1') }, backendType: 'host-gw', backendData: {} }),
    '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"host-gw"}');
  // dual-stack with both backend data, in Go's field order.
  assert.equal(
    formatLeaseValue({ publicIP: { 4: mustParseIP('10.0.0.1'), 6: mustParseIP('fd00::1') }, backendType: 'vxlan', backendData: { 4: { VNI: 1 }, 6: { VNI: 1 } } }),
    '{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1","BackendType":"vxlan","BackendData":{"VNI":1},"BackendV6Data":{"VNI":1}}',
  );
  // v6-only: Go's zero ip.IP4 marshals as "0.0.0.0".
  assert.equal(formatLeaseValue({ publicIP: { 6: mustParseIP('fd00::1') }, backendType: 'host-gw', backendData: {} }),
    '{"PublicIP":"0.0.0.0","PublicIPv6":"fd00::1","BackendType":"host-gw"}');
  // Go's HTML escaping of <, >, &.
  assert.equal(formatLeaseValue({ publicIP: { 4: mustParseIP('10.0.0.1') }, backendType: 'a<b>&', backendData: {} }),
    '{"PublicIP":"10.0.0.1","PublicIPv6":null,"BackendType":"a\\u003cb\\u003e\\u0026"}');
});

test('lease value: Go format parsed; keys case-insensitive; unknown fields ignored', () => {
  const a = parseLeaseValue('k', GO_EXAMPLE);
  assert.equal(formatIP(a.publicIP[4]!), '192.168.64.3');
  assert.equal(a.publicIP[6], undefined);
  assert.equal(a.backendType, 'vxlan');
  assert.deepEqual(a.backendData[4], { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' });
  assert.equal(a.nodeId, undefined);
  assert.equal(formatLeaseValue(a), GO_EXAMPLE);
  const b = parseLeaseValue('k', '{"publicip":"10.1.1.1","PUBLICIPV6":"fd00::2","backendtype":"host-gw","Extra":[1],"nodeid":"n9"}');
  assert.equal(formatIP(b.publicIP[4]!), '10.1.1.1');
  assert.equal(formatIP(b.publicIP[6]!), 'fd00::2');
  assert.equal(b.backendType, 'host-gw');
  assert.equal(b.nodeId, 'n9');
  // An exact-case field wins over a case-insensitive one, as in Go.
  assert.equal(formatIP(parseLeaseValue('k', '{"publicip":"10.1.1.1","PublicIP":"10.2.2.2"}').publicIP[4]!), '10.2.2.2');
  assert.equal(parseLeaseValue('k', '{"PublicIP":"0.0.0.0","PublicIPv6":"fd00::1"}').publicIP[4], undefined);
});

test('lease value: unparsable values are typed errors naming the key and the field', () => {
  const cases: [string, RegExp][] = [
    ['not json', /lease \/p\/subnets\/10\.5\.1\.0-24: value is not JSON/],
    ['[1]', /value is not a JSON object/],
    ['{"PublicIP":"fd00::1"}', /field PublicIP is "fd00::1", not an IPv4 address/],
    ['{"PublicIP":"10.0.0.1","PublicIPv6":"10.0.0.2"}', /field PublicIPv6 is "10.0.0.2", not an IPv6 address/],
    ['{"PublicIP":7}', /field PublicIP is 7/],
    ['{"BackendType":3}', /field BackendType is 3, not a string/],
  ];
  for (const [v, re] of cases) {
    assert.throws(() => parseLeaseValue('/p/subnets/10.5.1.0-24', v), (e: Error) => e instanceof LeaseParseError && re.test(e.message), v);
  }
});
