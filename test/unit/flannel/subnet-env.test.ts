import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ErrorCode } from '../../../shared/cni/errors';
import { formatCIDR } from '../../../shared/ip';
import { loadSubnetEnv, parseSubnetEnv, SubnetEnvError } from '../../../plugins/flannel/subnet-env';
import { plainSubnetEnv } from '../../helpers/subnet-env-plain';

const F = '/run/flannel/subnet.env';

const plain = plainSubnetEnv;

function throwsEnv(fn: () => unknown, msg: string | RegExp, reason = 'invalid'): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SubnetEnvError, `not a SubnetEnvError: ${String(e)}`);
    assert.equal(e.reason, reason);
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    return true;
  });
}

test('IPv4: subnet normalised to its network', () => {
  const e = parseSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n', F);
  assert.deepEqual(plain(e), {
    networks: ['10.1.0.0/16'],
    subnet: '10.1.17.0/24',
    ip6Networks: [],
    ip6Subnet: undefined,
    mtu: 1472,
    ipMasq: true,
  });
});

test('IPv6 only', () => {
  const e = parseSubnetEnv('FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n', F);
  assert.deepEqual(plain(e), {
    networks: [],
    subnet: undefined,
    ip6Networks: ['fc00::/48'],
    ip6Subnet: 'fc00::/64',
    mtu: 1472,
    ipMasq: false,
  });
});

test('dual-stack', () => {
  const e = parseSubnetEnv(
    'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\n' +
      'FLANNEL_IPV6_SUBNET=fc00:0:0:17::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    F,
  );
  assert.deepEqual(plain(e), {
    networks: ['10.1.0.0/16'],
    subnet: '10.1.17.0/24',
    ip6Networks: ['fc00::/48'],
    ip6Subnet: 'fc00:0:0:17::/64',
    mtu: 1450,
    ipMasq: true,
  });
});

test('several networks, comma-separated, normalised and deduplicated', () => {
  const e = parseSubnetEnv(
    'FLANNEL_NETWORK=10.1.0.0/16, 192.168.0.5/16,10.1.0.0/16,\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n',
    F,
  );
  assert.deepEqual(e.networks.map(formatCIDR), ['10.1.0.0/16', '192.168.0.0/16']);
});

test('tolerant: quotes, CRLF, blank lines, comments, export, spaces around =, BOM', () => {
  const text =
    '\uFEFF# written by hand\r\n\r\n' +
    'export FLANNEL_NETWORK="10.1.0.0/16"\r\n' +
    "  FLANNEL_SUBNET = '10.1.17.1/24'\r\n" +
    'FLANNEL_MTU=1450 # vxlan overhead\r\n' +
    '   # indented comment\r\n' +
    'FLANNEL_IPMASQ="true"  # set by --ip-masq\r\n' +
    'SOMETHING_ELSE\r\n';
  assert.deepEqual(plain(parseSubnetEnv(text, F)), {
    networks: ['10.1.0.0/16'],
    subnet: '10.1.17.0/24',
    ip6Networks: [],
    ip6Subnet: undefined,
    mtu: 1450,
    ipMasq: true,
  });
});

test('last occurrence wins; an empty value counts as absent', () => {
  const e = parseSubnetEnv(
    'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_SUBNET=10.1.18.1/24\nFLANNEL_IPV6_NETWORK=\n' +
      'FLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n',
    F,
  );
  assert.equal(formatCIDR(e.subnet!), '10.1.18.0/24');
  assert.deepEqual(e.ip6Networks, []);
});

test('IPMASQ is true only for exactly "true"', () => {
  for (const [v, want] of [['true', true], ['false', false], ['TRUE', false], ['1', false], ['yes', false]] as const) {
    const e = parseSubnetEnv(`FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=${v}\n`, F);
    assert.equal(e.ipMasq, want, v);
  }
});

test('missing keys: the reference message, every group', () => {
  throwsEnv(
    () => parseSubnetEnv('foo=bar\n', F),
    `${F} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`,
  );
  throwsEnv(() => parseSubnetEnv('', F), /is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET/);
});

test('missing keys: only the missing groups', () => {
  throwsEnv(() => parseSubnetEnv('FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\n', F), `${F} is missing FLANNEL_MTU, FLANNEL_IPMASQ`);
  throwsEnv(
    () => parseSubnetEnv('FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n', F),
    `${F} is missing FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET`,
  );
  throwsEnv(
    () => parseSubnetEnv('FLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n', F),
    `${F} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK`,
  );
});

const valid = (over: string): string =>
  `FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n${over}\n`;

test('bad values name the key and the value', () => {
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_SUBNET=10.1.17.1/33'), F), `${F}: invalid FLANNEL_SUBNET "10.1.17.1/33": "10.1.17.1/33" is not a CIDR`);
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_SUBNET=10.1.17.1'), F), /invalid FLANNEL_SUBNET "10\.1\.17\.1"/);
  throwsEnv(
    () => parseSubnetEnv(valid('FLANNEL_NETWORK=10.1.0.0/16,bogus'), F),
    `${F}: invalid FLANNEL_NETWORK "10.1.0.0/16,bogus": "bogus" is not a CIDR`,
  );
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_MTU=abc'), F), `${F}: invalid FLANNEL_MTU "abc": must be an unsigned 32-bit integer`);
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_MTU=-1'), F), /invalid FLANNEL_MTU "-1"/);
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_MTU=4294967296'), F), /invalid FLANNEL_MTU "4294967296"/);
  assert.equal(parseSubnetEnv(valid('FLANNEL_MTU=4294967295'), F).mtu, 4294967295);
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_MTU'), F), `${F}: line 5: FLANNEL_MTU has no value (expected FLANNEL_MTU=VALUE)`);
});

test('families are checked per key', () => {
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_SUBNET=fc00::1/64'), F), /invalid FLANNEL_SUBNET "fc00::1\/64": "fc00::1\/64" is not an IPv4 CIDR/);
  throwsEnv(() => parseSubnetEnv(valid('FLANNEL_IPV6_NETWORK=10.2.0.0/16'), F), /invalid FLANNEL_IPV6_NETWORK .* is not an IPv6 CIDR/);
});

test('loadSubnetEnv: a missing file says so plainly (code 11), other failures are 999', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'subnet.env');
  await assert.rejects(loadSubnetEnv(file), (e: unknown) => {
    assert.ok(e instanceof SubnetEnvError);
    assert.equal(e.reason, 'not-found');
    assert.equal(e.code, ErrorCode.TryAgainLater);
    assert.equal(e.message, `open ${file}: no such file or directory`);
    return true;
  });
  writeFileSync(file, 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n');
  assert.equal(formatCIDR((await loadSubnetEnv(file)).subnet!), '10.1.17.0/24');
  writeFileSync(file, 'foo=bar\n');
  await assert.rejects(loadSubnetEnv(file), (e: unknown) => e instanceof SubnetEnvError && e.code === ErrorCode.Internal && e.reason === 'invalid');
  const asDir = path.join(dir, 'isdir');
  mkdirSync(asDir);
  await assert.rejects(loadSubnetEnv(asDir), (e: unknown) => e instanceof SubnetEnvError && e.reason === 'unreadable' && e.message === `open ${asDir}: is a directory`);
});
