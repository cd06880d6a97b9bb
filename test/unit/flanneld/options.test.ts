import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELP_TEXT, OptionsError, parseOptions, redactedOptions } from '../../../flanneld/options';

function throwsOpt(fn: () => unknown, msg: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OptionsError, `not an OptionsError: ${String(e)}`);
    if (typeof msg === 'string') assert.equal(e.message, msg);
    else assert.match(e.message, msg);
    return true;
  });
}

test('defaults are flannel’s (plus our TTL, state file and log level)', () => {
  assert.deepEqual(parseOptions([], {}), {
    etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'],
    etcdPrefix: '/coreos.com/network',
    etcdCAFile: '',
    etcdCertFile: '',
    etcdKeyFile: '',
    etcdUsername: '',
    etcdPassword: '',
    iface: [],
    ifaceRegex: [],
    ifaceCanReach: '',
    publicIP: '',
    publicIPv6: '',
    ipMasq: false,
    ipMasqFullyRandomDisable: false,
    subnetFile: '/run/flannel/subnet.env',
    subnetLeaseRenewMarginMinutes: 60,
    subnetLeaseTTLSeconds: 86400,
    stateFile: '/run/flannel/subnet.state.json',
    iptablesResyncSeconds: 5,
    iptablesForwardRules: true,
    healthzIP: '0.0.0.0',
    healthzPort: 0,
    ipBlackholeRoute: false,
    disableVxlanTxChecksumOffload: false,
    logLevel: 'info',
    version: false,
    help: false,
  });
});

test('the four value spellings of Go flag all work', () => {
  for (const argv of [
    ['-etcd-prefix=/a'],
    ['--etcd-prefix=/a'],
    ['-etcd-prefix', '/a'],
    ['--etcd-prefix', '/a'],
  ]) {
    assert.equal(parseOptions(argv, {}).etcdPrefix, '/a', argv.join(' '));
  }
});

test('a value flag takes the next argument even when it starts with -', () => {
  assert.equal(parseOptions(['--etcd-password', '-secret-'], {}).etcdPassword, '-secret-');
});

test('`-flag=` sets an empty string value', () => {
  assert.equal(parseOptions(['--etcd-username=bob', '--etcd-username='], {}).etcdUsername, '');
});

test('bool flags: bare, =true/=false and Go ParseBool spellings; never the next argument', () => {
  assert.equal(parseOptions(['-ip-masq'], {}).ipMasq, true);
  assert.equal(parseOptions(['--ip-masq'], {}).ipMasq, true);
  assert.equal(parseOptions(['--ip-masq=false'], {}).ipMasq, false);
  assert.equal(parseOptions(['--ip-masq=1'], {}).ipMasq, true);
  assert.equal(parseOptions(['--ip-masq=T'], {}).ipMasq, true);
  assert.equal(parseOptions(['--iptables-forward-rules=false'], {}).iptablesForwardRules, false);
  assert.equal(parseOptions(['--iptables-forward-rules=F'], {}).iptablesForwardRules, false);
  // `--ip-masq false`: "false" is a positional argument, as in Go.
  throwsOpt(() => parseOptions(['--ip-masq', 'false'], {}), 'unexpected argument "false": flanneld takes no positional arguments');
  throwsOpt(() => parseOptions(['--ip-masq=yes'], {}), 'invalid value "yes" for --ip-masq: must be true or false');
  throwsOpt(() => parseOptions(['--ip-masq='], {}), 'invalid value "" for --ip-masq: must be true or false');
});

test('the last value of a single flag wins; --iface and --iface-regex accumulate in order', () => {
  const o = parseOptions(['--iface=eth0', '-iface', '10.0.0.1', '--iface-regex=^en', '--iface-regex', 'eth[0-9]+', '--log-level=warn', '--log-level=debug'], {});
  assert.deepEqual(o.iface, ['eth0', '10.0.0.1']);
  assert.deepEqual(o.ifaceRegex, ['^en', 'eth[0-9]+']);
  assert.equal(o.logLevel, 'debug');
});

test('environment FLANNELD_<FLAG> sets every kind of flag', () => {
  const o = parseOptions([], {
    FLANNELD_ETCD_ENDPOINTS: 'https://10.0.0.1:2379,https://[fd00::1]:2379',
    FLANNELD_IP_MASQ: 'true',
    FLANNELD_IFACE: 'eth0, eth1,,10.1.2.3',
    FLANNELD_IFACE_REGEX: '^e(n|th)',
    FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '30',
    FLANNELD_SUBNET_FILE: '/tmp/x/flannel.env',
    FLANNELD_PUBLIC_IPV6: 'fd00::5',
    FLANNELD_HEALTHZ_PORT: '8471',
  });
  assert.deepEqual(o.etcdEndpoints, ['https://10.0.0.1:2379', 'https://[fd00::1]:2379']);
  assert.equal(o.ipMasq, true);
  assert.deepEqual(o.iface, ['eth0', 'eth1', '10.1.2.3']);
  assert.deepEqual(o.ifaceRegex, ['^e(n|th)']);
  assert.equal(o.subnetLeaseRenewMarginMinutes, 30);
  assert.equal(o.subnetFile, '/tmp/x/flannel.env');
  assert.equal(o.stateFile, '/tmp/x/flannel.state.json');
  assert.equal(o.publicIPv6, 'fd00::5');
  assert.equal(o.healthzPort, 8471);
});

test('the command line wins over the environment, also for list flags; empty env values are unset', () => {
  const o = parseOptions(['--iface=eth9', '--ip-masq=false'], { FLANNELD_IFACE: 'eth0,eth1', FLANNELD_IP_MASQ: 'true', FLANNELD_ETCD_PREFIX: '' });
  assert.deepEqual(o.iface, ['eth9']);
  assert.equal(o.ipMasq, false);
  assert.equal(o.etcdPrefix, '/coreos.com/network');
});

test('bad environment values name the variable and the flag', () => {
  throwsOpt(() => parseOptions([], { FLANNELD_IP_MASQ: 'yes' }), 'invalid value "yes" for FLANNELD_IP_MASQ (--ip-masq): must be true or false');
  throwsOpt(
    () => parseOptions([], { FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '1440' }),
    'invalid value "1440" for FLANNELD_SUBNET_LEASE_RENEW_MARGIN (--subnet-lease-renew-margin): must be from 1 to 1439 minutes',
  );
});

test('unknown flags, positional arguments, missing values and bad syntax', () => {
  throwsOpt(() => parseOptions(['--etcd-endpoint=http://a:1'], {}), 'unknown flag "--etcd-endpoint=http://a:1" (see --help)');
  throwsOpt(() => parseOptions(['eth0'], {}), 'unexpected argument "eth0": flanneld takes no positional arguments');
  throwsOpt(() => parseOptions(['-'], {}), 'unexpected argument "-": flanneld takes no positional arguments');
  throwsOpt(() => parseOptions(['--ip-masq', '--', 'x'], {}), 'unexpected argument "x": flanneld takes no positional arguments');
  assert.equal(parseOptions(['--ip-masq', '--'], {}).ipMasq, true);
  throwsOpt(() => parseOptions(['--etcd-prefix'], {}), 'flag needs an argument: --etcd-prefix');
  throwsOpt(() => parseOptions(['---ip-masq'], {}), 'bad flag syntax: ---ip-masq');
  throwsOpt(() => parseOptions(['-=x'], {}), 'bad flag syntax: -=x');
});

test('value validation names the flag and the value', () => {
  const cases: [string[], string][] = [
    [['--etcd-endpoints=127.0.0.1:2379'], 'invalid value "127.0.0.1:2379" for --etcd-endpoints: endpoint "127.0.0.1:2379" is not http(s)://host:port'],
    [['--etcd-endpoints=http://a:1,ftp://b:2'], 'invalid value "http://a:1,ftp://b:2" for --etcd-endpoints: endpoint "ftp://b:2" is not http(s)://host:port'],
    [['--etcd-endpoints=http://a'], 'invalid value "http://a" for --etcd-endpoints: endpoint "http://a" is not http(s)://host:port'],
    [['--etcd-endpoints=http://a:70000'], 'invalid value "http://a:70000" for --etcd-endpoints: endpoint "http://a:70000" is not http(s)://host:port'],
    [['--etcd-endpoints=,'], 'invalid value "," for --etcd-endpoints: needs at least one endpoint'],
    [['--etcd-prefix=coreos'], 'invalid value "coreos" for --etcd-prefix: must start with /'],
    [['--iface-regex=eth[0-'], /^invalid value "eth\[0-" for --iface-regex: not a regular expression \(/],
    [['--iface-can-reach=10.0.0'], 'invalid value "10.0.0" for --iface-can-reach: not an IP address'],
    [['--public-ip=fd00::1'], 'invalid value "fd00::1" for --public-ip: not an IPv4 address'],
    [['--public-ipv6=10.0.0.1'], 'invalid value "10.0.0.1" for --public-ipv6: not an IPv6 address'],
    [['--public-ip=host'], 'invalid value "host" for --public-ip: not an IP address'],
    [['--subnet-lease-renew-margin=0'], 'invalid value "0" for --subnet-lease-renew-margin: must be from 1 to 1439 minutes'],
    [['--subnet-lease-renew-margin=1h'], 'invalid value "1h" for --subnet-lease-renew-margin: must be an integer (minutes)'],
    [['--subnet-lease-ttl=4'], 'invalid value "4" for --subnet-lease-ttl: must be from 5 to 2147483 seconds'],
    // Timers take at most 2^31−1 ms: a longer TTL or resync period would fire every millisecond.
    [['--subnet-lease-ttl=2147484'], 'invalid value "2147484" for --subnet-lease-ttl: must be from 5 to 2147483 seconds'],
    [['--iptables-resync=99999999'], 'invalid value "99999999" for --iptables-resync: must be from 1 to 2147483 seconds'],
    [['--iptables-resync=0'], 'invalid value "0" for --iptables-resync: must be from 1 to 2147483 seconds'],
    [['--healthz-port=65536'], 'invalid value "65536" for --healthz-port: must be from 0 to 65535'],
    [['--healthz-port=x'], 'invalid value "x" for --healthz-port: must be an integer'],
    [['--healthz-ip=localhost'], 'invalid value "localhost" for --healthz-ip: not an IP address'],
    [['--log-level=trace'], 'invalid value "trace" for --log-level: must be one of error, warn, info, debug'],
    [['--subnet-file='], 'invalid value "" for --subnet-file: must not be empty'],
  ] as [string[], string][];
  for (const [argv, msg] of cases) throwsOpt(() => parseOptions(argv, {}), msg);
});

test('numeric bounds that are allowed', () => {
  const o = parseOptions(['--subnet-lease-renew-margin=1439', '--subnet-lease-ttl=5', '--iptables-resync=1', '--healthz-port=65535'], {});
  assert.equal(o.subnetLeaseRenewMarginMinutes, 1439);
  assert.equal(o.subnetLeaseTTLSeconds, 5);
  assert.equal(o.iptablesResyncSeconds, 1);
  assert.equal(o.healthzPort, 65535);
});

test('--state-file defaults next to the subnet file; explicit wins', () => {
  assert.equal(parseOptions(['--subnet-file=/var/run/f/net.env'], {}).stateFile, '/var/run/f/net.state.json');
  assert.equal(parseOptions(['--subnet-file=/srv/subnet'], {}).stateFile, '/srv/subnet.state.json');
  assert.equal(parseOptions(['--state-file=/srv/s.json'], {}).stateFile, '/srv/s.json');
});

test('trailing slashes of the etcd prefix are dropped', () => {
  assert.equal(parseOptions(['--etcd-prefix=/my/net/'], {}).etcdPrefix, '/my/net');
});

test('--kube-subnet-mgr is refused (command line or environment); =false is fine', () => {
  throwsOpt(() => parseOptions(['--kube-subnet-mgr'], {}), /^--kube-subnet-mgr: the kube subnet manager is not supported by this daemon; use etcd/);
  throwsOpt(() => parseOptions([], { FLANNELD_KUBE_SUBNET_MGR: 'true' }), /^FLANNELD_KUBE_SUBNET_MGR \(--kube-subnet-mgr\): the kube subnet manager is not supported/);
  assert.equal(parseOptions(['--kube-subnet-mgr=false'], {}).ipMasq, false);
});

test('kube-only flags of Go flanneld are accepted and have no effect', () => {
  const o = parseOptions(['--kube-api-url=https://x:6443', '--kubeconfig-file', '/k', '--net-config-path=/n.json', '--kube-annotation-prefix=a', '--set-node-network-unavailable=false'], {});
  assert.deepEqual(o, parseOptions([], {}));
  throwsOpt(() => parseOptions(['--set-node-network-unavailable=maybe'], {}), 'invalid value "maybe" for --set-node-network-unavailable: must be true or false');
});

test('-h / --help / -help stop parsing and ignore the environment', () => {
  for (const h of ['-h', '--h', '-help', '--help']) {
    const o = parseOptions(['--ip-masq', h, '--no-such-flag'], { FLANNELD_IP_MASQ: 'bogus' });
    assert.equal(o.help, true, h);
  }
  // A bad flag before -h is still reported (Go parses left to right).
  throwsOpt(() => parseOptions(['--nope', '-h'], {}), 'unknown flag "--nope" (see --help)');
});

test('--version answers even with a bad environment', () => {
  const o = parseOptions(['--version'], { FLANNELD_IP_MASQ: 'bogus' });
  assert.equal(o.version, true);
  assert.equal(o.help, false);
  assert.equal(parseOptions([], { FLANNELD_VERSION: 'true' }).version, true);
  assert.equal(parseOptions(['--version=false'], { FLANNELD_VERSION: 'true' }).version, false);
});

test('HELP_TEXT lists every flag with its default', () => {
  for (const f of [
    'etcd-endpoints', 'etcd-prefix', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'etcd-username', 'etcd-password',
    'iface', 'iface-regex', 'iface-can-reach', 'public-ip', 'public-ipv6', 'ip-masq', 'ip-masq-fully-random-disable',
    'subnet-file', 'subnet-lease-renew-margin', 'subnet-lease-ttl', 'state-file', 'iptables-resync', 'iptables-forward-rules',
    'healthz-ip', 'healthz-port', 'ip-blackhole-route', 'log-level', 'version', 'kube-subnet-mgr',
  ]) {
    assert.match(HELP_TEXT, new RegExp(`^  --${f}(=VALUE)?$`, 'm'), f);
  }
  assert.match(HELP_TEXT, /--help/);
  assert.match(HELP_TEXT, /\(default http:\/\/127\.0\.0\.1:4001,http:\/\/127\.0\.0\.1:2379\)/);
  assert.match(HELP_TEXT, /\(default \/run\/flannel\/subnet\.env\)/);
  assert.match(HELP_TEXT, /\(default 86400\)/);
  assert.match(HELP_TEXT, /FLANNELD_ETCD_ENDPOINTS/);
});

test('redactedOptions hides the etcd password and nothing else', () => {
  const o = parseOptions(['--etcd-password=hunter2', '--etcd-username=bob'], {});
  const r = redactedOptions(o);
  assert.equal(r.etcdPassword, '<redacted>');
  assert.equal(r.etcdUsername, 'bob');
  assert.ok(!JSON.stringify(r).includes('hunter2'));
  assert.equal(o.etcdPassword, 'hunter2', 'the options themselves are unchanged');
  assert.equal(redactedOptions(parseOptions([], {})).etcdPassword, '');
});
