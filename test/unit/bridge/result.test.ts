import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildResult, CONTAINER_IFACE_INDEX } from '../../../plugins/bridge/result';

const ifaces = {
  bridge: { name: 'cni0', mac: '02:00:00:00:00:01' },
  hostVeth: { name: 'veth0a1b2c3d', mac: '02:00:00:00:00:02' },
  container: { name: 'eth0', mac: '02:00:00:00:00:03', sandbox: '/run/netns/x' },
};

test('L2 result: three interfaces in order, no ips/routes/dns', () => {
  const r = buildResult(ifaces);
  assert.deepEqual(r, {
    cniVersion: '1.1.0',
    interfaces: [ifaces.bridge, ifaces.hostVeth, ifaces.container],
  });
});

test('L3 result: every IP on interface 2, routes and IPAM dns kept', () => {
  const r = buildResult(ifaces, {
    ips: [{ address: '10.1.2.2/24', gateway: '10.1.2.1', version: '4' }, { address: 'fd00::2/64', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }],
    dns: { nameservers: ['10.1.2.53'] },
  });
  assert.equal(CONTAINER_IFACE_INDEX, 2);
  assert.deepEqual(r.ips, [
    { address: '10.1.2.2/24', gateway: '10.1.2.1', interface: 2 },
    { address: 'fd00::2/64', interface: 2 },
  ]);
  assert.equal(r.interfaces![r.ips![0]!.interface!]!.name, 'eth0');
  assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
  assert.deepEqual(r.dns, { nameservers: ['10.1.2.53'] });
});

test('config dns overrides IPAM dns; empty IPAM dns and routes are omitted', () => {
  const r = buildResult(ifaces, { ips: [{ address: '10.1.2.2/24' }], routes: [], dns: {} }, { search: ['example.com'] });
  assert.deepEqual(r.dns, { search: ['example.com'] });
  assert.equal('routes' in r, false);
  const r2 = buildResult(ifaces, { ips: [{ address: '10.1.2.2/24' }], routes: [], dns: {} });
  assert.equal('dns' in r2, false);
});

test('vlan gateway interface is the 4th interface', () => {
  const r = buildResult({ ...ifaces, vlanGateway: { name: 'cni0.100', mac: '02:00:00:00:00:04' } });
  assert.deepEqual(r.interfaces!.map((i) => i.name), ['cni0', 'veth0a1b2c3d', 'eth0', 'cni0.100']);
});
