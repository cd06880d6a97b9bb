// The allocation algorithm, independent of where reservations live (disk store in production,
// an in-memory store in tests). Callers hold the store's lock around a whole call.
import { type IP, formatIP, ipEquals, nextIP } from '../../shared/ip';
import { type Range, rangeContains, reservedReason } from './range';
import { type RangeSet, rangeFor, rangeSetContains, rangeSetString } from './range-set';

/** Reservations of one network. Methods are synchronous: they run under the caller's lock. */
export interface ReservationStore {
  /** Reserves `ip` for (id, ifname) if free and records it as set `rangeSetIndex`'s last reserved IP.
   *  Returns false when `ip` is already reserved. */
  reserve(id: string, ifname: string, ip: IP, rangeSetIndex: number): boolean;
  /** Removes the reservation of `ip` (no error if absent). */
  releaseIP(ip: IP): void;
  /** The last IP reserved in set `rangeSetIndex`, or undefined (absent or unreadable). */
  lastReservedIP(rangeSetIndex: number): IP | undefined;
  /** IPs reserved for (id, ifname), plus legacy reservations recorded with the id only. */
  getByID(id: string, ifname: string): IP[];
}

interface Allocation {
  ip: IP;
  range: Range;
  rangeSetIndex: number;
}

class AllocationError extends Error {
  override name = 'AllocationError';
}

/** Position of the cursor: index of the range in the set, and the address. */
interface Cursor {
  ri: number;
  ip: IP;
}

function advance(set: RangeSet, c: Cursor): Cursor {
  const r = set[c.ri]!;
  if (ipEquals(c.ip, r.rangeEnd)) {
    const ri = (c.ri + 1) % set.length;
    return { ri, ip: set[ri]!.rangeStart };
  }
  return { ri: c.ri, ip: nextIP(c.ip) };
}

/**
 * Every allocatable address of the set exactly once, round-robin: starting right after
 * `lastReserved` when it lies in the set (so a crash-looping container does not get the same
 * address back until the set was walked through), else at the first range's start; walking each
 * range start→end and wrapping to the next range. Gateways, network and IPv4 broadcast
 * addresses are skipped. Lazy: a /64 is fine.
 */
export function* iterateRangeSet(set: RangeSet, lastReserved?: IP): Generator<{ ip: IP; range: Range }> {
  let cur: Cursor = { ri: 0, ip: set[0]!.rangeStart };
  if (lastReserved) {
    const ri = set.findIndex((r) => rangeContains(r, lastReserved));
    if (ri !== -1) cur = advance(set, { ri, ip: lastReserved });
  }
  const start = cur;
  do {
    const r = set[cur.ri]!;
    if (reservedReason(r, cur.ip) === undefined) yield { ip: cur.ip, range: r };
    cur = advance(set, cur);
  } while (!(cur.ri === start.ri && ipEquals(cur.ip, start.ip)));
}

/**
 * Allocates one address of set `index` for (id, ifname): `requested` if given (it must be in the
 * set, not a gateway/network/broadcast address, and free), else the next free one.
 * `held` = what (id, ifname) already holds in the store; holding one in this set is an error
 * (the spec forbids a second ADD for the same attachment without DEL).
 */
export function allocateInSet(
  store: ReservationStore,
  set: RangeSet,
  index: number,
  id: string,
  ifname: string,
  requested: IP | undefined,
  held: readonly IP[],
): Allocation {
  const dup = held.find((ip) => rangeSetContains(set, ip));
  if (dup) throw new AllocationError(`${formatIP(dup)} has been allocated to ${id}, duplicate allocation is not allowed`);
  if (requested) {
    const r = rangeFor(set, requested);
    if (!r) throw new AllocationError(`${formatIP(requested)} not in range set ${rangeSetString(set)}`);
    const why = reservedReason(r, requested);
    if (why === 'gateway') throw new AllocationError(`requested ip ${formatIP(requested)} is subnet's gateway`);
    if (why) throw new AllocationError(`requested ip ${formatIP(requested)} is the ${why} address of subnet ${formatIP(r.subnet.ip)}/${r.subnet.prefix}`);
    if (!store.reserve(id, ifname, requested, index)) {
      throw new AllocationError(`requested IP address ${formatIP(requested)} is not available in range set ${rangeSetString(set)}`);
    }
    return { ip: requested, range: r, rangeSetIndex: index };
  }
  for (const c of iterateRangeSet(set, store.lastReservedIP(index))) {
    if (store.reserve(id, ifname, c.ip, index)) return { ip: c.ip, range: c.range, rangeSetIndex: index };
  }
  throw new AllocationError(`no IP addresses available in range set: ${rangeSetString(set)}`);
}

/**
 * One address per range set, all or nothing: a requested IP goes to the first set containing it
 * (each set takes at most one, in request order); on any failure every address reserved by this
 * call is released again. Requested IPs that fit no set are an error.
 */
export function allocateAll(
  store: ReservationStore,
  sets: readonly RangeSet[],
  id: string,
  ifname: string,
  requested: readonly IP[],
): Allocation[] {
  // Requests that no set will take fail the call before anything is reserved: a reservation
  // released again would still have moved the sets' round-robin hints (last_reserved_ip.N).
  const unplaced = [...requested];
  for (const set of sets) {
    const k = unplaced.findIndex((ip) => rangeSetContains(set, ip));
    if (k !== -1) unplaced.splice(k, 1);
  }
  if (unplaced.length > 0) throw new AllocationError(`failed to allocate all requested IPs: ${unplaced.map(formatIP).join(' ')}`);
  const pending = [...requested];
  const done: Allocation[] = [];
  const undo = (): void => {
    for (const a of done) {
      try {
        store.releaseIP(a.ip);
      } catch {
        /* keep the allocation error; a leftover file is reclaimed by DEL or GC */
      }
    }
  };
  const held = store.getByID(id, ifname);
  try {
    sets.forEach((set, idx) => {
      const k = pending.findIndex((ip) => rangeSetContains(set, ip));
      const want = k === -1 ? undefined : pending.splice(k, 1)[0];
      try {
        done.push(allocateInSet(store, set, idx, id, ifname, want, held));
      } catch (e) {
        throw new AllocationError(`failed to allocate for range ${idx}: ${(e as Error).message}`);
      }
    });
    if (pending.length > 0) {
      throw new AllocationError(`failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`);
    }
  } catch (e) {
    undo();
    throw e;
  }
  return done;
}
