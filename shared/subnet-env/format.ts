// The subnet.env format (default /run/flannel/subnet.env): flanneld writes it once it holds a
// lease, the flannel CNI plugin reads it. One module for both sides, so neither imports the
// other. Pure; errors are SubnetEnvFormatError, which each side maps to its own error type.
import { type CIDR, type Family, formatCIDR, formatIP, networkOf, nextIP, parseCIDR } from '../ip';

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

/** The content cannot be used; the message names the file and the key. */
export class SubnetEnvFormatError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'SubnetEnvFormatError';
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
        throw new SubnetEnvFormatError(`${file}: line ${i + 1}: ${line} has no value (expected ${line}=VALUE)`);
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
  if (!c) throw new SubnetEnvFormatError(`${file}: invalid ${key} ${JSON.stringify(whole)}: ${JSON.stringify(item)} is not a CIDR`);
  if (c.ip.family !== family) {
    throw new SubnetEnvFormatError(
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
    throw new SubnetEnvFormatError(`${file}: invalid FLANNEL_MTU ${JSON.stringify(value)}: must be an unsigned 32-bit integer`);
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
  if (missing.length > 0) throw new SubnetEnvFormatError(`${file} is missing ${missing.join(', ')}`);

  const env: SubnetEnv = { networks, ip6Networks, mtu: mtu!, ipMasq: ipMasqRaw === 'true' };
  if (subnet) env.subnet = subnet;
  if (ip6Subnet) env.ip6Subnet = ip6Subnet;
  return env;
}

interface SubnetEnvContent {
  /** Network / IPv6Network per enabled family. */
  networks: Partial<Record<Family, CIDR>>;
  /** This node's lease subnet per family (its network address, e.g. 10.5.52.0/24). */
  subnets: Partial<Record<Family, CIDR>>;
  mtu: number;
  ipMasq: boolean;
}

const NAMES: Record<Family, { network: Key; subnet: Key }> = {
  4: { network: 'FLANNEL_NETWORK', subnet: 'FLANNEL_SUBNET' },
  6: { network: 'FLANNEL_IPV6_NETWORK', subnet: 'FLANNEL_IPV6_SUBNET' },
};

/**
 * The file flanneld writes, in the reference's order: the v4 pair, the v6 pair, MTU, IPMASQ.
 * FLANNEL_SUBNET is the lease's first address with the lease length (10.5.52.1/24): the address
 * the plugin's bridge takes as the pods' gateway.
 */
export function formatSubnetEnv(c: SubnetEnvContent): string {
  const lines: string[] = [];
  for (const f of [4, 6] as Family[]) {
    const n = c.networks[f];
    const s = c.subnets[f];
    if (!n && !s) continue;
    if (!n || !s) throw new RangeError(`subnet.env: IPv${f} needs both the network and the lease subnet`);
    if (n.ip.family !== f || s.ip.family !== f) throw new RangeError(`subnet.env: ${formatCIDR(n)} and ${formatCIDR(s)} must both be IPv${f}`);
    const sn = networkOf(s);
    lines.push(`${NAMES[f].network}=${formatCIDR(networkOf(n))}`, `${NAMES[f].subnet}=${formatIP(nextIP(sn.ip))}/${sn.prefix}`);
  }
  if (lines.length === 0) throw new RangeError('subnet.env: no address family to write');
  if (!Number.isInteger(c.mtu) || c.mtu < 0 || c.mtu > 0xffffffff) throw new RangeError(`subnet.env: invalid MTU ${c.mtu}`);
  lines.push(`FLANNEL_MTU=${c.mtu}`, `FLANNEL_IPMASQ=${c.ipMasq}`);
  return lines.join('\n') + '\n';
}
