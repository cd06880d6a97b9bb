// Bridge-port settings and port VLANs (AF_BRIDGE requests, handled by the bridge driver's
// ndo_bridge_setlink / dellink / getlink).
import { FlagsGet } from 'netlink/dist/constants';
import { putU8, putU16, putU32 } from 'netlink/dist/structs';
import * as ifla from 'netlink/dist/rt/ifla';
import type { BridgePortFlags, BridgeVlan } from './types';
import type { NetlinkSocket } from './socket';
import { attrList, attrMap, attrStream, pushNested, u16, s32 } from './attrs';
import {
  AF_BRIDGE, BRIDGE_FLAGS_SELF, BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED,
  IFLA, IFLA_BRIDGE_FLAGS, IFLA_BRIDGE_VLAN_INFO, RTEXT_FILTER_BRVLAN, RTM,
} from './constants';
import { getLinkDecoded } from './links';
import { ifinfomsg } from './link-codec';

const BRIDGE_VLAN_INFO_RANGE_BEGIN = 0x8;
const BRIDGE_VLAN_INFO_RANGE_END = 0x10;

/**
 * The request body for hairpin/isolated: IFLA_PROTINFO must carry NLA_F_NESTED, otherwise
 * br_setlink treats its payload as a bare STP state byte (the pre-nesting ABI).
 */
export function bridgePortFlagsPayload(index: number, flags: BridgePortFlags): Buffer {
  const port: ifla.BridgePort = {};
  if (flags.hairpin !== undefined) port.mode = flags.hairpin ? ifla.BridgePortMode.HAIRPIN : ifla.BridgePortMode.UNSPEC;
  if (flags.isolated !== undefined) port.isolated = putU8(flags.isolated ? 1 : 0);
  return attrStream((out) => {
    out.emit(ifinfomsg(index, AF_BRIDGE));
    pushNested(out, IFLA.PROTINFO, ifla.formatBridgePort(port));
  });
}

export function setBridgePortFlags(s: NetlinkSocket, index: number, flags: BridgePortFlags): void {
  if (flags.hairpin === undefined && flags.isolated === undefined) return;
  s.request(RTM.SETLINK, 0, bridgePortFlagsPayload(index, flags));
}

/** Reads the port's IFLA_INFO_SLAVE_DATA (what `ip -d link` shows as bridge_slave). */
export function getBridgePortFlags(s: NetlinkSocket, index: number): { hairpin: boolean; isolated: boolean } {
  const d = getLinkDecoded(s, { index });
  if (!d) throw Object.assign(new Error(`link index ${index} not found`), { code: 'ENODEV', errno: 19 });
  if (d.slaveKind !== 'bridge' || !d.slaveData) {
    throw Object.assign(new Error(`link ${JSON.stringify(d.link.name)} is not a bridge port`), { code: 'EINVAL', errno: 22 });
  }
  const p = ifla.parseBridgePort(d.slaveData);
  return { hairpin: (p.mode ?? 0) === ifla.BridgePortMode.HAIRPIN, isolated: !!p.isolated && p.isolated[0] === 1 };
}

export interface BridgeVlanOpts {
  pvid?: boolean;
  untagged?: boolean;
  /** Apply to the bridge device itself (`bridge vlan … self`) rather than a port. */
  self?: boolean;
}

export function bridgeVlanPayload(index: number, vid: number, opts: BridgeVlanOpts = {}): Buffer {
  if (!Number.isInteger(vid) || vid < 1 || vid > 4094) throw new RangeError(`invalid VLAN ID ${vid} (must be between 1 and 4094)`);
  let vflags = 0;
  if (opts.pvid) vflags |= BRIDGE_VLAN_INFO_PVID;
  if (opts.untagged) vflags |= BRIDGE_VLAN_INFO_UNTAGGED;
  return attrStream((out) => {
    out.emit(ifinfomsg(index, AF_BRIDGE));
    // Byte-for-byte what `bridge vlan add|del dev <dev> vid <vid> [pvid] [untagged] [self]`
    // sends: without IFLA_BRIDGE_FLAGS the request applies to the port's master.
    out.push(IFLA.AF_SPEC, (spec) => {
      if (opts.self) spec.push(IFLA_BRIDGE_FLAGS, putU16(BRIDGE_FLAGS_SELF));
      spec.push(IFLA_BRIDGE_VLAN_INFO, ifla.formatBridgeVlanInfo({ flags: vflags, vid }));
    });
  });
}

export function addBridgeVlan(s: NetlinkSocket, index: number, vid: number, opts: BridgeVlanOpts = {}): void {
  s.request(RTM.SETLINK, 0, bridgeVlanPayload(index, vid, opts));
}

export function delBridgeVlan(s: NetlinkSocket, index: number, vid: number, opts: { self?: boolean } = {}): void {
  s.request(RTM.DELLINK, 0, bridgeVlanPayload(index, vid, opts));
}

/** VLAN entries of an IFLA_AF_SPEC payload (ranges expanded). */
export function decodeBridgeVlans(afSpec: Buffer): BridgeVlan[] {
  const out: BridgeVlan[] = [];
  let rangeStart: number | undefined;
  for (const a of attrList(afSpec)) {
    if (a.type !== IFLA_BRIDGE_VLAN_INFO || a.data.length < 4) continue;
    const flags = u16(a.data, 0);
    const vid = u16(a.data, 2);
    const pvid = (flags & BRIDGE_VLAN_INFO_PVID) !== 0;
    const untagged = (flags & BRIDGE_VLAN_INFO_UNTAGGED) !== 0;
    if (flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
      rangeStart = vid;
      continue;
    }
    const from = flags & BRIDGE_VLAN_INFO_RANGE_END && rangeStart !== undefined ? rangeStart : vid;
    for (let v = from; v <= vid; v++) out.push({ vid: v, pvid, untagged });
    rangeStart = undefined;
  }
  return out;
}

/** The VLANs of one port (or bridge), from an AF_BRIDGE link dump with RTEXT_FILTER_BRVLAN. */
export function listBridgeVlans(s: NetlinkSocket, index: number): BridgeVlan[] {
  // The bridge dump cannot be filtered by index in the request (the kernel rejects it under
  // strict checking), so filter the replies.
  const payload = attrStream((out) => {
    out.emit(ifinfomsg(0, AF_BRIDGE));
    out.push(IFLA.EXT_MASK, putU32(RTEXT_FILTER_BRVLAN));
  });
  for (const r of s.request(RTM.GETLINK, FlagsGet.DUMP, payload)) {
    if (r.length < 16 || s32(r, 4) !== index) continue;
    const spec = attrMap(r.subarray(16)).get(IFLA.AF_SPEC);
    return spec ? decodeBridgeVlans(spec) : [];
  }
  return [];
}
