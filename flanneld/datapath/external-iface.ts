// flanneld's external interface: the underlay device and addresses (vxlan local, host-gw next
// hops) chosen from --iface, --iface-regex, --iface-can-reach or the default route, as the
// reference daemon does. Reads links, addresses and routes through one netlink socket opened in
// the daemon's netns; the choosing itself is external-iface-pick.ts.
import type { Family, IP, PerFamily } from '../types';
import { parseIP } from '../../shared/ip';
import type { Address, Link, NetlinkSocket } from '../../shared/netlink';
import * as nl from '../../shared/netlink';
import {
  ExternalInterfaceError, defaultRouteIndex, firstGlobalAddress, interfaceWithAddress, parseIfaceSpec,
  regexCandidates, unusableReason,
} from './external-iface-pick';
import type { IfaceFlag } from './external-iface-pick';

export { ExternalInterfaceError };

export interface ExternalInterface {
  index: number;
  name: string;
  mtu: number;
  /** The interface's address per family: the vxlan local address. */
  addr: PerFamily<IP>;
  /** --public-ip/--public-ipv6, or addr: what leases publish. */
  publicIP: PerFamily<IP>;
  /** Which flag chose it (for the startup log line). */
  chosenBy: IfaceFlag;
}

export interface ExternalInterfaceOptions {
  iface: string[];
  ifaceRegex: string[];
  ifaceCanReach?: string;
  publicIP?: string;
  publicIPv6?: string;
  families: Family[];
}

interface Candidate {
  link: Link;
  /** An address the flag named (`--iface <ip>`, the source of `--iface-can-reach`'s route). */
  pinned?: IP;
}

function build(c: Candidate, addrs: Address[], o: ExternalInterfaceOptions, chosenBy: IfaceFlag): ExternalInterface {
  const addr: PerFamily<IP> = {};
  for (const f of o.families) {
    const a = c.pinned && c.pinned.family === f ? c.pinned : firstGlobalAddress(addrs, c.link.index, f);
    if (a) addr[f] = a;
  }
  const publicIP: PerFamily<IP> = {};
  for (const [f, flag, value] of [[4, '--public-ip', o.publicIP], [6, '--public-ipv6', o.publicIPv6]] as const) {
    if (!o.families.includes(f)) continue;
    if (value) {
      const ip = parseIP(value);
      if (!ip || ip.family !== f) throw new ExternalInterfaceError(flag, value, `not an IPv${f} address`);
      publicIP[f] = ip;
    } else if (addr[f]) {
      publicIP[f] = addr[f];
    }
  }
  return { index: c.link.index, name: c.link.name, mtu: c.link.mtu, addr, publicIP, chosenBy };
}

/**
 * The external interface. `--iface` entries are tried in order (a name, or an IP: the interface
 * holding it), then `--iface-regex` entries (names, then addresses), else `--iface-can-reach`
 * (the interface of the route to that address), else the default route's interface (IPv4, or
 * IPv6 when only IPv6 is enabled). A candidate must be up and have a global address of every
 * enabled family; when none qualifies the error lists why each was refused.
 */
export function selectExternalInterface(sock: NetlinkSocket, o: ExternalInterfaceOptions): ExternalInterface {
  const links = nl.listLinks(sock);
  const addrs = nl.listAddresses(sock);
  const byIndex = (i: number): Link | undefined => links.find((l) => l.index === i);
  const refusals: { flag: IfaceFlag; value: string; reason: string }[] = [];
  const tryOne = (flag: IfaceFlag, value: string, c: Candidate | string): ExternalInterface | null => {
    const reason = typeof c === 'string' ? c : unusableReason(c.link, addrs, o.families);
    if (reason) {
      refusals.push({ flag, value, reason });
      return null;
    }
    return build(c as Candidate, addrs, o, flag);
  };
  // One refusal: "--iface eth9: no such interface"; several: each value with its reason.
  const fail = (): never => {
    const first = refusals[0]!;
    if (refusals.length === 1) throw new ExternalInterfaceError(first.flag, first.value, first.reason);
    throw new ExternalInterfaceError(first.flag, refusals.map((r) => r.value).join(','),
      `no usable interface: ${refusals.map((r) => `${r.value}: ${r.reason}`).join('; ')}`);
  };

  if (o.iface.length) {
    for (const spec of o.iface) {
      const p = parseIfaceSpec(spec);
      let c: Candidate | string;
      if ('ip' in p) {
        const index = interfaceWithAddress(addrs, p.ip);
        const link = index === undefined ? undefined : byIndex(index);
        c = link ? { link, pinned: p.ip } : 'no interface has this address';
      } else {
        const link = links.find((l) => l.name === p.name);
        c = link ? { link } : 'no such interface';
      }
      const got = tryOne('--iface', spec, c);
      if (got) return got;
    }
    return fail();
  }
  if (o.ifaceRegex.length) {
    for (const pattern of o.ifaceRegex) {
      const cands = regexCandidates(pattern, links, addrs);
      if (!cands.length) refusals.push({ flag: '--iface-regex', value: pattern, reason: 'no interface name or address matches' });
      for (const link of cands) {
        const got = tryOne('--iface-regex', pattern, { link });
        if (got) return got;
      }
    }
    return fail();
  }
  if (o.ifaceCanReach) {
    const dst = parseIP(o.ifaceCanReach);
    if (!dst) throw new ExternalInterfaceError('--iface-can-reach', o.ifaceCanReach, 'not an IP address');
    const r = nl.routeGet(sock, dst);
    const link = r?.index === undefined ? undefined : byIndex(r.index);
    const c: Candidate | string = !r ? 'no route to it' : link ? { link, ...(r.prefsrc ? { pinned: r.prefsrc } : {}) } : `route via unknown interface index ${r.index}`;
    return tryOne('--iface-can-reach', o.ifaceCanReach, c) ?? fail();
  }
  const family: Family = o.families.includes(4) ? 4 : 6;
  const index = defaultRouteIndex(nl.listRoutes(sock, { family }), family);
  const link = index === undefined ? undefined : byIndex(index);
  const c: Candidate | string = link ? { link } : `no IPv${family} default route (pass --iface, --iface-regex or --iface-can-reach)`;
  return tryOne('default route', `IPv${family}`, c) ?? fail();
}
