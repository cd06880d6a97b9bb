// IP addresses as (family, bigint) so that v4 and v6 share one arithmetic.
export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

/** An address with a prefix length; `ip` may have host bits set (like "10.1.2.5/24"). */
export interface CIDR {
  readonly ip: IP;
  readonly prefix: number;
}

export const bitsOf = (f: Family): number => (f === 4 ? 32 : 128);
const allOnes = (f: Family): bigint => (1n << BigInt(bitsOf(f))) - 1n;

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): bigint | null {
  const m = V4_RE.exec(s);
  if (!m) return null;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    // Go's net.ParseIP rejects leading zeros ("010") since 1.17; so do we.
    if (part.length > 1 && part[0] === '0') return null;
    const n = Number(part);
    if (n > 255) return null;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | null {
  if (s.length < 2 || s.includes('%')) return null;
  let tail4: bigint | null = null;
  let str = s;
  const lastColon = str.lastIndexOf(':');
  if (str.slice(lastColon + 1).includes('.')) {
    tail4 = parseV4(str.slice(lastColon + 1));
    if (tail4 === null) return null;
    str = str.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = str.indexOf('::');
  if (dbl !== -1 && str.indexOf('::', dbl + 1) !== -1) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(str);
    if (!g || g.length !== 8) return null;
    groups = g;
  } else {
    const head = parseGroups(str.slice(0, dbl));
    const rest = parseGroups(str.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tail4 !== null) v = (v & ~0xffffffffn) | tail4;
  return v;
}

/** Parses an IPv4 or IPv6 address; null when it is not one. */
export function parseIP(s: string): IP | null {
  if (typeof s !== 'string') return null;
  if (s.includes(':')) {
    const v = parseV6(s);
    if (v === null) return null;
    // Go treats IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4.
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === null ? null : { family: 4, value: v };
}

/** Formats like Go's net.IP.String(): dotted quad, or RFC 5952 compressed lower-case IPv6. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of >= 2 zero groups, first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Parses "addr/prefix"; null when malformed. Host bits are kept. */
export function parseCIDR(s: string): CIDR | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  if (slash === -1) return null;
  const addr = s.slice(0, slash);
  const pfx = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(pfx)) return null;
  const ip = addr.includes(':') ? parseV6Only(addr) : parseIP(addr);
  if (!ip) return null;
  const prefix = Number(pfx);
  if (prefix > bitsOf(ip.family)) return null;
  return { ip, prefix };
}

// Inside a CIDR an IPv6 literal stays IPv6 even when v4-mapped (Go's ParseCIDR does the same).
function parseV6Only(s: string): IP | null {
  const v = parseV6(s);
  return v === null ? null : { family: 6, value: v };
}

export const formatCIDR = (c: CIDR): string => `${formatIP(c.ip)}/${c.prefix}`;

export function maskOf(family: Family, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return (allOnes(family) >> (bits - BigInt(prefix))) << (bits - BigInt(prefix));
}

/** The network of a CIDR (host bits cleared). */
export function networkOf(c: CIDR): CIDR {
  return { ip: { family: c.ip.family, value: c.ip.value & maskOf(c.ip.family, c.prefix) }, prefix: c.prefix };
}

/** The last address of the CIDR (the IPv4 broadcast address). */
export function lastAddress(c: CIDR): IP {
  const hostMask = allOnes(c.ip.family) ^ maskOf(c.ip.family, c.prefix);
  return { family: c.ip.family, value: (c.ip.value & maskOf(c.ip.family, c.prefix)) | hostMask };
}

export function contains(c: CIDR, ip: IP): boolean {
  if (c.ip.family !== ip.family) return false;
  const m = maskOf(c.ip.family, c.prefix);
  return (c.ip.value & m) === (ip.value & m);
}

export function overlaps(a: CIDR, b: CIDR): boolean {
  return a.ip.family === b.ip.family && (contains(a, b.ip) || contains(b, a.ip));
}

export function nextIP(ip: IP): IP {
  return { family: ip.family, value: (ip.value + 1n) & allOnes(ip.family) };
}

export function prevIP(ip: IP): IP {
  return { family: ip.family, value: (ip.value - 1n) & allOnes(ip.family) };
}

export const ipEquals = (a: IP, b: IP): boolean => a.family === b.family && a.value === b.value;

/** Same address and prefix length (host bits included, as written). */
export const cidrEquals = (a: CIDR, b: CIDR): boolean => a.prefix === b.prefix && ipEquals(a.ip, b.ip);

/** Orders by family, then value. */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export const isUnspecified = (ip: IP): boolean => ip.value === 0n;

/** Bytes in network order (4 or 16), for netlink attributes. */
export function ipToBytes(ip: IP): Buffer {
  const n = ip.family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) { b[i] = Number(v & 0xffn); v >>= 8n; }
  return b;
}

export function ipFromBytes(b: Uint8Array): IP {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return { family: b.length === 4 ? 4 : 6, value: v };
}

/** Parses or throws a TypeError naming what was expected; for callers that validated already. */
export function mustParseIP(s: string): IP {
  const ip = parseIP(s);
  if (!ip) throw new TypeError(`invalid IP address ${JSON.stringify(s)}`);
  return ip;
}

export function mustParseCIDR(s: string): CIDR {
  const c = parseCIDR(s);
  if (!c) throw new TypeError(`invalid CIDR ${JSON.stringify(s)}`);
  return c;
}
