// One allocation pool: a subnet and the inclusive [rangeStart, rangeEnd] window in it.
import {
  type CIDR,
  type IP,
  bitsOf,
  compareIP,
  contains as cidrContains,
  formatCIDR,
  formatIP,
  ipEquals,
  lastAddress,
  networkOf,
  nextIP,
  prevIP,
} from '../../shared/ip';

export interface Range {
  /** Network address + prefix (no host bits). */
  readonly subnet: CIDR;
  readonly rangeStart: IP;
  readonly rangeEnd: IP;
  readonly gateway: IP;
}

/** A range as written in the config, already parsed (undefined = not given). */
export interface RangeSpec {
  subnet: CIDR;
  rangeStart?: IP;
  rangeEnd?: IP;
  gateway?: IP;
}

/** Thrown for a range/range-set that cannot be used; the message is the reference's text. */
export class RangeConfigError extends Error {
  override name = 'RangeConfigError';
}

/**
 * Validates and fills defaults like the reference's Range.Canonicalize: ≥2 host bits, no host
 * bits in the subnet, gateway = network+1, rangeStart = network+1, rangeEnd = broadcast-1 (IPv4)
 * or the last address (IPv6); given start/end must lie in the subnet.
 */
export function canonicalizeRange(spec: RangeSpec): Range {
  const { subnet } = spec;
  const fam = subnet.ip.family;
  if (subnet.prefix > bitsOf(fam) - 2) throw new RangeConfigError(`Network ${formatCIDR(subnet)} too small to allocate from`);
  const net = networkOf(subnet);
  if (net.ip.value !== subnet.ip.value) {
    throw new RangeConfigError(
      `Network has host bits set. For a subnet mask of length ${subnet.prefix} the network address is ${formatIP(net.ip)}`,
    );
  }
  for (const [what, ip] of [['gateway', spec.gateway], ['rangeStart', spec.rangeStart], ['rangeEnd', spec.rangeEnd]] as const) {
    if (ip && ip.family !== fam) {
      throw new RangeConfigError(`${what} ${formatIP(ip)} is not of the address family of subnet ${formatCIDR(subnet)}`);
    }
  }
  const gateway = spec.gateway ?? nextIP(net.ip);
  const rangeStart = spec.rangeStart ?? nextIP(net.ip);
  if (!cidrContains(net, rangeStart)) throw new RangeConfigError(`RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(net)}`);
  const last = lastAddress(net);
  const rangeEnd = spec.rangeEnd ?? (fam === 4 ? prevIP(last) : last);
  if (!cidrContains(net, rangeEnd)) throw new RangeConfigError(`RangeEnd ${formatIP(rangeEnd)} not in network ${formatCIDR(net)}`);
  if (compareIP(rangeEnd, rangeStart) < 0) {
    throw new RangeConfigError(`RangeEnd ${formatIP(rangeEnd)} is before RangeStart ${formatIP(rangeStart)}`);
  }
  return { subnet: net, rangeStart, rangeEnd, gateway };
}

/** True when `ip` is in the subnet and within [rangeStart, rangeEnd]. */
export function rangeContains(r: Range, ip: IP): boolean {
  return (
    ip.family === r.subnet.ip.family &&
    cidrContains(r.subnet, ip) &&
    compareIP(ip, r.rangeStart) >= 0 &&
    compareIP(ip, r.rangeEnd) <= 0
  );
}

/** Same family and the [start, end] windows intersect (the subnets may be the same). */
export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.subnet.ip.family !== b.subnet.ip.family) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) || rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/**
 * Why `ip` (inside the range) must never be handed out, or undefined when it may be: the
 * gateway, the subnet's network address, the IPv4 broadcast address. (The reference only skips
 * the gateway and relies on the defaults to avoid the other two.)
 */
export function reservedReason(r: Range, ip: IP): string | undefined {
  if (ipEquals(ip, r.gateway)) return 'gateway';
  if (ip.value === r.subnet.ip.value) return 'network';
  if (ip.family === 4 && ip.value === lastAddress(r.subnet).value) return 'broadcast';
  return undefined;
}

/** `start-end`, the reference's Range.String(). */
export const rangeString = (r: Range): string => `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;
