// ARP/NDP neighbour entries (RTM_*NEIGH, AF_INET/AF_INET6).
import { FlagsGet, FlagsNew } from 'netlink/dist/constants';
import { putU32 } from 'netlink/dist/structs';
import { formatNeighbor, formatNeighborAttrs } from 'netlink/dist/rt/structs';
import type { Family, IP, Neighbour } from './types';
import type { NetlinkSocket } from './socket';
import type { NetlinkOp } from './batch';
import { afToFamily, attrStream, familyToAf } from './attrs';
import { AF_UNSPEC, NUD_PERMANENT, NUD_REACHABLE, RTM } from './constants';
import { decodeNeigh, neighPayload } from './neigh-codec';

/** The request of replaceNeighbour, for a batch (NetlinkSocket.requestBatch). */
export function replaceNeighbourOp(n: { index: number; ip: IP; mac: string; permanent: boolean }): NetlinkOp {
  return {
    type: RTM.NEWNEIGH,
    flags: FlagsNew.CREATE | FlagsNew.REPLACE,
    payload: neighPayload({
      family: familyToAf(n.ip.family),
      index: n.index,
      state: n.permanent ? NUD_PERMANENT : NUD_REACHABLE,
      dst: n.ip,
      mac: n.mac,
    }),
  };
}

/** Adds or replaces the entry for ip on index (`ip neigh replace … lladdr … [nud permanent]`). */
export function replaceNeighbour(s: NetlinkSocket, n: { index: number; ip: IP; mac: string; permanent: boolean }): void {
  const op = replaceNeighbourOp(n);
  s.request(op.type, op.flags, op.payload);
}

export function deleteNeighbourOp(index: number, ip: IP): NetlinkOp {
  return { type: RTM.DELNEIGH, flags: 0, payload: neighPayload({ family: familyToAf(ip.family), index, dst: ip }) };
}

/** ENOENT when there is no entry. */
export function deleteNeighbour(s: NetlinkSocket, index: number, ip: IP): void {
  const op = deleteNeighbourOp(index, ip);
  s.request(op.type, op.flags, op.payload);
}

/**
 * Neighbour entries. With an index, NDA_IFINDEX goes in the request: a kernel with strict dump
 * checking then walks only that device's entries (older kernels ignore it; the filter below
 * still applies).
 */
export function listNeighbours(s: NetlinkSocket, filter: { index?: number; family?: Family } = {}): Neighbour[] {
  const af = filter.family ? familyToAf(filter.family) : AF_UNSPEC;
  const req = attrStream((o) => {
    o.emit(formatNeighbor({ family: af }));
    if (filter.index !== undefined) o.emit(formatNeighborAttrs({ ifindex: putU32(filter.index) }));
  });
  const out: Neighbour[] = [];
  for (const r of s.request(RTM.GETNEIGH, FlagsGet.DUMP, req)) {
    const d = decodeNeigh(r);
    // An AF_UNSPEC dump also walks the bridge FDB (AF_BRIDGE): keep IP neighbours only.
    if (!d || !d.dst || !afToFamily(d.family)) continue;
    if (filter.family && d.dst.family !== filter.family) continue;
    if (filter.index !== undefined && d.index !== filter.index) continue;
    out.push({ index: d.index, ip: d.dst, mac: d.mac, state: d.state });
  }
  return out;
}
