// The extra, random delay before a re-list of all leases. When etcd restarts or compacts, every
// node's watch breaks at the same moment; without a spread, N nodes each range over all N leases
// at once (N² keys read in one burst, the reference's thundering herd on etcd restart). The spread
// grows with the number of leases — the proxy for the number of nodes — and is bounded, so a
// small cluster resumes at once and a large one within a few seconds.

/** Spread per known lease: 1 s per 1000 leases. */
const RELIST_JITTER_PER_LEASE_MS = 1;
/** Never more than this, whatever the count. */
export const RELIST_JITTER_MAX_MS = 5000;

export interface RelistJitterOptions {
  perLeaseMs?: number;
  maxMs?: number;
}

/** A delay uniformly drawn in [0, min(max, count × perLease)) ms; 0 with no leases known. */
export function relistJitterMs(leaseCount: number, random: () => number, o: RelistJitterOptions = {}): number {
  const per = o.perLeaseMs ?? RELIST_JITTER_PER_LEASE_MS;
  const max = o.maxMs ?? RELIST_JITTER_MAX_MS;
  const span = Math.min(max, Math.max(0, leaseCount) * per);
  if (!(span > 0)) return 0;
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * span);
}
