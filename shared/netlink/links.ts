// Link operations (RTM_*LINK). Changes to an existing link go through RTM_NEWLINK without
// NLM_F_CREATE, like `ip link set`: only that path also applies IFLA_LINKINFO changes.
import { FlagsGet, FlagsNew } from 'netlink/dist/constants';
import { putU32 } from 'netlink/dist/structs';
import type { BridgeSpec, Link, VethSpec } from './types';
import type { NetlinkSocket } from './socket';
import { parseMac } from './attrs';
import { IFF_PROMISC, IFF_UP, RTEXT_FILTER_SKIP_STATS, RTM } from './constants';
import { isNotFound } from './errors';
import {
  bridgeCreatePayload, bridgeLinkInfo, decodeLink, decodeLinkMessage, ifinfomsg, linkPayload,
  vethCreatePayload,
} from './link-codec';
import type { DecodedLink } from './link-codec';

export const CREATE_EXCL = FlagsNew.CREATE | FlagsNew.EXCL;
const skipStats = (): Buffer => putU32(RTEXT_FILTER_SKIP_STATS);

export function listLinks(s: NetlinkSocket): Link[] {
  return s.request(RTM.GETLINK, FlagsGet.DUMP, linkPayload(ifinfomsg(), { extMask: skipStats() })).map(decodeLink);
}

/** The raw decoded reply for one link, or null when there is none (ENODEV). */
export function getLinkDecoded(s: NetlinkSocket, by: { index: number } | { name: string }): DecodedLink | null {
  const payload = 'index' in by
    ? linkPayload(ifinfomsg(by.index), { extMask: skipStats() })
    : linkPayload(ifinfomsg(), { ifname: by.name, extMask: skipStats() });
  try {
    const replies = s.request(RTM.GETLINK, 0, payload);
    return replies.length ? decodeLinkMessage(replies[0]!) : null;
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

export function getLinkByName(s: NetlinkSocket, name: string): Link | null {
  return getLinkDecoded(s, { name })?.link ?? null;
}

export function getLinkByIndex(s: NetlinkSocket, index: number): Link | null {
  return getLinkDecoded(s, { index })?.link ?? null;
}

export function mustGetByName(s: NetlinkSocket, name: string): Link {
  const l = getLinkByName(s, name);
  if (!l) throw new Error(`link ${JSON.stringify(name)} not found right after creating it`);
  return l;
}

/** Creates a bridge (EEXIST if the name is taken) and returns it. */
export function createBridge(s: NetlinkSocket, spec: BridgeSpec): Link {
  s.request(RTM.NEWLINK, CREATE_EXCL, bridgeCreatePayload(spec));
  return mustGetByName(s, spec.name);
}

/** Creates a veth pair; the peer goes straight into spec.peerNetnsFd's namespace when given. */
export function createVeth(s: NetlinkSocket, spec: VethSpec): void {
  s.request(RTM.NEWLINK, CREATE_EXCL, vethCreatePayload(spec));
}

function setFlags(s: NetlinkSocket, index: number, mask: number, on: boolean): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index, 0, on ? mask : 0, mask), {}));
}

export const setLinkUp = (s: NetlinkSocket, index: number): void => setFlags(s, index, IFF_UP, true);
export const setLinkDown = (s: NetlinkSocket, index: number): void => setFlags(s, index, IFF_UP, false);
export const setPromisc = (s: NetlinkSocket, index: number, on: boolean): void => setFlags(s, index, IFF_PROMISC, on);

/** Enslaves index to masterIndex; masterIndex 0 releases it (nomaster). */
export function setMaster(s: NetlinkSocket, index: number, masterIndex: number): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { master: masterIndex }));
}

export function setMtu(s: NetlinkSocket, index: number, mtu: number): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { mtu }));
}

export function setMac(s: NetlinkSocket, index: number, mac: string): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { address: parseMac(mac) }));
}

/** Renames a link (it must be down for the kernel to accept, EBUSY otherwise). */
export function setLinkName(s: NetlinkSocket, index: number, name: string): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { ifname: name }));
}

/** Moves a link into the namespace of nsFd (its index may change there). */
export function setLinkNetns(s: NetlinkSocket, index: number, nsFd: number): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { netNsFd: nsFd }));
}

export function setBridgeVlanFiltering(s: NetlinkSocket, index: number, on: boolean): void {
  s.request(RTM.NEWLINK, 0, linkPayload(ifinfomsg(index), { linkinfo: bridgeLinkInfo(on) }));
}

export function deleteLink(s: NetlinkSocket, index: number): void {
  s.request(RTM.DELLINK, 0, linkPayload(ifinfomsg(index), {}));
}

/** Deletes a link by name; false when there is no such link. */
export function deleteLinkByName(s: NetlinkSocket, name: string): boolean {
  try {
    s.request(RTM.DELLINK, 0, linkPayload(ifinfomsg(), { ifname: name }));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
