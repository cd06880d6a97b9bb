// rtnetlink numbers from the kernel uapi headers that the `netlink` package does not export
// as plain constants (linux/if_link.h, rtnetlink.h, neighbour.h, if_bridge.h).

export const AF_UNSPEC = 0;
export const AF_BRIDGE = 7;

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30,
} as const;

export const IFF_UP = 0x1;
export const IFF_PROMISC = 0x100;

/** IFLA_OPERSTATE values (RFC 2863). */
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export const IFLA = {
  ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, PROTINFO: 12, OPERSTATE: 16,
  LINKINFO: 18, AF_SPEC: 26, NET_NS_FD: 28, EXT_MASK: 29, LINK_NETNSID: 37,
} as const;

export const VETH_INFO_PEER = 1;

/** IFLA_AF_SPEC contents for AF_BRIDGE. */
export const IFLA_BRIDGE_FLAGS = 0;
export const IFLA_BRIDGE_VLAN_INFO = 2;
export const BRIDGE_FLAGS_SELF = 2;
export const BRIDGE_VLAN_INFO_PVID = 0x2;
export const BRIDGE_VLAN_INFO_UNTAGGED = 0x4;
export const RTEXT_FILTER_BRVLAN = 0x2;
export const RTEXT_FILTER_SKIP_STATS = 0x8;

export const RTA = {
  DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, MULTIPATH: 9, TABLE: 15,
} as const;
export const RTN_UNICAST = 1;
/** A route that discards what it matches (`ip route add blackhole …`). */
export const RTN_BLACKHOLE = 6;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_NOWHERE = 255;
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RTNH_F_ONLINK = 0x4;
export const RTM_F_CLONED = 0x200;

export const NDA = { DST: 1, LLADDR: 2, IFINDEX: 8, MASTER: 9 } as const;
export const NUD_REACHABLE = 0x02;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;
