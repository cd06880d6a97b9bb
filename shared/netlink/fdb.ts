// Forwarding-database entries (RTM_*NEIGH, AF_BRIDGE), e.g. a VXLAN device's remote VTEPs
// (`bridge fdb replace <mac> dev flannel.1 dst <ip> self permanent`).
import { FlagsGet, FlagsNew } from 'netlink/dist/constants';
import { formatNeighbor } from 'netlink/dist/rt/structs';
import type { FdbEntry, IP } from './types';
import type { NetlinkSocket } from './socket';
import type { NetlinkOp } from './batch';
import { AF_BRIDGE, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE, RTM } from './constants';
import { decodeNeigh, neighPayload } from './neigh-codec';

export interface FdbSpec {
  index: number;
  mac: string;
  dst: IP;
  permanent: boolean;
  /** NTF_SELF: the entry belongs to the device itself (vxlan), not to its bridge master. */
  self: boolean;
}

/** The request of replaceFdb, for a batch (NetlinkSocket.requestBatch). */
export function replaceFdbOp(f: FdbSpec): NetlinkOp {
  return {
    type: RTM.NEWNEIGH,
    flags: FlagsNew.CREATE | FlagsNew.REPLACE,
    payload: neighPayload({
      family: AF_BRIDGE,
      index: f.index,
      state: f.permanent ? NUD_PERMANENT : NUD_REACHABLE,
      flags: f.self ? NTF_SELF : NTF_MASTER,
      dst: f.dst,
      mac: f.mac,
    }),
  };
}

export function replaceFdb(s: NetlinkSocket, f: FdbSpec): void {
  const op = replaceFdbOp(f);
  s.request(op.type, op.flags, op.payload);
}

export function deleteFdbOp(f: { index: number; mac: string; dst?: IP; self?: boolean }): NetlinkOp {
  return {
    type: RTM.DELNEIGH,
    flags: 0,
    payload: neighPayload({
      family: AF_BRIDGE,
      index: f.index,
      state: NUD_NOARP,
      flags: f.self === false ? NTF_MASTER : NTF_SELF,
      ...(f.dst ? { dst: f.dst } : {}),
      mac: f.mac,
    }),
  };
}

/** ENOENT when there is no such entry. */
export function deleteFdb(s: NetlinkSocket, f: { index: number; mac: string; dst?: IP; self?: boolean }): void {
  const op = deleteFdbOp(f);
  s.request(op.type, op.flags, op.payload);
}

/**
 * FDB entries. With an index, ndm_ifindex is set in the request: a kernel with strict dump
 * checking then dumps only that port/device (older kernels ignore it; the filter below applies).
 */
export function listFdb(s: NetlinkSocket, index?: number): FdbEntry[] {
  const out: FdbEntry[] = [];
  const req = formatNeighbor({ family: AF_BRIDGE, ...(index !== undefined ? { ifindex: index } : {}) });
  for (const r of s.request(RTM.GETNEIGH, FlagsGet.DUMP, req)) {
    const d = decodeNeigh(r);
    if (!d || d.family !== AF_BRIDGE) continue;
    if (index !== undefined && d.index !== index) continue;
    const e: FdbEntry = { index: d.index, mac: d.mac, state: d.state, flags: d.flags };
    if (d.dst) e.dst = d.dst;
    out.push(e);
  }
  return out;
}
