// Lease list → the kernel objects a backend wants, and the difference between that and what the
// kernel has (pure: no I/O). One code path for both families: the family is a parameter and
// every address carries its own.
import type { CIDR, Family, IP, Lease } from '../types';
import { compareIP, contains, formatCIDR, formatIP, ipEquals } from '../../shared/ip';
import type { FdbEntry, Neighbour, RouteInfo } from '../../shared/netlink';
import { constants } from '../../shared/netlink';
import { parseVxlanBackendData } from '../backend/vxlan-data';

export interface Dev {
  index: number;
  name: string;
}

/** `ip neigh replace <ip> lladdr <mac> dev <dev> nud permanent` */
interface NeighObj {
  dev: Dev;
  ip: IP;
  mac: string;
}

/** `bridge fdb replace <mac> dev <dev> dst <dst> self permanent` */
interface FdbObj {
  dev: Dev;
  mac: string;
  dst: IP;
}

/** `ip route replace <dst> via <gw> dev <dev> [onlink] proto flannel` */
interface RouteObj {
  dst: CIDR;
  gw: IP;
  dev: Dev;
  onlink: boolean;
}

export interface DesiredState {
  neighs: NeighObj[];
  fdb: FdbObj[];
  routes: RouteObj[];
}

const emptyState = (): DesiredState => ({ neighs: [], fdb: [], routes: [] });

type Warn = (msg: string) => void;

/**
 * The lease's subnet and public IP of this family; a warning and null when one is missing, or
 * when the subnet lies outside Network (its route would not count as ours, so it could never be
 * removed again).
 */
function leaseAddrs(lease: Lease, family: Family, network: CIDR, warn: Warn): { subnet: CIDR; publicIP: IP } | null {
  const subnet = lease.subnets[family];
  if (!subnet) return null; // a v4-only peer in a dual-stack network: nothing to do for v6
  if (subnet.prefix < network.prefix || !contains(network, subnet.ip)) {
    warn(`lease ${lease.keyName}: ${formatCIDR(subnet)} is outside Network ${formatCIDR(network)}, ignored`);
    return null;
  }
  const publicIP = lease.attrs.publicIP[family];
  if (!publicIP) {
    warn(`lease ${lease.keyName}: no IPv${family} PublicIP, its ${formatCIDR(subnet)} is not routed`);
    return null;
  }
  return { subnet, publicIP };
}

function ofType(lease: Lease, type: string, warn: Warn): boolean {
  if (lease.attrs.backendType === type) return true;
  warn(`lease ${lease.keyName}: BackendType ${JSON.stringify(lease.attrs.backendType)} is not ${JSON.stringify(type)}, ignored`);
  return false;
}

/**
 * Whether ip is reached without a gateway through the interface extIndex, by longest-prefix match
 * over one dump of the main table (what `ip route get` answers for a plain destination, without
 * one syscall per peer). DirectRouting uses it to send same-L2 peers' traffic unencapsulated.
 */
export function sameL2(ip: IP, routes: RouteInfo[], extIndex: number): boolean {
  let best: RouteInfo | undefined;
  for (const r of routes) {
    if (r.type !== constants.RTN_UNICAST || r.dst.ip.family !== ip.family || !contains(r.dst, ip)) continue;
    if (!best || r.dst.prefix > best.dst.prefix || (r.dst.prefix === best.dst.prefix && r.metric < best.metric)) best = r;
  }
  return !!best && best.gw === undefined && best.index === extIndex;
}

interface VxlanDesiredCtx {
  family: Family;
  /** This family's Network. */
  network: CIDR;
  dev: Dev;
  ext: Dev;
  /** DirectRouting: main-table routes of this family (for sameL2); undefined when off. */
  directRoutes?: RouteInfo[];
}

/**
 * vxlan (§5): per remote lease, ARP `<subnet>.0 → VtepMAC`, FDB `VtepMAC → PublicIP`, and the
 * route `<subnet> via <subnet>.0 dev flannel.N onlink` (onlink: the gateway is the peer's
 * flannel.N address, which no connected prefix covers; the permanent ARP entry resolves it, so
 * the kernel never broadcasts for it). A DirectRouting peer on our L2 gets
 * `<subnet> via <PublicIP> dev <ext>` instead (its FDB entry is kept: harmless).
 */
export function vxlanDesired(leases: Lease[], ctx: VxlanDesiredCtx, warn: Warn): DesiredState {
  const out = emptyState();
  for (const lease of leases) {
    if (!ofType(lease, 'vxlan', warn)) continue;
    const a = leaseAddrs(lease, ctx.family, ctx.network, warn);
    if (!a) continue;
    const data = parseVxlanBackendData(lease.attrs.backendData[ctx.family]);
    if (typeof data === 'string') {
      warn(`lease ${lease.keyName}: IPv${ctx.family} BackendData ${data}, skipped`);
      continue;
    }
    const gw = a.subnet.ip;
    if (ctx.directRoutes && sameL2(a.publicIP, ctx.directRoutes, ctx.ext.index)) {
      out.fdb.push({ dev: ctx.dev, mac: data.vtepMac, dst: a.publicIP });
      out.routes.push({ dst: a.subnet, gw: a.publicIP, dev: ctx.ext, onlink: false });
      continue;
    }
    out.neighs.push({ dev: ctx.dev, ip: gw, mac: data.vtepMac });
    out.fdb.push({ dev: ctx.dev, mac: data.vtepMac, dst: a.publicIP });
    out.routes.push({ dst: a.subnet, gw, dev: ctx.dev, onlink: true });
  }
  return dedupe(out, warn);
}

/** host-gw (§6): per remote lease, `<subnet> via <PublicIP> dev <ext>`. */
export function hostGwDesired(leases: Lease[], family: Family, network: CIDR, ext: Dev, warn: Warn): DesiredState {
  const out = emptyState();
  for (const lease of leases) {
    if (!ofType(lease, 'host-gw', warn)) continue;
    const a = leaseAddrs(lease, family, network, warn);
    if (!a) continue;
    out.routes.push({ dst: a.subnet, gw: a.publicIP, dev: ext, onlink: false });
  }
  return dedupe(out, warn);
}

// Keys: what the kernel itself keys the object by.
const neighKey = (n: { dev: Dev; ip: IP } | Neighbour): string => `${'dev' in n ? n.dev.index : n.index}|${formatIP(n.ip)}`;
const fdbKey = (f: { index: number; mac: string; dst: IP }): string => `${f.index}|${f.mac.toLowerCase()}|${formatIP(f.dst)}`;
const routeKey = (dst: CIDR): string => formatCIDR(dst);

/** Two leases claiming one subnet (or one VtepMAC) cannot both win: the first does. */
function dedupe(s: DesiredState, warn: Warn): DesiredState {
  const seen = new Set<string>();
  const routes = s.routes.filter((r) => {
    const k = routeKey(r.dst);
    if (seen.has(k)) {
      warn(`two leases want a route to ${k}; the first one is used`);
      return false;
    }
    seen.add(k);
    return true;
  });
  const nseen = new Set<string>();
  const neighs = s.neighs.filter((n) => !nseen.has(neighKey(n)) && !!nseen.add(neighKey(n)));
  // `bridge fdb replace` keeps one remote per MAC: two leases with one VtepMAC cannot both have theirs.
  const fseen = new Set<string>();
  const fdb = s.fdb.filter((f) => {
    const k = `${f.dev.index}|${f.mac.toLowerCase()}`;
    if (fseen.has(k)) {
      warn(`two leases publish VtepMAC ${f.mac}; the first one's FDB entry is used`);
      return false;
    }
    fseen.add(k);
    return true;
  });
  return { neighs, fdb, routes };
}

/** The objects found in the kernel that this network owns (see ownership.ts). */
export interface ActualState {
  neighs: Neighbour[];
  fdb: FdbEntry[];
  routes: RouteInfo[];
}

/** What to write: `add` are created or replaced, `del` removed. */
export interface Diff {
  neigh: { add: NeighObj[]; del: Neighbour[] };
  fdb: { add: FdbObj[]; del: FdbEntry[] };
  route: { add: RouteObj[]; del: RouteInfo[] };
}

export const isEmptyDiff = (d: Diff): boolean =>
  !d.neigh.add.length && !d.neigh.del.length && !d.fdb.add.length && !d.fdb.del.length && !d.route.add.length && !d.route.del.length;

const sameOpt = (a: IP | undefined, b: IP | undefined): boolean => (a && b ? ipEquals(a, b) : a === b);

/**
 * Full compare of desired against actual (owned objects only). A neighbour whose MAC changed and
 * a route whose gateway, device or onlink flag changed are replaced in place (`add`: the kernel's
 * REPLACE keeps traffic flowing); an FDB entry is keyed by (MAC, dst) like the kernel's vxlan
 * remote list, so a changed PublicIP deletes the old remote and adds the new one.
 */
export function diff(desired: DesiredState, actual: ActualState): Diff {
  const out: Diff = { neigh: { add: [], del: [] }, fdb: { add: [], del: [] }, route: { add: [], del: [] } };

  const aNeigh = new Map(actual.neighs.map((n) => [neighKey(n), n]));
  const dNeigh = new Set<string>();
  for (const n of desired.neighs) {
    const k = neighKey(n);
    dNeigh.add(k);
    const have = aNeigh.get(k);
    if (!have || have.mac.toLowerCase() !== n.mac.toLowerCase()) out.neigh.add.push(n);
  }
  for (const [k, n] of aNeigh) if (!dNeigh.has(k)) out.neigh.del.push(n);

  const aFdb = new Map(actual.fdb.filter((f) => f.dst).map((f) => [fdbKey(f as { index: number; mac: string; dst: IP }), f]));
  const dFdb = new Set<string>();
  for (const f of desired.fdb) {
    const k = fdbKey({ index: f.dev.index, mac: f.mac, dst: f.dst });
    dFdb.add(k);
    if (!aFdb.has(k)) out.fdb.add.push(f);
  }
  for (const [k, f] of aFdb) if (!dFdb.has(k)) out.fdb.del.push(f);

  // An ECMP route decodes to one RouteInfo per next hop; ours are single-hop, so a second hop
  // for the same dst makes it different.
  const aRoute = new Map<string, RouteInfo[]>();
  for (const r of actual.routes) {
    const k = routeKey(r.dst);
    aRoute.set(k, [...(aRoute.get(k) ?? []), r]);
  }
  const dRoute = new Set<string>();
  for (const r of desired.routes) {
    const k = routeKey(r.dst);
    dRoute.add(k);
    const have = aRoute.get(k);
    const same = have && have.length === 1 &&
      sameOpt(have[0]!.gw, r.gw) && have[0]!.index === r.dev.index &&
      ((have[0]!.flags & constants.RTNH_F_ONLINK) !== 0) === r.onlink;
    if (!same) out.route.add.push(r);
  }
  for (const [k, rs] of aRoute) if (!dRoute.has(k)) out.route.del.push(...rs);

  out.route.add.sort((a, b) => compareIP(a.dst.ip, b.dst.ip));
  return out;
}

/** Human lines for reports and logs, in iproute2's words. */
export const describeNeigh = (n: { ip: IP; mac: string }, dev: string): string =>
  `neigh ${formatIP(n.ip)} lladdr ${n.mac} dev ${dev} nud permanent`;
export const describeFdb = (f: { mac: string; dst?: IP }, dev: string): string =>
  `fdb ${f.mac} dev ${dev}${f.dst ? ` dst ${formatIP(f.dst)}` : ''} self permanent`;
export const describeRoute = (r: { dst: CIDR; gw?: IP; onlink?: boolean }, dev: string): string =>
  `route ${formatCIDR(r.dst)}${r.gw ? ` via ${formatIP(r.gw)}` : ''} dev ${dev}${r.onlink ? ' onlink' : ''}`;
