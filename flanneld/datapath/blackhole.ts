// --ip-blackhole-route: a blackhole route for this node's own lease subnet, so packets for its
// addresses that no pod holds (cni0 down, or no pods yet) are dropped here instead of following
// the default route out of the node. Its metric is far above any connected route's (cni0's is 0
// for IPv4, 256 for IPv6), so cni0's route wins whenever it is up. It carries our protocol and is
// kept here, not by the reconciler (ownership.ts counts unicast routes only).
import { type CIDR, cidrEquals, contains, formatCIDR } from '../../shared/ip';
import * as nl from '../../shared/netlink';
import type { Family, PerFamily } from '../types';
import { RTPROT_FLANNEL } from './ownership';

export const BLACKHOLE_METRIC = 1 << 20;

interface BlackholeDiff {
  add: CIDR[];
  del: nl.RouteInfo[];
}

/**
 * Pure: from one family's routes with our protocol, the blackhole to add (our subnet's, when
 * missing) and the blackholes of ours inside the network to delete (an older subnet's).
 */
export function blackholeDiff(routes: nl.RouteInfo[], own: CIDR | undefined, network: CIDR): BlackholeDiff {
  const ours = routes.filter((r) => r.protocol === RTPROT_FLANNEL && r.type === nl.constants.RTN_BLACKHOLE && r.dst.ip.family === network.ip.family);
  const inNetwork = ours.filter((r) => r.dst.prefix >= network.prefix && contains(network, r.dst.ip));
  const keep = inNetwork.filter((r) => own && cidrEquals(r.dst, own) && r.metric === BLACKHOLE_METRIC);
  return {
    add: own && keep.length === 0 ? [own] : [],
    del: inNetwork.filter((r) => !keep.includes(r)),
  };
}

interface BlackholeReport {
  added: string[];
  removed: string[];
  errors: string[];
}

/** One route dump per family; adds or removes what blackholeDiff says. */
export function ensureBlackholeRoutes(sock: nl.NetlinkSocket, own: PerFamily<CIDR>, networks: PerFamily<CIDR>): BlackholeReport {
  const report: BlackholeReport = { added: [], removed: [], errors: [] };
  for (const f of [4, 6] as Family[]) {
    const network = networks[f];
    if (!network) continue;
    try {
      const d = blackholeDiff(nl.listRoutes(sock, { family: f, protocol: RTPROT_FLANNEL }), own[f], network);
      for (const r of d.del) {
        nl.deleteRouteIfPresent(sock, { dst: r.dst, table: r.table, metric: r.metric, protocol: RTPROT_FLANNEL, type: nl.constants.RTN_BLACKHOLE });
        report.removed.push(`blackhole ${formatCIDR(r.dst)} metric ${r.metric}`);
      }
      for (const dst of d.add) {
        nl.replaceRoute(sock, { dst, metric: BLACKHOLE_METRIC, protocol: RTPROT_FLANNEL, type: nl.constants.RTN_BLACKHOLE });
        report.added.push(`blackhole ${formatCIDR(dst)} metric ${BLACKHOLE_METRIC}`);
      }
    } catch (e) {
      report.errors.push(`blackhole route (IPv${f}): ${(e as Error).message}`);
    }
  }
  return report;
}
