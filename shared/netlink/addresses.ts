// Interface addresses (RTM_*ADDR).
import { FlagsGet, FlagsNew } from 'netlink/dist/constants';
import { formatAddress, formatAddressAttrs, formatAddressFlags, parseAddressMessage } from 'netlink/dist/rt/structs';
import type { AddressAttrs } from 'netlink/dist/rt/structs';
import { lastAddress, ipToBytes } from '../ip';
import type { Address, CIDR, Family } from './types';
import type { NetlinkSocket } from './socket';
import { afToFamily, attrStream, familyToAf, ipFromAttr, s32 } from './attrs';
import { AF_UNSPEC, RTM } from './constants';

export interface AddAddressOpts {
  /** IFA_F_NOPREFIXROUTE: do not create the prefix route for the address's subnet. */
  noPrefixRoute?: boolean;
}

export function addressPayload(index: number, cidr: CIDR, opts: AddAddressOpts = {}, withBroadcast = true): Buffer {
  const ip = ipToBytes(cidr.ip);
  const attrs: AddressAttrs = { local: ip, address: ip };
  // Like vishvananda/netlink (the reference), IPv4 addresses get the subnet broadcast address,
  // except on /31 and /32 where there is none.
  if (withBroadcast && cidr.ip.family === 4 && cidr.prefix < 31) attrs.broadcast = ipToBytes(lastAddress(cidr));
  if (opts.noPrefixRoute) attrs.flags = { noprefixroute: true };
  return attrStream((out) => {
    out.emit(formatAddress({ family: familyToAf(cidr.ip.family), prefixlen: cidr.prefix, index }));
    out.emit(formatAddressAttrs(attrs));
  });
}

/** Adds an address; EEXIST when it is already there. */
export function addAddress(s: NetlinkSocket, index: number, cidr: CIDR, opts: AddAddressOpts = {}): void {
  s.request(RTM.NEWADDR, FlagsNew.CREATE | FlagsNew.EXCL, addressPayload(index, cidr, opts));
}

/** Removes an address; EADDRNOTAVAIL when it is not there. */
export function delAddress(s: NetlinkSocket, index: number, cidr: CIDR): void {
  s.request(RTM.DELADDR, 0, addressPayload(index, cidr, {}, false));
}

export function decodeAddress(payload: Buffer): Address | null {
  const { data, attrs } = parseAddressMessage(payload);
  const family = afToFamily(data.family ?? 0);
  if (!family) return null;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
  const ip = ipFromAttr(family === 4 ? attrs.local ?? attrs.address : attrs.address ?? attrs.local);
  if (!ip) return null;
  return {
    index: s32(payload, 4),
    cidr: { ip, prefix: data.prefixlen ?? 0 },
    scope: payload[3] ?? 0,
    // IFA_FLAGS (u32) supersedes the 8-bit ifa_flags when present.
    flags: attrs.flags ? formatAddressFlags(attrs.flags) : payload[2] ?? 0,
  };
}

export function listAddresses(s: NetlinkSocket, filter: { index?: number; family?: Family } = {}): Address[] {
  const af = filter.family ? familyToAf(filter.family) : AF_UNSPEC;
  const header = formatAddress({ family: af, index: filter.index });
  const out: Address[] = [];
  for (const r of s.request(RTM.GETADDR, FlagsGet.DUMP, header)) {
    const a = decodeAddress(r);
    if (!a) continue;
    if (filter.index !== undefined && a.index !== filter.index) continue;
    if (filter.family && a.cidr.ip.family !== filter.family) continue;
    out.push(a);
  }
  return out;
}
