// Makes the kernel match a desired state: one dump each of neighbours and FDB (of our device) and
// routes (of our protocol), a pure diff, then only the differences written. Cheap enough to run
// every few seconds with a thousand peers (three dumps, no per-entry checks).
import type { CIDR, Family } from '../types';
import type { NetlinkSocket } from '../../shared/netlink';
import * as nl from '../../shared/netlink';
import { diff, describeFdb, describeNeigh, describeRoute } from './desired';
import type { ActualState, DesiredState, Diff } from './desired';
import { RTPROT_FLANNEL, ownedFdb, ownedNeighbours, ownedRoutes } from './ownership';

export interface ReconcileReport {
  added: string[];
  removed: string[];
  errors: string[];
}

export const emptyReport = (): ReconcileReport => ({ added: [], removed: [], errors: [] });

/** Where this network's owned objects live, for one family. */
interface OwnedScope {
  family: Family;
  /** The network's Network of this family: our routes have their dst inside it. */
  network: CIDR;
  /** Our flannel.<VNI> device, whose permanent neighbours and FDB entries are ours (vxlan). */
  dev?: { index: number; name: string };
}

/** The owned objects as the kernel has them now (three dumps at most). */
export function readOwned(sock: NetlinkSocket, scope: OwnedScope): ActualState {
  const routes = ownedRoutes(nl.listRoutes(sock, { family: scope.family, protocol: RTPROT_FLANNEL }), scope.network);
  if (!scope.dev) return { neighs: [], fdb: [], routes };
  return {
    neighs: ownedNeighbours(nl.listNeighbours(sock, { index: scope.dev.index, family: scope.family }), scope.dev.index),
    // The FDB of a vxlan device holds both families' remotes: keep this family's.
    fdb: ownedFdb(nl.listFdb(sock, scope.dev.index), scope.dev.index).filter((f) => f.dst!.family === scope.family),
    routes,
  };
}

const nameOf = (names: Map<number, string>, index: number | undefined): string =>
  index === undefined ? '?' : names.get(index) ?? `if${index}`;

const isOnlink = (r: { flags: number }): boolean => (r.flags & nl.constants.RTNH_F_ONLINK) !== 0;

/** What the kernel held of ours, in the report's words (the /debug/state view of a backend). */
export function describeActual(a: ActualState, names: Map<number, string>): { neighs: string[]; fdb: string[]; routes: string[] } {
  return {
    neighs: a.neighs.map((x) => describeNeigh(x, nameOf(names, x.index))),
    fdb: a.fdb.map((x) => describeFdb(x, nameOf(names, x.index))),
    routes: a.routes.map((r) => describeRoute({ ...r, onlink: isOnlink(r) }, nameOf(names, r.index))),
  };
}


/** One write of a diff: its request, the line for the report, and whether "absent" is fine. */
interface PlannedWrite {
  kind: 'add' | 'remove';
  line: string;
  op: nl.NetlinkOp;
  ignoreMissing: boolean;
}

/**
 * Writes a diff. Removals first (route, then FDB, then neighbour: the route is what sends
 * traffic to the others), then additions in the opposite order (neighbour and FDB before the
 * route, or the kernel would ARP for the gateway). The writes go to the kernel in batches
 * (NetlinkSocket.requestBatch), which keeps this order; each failure is reported for its own
 * entry and the rest goes on.
 */
function applyDiff(sock: NetlinkSocket, d: Diff, names: Map<number, string>, report: ReconcileReport): void {
  const planned: PlannedWrite[] = [];
  const plan = (kind: PlannedWrite['kind'], line: string, build: () => nl.NetlinkOp, ignoreMissing = false): void => {
    try {
      planned.push({ kind, line, op: build(), ignoreMissing });
    } catch (e) {
      // An entry the encoder refuses (e.g. a gateway of the other family) fails alone.
      report.errors.push(`${kind} ${line}: ${(e as Error).message}`);
    }
  };
  for (const r of d.route.del) {
    plan('remove', describeRoute({ ...r, onlink: isOnlink(r) }, nameOf(names, r.index)), () =>
      nl.delRouteOp({
        dst: r.dst, table: r.table, protocol: RTPROT_FLANNEL,
        ...(r.gw ? { gw: r.gw } : {}), ...(r.index !== undefined ? { index: r.index } : {}),
      }), true);
  }
  for (const f of d.fdb.del) {
    plan('remove', describeFdb(f, nameOf(names, f.index)), () =>
      nl.deleteFdbOp({ index: f.index, mac: f.mac, ...(f.dst ? { dst: f.dst } : {}), self: true }), true);
  }
  for (const n of d.neigh.del) {
    plan('remove', describeNeigh(n, nameOf(names, n.index)), () => nl.deleteNeighbourOp(n.index, n.ip), true);
  }
  for (const n of d.neigh.add) {
    plan('add', describeNeigh(n, n.dev.name), () => nl.replaceNeighbourOp({ index: n.dev.index, ip: n.ip, mac: n.mac, permanent: true }));
  }
  for (const f of d.fdb.add) {
    plan('add', describeFdb(f, f.dev.name), () => nl.replaceFdbOp({ index: f.dev.index, mac: f.mac, dst: f.dst, permanent: true, self: true }));
  }
  for (const r of d.route.add) {
    plan('add', describeRoute(r, r.dev.name), () =>
      nl.replaceRouteOp({ dst: r.dst, gw: r.gw, index: r.dev.index, onlink: r.onlink, protocol: RTPROT_FLANNEL }));
  }
  if (!planned.length) return;
  const results = sock.requestBatch(planned.map((p) => p.op));
  planned.forEach((p, i) => {
    const err = results[i];
    if (!err) (p.kind === 'add' ? report.added : report.removed).push(p.line);
    else if (!(p.ignoreMissing && nl.isNotFound(err))) report.errors.push(`${p.kind} ${p.line}: ${err.message}`);
  });
}

/** One family's full pass: read what we own, diff against desired, write the differences. */
export function reconcileScope(sock: NetlinkSocket, scope: OwnedScope, desired: DesiredState, names: Map<number, string>, report: ReconcileReport): ActualState {
  let actual: ActualState;
  try {
    actual = readOwned(sock, scope);
  } catch (e) {
    report.errors.push(`read IPv${scope.family} state: ${(e as Error).message}`);
    return { neighs: [], fdb: [], routes: [] };
  }
  applyDiff(sock, diff(desired, actual), names, report);
  return actual;
}
