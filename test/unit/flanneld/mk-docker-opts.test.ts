// Expected texts are what flannel's dist/mk-docker-opts.sh (run under dash with `env -i`) wrote
// for the same env file and arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDockerOpts, MkDockerOptsError, parseMkDockerOptsArgs } from '../../../flanneld/mk-docker-opts';

const S1 = { FLANNEL_NETWORK: '10.5.0.0/16', FLANNEL_SUBNET: '10.5.52.1/24', FLANNEL_MTU: '1450', FLANNEL_IPMASQ: 'true' };
const S2 = { ...S1, FLANNEL_IPMASQ: 'false' };
const S3 = { FLANNEL_IPV6_NETWORK: 'fc00::/48', FLANNEL_IPV6_SUBNET: 'fc00::1/64', FLANNEL_MTU: '1430', FLANNEL_IPMASQ: 'false' };

const run = (env: Record<string, string>, argv: string[]): string => formatDockerOpts(env, parseMkDockerOptsArgs(argv));

test('defaults: individual and combined', () => {
  assert.equal(
    run(S1, ['-f', './s1.env', '-d', 'out.env']),
    'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.5.52.1/24 --ip-masq=false --mtu=1450"\n',
  );
});

test('-i only, FLANNEL_IPMASQ=false → docker masquerades', () => {
  assert.equal(run(S2, ['-i']), 'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="--mtu=1450"\n');
});

test('-c -m: combined only, no --ip-masq', () => {
  assert.equal(run(S1, ['-c', '-m']), 'DOCKER_OPTS=" --bip=10.5.52.1/24 --mtu=1450"\n');
});

test('-k KEY starts from the existing value of KEY', () => {
  assert.equal(
    run({ ...S1, DOCKER_NETWORK_OPTIONS: '-D' }, ['-k', 'DOCKER_NETWORK_OPTIONS', '-f', './s1.env', '-d', 'out.env']),
    'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_NETWORK_OPTIONS="-D  --bip=10.5.52.1/24 --ip-masq=false --mtu=1450"\n',
  );
});

test('clustered flags and attached values (getopts)', () => {
  const o = parseMkDockerOptsArgs(['-icm', '-f./s1.env', '-dout.env', '-kX']);
  assert.deepEqual(o, { flannelEnv: './s1.env', dockerEnv: 'out.env', individual: true, combined: true, combinedKey: 'X', ipMasq: false, rest: [] });
  assert.equal(run(S1, ['-icm', '-f./s1.env', '-d', 'out.env']), 'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.5.52.1/24 --mtu=1450"\n');
  assert.deepEqual(parseMkDockerOptsArgs(['-ick', 'K']).combinedKey, 'K');
});

test('DOCKER_OPT_* already in the environment are options too, all sorted by name', () => {
  assert.equal(
    run({ ...S2, DOCKER_OPT_ZED: 'z', DOCKER_OPT_A: 'a' }, []),
    'DOCKER_OPT_A="a"\nDOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPT_ZED="z"\nDOCKER_OPTS=" a --bip=10.5.52.1/24 --ip-masq=true --mtu=1450 z"\n',
  );
});

test('options end at `--` or the first non-option; the rest is ignored', () => {
  const want = 'DOCKER_OPT_BIP="--bip=10.5.52.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\nDOCKER_OPTS=" --bip=10.5.52.1/24 --ip-masq=false --mtu=1450"\n';
  assert.equal(run(S1, ['-f', './s1.env', '--', '-m']), want);
  assert.equal(run(S1, ['-f', './s1.env', 'foo', '-m']), want);
  assert.deepEqual(parseMkDockerOptsArgs(['foo', '-m']).rest, ['foo', '-m']);
});

test('IPv6 keys are ignored; no env at all gives an empty combined value', () => {
  assert.equal(run(S3, []), 'DOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="--mtu=1430"\nDOCKER_OPTS=" --ip-masq=true --mtu=1430"\n');
  assert.equal(run({}, []), 'DOCKER_OPTS=""\n');
});

test('defaults of the parsed arguments', () => {
  assert.deepEqual(parseMkDockerOptsArgs([]), {
    flannelEnv: '/run/flannel/subnet.env', dockerEnv: '/run/docker_opts.env', individual: true, combined: true, combinedKey: 'DOCKER_OPTS', ipMasq: true, rest: [],
  });
});

test('errors: bad FLANNEL_IPMASQ, unknown option, missing argument, -h, bad key', () => {
  assert.throws(() => run({ FLANNEL_IPMASQ: 'yes' }, []), (e: unknown) => e instanceof MkDockerOptsError && e.message === 'Invalid value of FLANNEL_IPMASQ: yes' && !e.usage);
  // -m: the value is not looked at.
  assert.equal(run({ FLANNEL_IPMASQ: 'yes' }, ['-m']), 'DOCKER_OPTS=""\n');
  assert.throws(() => parseMkDockerOptsArgs(['-x']), (e: unknown) => e instanceof MkDockerOptsError && e.message === 'illegal option -- x' && e.usage);
  assert.throws(() => parseMkDockerOptsArgs(['-d']), (e: unknown) => e instanceof MkDockerOptsError && e.message === 'option requires an argument -- d' && e.usage);
  assert.throws(() => parseMkDockerOptsArgs(['-h']), (e: unknown) => e instanceof MkDockerOptsError && e.usage);
  assert.throws(() => parseMkDockerOptsArgs(['-k', 'A-B']), { message: '-k "A-B" is not a variable name' });
});

test('sourceAssignments reads what `source` would set from flanneld\'s and hand-written env files', async () => {
  const { sourceAssignments, mkDockerOptsUsage } = await import('../../../flanneld/mk-docker-opts');
  assert.deepEqual(
    sourceAssignments('FLANNEL_NETWORK=10.5.0.0/16\r\n# c\nexport FLANNEL_MTU=1450\nA="x \\"y\\" $"\nB=\'q z\'\nC=w # tail\nnot an assignment\n1X=no\n'),
    { FLANNEL_NETWORK: '10.5.0.0/16', FLANNEL_MTU: '1450', A: 'x "y" $', B: 'q z', C: 'w' },
  );
  assert.match(mkDockerOptsUsage('/opt/bin/mk-docker-opts.sh'), /^\/opt\/bin\/mk-docker-opts\.sh \[-f FLANNEL-ENV-FILE\]/);
});
