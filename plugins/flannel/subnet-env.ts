// flanneld's /run/flannel/subnet.env: what this node's flannel lease is.
// flanneld writes it (atomically) once it holds a lease; until then the file does not exist.
// Sync fs: Bun's first async fs call starts a thread pool (about 0.9 ms of a plugin call).
import * as fs from 'node:fs';
import { CniError, ErrorCode } from '../../shared/cni/errors';
import { type CIDR, type Family, formatCIDR, networkOf, parseCIDR } from '../../shared/ip';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';

export interface SubnetEnv {
  /** FLANNEL_NETWORK: the IPv4 cluster networks (comma-separated in the file), deduplicated. */
  networks: CIDR[];
  /** FLANNEL_SUBNET as its network: `10.1.17.1/24` → `10.1.17.0/24`. */
  subnet?: CIDR;
  /** FLANNEL_IPV6_NETWORK. */
  ip6Networks: CIDR[];
  /** FLANNEL_IPV6_SUBNET as its network. */
  ip6Subnet?: CIDR;
  /** FLANNEL_MTU: the backend's MTU (vxlan: underlay MTU − 50). */
  mtu: number;
  /** FLANNEL_IPMASQ: flanneld masquerades itself (so the delegate must not). */
  ipMasq: boolean;
}

/**
 * Why the file could not be used: `not-found` (flanneld has not written it yet, or the path is
 * wrong), `unreadable` (permission, directory…), `invalid` (content).
 */
export type SubnetEnvFailure = 'not-found' | 'unreadable' | 'invalid';

export class SubnetEnvError extends CniError {
  constructor(
    readonly reason: SubnetEnvFailure,
    msg: string,
  ) {
    // A missing file is transient by nature (flanneld writes it once it has a lease).
    super(reason === 'not-found' ? ErrorCode.TryAgainLater : ErrorCode.Internal, msg);
    this.name = 'SubnetEnvError';
  }
}

const KEYS = [
  'FLANNEL_NETWORK',
  'FLANNEL_SUBNET',
  'FLANNEL_IPV6_NETWORK',
  'FLANNEL_IPV6_SUBNET',
  'FLANNEL_MTU',
  'FLANNEL_IPMASQ',
] as const;
type Key = (typeof KEYS)[number];
const isKey = (k: string): k is Key => (KEYS as readonly string[]).includes(k);

/** The value without surrounding quotes and without a trailing ` # comment`. */
function unquote(v: string): string {
  if (v[0] === '"' || v[0] === "'") {
    const end = v.indexOf(v[0], 1);
    const rest = end === -1 ? '' : v.slice(end + 1).trim();
    if (end !== -1 && (rest === '' || rest.startsWith('#'))) return v.slice(1, end).trim();
  }
  const hash = v.search(/\s#/);
  return hash === -1 ? v : v.slice(0, hash).trimEnd();
}

/**
 * Splits the file into the recognised keys. Tolerant of what humans and shells write: CRLF,
 * blank lines, `#` comments, `export ` prefixes, spaces around `=`, surrounding quotes.
 * The last occurrence of a key wins (like sourcing the file). An empty value counts as absent.
 */
function scan(text: string, file: string): Partial<Record<Key, string>> {
  const out: Partial<Record<Key, string>> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    line = line.replace(/^export\s+/, '');
    const eq = line.indexOf('=');
    if (eq === -1) {
      if (isKey(line)) {
        throw new SubnetEnvError('invalid', `${file}: line ${i + 1}: ${line} has no value (expected ${line}=VALUE)`);
      }
      return;
    }
    const key = line.slice(0, eq).trim();
    if (!isKey(key)) return;
    const value = unquote(line.slice(eq + 1).trim());
    if (value === '') delete out[key];
    else out[key] = value;
  });
  return out;
}

const familyName = (f: Family): string => (f === 4 ? 'IPv4' : 'IPv6');

function parseOneCIDR(file: string, key: Key, whole: string, item: string, family: Family): CIDR {
  const c = parseCIDR(item);
  if (!c) throw new SubnetEnvError('invalid', `${file}: invalid ${key} ${JSON.stringify(whole)}: ${JSON.stringify(item)} is not a CIDR`);
  if (c.ip.family !== family) {
    throw new SubnetEnvError(
      'invalid',
      `${file}: invalid ${key} ${JSON.stringify(whole)}: ${JSON.stringify(item)} is not an ${familyName(family)} CIDR`,
    );
  }
  return networkOf(c);
}

function parseNetworks(file: string, key: Key, value: string | undefined, family: Family): CIDR[] {
  if (value === undefined) return [];
  const seen = new Set<string>();
  const out: CIDR[] = [];
  for (const item of value.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const n = parseOneCIDR(file, key, value, item, family);
    const s = formatCIDR(n);
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(n);
  }
  return out;
}

function parseSubnet(file: string, key: Key, value: string | undefined, family: Family): CIDR | undefined {
  return value === undefined ? undefined : parseOneCIDR(file, key, value, value, family);
}

function parseMTU(file: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n <= 0xffffffff)) {
    throw new SubnetEnvError('invalid', `${file}: invalid FLANNEL_MTU ${JSON.stringify(value)}: must be an unsigned 32-bit integer`);
  }
  return n;
}

/** Parses subnet.env content; `file` only names the file in errors. Pure. */
export function parseSubnetEnv(text: string, file: string): SubnetEnv {
  const kv = scan(text, file);
  const networks = parseNetworks(file, 'FLANNEL_NETWORK', kv.FLANNEL_NETWORK, 4);
  const ip6Networks = parseNetworks(file, 'FLANNEL_IPV6_NETWORK', kv.FLANNEL_IPV6_NETWORK, 6);
  const subnet = parseSubnet(file, 'FLANNEL_SUBNET', kv.FLANNEL_SUBNET, 4);
  const ip6Subnet = parseSubnet(file, 'FLANNEL_IPV6_SUBNET', kv.FLANNEL_IPV6_SUBNET, 6);
  const mtu = parseMTU(file, kv.FLANNEL_MTU);
  const ipMasqRaw = kv.FLANNEL_IPMASQ;

  // The reference's exact message, listing only the missing groups.
  const missing: string[] = [];
  if (networks.length === 0 && ip6Networks.length === 0) missing.push('FLANNEL_NETWORK', 'FLANNEL_IPV6_NETWORK');
  if (!subnet && !ip6Subnet) missing.push('FLANNEL_SUBNET', 'FLANNEL_IPV6_SUBNET');
  if (mtu === undefined) missing.push('FLANNEL_MTU');
  if (ipMasqRaw === undefined) missing.push('FLANNEL_IPMASQ');
  if (missing.length > 0) throw new SubnetEnvError('invalid', `${file} is missing ${missing.join(', ')}`);

  const env: SubnetEnv = { networks, ip6Networks, mtu: mtu!, ipMasq: ipMasqRaw === 'true' };
  if (subnet) env.subnet = subnet;
  if (ip6Subnet) env.ip6Subnet = ip6Subnet;
  return env;
}

// Go's wording (`open <file>: no such file or directory`), which users search for.
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
};

/** Reads and parses the file; every failure is a SubnetEnvError that names the file. */
export async function loadSubnetEnv(file: string): Promise<SubnetEnv> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const what = ERRNO_TEXT[code] ?? (e instanceof Error ? e.message : String(e));
    const reason: SubnetEnvFailure = code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'unreadable';
    throw new SubnetEnvError(reason, `open ${file}: ${what}`);
  }
  return parseSubnetEnv(text, file);
}
