// Routes (RTM_*ROUTE).
import { FlagsGet, FlagsNew } from 'netlink/dist/constants';
import { putU32, writeU32 } from 'netlink/dist/structs';
import { formatRoute, formatRouteAttrs } from 'netlink/dist/rt/structs';
import type { RouteAttrs } from 'netlink/dist/rt/structs';
import { bitsOf, ipToBytes } from '../ip';
import type { Family, IP, RouteInfo, RouteSpec } from './types';
import type { NetlinkSocket } from './socket';
import type { NetlinkOp } from './batch';
import { afToFamily, attrMap, attrStream, familyToAf, ipFromAttr, s32, u16, u32 } from './attrs';
import {
  RTA, RTM, RTM_F_CLONED, RTN_UNICAST, RTNH_F_ONLINK, RTPROT_BOOT,
  RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RT_TABLE_UNSPEC,
} from './constants';
import { isNotFound } from './errors';

type Mode = 'add' | 'replace' | 'del';

/** struct rtmsg; tables above 255 go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC. */
function rtmsg(f: { family: number; dstLen: number; table: number; protocol: number; scope: number; type: number; flags: number }): Buffer {
  const b = formatRoute({
    family: f.family,
    dstLen: f.dstLen,
    table: f.table < 256 ? f.table : RT_TABLE_UNSPEC,
    protocol: f.protocol,
    scope: f.scope,
    type: f.type,
  });
  writeU32.call(b, f.flags >>> 0, 8);
  return b;
}

export function routePayload(r: RouteSpec, mode: Mode): Buffer {
  const family = r.dst.ip.family;
  if (r.gw && r.gw.family !== family) {
    throw new TypeError(`route gateway family (IPv${r.gw.family}) differs from destination family (IPv${family})`);
  }
  const table = r.table ?? RT_TABLE_MAIN;
  // Deleting matches any scope with RT_SCOPE_NOWHERE, and any protocol/type with 0.
  // A blackhole/unreachable/prohibit route has no next hop: universe scope, as iproute2 sends it.
  const typed = r.type !== undefined && r.type !== RTN_UNICAST;
  const scope = r.scope ?? (mode === 'del' ? RT_SCOPE_NOWHERE : r.gw || typed ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  const attrs: RouteAttrs = { dst: ipToBytes(r.dst.ip) };
  if (r.gw) attrs.gateway = ipToBytes(r.gw);
  if (r.index !== undefined) attrs.oif = r.index;
  if (r.metric !== undefined) attrs.priority = r.metric;
  attrs.table = table;
  if (mode !== 'del' && (r.mtu !== undefined || r.advmss !== undefined)) {
    attrs.metrics = {};
    if (r.mtu !== undefined) attrs.metrics.mtu = putU32(r.mtu);
    if (r.advmss !== undefined) attrs.metrics.advmss = putU32(r.advmss);
  }
  return attrStream((out) => {
    out.emit(rtmsg({
      family: familyToAf(family),
      dstLen: r.dst.prefix,
      table,
      protocol: mode === 'del' ? r.protocol ?? 0 : r.protocol ?? RTPROT_BOOT,
      scope,
      type: mode === 'del' ? r.type ?? 0 : r.type ?? RTN_UNICAST,
      flags: r.onlink ? RTNH_F_ONLINK : 0,
    }));
    out.emit(formatRouteAttrs(attrs));
  });
}

/** Adds a route; EEXIST when the same route (dst, table, metric…) exists. */
export function addRoute(s: NetlinkSocket, r: RouteSpec): void {
  s.request(RTM.NEWROUTE, FlagsNew.CREATE | FlagsNew.EXCL, routePayload(r, 'add'));
}

/** The request of replaceRoute, for a batch (NetlinkSocket.requestBatch). */
export const replaceRouteOp = (r: RouteSpec): NetlinkOp =>
  ({ type: RTM.NEWROUTE, flags: FlagsNew.CREATE | FlagsNew.REPLACE, payload: routePayload(r, 'replace') });

/** Adds or replaces the route with this dst/table/metric. */
export function replaceRoute(s: NetlinkSocket, r: RouteSpec): void {
  const op = replaceRouteOp(r);
  s.request(op.type, op.flags, op.payload);
}

export const delRouteOp = (r: RouteSpec): NetlinkOp => ({ type: RTM.DELROUTE, flags: 0, payload: routePayload(r, 'del') });

/** Deletes a route; ESRCH (IPv4) or ENOENT (IPv6) when absent (see isNotFound). */
export function delRoute(s: NetlinkSocket, r: RouteSpec): void {
  const op = delRouteOp(r);
  s.request(op.type, op.flags, op.payload);
}

/** One RouteInfo per next hop (an ECMP route's RTA_MULTIPATH gives several). */
export function decodeRoute(payload: Buffer): RouteInfo[] {
  if (payload.length < 12) return [];
  const family = afToFamily(payload[0]!);
  if (!family) return [];
  const a = attrMap(payload.subarray(12));
  const dstIp: IP = ipFromAttr(a.get(RTA.DST)) ?? { family, value: 0n };
  const tableAttr = a.get(RTA.TABLE);
  const base: RouteInfo = {
    dst: { ip: dstIp, prefix: payload[1]! },
    scope: payload[6]!,
    metric: a.has(RTA.PRIORITY) ? u32(a.get(RTA.PRIORITY)!) : 0,
    table: tableAttr && tableAttr.length >= 4 ? u32(tableAttr) : payload[4]!,
    protocol: payload[5]!,
    type: payload[7]!,
    flags: u32(payload, 8),
  };
  const prefsrc = ipFromAttr(a.get(RTA.PREFSRC));
  if (prefsrc) base.prefsrc = prefsrc;
  const mp = a.get(RTA.MULTIPATH);
  if (!mp) {
    const r: RouteInfo = { ...base };
    const gw = ipFromAttr(a.get(RTA.GATEWAY));
    if (gw) r.gw = gw;
    if (a.has(RTA.OIF)) r.index = u32(a.get(RTA.OIF)!);
    return [r];
  }
  // struct rtnexthop { u16 len; u8 flags; u8 hops; s32 ifindex; } followed by its attributes.
  const out: RouteInfo[] = [];
  for (let off = 0; off + 8 <= mp.length; ) {
    const len = u16(mp, off);
    if (len < 8 || off + len > mp.length) break;
    const r: RouteInfo = { ...base, index: s32(mp, off + 4), flags: base.flags | mp[off + 2]! };
    const gw = ipFromAttr(attrMap(mp.subarray(off + 8, off + len)).get(RTA.GATEWAY));
    if (gw) r.gw = gw;
    out.push(r);
    off += (len + 3) & ~3;
  }
  return out;
}

export interface RouteFilter {
  family?: Family;
  /** Default: the main table (254), like `ip route show`; 0 = every table. */
  table?: number;
  index?: number;
  /** Only routes of this RTPROT_* (e.g. a daemon's own tag). */
  protocol?: number;
}

/**
 * Routes (cloned cache entries excluded). The protocol also goes in the request header: a kernel
 * with strict dump checking (NETLINK_GET_STRICT_CHK, which the addon sets) filters on it itself,
 * so a dump for one protocol does not copy the whole table; older kernels ignore it and the
 * filter below still applies.
 */
export function listRoutes(s: NetlinkSocket, filter: RouteFilter = {}): RouteInfo[] {
  const families: Family[] = filter.family ? [filter.family] : [4, 6];
  const table = filter.table ?? RT_TABLE_MAIN;
  const out: RouteInfo[] = [];
  for (const f of families) {
    // No table in the header: a strict kernel answers ENOENT for a table that does not exist.
    const header = formatRoute({ family: familyToAf(f), protocol: filter.protocol ?? 0 });
    for (const r of s.request(RTM.GETROUTE, FlagsGet.DUMP, header)) {
      if (r.length >= 12 && u32(r, 8) & RTM_F_CLONED) continue;
      for (const ri of decodeRoute(r)) {
        if (table !== 0 && ri.table !== table) continue;
        if (filter.index !== undefined && ri.index !== filter.index) continue;
        if (filter.protocol !== undefined && ri.protocol !== filter.protocol) continue;
        out.push(ri);
      }
    }
  }
  return out;
}

/** The route the kernel would use for dst (`ip route get`); null when unreachable. */
export function routeGet(s: NetlinkSocket, dst: IP): RouteInfo | null {
  const payload = attrStream((out) => {
    out.emit(formatRoute({ family: familyToAf(dst.family), dstLen: bitsOf(dst.family) }));
    out.emit(formatRouteAttrs({ dst: ipToBytes(dst) }));
  });
  try {
    const replies = s.request(RTM.GETROUTE, 0, payload);
    return replies.length ? decodeRoute(replies[0]!)[0] ?? null : null;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || isNotFound(e)) return null;
    throw e;
  }
}
