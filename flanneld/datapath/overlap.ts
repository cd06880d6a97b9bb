// A Network that overlaps the node's own networks would capture the node's traffic (flannel's
// routes for the leases win or lose against the node's routes by prefix length, either way one
// side breaks): refused at start with the address or route named. Pure; overlap-check.ts reads
// the kernel. The reference checks none of this.
import { cidrEquals, formatCIDR, formatIP, overlaps, contains, type CIDR } from '../../shared/ip';
import type { RouteInfo } from '../../shared/netlink';

export interface OverlapInput {
  /** The config's Network / IPv6Network. */
  networks: CIDR[];
  /** The external interface and all its addresses (both families, with their prefixes). */
  ext: { name: string; addrs: CIDR[] };
  /** The main table's routes, each with its device's name when it has one. */
  routes: Array<RouteInfo & { dev?: string }>;
  /** Our own lease subnets (the previous subnet.env's): cni0's route, our blackhole route. */
  ownSubnets: CIDR[];
  /** Our own devices (flannel.<VNI>, flannel-v6.<VNI>): their routes are ours. */
  ownDevices: string[];
  /** Our route protocol (RTPROT_FLANNEL): routes carrying it are ours. */
  ownProtocol: number;
  /** Only routes for which this holds are looked at (the two start-up stages, see isLeaseShaped). */
  routeFilter?: (r: RouteInfo) => boolean;
}

/** One conflict, as the error line names it. */
export interface Overlap {
  network: CIDR;
  what: string;
}

function describeRoute(r: RouteInfo & { dev?: string }): string {
  const parts = [`route ${formatCIDR(r.dst)}`];
  if (r.gw) parts.push(`via ${formatIP(r.gw)}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  parts.push(`proto ${r.protocol}`);
  return parts.join(' ');
}

/**
 * Every external-interface address inside a Network and every main-table route overlapping one
 * (more or less specific), except ours: routes with our protocol, on our devices, or for our own
 * lease subnet. Default routes (prefix 0) contain every Network and are not conflicts: flannel's
 * more specific routes are meant to win there.
 */
export function findOverlaps(i: OverlapInput): Overlap[] {
  const out: Overlap[] = [];
  for (const n of i.networks) {
    for (const a of i.ext.addrs) {
      if (contains(n, a.ip)) out.push({ network: n, what: `the external interface ${i.ext.name}'s address ${formatIP(a.ip)}/${a.prefix}` });
    }
    for (const r of i.routes) {
      if (r.dst.prefix === 0 || !overlaps(n, r.dst)) continue;
      if (i.routeFilter && !i.routeFilter(r)) continue;
      if (r.protocol === i.ownProtocol) continue;
      if (r.dev !== undefined && i.ownDevices.includes(r.dev)) continue;
      if (i.ownSubnets.some((s) => cidrEquals(s, r.dst))) continue;
      out.push({ network: n, what: `the ${describeRoute(r)}` });
    }
  }
  return out;
}

/**
 * A route shaped like a lease: inside a Network with exactly its subnet length, e.g. the
 * plugins' cni0 route. Whether it is our own subnet's is only known once we hold the lease, so
 * such routes are checked after acquiring it; everything else before.
 */
export function isLeaseShaped(r: RouteInfo, networks: CIDR[], subnetLen: Partial<Record<4 | 6, number>>): boolean {
  return networks.some((n) => contains(n, r.dst.ip) && r.dst.prefix === subnetLen[n.ip.family]);
}

/** The error text: each conflict on its own clause, the fix at the end. */
export function overlapMessage(configKey: string, overlaps: Overlap[]): string {
  const list = overlaps.map((o) => `Network ${formatCIDR(o.network)} overlaps ${o.what}`).join('; ');
  return `${configKey}: ${list}: flannel would capture the node's own traffic; choose a Network disjoint from the node's networks (or remove the conflicting route)`;
}
