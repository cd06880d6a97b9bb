import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetConf } from '../../../shared/cni/types';
import { formatIP } from '../../../shared/ip';
import { checkNetworkName, loadConfig, loadStoreConfig } from '../../../plugins/host-local/config';
import { rangeSetString } from '../../../plugins/host-local/range-set';

const conf = (extra: Record<string, unknown>, ipam?: Record<string, unknown>): NetConf =>
  ({ cniVersion: '1.1.0', name: 'mynet', type: 'bridge', ...(ipam ? { ipam: { type: 'host-local', ...ipam } } : {}), ...extra }) as NetConf;
const sets = (c: NetConf, args = ''): string[] => loadConfig(c, args).rangeSets.map(rangeSetString);
const reqs = (c: NetConf, args = ''): string[] => loadConfig(c, args).requestedIPs.map(formatIP);

test('old-style single range', () => {
  const c = loadConfig(conf({}, { subnet: '10.1.2.0/24', rangeStart: '10.1.2.9', rangeEnd: '10.1.2.20', gateway: '10.1.2.30', dataDir: '/tmp/x' }), '');
  assert.deepEqual(c.rangeSets.map(rangeSetString), ['10.1.2.9-10.1.2.20']);
  assert.equal(formatIP(c.rangeSets[0]![0]!.gateway), '10.1.2.30');
  assert.equal(c.networkDir, '/tmp/x/mynet');
  assert.equal(c.dataDir, '/tmp/x');
});

test('defaults: dataDir /var/lib/cni/networks, no routes, no resolvConf', () => {
  const c = loadConfig(conf({}, { subnet: '10.1.2.0/24' }), '');
  assert.equal(c.networkDir, '/var/lib/cni/networks/mynet');
  assert.deepEqual(c.routes, []);
  assert.equal(c.resolvConf, undefined);
});

test('new-style ranges, routes kept (known fields), resolvConf', () => {
  const c = loadConfig(
    conf({}, {
      ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1', mtu: 1400, junk: 1 }, { dst: '::/0' }],
      resolvConf: '/etc/resolv.conf',
    }),
    '',
  );
  assert.deepEqual(c.rangeSets.map(rangeSetString), ['10.1.2.1-10.1.2.254,10.2.2.1-10.2.2.254', '2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff']);
  assert.deepEqual(c.routes, [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1', mtu: 1400 }, { dst: '::/0' }]);
  assert.equal(c.resolvConf, '/etc/resolv.conf');
});

test('mixed: runtime ipRanges first, then the legacy range, then ranges', () => {
  const c = conf(
    { runtimeConfig: { ipRanges: [[{ subnet: '192.168.0.0/24' }]] } },
    { subnet: '10.1.2.0/24', ranges: [[{ subnet: '10.2.2.0/24' }]] },
  );
  assert.deepEqual(sets(c), ['192.168.0.1-192.168.0.254', '10.1.2.1-10.1.2.254', '10.2.2.1-10.2.2.254']);
});

test('legacy range fields without subnet are ignored (reference behaviour)', () => {
  assert.deepEqual(sets(conf({}, { rangeStart: '10.9.9.9', ranges: [[{ subnet: '10.2.2.0/24' }]] })), ['10.2.2.1-10.2.2.254']);
});

test('CNI_ARGS IP with and without prefix', () => {
  const c = conf({}, { subnet: '10.1.2.0/24' });
  assert.deepEqual(reqs(c, 'IP=10.1.2.10'), ['10.1.2.10']);
  assert.deepEqual(reqs(c, 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.1.2.11/24'), ['10.1.2.11']);
  assert.throws(() => reqs(c, 'FOO=bar'), (e: { code: number; message: string }) => e.code === 4 && /unknown args/.test(e.message));
  assert.throws(() => reqs(c, 'IP=10.1.2'), { message: 'cannot understand ip: "10.1.2" in CNI_ARGS IP is not an IP address' });
});

test('args.cni.ips and runtimeConfig.ips, with and without prefix, combined and deduplicated', () => {
  const c = conf({ args: { cni: { ips: ['10.1.2.10/24', '2001:db8:1::10'] } }, runtimeConfig: { ips: ['10.1.2.10', '10.1.2.12/24'] } }, { subnet: '10.1.2.0/24' });
  assert.deepEqual(reqs(c), ['10.1.2.10', '2001:db8:1::10', '10.1.2.12']);
  assert.throws(() => reqs(conf({ runtimeConfig: { ips: ['nope'] } }, { subnet: '10.1.2.0/24' })), {
    message: 'cannot understand ip: "nope" in runtimeConfig.ips[0] is not an IP address',
  });
});

test('CNI_ARGS is ignored when args.cni.ips or runtimeConfig.ips request IPs (CONVENTIONS)', () => {
  const base = { subnet: '10.1.2.0/24' };
  assert.deepEqual(reqs(conf({ runtimeConfig: { ips: ['10.1.2.12'] } }, base), 'IP=10.1.2.10'), ['10.1.2.12']);
  assert.deepEqual(reqs(conf({ args: { cni: { ips: ['10.1.2.13'] } } }, base), 'IP=10.1.2.10'), ['10.1.2.13']);
  // Empty lists request nothing: CNI_ARGS applies.
  assert.deepEqual(reqs(conf({ runtimeConfig: { ips: [] } }, base), 'IP=10.1.2.10'), ['10.1.2.10']);
});

test('overlap between range sets', () => {
  assert.throws(() => sets(conf({}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.2.2.0/24' }], [{ subnet: '10.1.0.0/16' }]] })), {
    message: 'range set 0 overlaps with 2',
  });
  assert.throws(() => sets(conf({ runtimeConfig: { ipRanges: [[{ subnet: '10.1.2.0/24' }]] } }, { subnet: '10.1.2.0/24' })), {
    message: 'range set 0 overlaps with 1',
  });
});

test('overlap within a range set, mixed families, host bits: invalid range set N', () => {
  assert.throws(() => sets(conf({}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.2.2.0/24' }, { subnet: '10.2.2.0/25' }]] })), {
    message: 'invalid range set 1: subnets 10.2.2.1-10.2.2.254 and 10.2.2.1-10.2.2.126 overlap',
  });
  assert.throws(() => sets(conf({}, { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '2001:db8::/64' }]] })), {
    message: 'invalid range set 0: mixed address families',
  });
  assert.throws(() => sets(conf({}, { ranges: [[]] })), { message: 'invalid range set 0: empty range set' });
  assert.throws(() => sets(conf({}, { subnet: '10.1.2.1/24' })), (e: { code: number; message: string }) =>
    e.code === 7 && e.message === 'invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0');
});

test('too many ranges for 0.2.0; one v4 + one v6 allowed', () => {
  const two = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.2.2.0/24' }]] };
  assert.throws(() => sets(conf({ cniVersion: '0.2.0' }, two)), { message: 'CNI version 0.2.0 does not support more than 1 address per family' });
  assert.doesNotThrow(() => sets(conf({ cniVersion: '0.3.0' }, two)));
  assert.deepEqual(sets(conf({ cniVersion: '0.2.0' }, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8::/64' }]] })).length, 2);
});

test('missing ipam, no ranges, bad field values name the field', () => {
  assert.throws(() => loadConfig(conf({}), ''), (e: { code: number; message: string }) => e.code === 7 && e.message === "IPAM config missing 'ipam' key");
  assert.throws(() => loadConfig(conf({}, {}), ''), { message: 'no IP ranges specified' });
  assert.throws(() => loadConfig(conf({}, { ranges: [[{ subnet: '10.1.2.0' }]] }), ''), {
    message: 'invalid config: ipam.ranges[0][0].subnet: must be an address/prefix (CIDR) (got "10.1.2.0")',
  });
  assert.throws(() => loadConfig(conf({}, { subnet: '10.1.2.0/24', gateway: '10.1.2.x' }), ''), {
    message: 'invalid config: ipam.gateway: must be an IP address (got "10.1.2.x")',
  });
  assert.throws(() => loadConfig(conf({}, { subnet: '10.1.2.0/24', routes: [{ gw: '10.1.2.1' }] }), ''), /ipam\.routes\[0\]\.dst/);
  // "" and null mean "not given", as in the reference's JSON decoding.
  assert.doesNotThrow(() => loadConfig(conf({}, { subnet: '10.1.2.0/24', gateway: '', rangeStart: null }), ''));
});

test('network name and dataDir can never leave the data directory', () => {
  for (const bad of ['..', '.', '../etc', 'a/b', '', '.hidden']) {
    assert.throws(() => checkNetworkName(bad), (e: { code: number }) => e.code === 7, bad);
  }
  assert.equal(checkNetworkName('my-net_1.0'), 'my-net_1.0');
  assert.throws(() => loadStoreConfig(conf({ name: '..' }, { subnet: '10.1.2.0/24' })), /invalid characters found in network name/);
  assert.throws(() => loadStoreConfig(conf({}, { dataDir: 'relative/dir' })), {
    message: 'invalid config: ipam.dataDir: must be an absolute path (got "relative/dir")',
  });
  assert.equal(loadStoreConfig(conf({}, { dataDir: '/a/b/../c/' })).networkDir, '/a/c/mynet');
});

test('loadStoreConfig does not care about broken ranges (DEL/GC must still work)', () => {
  assert.equal(loadStoreConfig(conf({}, { ranges: [[{ subnet: '10.1.2.1/24' }]], dataDir: '/d' })).networkDir, '/d/mynet');
  assert.throws(() => loadStoreConfig(conf({})), { message: "IPAM config missing 'ipam' key" });
});
