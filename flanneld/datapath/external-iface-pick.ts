// The pure half of choosing flanneld's external interface (the underlay its VXLAN packets and
// host-gw routes use): which candidates a flag names, and which address of an interface counts.
import type { Family, IP } from '../types';
import { formatIP, ipEquals, parseIP } from '../../shared/ip';
import type { Address, Link, RouteInfo } from '../../shared/netlink';

/** Which flag chose the interface, for errors and the startup log line. */
export type IfaceFlag = '--iface' | '--iface-regex' | '--iface-can-reach' | 'default route';

export class ExternalInterfaceError extends Error {
  constructor(readonly flag: IfaceFlag | '--public-ip' | '--public-ipv6', readonly value: string, reason: string) {
    super(`${flag} ${value}: ${reason}`);
    this.name = 'ExternalInterfaceError';
  }
}

const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;
const IFA_F_DEPRECATED = 0x20;

/**
 * The interface's first global address of the family: scope universe (not link-local or host),
 * not still in (or failed) duplicate address detection, not deprecated.
 */
export function firstGlobalAddress(addrs: Address[], index: number, family: Family): IP | undefined {
  return addrs.find((a) =>
    a.index === index && a.cidr.ip.family === family && a.scope === 0 &&
    !(a.flags & (IFA_F_DADFAILED | IFA_F_TENTATIVE | IFA_F_DEPRECATED)))?.cidr.ip;
}

/** The interface holding exactly this address (for `--iface <ip>`). */
export function interfaceWithAddress(addrs: Address[], ip: IP): number | undefined {
  return addrs.find((a) => ipEquals(a.cidr.ip, ip))?.index;
}

/** An `--iface` entry: an IP (the interface holding it) or an interface name. */
export function parseIfaceSpec(s: string): { ip: IP } | { name: string } {
  const ip = parseIP(s);
  return ip ? { ip } : { name: s };
}

/**
 * `--iface-regex` candidates in order: interfaces whose name matches, then interfaces with an
 * address that matches (in dump order). An invalid pattern is an error naming it.
 */
export function regexCandidates(pattern: string, links: Link[], addrs: Address[]): Link[] {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new ExternalInterfaceError('--iface-regex', pattern, `invalid regular expression: ${(e as Error).message}`);
  }
  const out: Link[] = links.filter((l) => re.test(l.name));
  for (const a of addrs) {
    if (!re.test(formatIP(a.cidr.ip))) continue;
    const l = links.find((x) => x.index === a.index);
    if (l && !out.includes(l)) out.push(l);
  }
  return out;
}

/** The interface of the default route (lowest metric) in a main-table dump; undefined if none. */
export function defaultRouteIndex(routes: RouteInfo[], family: Family): number | undefined {
  let best: RouteInfo | undefined;
  for (const r of routes) {
    if (r.dst.prefix !== 0 || r.dst.ip.family !== family || r.index === undefined || r.type !== 1) continue;
    if (!best || r.metric < best.metric) best = r;
  }
  return best?.index;
}

/** Why a candidate cannot serve: not up, or no usable address of a needed family; null when it can. */
export function unusableReason(link: Link, addrs: Address[], families: Family[]): string | null {
  if (!link.up) return `interface ${link.name} is down`;
  for (const f of families) {
    if (!firstGlobalAddress(addrs, link.index, f)) return `interface ${link.name} has no global IPv${f} address`;
  }
  return null;
}
