// flanneld's command line, as users of the Go daemon write it. Go's `flag` package accepts
// `-x` and `--x` alike, a value after `=` or as the next argument (even one starting with `-`),
// and a bool flag never takes the next argument (only `-x=false`). Every flag can also come from
// the environment as FLANNELD_<FLAG> (what systemd units and the kube-flannel manifests use);
// the command line wins. Pure: argv and env in, a validated Options out.
import * as path from 'node:path';
import { parseIP } from '../shared/ip';
import { DEFAULT_SUBNET_FILE } from '../shared/subnet-env/format';

/** Why the command line or the environment could not be used; the daemon prints it and exits 2. */
export class OptionsError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'OptionsError';
  }
}

import type { LogLevel } from './log';

export type { LogLevel };
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface Options {
  /** --etcd-endpoints: etcd client URLs, each `http(s)://host:port`. */
  etcdEndpoints: string[];
  /** --etcd-prefix: the key prefix holding `config` and `subnets/`. */
  etcdPrefix: string;
  /** --etcd-cafile: CA bundle to verify the etcd servers ('' = system roots / plain http). */
  etcdCAFile: string;
  /** --etcd-certfile: client certificate for TLS client auth ('' = none). */
  etcdCertFile: string;
  /** --etcd-keyfile: the client certificate's private key ('' = none). */
  etcdKeyFile: string;
  /** --etcd-username: etcd auth user ('' = no auth). */
  etcdUsername: string;
  /** --etcd-password: etcd auth password. Secret: log only through redactedOptions. */
  etcdPassword: string;
  /** --iface (repeatable): interface names or IPs to try in order for the external interface. */
  iface: string[];
  /** --iface-regex (repeatable): regular expressions matched against interface names, then IPs. */
  ifaceRegex: string[];
  /** --iface-can-reach: pick the interface the kernel routes this IP through ('' = unset). */
  ifaceCanReach: string;
  /** --public-ip: IPv4 address other nodes use to reach this one ('' = the interface's). */
  publicIP: string;
  /** --public-ipv6: the same for IPv6 ('' = the interface's). */
  publicIPv6: string;
  /** --ip-masq: install the FLANNEL-POSTRTG masquerade rules for traffic leaving the network. */
  ipMasq: boolean;
  /** --ip-masq-fully-random-disable: do not add `--random-fully` to the MASQUERADE rules. */
  ipMasqFullyRandomDisable: boolean;
  /** --subnet-file: where subnet.env (the contract with the CNI plugin) is written. */
  subnetFile: string;
  /** --subnet-lease-renew-margin: renew the lease this many minutes before it expires (1..1439). */
  subnetLeaseRenewMarginMinutes: number;
  /** --subnet-lease-ttl (ours): the etcd lease TTL in seconds (flannel hard-codes 24 h). */
  subnetLeaseTTLSeconds: number;
  /** --state-file (ours): the daemon's local state (node identity, VtepMACs). */
  stateFile: string;
  /** --iptables-resync: seconds between checks that the masq/forward rules are still there. */
  iptablesResyncSeconds: number;
  /** --iptables-forward-rules: accept the network's traffic in FORWARD (FLANNEL-FWD). */
  iptablesForwardRules: boolean;
  /** --healthz-ip: the address the health server listens on. */
  healthzIP: string;
  /** --healthz-port: the health server's port (0 = no health server). */
  healthzPort: number;
  /** --ip-blackhole-route: add a blackhole route for this node's lease subnet. */
  ipBlackholeRoute: boolean;
  /** --disable-vxlan-tx-checksum-offload (ours): tx checksum offload off on flannel.<VNI> (kernels < 5.7). */
  disableVxlanTxChecksumOffload: boolean;
  /** --log-level (ours): error | warn | info | debug. */
  logLevel: LogLevel;
  /** --version: print the version and exit. */
  version: boolean;
  /** --help / -h: print HELP_TEXT and exit. */
  help: boolean;
}

/** `<dir of the subnet file>/<its basename without .env>.state.json`. */
function defaultStateFile(subnetFile: string): string {
  const base = path.basename(subnetFile).replace(/\.env$/, '');
  return path.join(path.dirname(subnetFile), `${base}.state.json`);
}

type Kind = 'string' | 'bool' | 'list';

interface FlagSpec {
  name: string;
  kind: Kind;
  /** Default as text, for the help listing ('' shows as none). */
  def: string;
  help: string;
  /** In the environment, a list flag's value is split on commas. */
  envSplit?: boolean;
  /** Parsed and validated but without effect (Go flanneld flags that only concern kube mode). */
  ignored?: boolean;
}

const FLAGS: readonly FlagSpec[] = [
  { name: 'etcd-endpoints', kind: 'string', def: 'http://127.0.0.1:4001,http://127.0.0.1:2379', help: 'comma-separated etcd endpoints (http(s)://host:port)' },
  { name: 'etcd-prefix', kind: 'string', def: '/coreos.com/network', help: 'etcd key prefix of the network config and subnet leases' },
  { name: 'etcd-cafile', kind: 'string', def: '', help: 'CA certificate file to verify the etcd servers (TLS)' },
  { name: 'etcd-certfile', kind: 'string', def: '', help: 'client certificate file for etcd (TLS client auth)' },
  { name: 'etcd-keyfile', kind: 'string', def: '', help: 'private key file of the etcd client certificate' },
  { name: 'etcd-username', kind: 'string', def: '', help: 'username for etcd authentication' },
  { name: 'etcd-password', kind: 'string', def: '', help: 'password for etcd authentication' },
  { name: 'iface', kind: 'list', def: '', envSplit: true, help: 'interface (name or IP) for inter-host traffic; repeatable, the first match wins (env: comma list)' },
  { name: 'iface-regex', kind: 'list', def: '', help: 'regular expression matched against interface names, then IPs; repeatable, the first match wins' },
  { name: 'iface-can-reach', kind: 'string', def: '', help: 'use the interface through which this IP is routed' },
  { name: 'public-ip', kind: 'string', def: '', help: 'IPv4 address other nodes use to reach this node (default: the interface IP)' },
  { name: 'public-ipv6', kind: 'string', def: '', help: 'IPv6 address other nodes use to reach this node (default: the interface IP)' },
  { name: 'ip-masq', kind: 'bool', def: 'false', help: 'masquerade traffic leaving the flannel network' },
  { name: 'ip-masq-fully-random-disable', kind: 'bool', def: 'false', help: 'do not use --random-fully in the MASQUERADE rules' },
  { name: 'subnet-file', kind: 'string', def: DEFAULT_SUBNET_FILE, help: 'file the subnet, network and MTU are written to (read by the CNI plugin)' },
  { name: 'subnet-lease-renew-margin', kind: 'string', def: '60', help: 'renew the lease this many minutes before it expires (1..1439)' },
  { name: 'subnet-lease-ttl', kind: 'string', def: '86400', help: 'subnet lease TTL in seconds (at least 5)' },
  { name: 'state-file', kind: 'string', def: '', help: "local state file (node identity, VTEP MACs) (default: the subnet file's name with .state.json)" },
  { name: 'iptables-resync', kind: 'string', def: '5', help: 'seconds between checks of the iptables rules (at least 1)' },
  { name: 'iptables-forward-rules', kind: 'bool', def: 'true', help: "accept the network's traffic in the FORWARD chain" },
  { name: 'healthz-ip', kind: 'string', def: '0.0.0.0', help: 'address the health server listens on' },
  { name: 'healthz-port', kind: 'string', def: '0', help: 'port of the health server (0 = disabled)' },
  { name: 'ip-blackhole-route', kind: 'bool', def: 'false', help: "add a blackhole route for this node's subnet" },
  { name: 'disable-vxlan-tx-checksum-offload', kind: 'bool', def: 'false', help: 'turn tx checksum offload off on the vxlan devices (the workaround for the kernel < 5.7 bad-checksum stalls)' },
  { name: 'log-level', kind: 'string', def: 'info', help: 'log level: error, warn, info or debug' },
  { name: 'kube-subnet-mgr', kind: 'bool', def: 'false', help: 'not supported by this daemon (it uses etcd); true is an error' },
  { name: 'kube-api-url', kind: 'string', def: '', ignored: true, help: 'accepted for compatibility, no effect (kube mode only)' },
  { name: 'kubeconfig-file', kind: 'string', def: '', ignored: true, help: 'accepted for compatibility, no effect (kube mode only)' },
  { name: 'kube-annotation-prefix', kind: 'string', def: 'flannel.alpha.coreos.com', ignored: true, help: 'accepted for compatibility, no effect (kube mode only)' },
  { name: 'net-config-path', kind: 'string', def: '/etc/kube-flannel/net-conf.json', ignored: true, help: 'accepted for compatibility, no effect (kube mode only)' },
  { name: 'set-node-network-unavailable', kind: 'bool', def: 'true', ignored: true, help: 'accepted for compatibility, no effect (kube mode only)' },
  { name: 'version', kind: 'bool', def: 'false', help: 'print the version and exit' },
];

/** Timers take at most 2^31−1 ms; a longer delay fires at once (Node and Bun clamp it to 1 ms). */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const SPEC = new Map(FLAGS.map((f) => [f.name, f]));

const envNameOf = (flag: string): string => `FLANNELD_${flag.toUpperCase().replace(/-/g, '_')}`;

export const HELP_TEXT: string = (() => {
  const lines = ['Usage: flanneld [OPTIONS]', '', 'Every option can also be set as FLANNELD_<OPTION> in the environment', '(upper case, - as _, e.g. FLANNELD_ETCD_ENDPOINTS); the command line wins.', ''];
  for (const f of FLAGS) {
    const head = f.kind === 'bool' ? `  --${f.name}` : `  --${f.name}=VALUE`;
    const def = f.def === '' ? '' : ` (default ${f.def})`;
    lines.push(head, `        ${f.help}${def}`);
  }
  lines.push('  -h, --help', '        print this help and exit', '');
  return lines.join('\n');
})();

/** The source of a value, for messages: `--flag` or `FLANNELD_FLAG (--flag)`. */
type Source = string;

// Go's strconv.ParseBool.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function bad(src: Source, value: string, why: string): OptionsError {
  return new OptionsError(`invalid value ${JSON.stringify(value)} for ${src}: ${why}`);
}

function parseBool(src: Source, value: string): boolean {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw bad(src, value, 'must be true or false');
}

/** Raw values per flag (strings; list flags accumulate), with where each came from. */
interface Raw {
  values: Map<string, string[]>;
  sources: Map<string, Source>;
}

function splitFlag(arg: string): { name: string; value?: string } | undefined {
  if (arg.length < 2 || arg[0] !== '-') return undefined;
  let body = arg.slice(1);
  if (body[0] === '-') body = body.slice(1);
  const eq = body.indexOf('=');
  return eq === -1 ? { name: body } : { name: body.slice(0, eq), value: body.slice(eq + 1) };
}

/** Go flag.Parse over argv; returns 'help' when -h/--help is met (flags after it are not read). */
function parseArgv(argv: readonly string[], raw: Raw): 'help' | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (i + 1 < argv.length) throw new OptionsError(`unexpected argument ${JSON.stringify(argv[i + 1])}: flanneld takes no positional arguments`);
      return undefined;
    }
    const sp = splitFlag(arg);
    if (!sp) throw new OptionsError(`unexpected argument ${JSON.stringify(arg)}: flanneld takes no positional arguments`);
    const { name } = sp;
    if (name === '' || name[0] === '-' || name[0] === '=') throw new OptionsError(`bad flag syntax: ${arg}`);
    if (name === 'h' || name === 'help') return 'help';
    const spec = SPEC.get(name);
    if (!spec) throw new OptionsError(`unknown flag ${JSON.stringify(arg)} (see --help)`);
    const src = `--${name}`;
    let value = sp.value;
    if (spec.kind === 'bool') {
      value = String(value === undefined ? true : parseBool(src, value));
    } else if (value === undefined) {
      if (i + 1 >= argv.length) throw new OptionsError(`flag needs an argument: ${arg}`);
      value = argv[++i]!;
    }
    const prev = spec.kind === 'list' ? raw.values.get(name) ?? [] : [];
    raw.values.set(name, [...prev, value]);
    raw.sources.set(name, src);
  }
  return undefined;
}

/** FLANNELD_<FLAG> for each flag the command line did not set; an empty value counts as unset (as in Go flanneld). */
function applyEnv(env: Record<string, string | undefined>, raw: Raw): void {
  for (const spec of FLAGS) {
    if (raw.values.has(spec.name)) continue;
    const key = envNameOf(spec.name);
    const v = env[key];
    if (v === undefined || v === '') continue;
    const src = `${key} (--${spec.name})`;
    let values = [v];
    if (spec.kind === 'bool') values = [String(parseBool(src, v))];
    else if (spec.envSplit) values = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    raw.values.set(spec.name, values);
    raw.sources.set(spec.name, src);
  }
}

function intIn(src: Source, value: string, min: number, max: number, unit: string): number {
  const n = /^[+-]?\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw bad(src, value, `must be an integer${unit ? ` (${unit})` : ''}`);
  if (n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw bad(src, value, `must be ${range}${unit ? ` ${unit}` : ''}`);
  }
  return n;
}

const ENDPOINT = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\/?$/;

function endpoints(src: Source, value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw bad(src, value, 'needs at least one endpoint');
  for (const ep of list) {
    const m = ENDPOINT.exec(ep);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw bad(src, value, `endpoint ${JSON.stringify(ep)} is not http(s)://host:port`);
  }
  return list;
}

function ipOf(src: Source, value: string, family?: 4 | 6): string {
  const ip = parseIP(value);
  if (!ip) throw bad(src, value, 'not an IP address');
  if (family && ip.family !== family) throw bad(src, value, `not an IPv${family} address`);
  return value;
}

/** Parses flanneld's command line and FLANNELD_* environment; throws OptionsError. */
export function parseOptions(argv: string[], env: Record<string, string | undefined>): Options {
  const raw: Raw = { values: new Map(), sources: new Map() };
  const helped = parseArgv(argv, raw) === 'help';
  const cmdVersion = raw.values.get('version')?.[0] === 'true';
  // --help and --version answer even when the environment holds a bad value.
  if (!helped && !cmdVersion) applyEnv(env, raw);

  const one = (name: string): string => raw.values.get(name)?.at(-1) ?? SPEC.get(name)!.def;
  const list = (name: string): string[] => raw.values.get(name) ?? [];
  const src = (name: string): Source => raw.sources.get(name) ?? `--${name}`;
  const bool = (name: string): boolean => one(name) === 'true';
  const ipOrEmpty = (name: string, family?: 4 | 6): string => (one(name) === '' ? '' : ipOf(src(name), one(name), family));

  if (helped || cmdVersion) {
    // Only the answer matters; the rest keeps its defaults.
    const o = parseOptions([], {});
    return { ...o, help: helped, version: !helped && cmdVersion };
  }

  if (bool('kube-subnet-mgr')) {
    throw new OptionsError(`${src('kube-subnet-mgr')}: the kube subnet manager is not supported by this daemon; use etcd (--etcd-endpoints)`);
  }

  const ifaceRegex = list('iface-regex');
  for (const re of ifaceRegex) {
    try {
      new RegExp(re);
    } catch (e) {
      throw bad(src('iface-regex'), re, `not a regular expression (${(e as Error).message})`);
    }
  }
  const logLevel = one('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw bad(src('log-level'), logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  const prefix = one('etcd-prefix');
  if (!prefix.startsWith('/')) throw bad(src('etcd-prefix'), prefix, 'must start with /');
  const subnetFile = one('subnet-file');
  if (subnetFile === '') throw bad(src('subnet-file'), subnetFile, 'must not be empty');
  const stateFile = one('state-file');

  return {
    etcdEndpoints: endpoints(src('etcd-endpoints'), one('etcd-endpoints')),
    etcdPrefix: prefix.length > 1 ? prefix.replace(/\/+$/, '') : prefix,
    etcdCAFile: one('etcd-cafile'),
    etcdCertFile: one('etcd-certfile'),
    etcdKeyFile: one('etcd-keyfile'),
    etcdUsername: one('etcd-username'),
    etcdPassword: one('etcd-password'),
    iface: list('iface'),
    ifaceRegex,
    ifaceCanReach: ipOrEmpty('iface-can-reach'),
    publicIP: ipOrEmpty('public-ip', 4),
    publicIPv6: ipOrEmpty('public-ipv6', 6),
    ipMasq: bool('ip-masq'),
    ipMasqFullyRandomDisable: bool('ip-masq-fully-random-disable'),
    subnetFile,
    subnetLeaseRenewMarginMinutes: intIn(src('subnet-lease-renew-margin'), one('subnet-lease-renew-margin'), 1, 1439, 'minutes'),
    subnetLeaseTTLSeconds: intIn(src('subnet-lease-ttl'), one('subnet-lease-ttl'), 5, MAX_TIMER_SECONDS, 'seconds'),
    stateFile: stateFile === '' ? defaultStateFile(subnetFile) : stateFile,
    iptablesResyncSeconds: intIn(src('iptables-resync'), one('iptables-resync'), 1, MAX_TIMER_SECONDS, 'seconds'),
    iptablesForwardRules: bool('iptables-forward-rules'),
    healthzIP: ipOf(src('healthz-ip'), one('healthz-ip')),
    healthzPort: intIn(src('healthz-port'), one('healthz-port'), 0, 65535, ''),
    ipBlackholeRoute: bool('ip-blackhole-route'),
    disableVxlanTxChecksumOffload: bool('disable-vxlan-tx-checksum-offload'),
    logLevel: logLevel as LogLevel,
    version: bool('version'),
    help: false,
  };
}

/** The options for a log line, with the etcd password replaced. */
export function redactedOptions(o: Options): Record<string, unknown> {
  return { ...o, etcdPassword: o.etcdPassword === '' ? '' : '<redacted>' };
}
