// Which kernel objects belong to one flanneld network, so the reconciler can remove what no
// lease wants (peers deleted while the daemon was down) without touching anything else: the
// kernel's own routes, cni0's, other daemons', or a second flanneld serving another Network.
import type { CIDR, FdbEntry, Neighbour, RouteInfo } from '../../shared/netlink';
import { contains } from '../../shared/ip';
import { constants } from '../../shared/netlink';

/**
 * The route protocol (rtm_protocol) every flanneld route carries: 127 (0x7f). Unused by the
 * kernel's rtnetlink.h (0–18, 42 babel, 99 openr, 186–192 bgp/isis/ospf/rip/eigrp), by
 * iproute2's rt_protos and by the routing daemons we know of (bird 12, FRR 186–198, Calico 80),
 * and below 256 as rtm_protocol requires. `ip route show proto 127` lists our routes; add
 * `127 flannel` to /etc/iproute2/rt_protos.d/ to see the name instead.
 */
export const RTPROT_FLANNEL = 0x7f;

/**
 * Our routes: protocol RTPROT_FLANNEL, unicast, and a destination inside this network's Network.
 * The --ip-blackhole-route route (RTN_BLACKHOLE, our own subnet) is not the reconciler's: no
 * lease wants it as a peer route, and datapath/blackhole.ts keeps it.
 */
export function ownedRoutes(routes: RouteInfo[], network: CIDR): RouteInfo[] {
  return routes.filter((r) =>
    r.protocol === RTPROT_FLANNEL &&
    r.type === constants.RTN_UNICAST &&
    r.dst.ip.family === network.ip.family &&
    r.dst.prefix >= network.prefix &&
    contains(network, r.dst.ip));
}

/** Our neighbours: the permanent entries on our own flannel.<VNI> device. */
export function ownedNeighbours(neighs: Neighbour[], devIndex: number): Neighbour[] {
  return neighs.filter((n) => n.index === devIndex && (n.state & constants.NUD_PERMANENT) !== 0);
}

/** Our FDB entries: the permanent ones with a remote on our own device. */
export function ownedFdb(entries: FdbEntry[], devIndex: number): FdbEntry[] {
  return entries.filter((e) => e.index === devIndex && (e.state & constants.NUD_PERMANENT) !== 0 && e.dst !== undefined);
}
