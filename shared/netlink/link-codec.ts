// Link (ifinfomsg) encoding and decoding over the `netlink` package's rt/ifla codecs.
import { AttrStream, putU8, putU16be } from 'netlink/dist/structs';
import * as ifla from 'netlink/dist/rt/ifla';
import { formatLink, parseDeviceFlags, parseLinkMessage } from 'netlink/dist/rt/structs';
import { ipFromBytes, ipToBytes } from '../ip';
import type { BridgeSpec, Link, VethSpec, VxlanSpec } from './types';
import { attrStream, formatMac, parseMac, streamBytes, u32 } from './attrs';
import { AF_UNSPEC, IFF_PROMISC, IFF_UP, OPERSTATES, VETH_INFO_PEER } from './constants';

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(index = 0, family = AF_UNSPEC, flags = 0, change = 0): Buffer {
  return formatLink({ family, index, flags: parseDeviceFlags(flags), change: parseDeviceFlags(change) });
}

/** ifinfomsg followed by link attributes, 4-byte aligned by AttrStream. */
export function linkPayload(header: Buffer, attrs: ifla.LinkAttrs, extra?: (out: AttrStream) => void): Buffer {
  return attrStream((out) => {
    out.emit(header);
    out.emit(ifla.formatLinkAttrs(attrs));
    if (extra) extra(out);
  });
}

/** IFLA_LINKINFO { IFLA_INFO_KIND kind, IFLA_INFO_DATA data? }. */
function linkInfo(kind: string, data?: Buffer): Buffer {
  return streamBytes(ifla.formatInfo(data ? { kind, data } : { kind }));
}

export function bridgeLinkInfo(vlanFiltering?: boolean): Buffer {
  if (vlanFiltering === undefined) return linkInfo('bridge');
  return linkInfo('bridge', streamBytes(ifla.formatBridge({ vlanFiltering: putU8(vlanFiltering ? 1 : 0) })));
}

export function bridgeCreatePayload(spec: BridgeSpec): Buffer {
  // vlan_filtering is off on a new bridge; sending an explicit 0 would make creation fail with
  // EOPNOTSUPP on kernels built without CONFIG_BRIDGE_VLAN_FILTERING.
  const linkinfo = bridgeLinkInfo(spec.vlanFiltering ? true : undefined);
  return linkPayload(ifinfomsg(), { ifname: spec.name, mtu: spec.mtu, linkinfo });
}

/**
 * A veth pair: IFLA_LINKINFO{kind veth, data{VETH_INFO_PEER = ifinfomsg + peer attributes}}.
 * IFLA_NET_NS_FD among the peer's attributes makes the kernel create the peer directly in that
 * namespace under its final name, so no rename or move is needed.
 */
export function vethCreatePayload(spec: VethSpec): Buffer {
  const peer = attrStream((out) => {
    out.emit(ifinfomsg());
    out.emit(ifla.formatLinkAttrs({
      ifname: spec.peerName,
      mtu: spec.mtu,
      address: spec.peerMac ? parseMac(spec.peerMac) : undefined,
      netNsFd: spec.peerNetnsFd,
    }));
  });
  const data = attrStream((out) => out.push(VETH_INFO_PEER, peer));
  return linkPayload(ifinfomsg(), {
    ifname: spec.name,
    mtu: spec.mtu,
    address: spec.mac ? parseMac(spec.mac) : undefined,
    linkinfo: linkInfo('veth', data),
  });
}

export function vxlanCreatePayload(spec: VxlanSpec): Buffer {
  const v4 = spec.local.family === 4;
  const data = streamBytes(ifla.formatVxlan({
    id: spec.vni,
    local: v4 ? ipToBytes(spec.local) : undefined,
    local6: v4 ? undefined : ipToBytes(spec.local),
    link: spec.linkIndex,
    port: spec.port > 0 ? putU16be(spec.port) : undefined,
    learning: spec.learning ? 1 : 0,
    gbp: spec.gbp ? true : undefined,
  }));
  return linkPayload(ifinfomsg(), {
    ifname: spec.name,
    mtu: spec.mtu,
    address: spec.mac ? parseMac(spec.mac) : undefined,
    linkinfo: linkInfo('vxlan', data),
  });
}

/** Decoded link plus the raw IFLA_LINKINFO parts other modules need. */
export interface DecodedLink {
  link: Link;
  slaveKind?: string;
  slaveData?: Buffer;
}

export function decodeLinkMessage(payload: Buffer): DecodedLink {
  const { data, attrs } = parseLinkMessage(payload);
  const flags = u32(payload, 8);
  const link: Link = {
    index: data.index ?? 0,
    name: attrs.ifname ?? '',
    mtu: attrs.mtu ?? 0,
    mac: formatMac(attrs.address),
    flags,
    up: (flags & IFF_UP) !== 0,
    promisc: (flags & IFF_PROMISC) !== 0,
    operstate: OPERSTATES[attrs.operstate ?? 0] ?? String(attrs.operstate),
  };
  if (attrs.master !== undefined && attrs.master !== 0) link.masterIndex = attrs.master;
  if (attrs.link && attrs.link.length === 4) link.parentIndex = u32(attrs.link);
  if (attrs.linkNetnsid !== undefined) link.linkNetnsId = attrs.linkNetnsid;
  const out: DecodedLink = { link };
  if (attrs.linkinfo) {
    const info = ifla.parseInfo(attrs.linkinfo);
    if (info.kind) link.kind = info.kind;
    if (info.kind === 'bridge') {
      const br = info.data ? ifla.parseBridge(info.data) : {};
      link.bridge = { vlanFiltering: !!br.vlanFiltering && br.vlanFiltering[0] === 1 };
    } else if (info.kind === 'vxlan' && info.data) {
      const vx = ifla.parseVxlan(info.data);
      const local = vx.local ?? vx.local6;
      link.vxlan = {
        vni: vx.id ?? 0,
        learning: !!vx.learning,
        ...(vx.port && vx.port.length === 2 ? { port: vx.port.readUInt16BE(0) } : {}),
        ...(local && (local.length === 4 || local.length === 16) ? { local: ipFromBytes(local) } : {}),
        ...(vx.link ? { linkIndex: vx.link } : {}),
        ...(vx.gbp ? { gbp: true } : {}),
      };
    }
    if (info.slaveKind) out.slaveKind = info.slaveKind;
    if (info.slaveData) out.slaveData = info.slaveData;
  }
  return out;
}

export const decodeLink = (payload: Buffer): Link => decodeLinkMessage(payload).link;
