// The typed rtnetlink operations the plugins use. Implemented in shared/netlink/*.ts over the
// `netlink` package's codecs and the project's addon socket. All calls are synchronous: a
// socket is bound to the netns it was opened in, so container-side work uses a socket opened
// inside a short setns window (shared/netns) and needs no further namespace switching.
import type { CIDR, Family, IP } from '../ip';

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: 'bridge', 'veth', 'vxlan', … ; undefined for physical/loopback. */
  kind?: string;
  mtu: number;
  /** "aa:bb:cc:dd:ee:ff" lower-case; '' when the link has none. */
  mac: string;
  /** IFF_* flags. */
  flags: number;
  up: boolean;
  promisc: boolean;
  /** 'up', 'down', 'unknown', 'lowerlayerdown', … (IFLA_OPERSTATE). */
  operstate: string;
  /** IFLA_MASTER. */
  masterIndex?: number;
  /** IFLA_LINK: for a veth, the peer's index (in the peer's netns). */
  parentIndex?: number;
  /** IFLA_LINK_NETNSID, present when the peer/parent lives in another netns. */
  linkNetnsId?: number;
  /** Bridge options (kind 'bridge'). */
  bridge?: { vlanFiltering: boolean };
  /** vxlan options (kind 'vxlan'). */
  vxlan?: { vni: number; port?: number; local?: IP; linkIndex?: number; learning: boolean; gbp?: boolean };
}

export interface BridgeSpec {
  name: string;
  mtu?: number;
  vlanFiltering?: boolean;
}

export interface VethSpec {
  /** Name of the end created in the socket's own netns. */
  name: string;
  mtu?: number;
  mac?: string;
  peerName: string;
  /** When set, the peer is created directly inside this netns (IFLA_NET_NS_FD). */
  peerNetnsFd?: number;
  peerMac?: string;
}

export interface VxlanSpec {
  name: string;
  vni: number;
  /** UDP destination port; 0 = not sent, the kernel's default (module parameter, 8472) applies. */
  port: number;
  local: IP;
  /** Underlay device index (IFLA_VXLAN_LINK). */
  linkIndex: number;
  learning: boolean;
  /** IFLA_VXLAN_GBP: the Group Policy extension (a flag attribute, sent only when true). */
  gbp?: boolean;
  mtu?: number;
  mac?: string;
}

export interface Address {
  index: number;
  cidr: CIDR;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  scope: number;
  /** IFA_F_* flags (IFA_F_TENTATIVE = 0x40, IFA_F_DADFAILED = 0x08). */
  flags: number;
}

export interface RouteSpec {
  dst: CIDR;
  gw?: IP;
  index?: number;
  onlink?: boolean;
  /** RT_SCOPE_*; default universe, or link when there is no gateway. */
  scope?: number;
  metric?: number;
  /** Default main (254). */
  table?: number;
  mtu?: number;
  advmss?: number;
  /** RTPROT_*; default RTPROT_BOOT (3), like `ip route add`. */
  protocol?: number;
  /** RTN_*; default RTN_UNICAST (a delete with none matches any type). */
  type?: number;
}

export interface RouteInfo {
  dst: CIDR;
  gw?: IP;
  index?: number;
  scope: number;
  metric: number;
  table: number;
  protocol: number;
  flags: number;
  type: number;
  /** RTA_PREFSRC: the source address the kernel picks (e.g. in a routeGet answer). */
  prefsrc?: IP;
}

export interface Neighbour {
  index: number;
  ip: IP;
  mac: string;
  /** NUD_* state. */
  state: number;
}

export interface FdbEntry {
  index: number;
  mac: string;
  dst?: IP;
  state: number;
  flags: number;
}

export interface BridgeVlan {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

export interface BridgePortFlags {
  hairpin?: boolean;
  isolated?: boolean;
}

/** A kernel error reply, with the errno name the kernel gave (EEXIST, ENOENT, ENODEV, …). */
export interface NetlinkErrorShape extends Error {
  code: string;
  errno: number;
}

export type { CIDR, Family, IP };
