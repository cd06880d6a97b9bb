// struct ndmsg requests and replies, shared by ARP/NDP neighbours and bridge FDB entries.
import { formatNeighbor, formatNeighborAttrs, parseNeighborFlags, parseNeighborState } from 'netlink/dist/rt/structs';
import type { NeighborAttrs } from 'netlink/dist/rt/structs';
import type { IP } from '../ip';
import { ipToBytes } from '../ip';
import { attrMap, attrStream, formatMac, ipFromAttr, parseMac, s32, u16 } from './attrs';
import { NDA } from './constants';

interface NdRequest {
  family: number;
  index: number;
  state?: number;
  flags?: number;
  dst?: IP;
  mac?: string;
}

export function neighPayload(r: NdRequest): Buffer {
  const attrs: NeighborAttrs = {};
  if (r.dst) attrs.dst = ipToBytes(r.dst);
  if (r.mac) attrs.lladdr = parseMac(r.mac);
  return attrStream((out) => {
    out.emit(formatNeighbor({
      family: r.family,
      ifindex: r.index,
      state: parseNeighborState(r.state ?? 0),
      flags: parseNeighborFlags(r.flags ?? 0),
    }));
    out.emit(formatNeighborAttrs(attrs));
  });
}

interface DecodedNeigh {
  family: number;
  index: number;
  state: number;
  flags: number;
  dst?: IP;
  mac: string;
}

export function decodeNeigh(payload: Buffer): DecodedNeigh | null {
  if (payload.length < 12) return null;
  const a = attrMap(payload.subarray(12));
  const d: DecodedNeigh = {
    family: payload[0]!,
    index: s32(payload, 4),
    state: u16(payload, 8),
    flags: payload[10]!,
    mac: formatMac(a.get(NDA.LLADDR)),
  };
  const dst = ipFromAttr(a.get(NDA.DST));
  if (dst) d.dst = dst;
  return d;
}
