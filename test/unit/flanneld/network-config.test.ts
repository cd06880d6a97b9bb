import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkConfigError, parseNetworkConfig, vxlanConfig } from '../../../flanneld/network-config';
import type { FamilyPlan, NetworkConfig } from '../../../flanneld/types';
import { formatCIDR, formatIP } from '../../../shared/ip';

const KEY = '/coreos.com/network/config';

const plain = (p: FamilyPlan | undefined) =>
  p && { network: formatCIDR(p.network), subnetLen: p.subnetLen, subnetMin: formatIP(p.subnetMin), subnetMax: formatIP(p.subnetMax) };

const parse = (o: unknown): NetworkConfig => parseNetworkConfig(JSON.stringify(o), KEY);

function fails(o: unknown, detail: string | RegExp): void {
  const text = typeof o === 'string' ? o : JSON.stringify(o);
  assert.throws(
    () => parseNetworkConfig(text, KEY),
    (e: unknown) => {
      assert.ok(e instanceof NetworkConfigError, `not a NetworkConfigError: ${String(e)}`);
      assert.ok(e.message.startsWith(`${KEY}: `), e.message);
      if (typeof detail === 'string') assert.equal(e.message, `${KEY}: ${detail}`);
      else assert.match(e.detail, detail);
      return true;
    },
  );
}

test('the running.md example: defaults for a /16', () => {
  const c = parse({ Network: '10.5.0.0/16', Backend: { Type: 'vxlan' } });
  assert.equal(c.enableIPv4, true);
  assert.equal(c.enableIPv6, false);
  assert.equal(c.enableNFTables, false);
  assert.deepEqual(plain(c.plans[4]), { network: '10.5.0.0/16', subnetLen: 24, subnetMin: '10.5.1.0', subnetMax: '10.5.255.0' });
  assert.equal(c.plans[6], undefined);
  assert.deepEqual(c.backend, { type: 'vxlan', raw: { Type: 'vxlan' } });
});

test('SubnetLen default: 24 up to a /22, prefix+2 beyond', () => {
  assert.deepEqual(plain(parse({ Network: '10.0.0.0/22' }).plans[4]), { network: '10.0.0.0/22', subnetLen: 24, subnetMin: '10.0.1.0', subnetMax: '10.0.3.0' });
  assert.deepEqual(plain(parse({ Network: '10.0.0.0/23' }).plans[4]), { network: '10.0.0.0/23', subnetLen: 25, subnetMin: '10.0.0.128', subnetMax: '10.0.1.128' });
  assert.deepEqual(plain(parse({ Network: '10.0.0.0/28' }).plans[4]), { network: '10.0.0.0/28', subnetLen: 30, subnetMin: '10.0.0.4', subnetMax: '10.0.0.12' });
  assert.equal(parse({ Network: '10.0.0.0/8' }).plans[4]!.subnetLen, 24);
});

test('Network must be at most a /28 when SubnetLen is defaulted', () => {
  fails({ Network: '10.0.0.0/29' }, 'Network 10.0.0.0/29 is too small: its prefix must be at most /28');
});

test('explicit SubnetLen: at most 30, at least prefix+2', () => {
  assert.deepEqual(plain(parse({ Network: '10.0.0.0/8', SubnetLen: 20, SubnetMin: '10.10.0.0', SubnetMax: '10.99.0.0' }).plans[4]), {
    network: '10.0.0.0/8', subnetLen: 20, subnetMin: '10.10.0.0', subnetMax: '10.99.0.0',
  });
  assert.equal(parse({ Network: '10.0.0.0/16', SubnetLen: 30 }).plans[4]!.subnetLen, 30);
  assert.equal(parse({ Network: '10.0.0.0/16', SubnetLen: 18 }).plans[4]!.subnetLen, 18);
  fails({ Network: '10.0.0.0/16', SubnetLen: 31 }, 'SubnetLen 31 is too long: it must be at most 30');
  fails({ Network: '10.0.0.0/16', SubnetLen: 17 }, 'SubnetLen 17 is too short for Network 10.0.0.0/16: it must be at least 18 so that Network holds four subnets');
  fails({ Network: '10.0.0.0/16', SubnetLen: 33 }, 'SubnetLen 33 is out of range (0..32)');
  fails({ Network: '10.0.0.0/16', SubnetLen: '24' }, 'SubnetLen "24" must be an integer');
  fails({ Network: '10.0.0.0/16', SubnetLen: 24.5 }, 'SubnetLen 24.5 must be an integer');
  fails({ Network: '10.0.0.0/16', SubnetLen: -1 }, 'SubnetLen -1 is out of range (0..32)');
  // 0 is Go's zero value: unset.
  assert.equal(parse({ Network: '10.0.0.0/16', SubnetLen: 0 }).plans[4]!.subnetLen, 24);
});

test('SubnetMin/SubnetMax: inside Network, aligned, Min <= Max', () => {
  fails({ Network: '10.1.0.0/16', SubnetMin: '10.2.0.0' }, 'SubnetMin 10.2.0.0 is not in Network 10.1.0.0/16');
  fails({ Network: '10.1.0.0/16', SubnetMax: '10.2.0.0' }, 'SubnetMax 10.2.0.0 is not in Network 10.1.0.0/16');
  fails({ Network: '10.1.0.0/16', SubnetMin: '10.1.0.5' }, 'SubnetMin 10.1.0.5 is not aligned to SubnetLen 24 (a /24 boundary)');
  fails({ Network: '10.1.0.0/16', SubnetMax: '10.1.7.128' }, 'SubnetMax 10.1.7.128 is not aligned to SubnetLen 24 (a /24 boundary)');
  fails({ Network: '10.1.0.0/16', SubnetMin: '10.1.9.0', SubnetMax: '10.1.2.0' }, 'SubnetMin 10.1.9.0 is above SubnetMax 10.1.2.0');
  fails({ Network: '10.1.0.0/16', SubnetMin: 'fd00::' }, 'SubnetMin "fd00::" is not a valid IPv4 address');
  fails({ Network: '10.1.0.0/16', SubnetMin: '10.1.300.0' }, 'SubnetMin "10.1.300.0" is not a valid IPv4 address');
  const p = plain(parse({ Network: '10.1.0.0/16', SubnetMin: '10.1.0.0', SubnetMax: '10.1.0.0' }).plans[4]);
  assert.deepEqual(p, { network: '10.1.0.0/16', subnetLen: 24, subnetMin: '10.1.0.0', subnetMax: '10.1.0.0' });
});

test('Network: required when IPv4 is on, a valid IPv4 CIDR, host bits dropped like Go', () => {
  fails({}, 'Network is missing (an IPv4 CIDR is required when EnableIPv4 is true)');
  fails({ Network: null }, 'Network is missing (an IPv4 CIDR is required when EnableIPv4 is true)');
  fails({ Network: '10.1.0.0/33' }, 'Network "10.1.0.0/33" is not a valid IPv4 CIDR');
  fails({ Network: 'fd00::/48' }, 'Network "fd00::/48" is not a valid IPv4 CIDR');
  fails({ Network: 10 }, 'Network 10 is not a valid IPv4 CIDR');
  assert.equal(formatCIDR(parse({ Network: '10.1.2.3/16' }).plans[4]!.network), '10.1.0.0/16');
});

test('keys match case-insensitively (Go encoding/json); the later spelling wins; unknown keys ignored', () => {
  const c = parse({ network: '10.7.0.0/16', SUBNETLEN: 26, subnetmin: '10.7.0.64', Whatever: 1, backend: { type: 'HOST-GW' } });
  assert.deepEqual(plain(c.plans[4]), { network: '10.7.0.0/16', subnetLen: 26, subnetMin: '10.7.0.64', subnetMax: '10.7.255.192' });
  assert.equal(c.backend.type, 'host-gw');
  assert.equal(formatCIDR(parseNetworkConfig('{"Network":"10.1.0.0/16","network":"10.9.0.0/16"}', KEY).plans[4]!.network), '10.9.0.0/16');
});

test('IPv6: defaults (64 up to a /62, prefix+2 beyond), limits /124 and 126', () => {
  const c = parse({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48' });
  assert.equal(c.enableIPv4, false);
  assert.equal(c.plans[4], undefined);
  assert.deepEqual(plain(c.plans[6]), { network: 'fc00::/48', subnetLen: 64, subnetMin: 'fc00:0:0:1::', subnetMax: 'fc00:0:0:ffff::' });
  assert.deepEqual(plain(parse({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/63' }).plans[6]), {
    network: 'fc00::/63', subnetLen: 65, subnetMin: 'fc00::8000:0:0:0', subnetMax: 'fc00:0:0:1:8000::',
  });
  assert.deepEqual(plain(parse({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/124' }).plans[6]), {
    network: 'fc00::/124', subnetLen: 126, subnetMin: 'fc00::4', subnetMax: 'fc00::c',
  });
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/125' }, 'IPv6Network fc00::/125 is too small: its prefix must be at most /124');
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 127 }, 'IPv6SubnetLen 127 is too long: it must be at most 126');
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 49 }, 'IPv6SubnetLen 49 is too short for IPv6Network fc00::/48: it must be at least 50 so that IPv6Network holds four subnets');
  fails({ EnableIPv4: false, EnableIPv6: true }, 'IPv6Network is missing (an IPv6 CIDR is required when EnableIPv6 is true)');
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: '10.0.0.0/8' }, 'IPv6Network "10.0.0.0/8" is not a valid IPv6 CIDR');
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMin: 'fc01::' }, 'IPv6SubnetMin fc01:: is not in IPv6Network fc00::/48');
  fails({ EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetMax: 'fc00:0:0:5:1::' }, 'IPv6SubnetMax fc00:0:0:5:1:: is not aligned to IPv6SubnetLen 64 (a /64 boundary)');
});

test('dual stack', () => {
  const c = parse({ Network: '10.5.0.0/16', EnableIPv6: true, IPv6Network: 'fc00::/48', IPv6SubnetLen: 56, IPv6SubnetMin: 'fc00:0:0:200::' });
  assert.equal(c.enableIPv4, true);
  assert.equal(c.enableIPv6, true);
  assert.equal(c.plans[4]!.subnetLen, 24);
  assert.deepEqual(plain(c.plans[6]), { network: 'fc00::/48', subnetLen: 56, subnetMin: 'fc00:0:0:200::', subnetMax: 'fc00:0:0:ff00::' });
});

test('EnableIPv4/EnableIPv6/EnableNFTables must be booleans; both families off is an error', () => {
  fails({ EnableIPv4: false, EnableIPv6: false, Network: '10.0.0.0/16' }, 'EnableIPv4 and EnableIPv6 are both false: at least one family must be enabled');
  fails({ EnableIPv4: false }, 'EnableIPv4 and EnableIPv6 are both false: at least one family must be enabled');
  fails({ Network: '10.0.0.0/16', EnableIPv6: 'true' }, 'EnableIPv6 "true" must be true or false, not a string');
  fails({ Network: '10.0.0.0/16', EnableNFTables: 1 }, 'EnableNFTables 1 must be true or false, not a number');
  assert.equal(parse({ Network: '10.0.0.0/16', EnableNFTables: true }).enableNFTables, true);
});

test('a disabled family is not planned, but its malformed values are still errors (as Go decodes them)', () => {
  const c = parse({ Network: '10.0.0.0/16', IPv6Network: 'fc00::/48' });
  assert.equal(c.plans[6], undefined);
  fails({ Network: '10.0.0.0/16', IPv6Network: 'nope' }, 'IPv6Network "nope" is not a valid IPv6 CIDR');
});

test('invalid JSON and non-objects name the key', () => {
  fails('{"Network": ', /^invalid JSON: /);
  fails('[]', 'the config must be a JSON object, not an array');
  fails('"x"', 'the config must be a JSON object, not a string');
  fails('null', 'the config must be a JSON object, not null');
});

test('Backend: absent or without Type → vxlan (the documented default), Type case-insensitive, unsupported listed', () => {
  assert.deepEqual(parse({ Network: '10.0.0.0/16' }).backend, { type: 'vxlan', raw: {} });
  assert.deepEqual(parse({ Network: '10.0.0.0/16', Backend: null }).backend, { type: 'vxlan', raw: {} });
  assert.deepEqual(parse({ Network: '10.0.0.0/16', Backend: { VNI: 4 } }).backend, { type: 'vxlan', raw: { VNI: 4 } });
  assert.equal(parse({ Network: '10.0.0.0/16', Backend: { Type: 'VXLAN' } }).backend.type, 'vxlan');
  assert.equal(parse({ Network: '10.0.0.0/16', Backend: { Type: 'Alloc' } }).backend.type, 'alloc');
  assert.deepEqual(parse({ Network: '10.0.0.0/16', Backend: { Type: 'host-gw' } }).backend, { type: 'host-gw', raw: { Type: 'host-gw' } });
  fails({ Network: '10.0.0.0/16', Backend: { Type: 'udp' } }, 'Backend.Type "udp" is not supported (supported: vxlan, host-gw, alloc)');
  fails({ Network: '10.0.0.0/16', Backend: { Type: 'wireguard' } }, 'Backend.Type "wireguard" is not supported (supported: vxlan, host-gw, alloc)');
  fails({ Network: '10.0.0.0/16', Backend: { Type: 3 } }, 'Backend.Type 3 must be a string');
  fails({ Network: '10.0.0.0/16', Backend: 'vxlan' }, 'Backend "vxlan" must be an object like {"Type":"vxlan"}, not a string');
});

test('a bad vxlan key is reported by parseNetworkConfig already', () => {
  fails({ Network: '10.0.0.0/16', Backend: { Type: 'vxlan', VNI: 1 << 24 } }, 'Backend.VNI 16777216 is out of range (0..16777215)');
});

test('vxlanConfig: defaults and case-insensitive keys', () => {
  assert.deepEqual(vxlanConfig({ type: 'vxlan', raw: {} }), { vni: 1, port: 0, mtu: 0, gbp: false, learning: false, directRouting: false });
  assert.deepEqual(
    vxlanConfig({ type: 'vxlan', raw: { Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 1400, GBP: true, Learning: true, DirectRouting: true } }),
    { vni: 4096, port: 4789, mtu: 1400, gbp: true, learning: true, directRouting: true },
  );
  assert.deepEqual(
    vxlanConfig({ type: 'vxlan', raw: { vni: 0, port: 65535, mtu: 68, gbp: false, directrouting: true } }),
    { vni: 0, port: 65535, mtu: 68, gbp: false, learning: false, directRouting: true },
  );
});

test('vxlanConfig: ranges and types, naming Backend.<key>', () => {
  const bad = (raw: Record<string, unknown>, msg: string) =>
    assert.throws(() => vxlanConfig({ type: 'vxlan', raw }, KEY), (e: unknown) => {
      assert.ok(e instanceof NetworkConfigError);
      assert.equal(e.message, `${KEY}: ${msg}`);
      return true;
    });
  bad({ VNI: -1 }, 'Backend.VNI -1 is out of range (0..16777215)');
  bad({ VNI: 16777216 }, 'Backend.VNI 16777216 is out of range (0..16777215)');
  bad({ VNI: '1' }, 'Backend.VNI "1" must be an integer');
  bad({ Port: 65536 }, 'Backend.Port 65536 is out of range (0..65535)');
  bad({ MTU: 67 }, 'Backend.MTU 67 is out of range (0 for the interface MTU, or 68..65535)');
  bad({ MTU: 65536 }, 'Backend.MTU 65536 is out of range (0..65535)');
  bad({ GBP: 'true' }, 'Backend.GBP "true" must be true or false, not a string');
  bad({ directRouting: 1 }, 'Backend.DirectRouting 1 must be true or false, not a number');
  bad({ Learning: null, learning: 'no' }, 'Backend.Learning "no" must be true or false, not a string');
  // Without a key the message is the detail alone.
  assert.throws(() => vxlanConfig({ type: 'vxlan', raw: { VNI: 1.5 } }), { message: 'Backend.VNI 1.5 must be an integer' });
});
