// The network config stored in etcd at `<prefix>/config` (flanneld.md §2): parsed the way Go's
// encoding/json fills flannel's Config struct (keys matched case-insensitively, unknown keys
// ignored, null = absent), then defaulted and validated per address family. Pure.
import {
  type CIDR,
  type Family,
  type IP,
  bitsOf,
  compareIP,
  contains,
  formatCIDR,
  formatIP,
  lastAddress,
  maskOf,
  networkOf,
  parseCIDR,
  parseIP,
} from '../shared/ip';
import type { BackendConfig, FamilyPlan, NetworkConfig, PerFamily, VxlanConfig } from './types';
import { showValue as show } from '../shared/base/message-text';

/** A config that cannot be used; the message starts with the etcd key when one was given. */
export class NetworkConfigError extends Error {
  constructor(
    readonly key: string | undefined,
    readonly detail: string,
  ) {
    super(key ? `${key}: ${detail}` : detail);
    this.name = 'NetworkConfigError';
  }
}

export const SUPPORTED_BACKENDS: readonly string[] = ['vxlan', 'host-gw', 'alloc'];

type JsonObject = Record<string, unknown>;

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/**
 * The object's keys lower-cased, the later of two spellings winning, as Go's decoder assigns
 * each JSON key in order to the field it folds to. null counts as absent (Go leaves the field).
 */
function folded(o: JsonObject): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(o)) {
    if (v === null) m.delete(k.toLowerCase());
    else m.set(k.toLowerCase(), v);
  }
  return m;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

interface FamilyKeys {
  family: Family;
  enable: string;
  network: string;
  subnetLen: string;
  subnetMin: string;
  subnetMax: string;
  /** The longest usable Network prefix: four subnets of the smallest size (the first is skipped). */
  maxNetworkPrefix: number;
  /** The longest SubnetLen: room for the bridge and a gateway address on each host. */
  maxSubnetLen: number;
  /** SubnetLen when unset and the Network prefix is at most `bigNetworkPrefix`. */
  defaultSubnetLen: number;
  bigNetworkPrefix: number;
}

const FAMILIES: readonly FamilyKeys[] = [
  { family: 4, enable: 'EnableIPv4', network: 'Network', subnetLen: 'SubnetLen', subnetMin: 'SubnetMin', subnetMax: 'SubnetMax', maxNetworkPrefix: 28, maxSubnetLen: 30, defaultSubnetLen: 24, bigNetworkPrefix: 22 },
  { family: 6, enable: 'EnableIPv6', network: 'IPv6Network', subnetLen: 'IPv6SubnetLen', subnetMin: 'IPv6SubnetMin', subnetMax: 'IPv6SubnetMax', maxNetworkPrefix: 124, maxSubnetLen: 126, defaultSubnetLen: 64, bigNetworkPrefix: 62 },
];

const famName = (f: Family): string => (f === 4 ? 'IPv4' : 'IPv6');

class Reader {
  constructor(
    readonly key: string | undefined,
    readonly fields: Map<string, unknown>,
    /** Prefix for field names in messages, e.g. `Backend.`. */
    readonly path = '',
  ) {}

  fail(detail: string): NetworkConfigError {
    return new NetworkConfigError(this.key, detail);
  }

  get(name: string): unknown {
    return this.fields.get(name.toLowerCase());
  }

  bool(name: string, def: boolean): boolean {
    const v = this.get(name);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw this.fail(`${this.path}${name} ${show(v)} must be true or false, not ${kindOf(v)}`);
    return v;
  }

  /** An integer in [min, max]; `undefined` when absent. */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.fail(`${this.path}${name} ${show(v)} must be an integer`);
    if (v < min || v > max) throw this.fail(`${this.path}${name} ${v} is out of range (${min}..${max})`);
    return v;
  }

  cidr(name: string, family: Family): CIDR | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    const c = typeof v === 'string' ? parseCIDR(v) : null;
    if (!c || c.ip.family !== family) throw this.fail(`${name} ${show(v)} is not a valid ${famName(family)} CIDR`);
    // Go's net.ParseCIDR keeps only the network: "10.1.2.3/16" means 10.1.0.0/16.
    return networkOf(c);
  }

  ip(name: string, family: Family): IP | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    const ip = typeof v === 'string' ? parseIP(v) : null;
    if (!ip || ip.family !== family) throw this.fail(`${name} ${show(v)} is not a valid ${famName(family)} address`);
    return ip;
  }
}

function addToIP(ip: IP, n: bigint): IP {
  return { family: ip.family, value: ip.value + n };
}

/** One family's plan: SubnetLen, SubnetMin and SubnetMax defaulted and checked against Network. */
function familyPlan(r: Reader, k: FamilyKeys, network: CIDR): FamilyPlan {
  const bits = bitsOf(k.family);
  const netText = formatCIDR(network);
  // Go reads SubnetLen as a uint where 0 means "unset".
  let subnetLen = r.int(k.subnetLen, 0, bits) ?? 0;
  if (subnetLen > 0) {
    if (subnetLen > k.maxSubnetLen) throw r.fail(`${k.subnetLen} ${subnetLen} is too long: it must be at most ${k.maxSubnetLen}`);
    if (subnetLen < network.prefix + 2) {
      throw r.fail(`${k.subnetLen} ${subnetLen} is too short for ${k.network} ${netText}: it must be at least ${network.prefix + 2} so that ${k.network} holds four subnets`);
    }
  } else {
    // The first subnet is never handed out, so at least four are needed for a useful network.
    if (network.prefix > k.maxNetworkPrefix) {
      throw r.fail(`${k.network} ${netText} is too small: its prefix must be at most /${k.maxNetworkPrefix}`);
    }
    subnetLen = network.prefix <= k.bigNetworkPrefix ? k.defaultSubnetLen : network.prefix + 2;
  }
  const size = 1n << BigInt(bits - subnetLen);
  const mask = maskOf(k.family, subnetLen);

  const check = (name: string, ip: IP): IP => {
    if (!contains(network, ip)) throw r.fail(`${name} ${formatIP(ip)} is not in ${k.network} ${netText}`);
    if ((ip.value & mask) !== ip.value) throw r.fail(`${name} ${formatIP(ip)} is not aligned to ${k.subnetLen} ${subnetLen} (a /${subnetLen} boundary)`);
    return ip;
  };
  const minGiven = r.ip(k.subnetMin, k.family);
  const maxGiven = r.ip(k.subnetMax, k.family);
  // The first subnet is skipped: its address would be the network address of Network itself.
  const subnetMin = minGiven ? check(k.subnetMin, minGiven) : addToIP(network.ip, size);
  const subnetMax = maxGiven ? check(k.subnetMax, maxGiven) : addToIP(lastAddress(network), 1n - size);
  if (compareIP(subnetMin, subnetMax) > 0) {
    throw r.fail(`${k.subnetMin} ${formatIP(subnetMin)} is above ${k.subnetMax} ${formatIP(subnetMax)}`);
  }
  return { network, subnetLen, subnetMin, subnetMax };
}

function backendOf(r: Reader): BackendConfig {
  const b = r.get('Backend');
  // Absent: vxlan, as Documentation/configuration.md says. (The reference's ParseConfig returns
  // "udp" here, a backend that no longer exists; see flanneld.md §2 and its bug list.)
  if (b === undefined) return { type: 'vxlan', raw: {} };
  if (!isObject(b)) throw r.fail(`Backend ${show(b)} must be an object like {"Type":"vxlan"}, not ${kindOf(b)}`);
  const br = new Reader(r.key, folded(b), 'Backend.');
  const t = br.get('Type');
  // A Backend object without Type (e.g. {"VNI":2}) means the default backend too.
  if (t === undefined) return { type: 'vxlan', raw: b };
  if (typeof t !== 'string') throw r.fail(`Backend.Type ${show(t)} must be a string`);
  const type = t.toLowerCase();
  if (!SUPPORTED_BACKENDS.includes(type)) {
    throw r.fail(`Backend.Type ${show(t)} is not supported (supported: ${SUPPORTED_BACKENDS.join(', ')})`);
  }
  return { type, raw: b };
}

/** Parses, defaults and validates `<prefix>/config`; `key` (the etcd key) starts every error message. */
export function parseNetworkConfig(text: string, key: string): NetworkConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new NetworkConfigError(key, `invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new NetworkConfigError(key, `the config must be a JSON object, not ${kindOf(doc)}`);
  const r = new Reader(key, folded(doc));

  const enabled: Record<Family, boolean> = { 4: r.bool('EnableIPv4', true), 6: r.bool('EnableIPv6', false) };
  const enableNFTables = r.bool('EnableNFTables', false);
  if (!enabled[4] && !enabled[6]) throw r.fail('EnableIPv4 and EnableIPv6 are both false: at least one family must be enabled');

  const plans: PerFamily<FamilyPlan> = {};
  for (const k of FAMILIES) {
    // Like Go's decoder, a malformed value is an error even for a disabled family.
    const network = r.cidr(k.network, k.family);
    r.int(k.subnetLen, 0, bitsOf(k.family));
    r.ip(k.subnetMin, k.family);
    r.ip(k.subnetMax, k.family);
    if (!enabled[k.family]) continue;
    if (!network) throw r.fail(`${k.network} is missing (an ${famName(k.family)} CIDR is required when ${k.enable} is true)`);
    plans[k.family] = familyPlan(r, k, network);
  }

  const backend = backendOf(r);
  if (backend.type === 'vxlan') vxlanConfig(backend, key);
  return { enableIPv4: enabled[4], enableIPv6: enabled[6], enableNFTables, plans, backend };
}

/** The vxlan backend's keys (case-insensitive), defaulted and range-checked. */
export function vxlanConfig(b: BackendConfig, key?: string): VxlanConfig {
  const r = new Reader(key, folded(b.raw), 'Backend.');
  const mtu = r.int('MTU', 0, 65535) ?? 0;
  // 68: the smallest MTU an IPv4 host must accept (RFC 791); the kernel refuses less.
  if (mtu !== 0 && mtu < 68) throw r.fail(`Backend.MTU ${mtu} is out of range (0 for the interface MTU, or 68..65535)`);
  return {
    vni: r.int('VNI', 0, 0xffffff) ?? 1,
    port: r.int('Port', 0, 65535) ?? 0,
    mtu,
    gbp: r.bool('GBP', false),
    learning: r.bool('Learning', false),
    directRouting: r.bool('DirectRouting', false),
  };
}

/** The address families the config enables (each has its plan), in the order 4, 6. */
export function enabledFamilies(c: NetworkConfig): Family[] {
  const out: Family[] = [];
  if (c.enableIPv4 && c.plans[4]) out.push(4);
  if (c.enableIPv6 && c.plans[6]) out.push(6);
  return out;
}
