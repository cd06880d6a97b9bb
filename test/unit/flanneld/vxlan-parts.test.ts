// vxlan backend pure parts (the config keys are network-config's): lease BackendData, device compatibility, MAC, MTU.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../shared/ip';
import type { Link } from '../../../shared/netlink';
import { formatVxlanBackendData, parseVxlanBackendData } from '../../../flanneld/backend/vxlan-data';
import { incompatibility } from '../../../flanneld/backend/vxlan-device';
import type { WantedDevice } from '../../../flanneld/backend/vxlan-device';
import { randomVtepMac } from '../../../flanneld/backend/mac';
import { vxlanDeviceName, vxlanOverhead } from '../../../flanneld/backend/vxlan';
import { RTPROT_FLANNEL } from '../../../flanneld/backend';

describe('vxlan BackendData', () => {
  it('parses VtepMAC case-insensitively and normalises it', () => {
    assert.deepEqual(parseVxlanBackendData({ VNI: 1, VtepMAC: '0A:1B:2C:3D:4E:5F' }), { vni: 1, vtepMac: '0a:1b:2c:3d:4e:5f' });
    assert.deepEqual(parseVxlanBackendData({ vtepmac: '0a:1b:2c:3d:4e:5f' }), { vtepMac: '0a:1b:2c:3d:4e:5f' });
  });
  it('says why unusable', () => {
    assert.equal(parseVxlanBackendData(undefined), 'is absent');
    assert.equal(parseVxlanBackendData({ VNI: 1 }), 'lacks VtepMAC');
    assert.equal(parseVxlanBackendData([1]), 'is not an object: [1]');
    assert.equal(parseVxlanBackendData({ VtepMAC: 5 }), 'has a non-string VtepMAC 5');
    assert.equal(parseVxlanBackendData({ VtepMAC: '00:00:00:00:00:00' }), 'has a non-unicast VtepMAC "00:00:00:00:00:00"');
  });
  it('formats what we publish', () => {
    assert.equal(JSON.stringify(formatVxlanBackendData(1, '0a:00:00:00:00:01')), '{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}');
  });
});

describe('vxlan device', () => {
  const want: WantedDevice = { name: 'flannel.1', vni: 1, port: 0, local: mustParseIP('192.168.1.10'), linkIndex: 2, learning: false, gbp: false, mtu: 1450, mac: '0a:00:00:00:00:01' };
  const l = (vx: Partial<NonNullable<Link['vxlan']>>, kind = 'vxlan'): Link => ({
    index: 9, name: 'flannel.1', kind, mtu: 1450, mac: '0a:00:00:00:00:01', flags: 1, up: true, promisc: false, operstate: 'unknown',
    vxlan: { vni: 1, port: 8472, local: mustParseIP('192.168.1.10'), linkIndex: 2, learning: false, ...vx },
  });
  it('compatible: same vni/local/link/port (0 = 8472)/learning/gbp; MTU and MAC are fixed in place', () => {
    assert.equal(incompatibility(l({}), want), null);
    assert.equal(incompatibility({ ...l({}), mtu: 1400, mac: '0a:00:00:00:00:02' }, want), null);
  });
  it('incompatible: each attribute named', () => {
    assert.equal(incompatibility(l({ vni: 2 }), want), 'vni 2, want 1');
    assert.equal(incompatibility(l({ local: mustParseIP('192.168.1.11') }), want), 'local 192.168.1.11, want 192.168.1.10');
    assert.equal(incompatibility(l({ linkIndex: 3 }), want), 'underlay device index 3, want 2');
    assert.equal(incompatibility(l({ port: 4789 }), want), 'port 4789, want 8472');
    assert.equal(incompatibility(l({ learning: true }), want), 'learning on, want off');
    assert.equal(incompatibility(l({ gbp: true }), want), 'gbp on, want off');
    assert.equal(incompatibility({ ...l({}), kind: 'bridge' }, want), 'it is a bridge link, not vxlan');
  });
  it('names, overhead, route protocol', () => {
    assert.equal(vxlanDeviceName(4, 1), 'flannel.1');
    assert.equal(vxlanDeviceName(6, 7), 'flannel-v6.7');
    assert.equal(vxlanOverhead(4), 50);
    assert.equal(vxlanOverhead(6), 70);
    assert.equal(RTPROT_FLANNEL, 127);
  });
});

describe('VTEP MAC', () => {
  it('random MACs are locally administered unicast', () => {
    assert.equal(randomVtepMac(() => Buffer.from([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05');
    assert.equal(randomVtepMac(() => Buffer.from([0x00, 1, 2, 3, 4, 5])), '02:01:02:03:04:05');
    for (let i = 0; i < 50; i++) {
      const b0 = parseInt(randomVtepMac().slice(0, 2), 16);
      assert.equal(b0 & 3, 2);
    }
  });
});
