import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSubnetEnv, parseSubnetEnv, SubnetEnvFormatError } from '../../../shared/subnet-env/format';
import { plainSubnetEnv } from '../../helpers/subnet-env-plain';
import { mustParseCIDR as c } from '../../../shared/ip';

const F = '/run/flannel/subnet.env';

const plain = (text: string): Record<string, unknown> => plainSubnetEnv(parseSubnetEnv(text, F));

test('v4: the reference layout, and it reads back', () => {
  const text = formatSubnetEnv({ networks: { 4: c('10.5.0.0/16') }, subnets: { 4: c('10.5.52.0/24') }, mtu: 1450, ipMasq: true });
  assert.equal(text, 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  assert.deepEqual(plain(text), { networks: ['10.5.0.0/16'], subnet: '10.5.52.0/24', ip6Networks: [], ip6Subnet: undefined, mtu: 1450, ipMasq: true });
});

test('v6 only', () => {
  const text = formatSubnetEnv({ networks: { 6: c('fc00::/48') }, subnets: { 6: c('fc00:0:0:34::/64') }, mtu: 1430, ipMasq: false });
  assert.equal(text, 'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:34::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n');
  assert.deepEqual(plain(text), { networks: [], subnet: undefined, ip6Networks: ['fc00::/48'], ip6Subnet: 'fc00:0:0:34::/64', mtu: 1430, ipMasq: false });
});

test('dual stack: v4 pair, v6 pair, MTU, IPMASQ', () => {
  const text = formatSubnetEnv({
    networks: { 6: c('fc00::/48'), 4: c('10.5.0.0/16') },
    subnets: { 4: c('10.5.52.0/24'), 6: c('fc00:0:0:34::/64') },
    mtu: 1450,
    ipMasq: true,
  });
  assert.equal(
    text,
    'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:34::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  );
  assert.deepEqual(plain(text), { networks: ['10.5.0.0/16'], subnet: '10.5.52.0/24', ip6Networks: ['fc00::/48'], ip6Subnet: 'fc00:0:0:34::/64', mtu: 1450, ipMasq: true });
});

test('host bits in the lease are cleared before +1; small subnets', () => {
  const text = formatSubnetEnv({ networks: { 4: c('10.0.0.0/28') }, subnets: { 4: c('10.0.0.6/30') }, mtu: 1500, ipMasq: false });
  assert.match(text, /^FLANNEL_SUBNET=10\.0\.0\.5\/30$/m);
  assert.equal(plain(text).subnet, '10.0.0.4/30');
});

test('the writer refuses incomplete or mixed input', () => {
  assert.throws(() => formatSubnetEnv({ networks: { 4: c('10.0.0.0/16') }, subnets: {}, mtu: 1450, ipMasq: false }), { message: 'subnet.env: IPv4 needs both the network and the lease subnet' });
  assert.throws(() => formatSubnetEnv({ networks: {}, subnets: {}, mtu: 1450, ipMasq: false }), { message: 'subnet.env: no address family to write' });
  assert.throws(() => formatSubnetEnv({ networks: { 4: c('fc00::/48') }, subnets: { 4: c('fc00::/64') }, mtu: 1450, ipMasq: false }), { message: 'subnet.env: fc00::/48 and fc00::/64 must both be IPv4' });
  assert.throws(() => formatSubnetEnv({ networks: { 4: c('10.0.0.0/16') }, subnets: { 4: c('10.0.1.0/24') }, mtu: -1, ipMasq: false }), { message: 'subnet.env: invalid MTU -1' });
});

test('parse errors are SubnetEnvFormatError (no CNI types in the shared module)', () => {
  assert.throws(() => parseSubnetEnv('FLANNEL_MTU=x\n', F), (e: unknown) => {
    assert.ok(e instanceof SubnetEnvFormatError);
    assert.equal((e as Error).message, '/run/flannel/subnet.env: invalid FLANNEL_MTU "x": must be an unsigned 32-bit integer');
    return true;
  });
});
