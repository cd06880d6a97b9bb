import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetConf } from '../../../shared/cni/types';
import { checkAddConstraints, loadBridgeConf, normaliseMac, wantsVlanFiltering } from '../../../plugins/bridge/config';
import { throwsCni } from '../../helpers/assert-cni';

const base = (extra: Record<string, unknown> = {}): NetConf => ({ cniVersion: '1.1.0', name: 'mynet', type: 'bridge', ...extra });


test('defaults', () => {
  const c = loadBridgeConf(base(), '');
  assert.equal(c.bridge, 'cni0');
  assert.equal(c.isGateway, false);
  assert.equal(c.isDefaultGateway, false);
  assert.equal(c.mtu, 0);
  assert.equal(c.vlan, 0);
  assert.equal(c.vlans, undefined);
  assert.equal(c.preserveDefaultVlan, false);
  assert.equal(c.ipamType, '');
  assert.equal(c.ipMasqBackend, undefined);
  assert.equal(c.mac, undefined);
  assert.equal(c.dns, undefined);
  assert.equal(wantsVlanFiltering(c), false);
});

test('isDefaultGateway implies isGateway', () => {
  const c = loadBridgeConf(base({ isDefaultGateway: true }), '');
  assert.equal(c.isGateway, true);
});

test('vlan range: -100 and 5000 rejected with the reference text, 0 and 4094 accepted', () => {
  throwsCni(() => loadBridgeConf(base({ vlan: -100 }), ''), 7, 'invalid VLAN ID -100 (must be between 0 and 4094)');
  throwsCni(() => loadBridgeConf(base({ vlan: 5000 }), ''), 7, 'invalid VLAN ID 5000 (must be between 0 and 4094)');
  assert.equal(loadBridgeConf(base({ vlan: 4094 }), '').vlan, 4094);
  assert.equal(wantsVlanFiltering(loadBridgeConf(base({ vlan: 100 }), '')), true);
});

test('vlan must be an integer', () => {
  throwsCni(() => loadBridgeConf(base({ vlan: 1.5 }), ''), 7, /^invalid config: vlan: .*\(got 1\.5\)$/);
  throwsCni(() => loadBridgeConf(base({ vlan: '5' }), ''), 7, /^invalid config: vlan: /);
});

test('trunk errors are reported, an empty trunk still enables vlan_filtering', () => {
  throwsCni(() => loadBridgeConf(base({ vlanTrunk: [{ minID: 5 }] }), ''), 7, 'minID and maxID should be configured simultaneously, maxID is missing');
  const c = loadBridgeConf(base({ vlanTrunk: [] }), '');
  assert.equal(c.vlans, undefined);
  assert.equal(wantsVlanFiltering(c), true);
  assert.deepEqual(loadBridgeConf(base({ vlan: 100, vlanTrunk: [{ id: 101 }] }), '').vlans, [101]);
});

test('mtu bounds name the field and value', () => {
  throwsCni(() => loadBridgeConf(base({ mtu: 70000 }), ''), 7, 'invalid config: mtu: must be an integer between 0 and 65535 (got 70000)');
  throwsCni(() => loadBridgeConf(base({ mtu: -1 }), ''), 7, 'invalid config: mtu: must be an integer between 0 and 65535 (got -1)');
  assert.equal(loadBridgeConf(base({ mtu: 65535 }), '').mtu, 65535);
  assert.equal(loadBridgeConf(base({ mtu: 1400 }), '').mtu, 1400);
});

test('ipMasqBackend values', () => {
  assert.equal(loadBridgeConf(base({ ipMasqBackend: 'iptables' }), '').ipMasqBackend, 'iptables');
  assert.equal(loadBridgeConf(base({ ipMasqBackend: 'nftables' }), '').ipMasqBackend, 'nftables');
  assert.equal(loadBridgeConf(base({ ipMasqBackend: '' }), '').ipMasqBackend, undefined);
  throwsCni(() => loadBridgeConf(base({ ipMasqBackend: 'ebtables' }), ''), 7, 'unknown ipmasq backend "ebtables"');
});

test('bridge name is checked', () => {
  throwsCni(() => loadBridgeConf(base({ bridge: 'a-very-long-bridge-name' }), ''), 7, /^invalid config: bridge: /);
  throwsCni(() => loadBridgeConf(base({ bridge: 'br/0' }), ''), 7, /^invalid config: bridge: /);
  assert.equal(loadBridgeConf(base({ bridge: 'mybr0' }), '').bridge, 'mybr0');
});

test('hairpin and promisc are mutually exclusive (ADD only)', () => {
  const c = loadBridgeConf(base({ hairpinMode: true, promiscMode: true }), '');
  throwsCni(() => checkAddConstraints(c), 7, 'cannot set hairpin mode and promiscuous mode at the same time');
});

test('disableContainerInterface with IPAM is rejected (ADD only), without IPAM accepted', () => {
  const c = loadBridgeConf(base({ disableContainerInterface: true, ipam: { type: 'host-local' } }), '');
  throwsCni(() => checkAddConstraints(c), 7, 'cannot use IPAM when DisableContainerInterface flag is set');
  checkAddConstraints(loadBridgeConf(base({ disableContainerInterface: true }), ''));
});

test('MAC precedence: CNI_ARGS < args.cni.mac < runtimeConfig.mac', () => {
  const env = 'IgnoreUnknown=1;MAC=02:00:00:00:00:01;K8S_POD_NAME=x';
  assert.equal(loadBridgeConf(base(), env).mac, '02:00:00:00:00:01');
  assert.equal(loadBridgeConf(base({ args: { cni: { mac: '02:00:00:00:00:02' } } }), env).mac, '02:00:00:00:00:02');
  assert.equal(
    loadBridgeConf(base({ args: { cni: { mac: '02:00:00:00:00:02' } }, runtimeConfig: { mac: '02:00:00:00:00:03' } }), env).mac,
    '02:00:00:00:00:03',
  );
  assert.equal(loadBridgeConf(base({ runtimeConfig: { mac: '02-AA-BB-CC-DD-EE' } }), '').mac, '02:aa:bb:cc:dd:ee');
});

test('MAC validation names the source', () => {
  throwsCni(() => loadBridgeConf(base(), 'MAC=zz:00:00:00:00:01'), 7, 'invalid MAC address "zz:00:00:00:00:01" in CNI_ARGS MAC');
  throwsCni(() => loadBridgeConf(base({ args: { cni: { mac: '02:00:00:00:00' } } }), ''), 7, 'invalid MAC address "02:00:00:00:00" in args.cni.mac');
  throwsCni(() => loadBridgeConf(base({ runtimeConfig: { mac: '01:00:5e:00:00:01' } }), ''), 7, /in runtimeConfig\.mac: multicast address$/);
  throwsCni(() => normaliseMac('02:00:00:00:00:01:02', 'x'), 7, /invalid MAC address/);
  throwsCni(() => normaliseMac('02:00-00:00:00:01', 'x'), 7, /invalid MAC address/);
});

test('CNI_ARGS: unknown keys need IgnoreUnknown, IP is known (it is the IPAM plugin\'s)', () => {
  throwsCni(() => loadBridgeConf(base(), 'FOO=bar'), 4, 'ARGS: unknown args ["FOO=bar"]');
  assert.equal(loadBridgeConf(base(), 'IP=10.1.2.10').mac, undefined);
  assert.equal(loadBridgeConf(base(), 'IgnoreUnknown=true;FOO=bar').mac, undefined);
});

test('dns override only when some field is set', () => {
  assert.equal(loadBridgeConf(base({ dns: {} }), '').dns, undefined);
  assert.equal(loadBridgeConf(base({ dns: { domain: '' } }), '').dns, undefined);
  assert.deepEqual(loadBridgeConf(base({ dns: { nameservers: ['10.0.0.53'] } }), '').dns, { nameservers: ['10.0.0.53'] });
  assert.deepEqual(loadBridgeConf(base({ dns: { search: [] } }), '').dns, { search: [] });
});

test('bool fields reject non-booleans', () => {
  throwsCni(() => loadBridgeConf(base({ isGateway: 'yes' }), ''), 7, /^invalid config: isGateway: .*\(got "yes"\)$/);
});

test('unknown keys are kept (no error)', () => {
  assert.equal(loadBridgeConf(base({ somethingElse: { a: 1 } }), '').name, 'mynet');
});
