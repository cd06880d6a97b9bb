import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../shared/cni/errors';
import type { NetConf } from '../../../shared/cni/types';
import { DEFAULT_DATA_DIR, DEFAULT_SUBNET_FILE, parseFlannelConf } from '../../../plugins/flannel/config';
import { buildDelegateConf, buildMinimalDelegateConf, renderDelegateConf } from '../../../plugins/flannel/delegate';
import { parseSubnetEnv } from '../../../plugins/flannel/subnet-env';
import { throwsCni } from '../../helpers/assert-cni';

const conf = (extra: Record<string, unknown> = {}): NetConf => ({ cniVersion: '1.0.0', name: 'cni-flannel', type: 'flannel', ...extra });

const V4 = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const V4_TWO = 'FLANNEL_NETWORK=10.1.0.0/16,192.168.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const V6 = 'FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';
const DUAL =
  'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\n' +
  'FLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n';

const render = (c: NetConf, env: string): string => renderDelegateConf(buildDelegateConf(parseFlannelConf(c), parseSubnetEnv(env, 'subnet.env')));


test('config defaults and explicit values', () => {
  const d = parseFlannelConf(conf());
  assert.equal(d.subnetFile, DEFAULT_SUBNET_FILE);
  assert.equal(d.subnetFile, '/run/flannel/subnet.env');
  assert.equal(d.dataDir, DEFAULT_DATA_DIR);
  assert.equal(d.dataDir, '/var/lib/cni/flannel');
  assert.deepEqual(d.delegate, {});
  const e = parseFlannelConf(conf({ subnetFile: '/tmp/x/subnet.env', dataDir: '/tmp/x/data', delegate: null }));
  assert.equal(e.subnetFile, '/tmp/x/subnet.env');
  assert.equal(e.dataDir, '/tmp/x/data');
  assert.deepEqual(e.delegate, {});
});

test('config errors: the reference texts for delegate, code 7 for shapes', () => {
  throwsCni(() => parseFlannelConf(conf({ delegate: { type: 5 } })), ErrorCode.InvalidNetworkConfig, "'delegate' dictionary, if present, must have (string) 'type' field");
  throwsCni(() => parseFlannelConf(conf({ delegate: { name: 'x' } })), ErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  throwsCni(() => parseFlannelConf(conf({ delegate: { ipam: {} } })), ErrorCode.InvalidNetworkConfig, "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  throwsCni(() => parseFlannelConf(conf({ delegate: [] })), ErrorCode.InvalidNetworkConfig, /^invalid config: delegate: /);
  throwsCni(() => parseFlannelConf(conf({ subnetFile: '' })), ErrorCode.InvalidNetworkConfig, /^invalid config: subnetFile: must be a non-empty path/);
  throwsCni(() => parseFlannelConf(conf({ dataDir: 7 })), ErrorCode.InvalidNetworkConfig, /^invalid config: dataDir: .*\(got 7\)/);
  throwsCni(() => parseFlannelConf(conf({ ipam: { type: 3 } })), ErrorCode.InvalidNetworkConfig, /^invalid config: ipam\.type: /);
});

test('golden: IPv4 (the reference example)', () => {
  assert.equal(
    render(conf(), V4),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1472,"ipMasq":false,"isGateway":true,' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]}}',
  );
});

test('golden: IPv4 with two networks', () => {
  assert.equal(
    render(conf(), V4_TWO),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1472,"ipMasq":false,"isGateway":true,' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"},{"dst":"192.168.0.0/16"}]}}',
  );
});

test('golden: IPv6', () => {
  assert.equal(
    render(conf(), V6),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1472,"ipMasq":false,"isGateway":true,' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"fc00::/64"}]],"routes":[{"dst":"fc00::/48"}]}}',
  );
});

test('golden: dual-stack (IPMASQ=false → delegate masquerades)', () => {
  assert.equal(
    render(conf(), DUAL),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1472,"ipMasq":true,"isGateway":true,' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]],' +
      '"routes":[{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}]}}',
  );
});

test('golden: user ipam (type, unknown param, routes) + flannel route appended', () => {
  const c = conf({
    ipam: {
      type: 'my-ipam',
      someParam: { deep: [1, 2] },
      ranges: [[{ subnet: '1.2.3.0/24' }]],
      routes: [{ dst: '10.96.0.0/12' }, { dst: '192.168.244.0/24', gw: '10.1.17.20', extra: 'dropped' }],
    },
  });
  assert.equal(
    render(c, V4),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1472,"ipMasq":false,"isGateway":true,' +
      '"ipam":{"type":"my-ipam","someParam":{"deep":[1,2]},"ranges":[[{"subnet":"10.1.17.0/24"}]],' +
      '"routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"},{"dst":"10.1.0.0/16"}]}}',
  );
  // Two networks → two appended routes; missing type → host-local.
  const d = buildDelegateConf(parseFlannelConf(conf({ ipam: { routes: [{ dst: '10.96.0.0/12' }] } })), parseSubnetEnv(V4_TWO, 'f'));
  assert.deepEqual(d.ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.1.17.0/24' }]],
    routes: [{ dst: '10.96.0.0/12' }, { dst: '10.1.0.0/16' }, { dst: '192.168.0.0/16' }],
  });
  // dual-stack with user routes
  const dd = buildDelegateConf(parseFlannelConf(conf({ ipam: { routes: [{ dst: 'fd00:96::/108' }] } })), parseSubnetEnv(DUAL, 'f'));
  assert.deepEqual((dd.ipam as { routes: unknown }).routes, [{ dst: 'fd00:96::/108' }, { dst: '10.1.0.0/16' }, { dst: 'fc00::/48' }]);
});

test('a flannel network the user already routes is not added twice', () => {
  const d = buildDelegateConf(parseFlannelConf(conf({ ipam: { routes: [{ dst: '10.1.0.0/16', gw: '10.1.17.1' }] } })), parseSubnetEnv(V4, 'f'));
  assert.deepEqual((d.ipam as { routes: unknown }).routes, [{ dst: '10.1.0.0/16', gw: '10.1.17.1' }]);
});

test('invalid ipam.routes: the reference prefix, the entry and value named', () => {
  const env = parseSubnetEnv(V4, 'f');
  const build = (routes: unknown) => () => buildDelegateConf(parseFlannelConf(conf({ ipam: { routes } })), env);
  throwsCni(build([{ dst: 'nope' }]), ErrorCode.InvalidNetworkConfig, 'failed to read IPAM routes: failed to parse ipam.routes: [0].dst: "nope" is not a CIDR');
  throwsCni(build([{ dst: '10.0.0.0/8' }, { dst: '10.2.0.0/16', gw: 'x' }]), ErrorCode.InvalidNetworkConfig, /^failed to read IPAM routes: failed to parse ipam\.routes: \[1\]\.gw: "x"/);
  throwsCni(build({ dst: '10.0.0.0/8' }), ErrorCode.InvalidNetworkConfig, /^failed to read IPAM routes: failed to parse ipam\.routes: expected a list/);
  throwsCni(build([{ dst: '10.0.0.0/8', mtu: 'big' }]), ErrorCode.InvalidNetworkConfig, /\[0\]\.mtu: "big" is not an integer/);
});

test('host-local ipam.subnet would add a second range: refused', () => {
  const env = parseSubnetEnv(V4, 'f');
  throwsCni(
    () => buildDelegateConf(parseFlannelConf(conf({ ipam: { subnet: '10.9.0.0/24' } })), env),
    ErrorCode.InvalidNetworkConfig,
    /^ipam\.subnet "10\.9\.0\.0\/24" must not be set: flannel sets the host-local ranges/,
  );
  // Another IPAM plugin may use the key for its own purpose.
  const d = buildDelegateConf(parseFlannelConf(conf({ ipam: { type: 'my-ipam', subnet: 'x' } })), env);
  assert.equal((d.ipam as { subnet: unknown }).subnet, 'x');
});

test('delegate overrides win over defaults; user keys follow in their order', () => {
  const c = conf({ delegate: { hairpinMode: true, ipMasq: true, mtu: 1400, isGateway: false, isDefaultGateway: true } });
  assert.equal(
    render(c, V4),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","mtu":1400,"ipMasq":true,"isGateway":false,' +
      '"hairpinMode":true,"isDefaultGateway":true,' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]}}',
  );
});

test('a non-bridge delegate gets no isGateway default', () => {
  const c = conf({ delegate: { type: 'ipvlan', master: 'eth0' } });
  assert.equal(
    render(c, V4),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"ipvlan","mtu":1472,"ipMasq":false,"master":"eth0",' +
      '"ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}]}}',
  );
});

test('runtimeConfig is copied to the delegate; cniVersion overrides the delegate one', () => {
  const c = conf({ delegate: { cniVersion: '0.3.1' }, runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] } });
  const d = buildDelegateConf(parseFlannelConf(c), parseSubnetEnv(V4, 'f'));
  assert.equal(d.cniVersion, '1.0.0');
  assert.deepEqual(d.runtimeConfig, { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] });
  assert.deepEqual(Object.keys(d), ['cniVersion', 'name', 'type', 'mtu', 'ipMasq', 'isGateway', 'ipam', 'runtimeConfig']);
});

test('building does not alias or mutate the input config', () => {
  const fc = parseFlannelConf(conf({ delegate: { bridge: { x: 1 } }, ipam: { foo: { y: 2 }, routes: [{ dst: '10.96.0.0/12' }] } }));
  const snapshot = JSON.stringify(fc);
  const d = buildDelegateConf(fc, parseSubnetEnv(V4, 'f'));
  (d.bridge as { x: number }).x = 9;
  ((d.ipam as { foo: { y: number } }).foo).y = 9;
  assert.equal(JSON.stringify(fc), snapshot);
});

test('minimal delegate (no subnet.env): enough to release', () => {
  const d = buildMinimalDelegateConf(parseFlannelConf(conf({ delegate: { hairpinMode: true }, ipam: { dataDir: '/tmp/ipam', ranges: [], routes: [] } })));
  assert.equal(
    renderDelegateConf(d),
    '{"cniVersion":"1.0.0","name":"cni-flannel","type":"bridge","hairpinMode":true,"ipam":{"type":"host-local","dataDir":"/tmp/ipam"}}',
  );
  const e = buildMinimalDelegateConf(parseFlannelConf(conf({ delegate: { type: 'ipvlan' }, ipam: { type: 'my-ipam' } })));
  assert.deepEqual(e, { cniVersion: '1.0.0', name: 'cni-flannel', type: 'ipvlan', ipam: { type: 'my-ipam' } });
});
