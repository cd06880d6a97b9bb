// The container side of the attachment: the veth pair (created from the host socket with the
// container end placed straight into the container netns), its sysctls, and the reference's
// ipam.ConfigureIface (addresses, link up, DAD settling, routes) through a container socket.
import { internalError } from '../../shared/cni/errors';
import type { Interface, IPConfig, Route } from '../../shared/cni/types';
import { formatCIDR, formatIP, mustParseCIDR, mustParseIP, networkOf, parseCIDR } from '../../shared/ip';
import { addAddress, listAddresses } from '../../shared/netlink/addresses';
import { isExists } from '../../shared/netlink/errors';
import { createVeth, getLinkByName, setLinkUp } from '../../shared/netlink/links';
import { addRoute } from '../../shared/netlink/routes';
import type { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link, RouteSpec } from '../../shared/netlink/types';
import { type NetNS, withNetns, writeSysctl } from '../../shared/netns';
import { log } from '../../shared/base/log';
import { firstGateways } from './gateway';
import { randomVethName } from './veth-name';
import { sleep } from '../../shared/base/sleep';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface VethPair {
  host: Link;
  container: Link;
}

const VETH_NAME_ATTEMPTS = 10;

/**
 * Creates `<ifname>` in the container and `vethXXXXXXXX` in the host in one RTM_NEWLINK on the
 * host socket. EEXIST means either name is taken: a taken host name is retried with a new
 * random one; a taken container name is the caller's error.
 */
export function createVethPair(
  hs: NetlinkSocket,
  cs: NetlinkSocket,
  contNs: NetNS,
  ifname: string,
  mtu: number,
  mac?: string,
): VethPair {
  for (let i = 0; i < VETH_NAME_ATTEMPTS; i++) {
    const hostName = randomVethName();
    try {
      createVeth(hs, {
        name: hostName,
        peerName: ifname,
        peerNetnsFd: contNs.fd,
        mtu: mtu > 0 ? mtu : undefined,
        peerMac: mac,
      });
    } catch (e) {
      if (!isExists(e)) throw internalError(`failed to make veth pair: ${errText(e)}`);
      if (getLinkByName(cs, ifname)) {
        throw internalError(`container veth name (${JSON.stringify(ifname)}) peer provided (${JSON.stringify(hostName)}) already exists`);
      }
      if (getLinkByName(hs, hostName)) continue;
      throw internalError(`failed to make veth pair: ${errText(e)}`);
    }
    const host = getLinkByName(hs, hostName);
    const container = getLinkByName(cs, ifname);
    if (!host) throw internalError(`failed to lookup ${JSON.stringify(hostName)}: Link not found`);
    if (!container) throw internalError(`failed to lookup ${JSON.stringify(ifname)}: Link not found`);
    return { host, container };
  }
  throw internalError('failed to find a unique veth name');
}

interface ContainerSysctlOptions {
  enabledad: boolean;
  hasV6: boolean;
}

/**
 * Container sysctls, written inside one setns window (/proc/sys/net resolves against the
 * opener's namespace). DAD: off unless enabledad (hairpin/promisc ports echo the container's
 * own neighbour solicitations, which plain DAD takes for a duplicate; enhanced_dad's nonce
 * tells them apart). arp_notify announces the MAC on link up. For IPv6, the interface and lo
 * must have IPv6 enabled, and keep_addr_on_down keeps the addresses across a down/up.
 */
export function setContainerSysctls(contNs: NetNS, ifname: string, o: ContainerSysctlOptions): void {
  withNetns(contNs, () => {
    const tryWrite = (name: string, v: string): void => {
      try {
        writeSysctl(name, v);
      } catch {
        /* the reference ignores these: a kernel without IPv6 has none of the v6 knobs */
      }
    };
    if (o.enabledad) {
      tryWrite(`net/ipv6/conf/${ifname}/enhanced_dad`, '1');
      tryWrite(`net/ipv6/conf/${ifname}/accept_dad`, '1');
    } else {
      tryWrite(`net/ipv6/conf/${ifname}/accept_dad`, '0');
    }
    tryWrite(`net/ipv4/conf/${ifname}/arp_notify`, '1');
    if (o.hasV6) {
      for (const dev of ['lo', ifname]) {
        try {
          writeSysctl(`net/ipv6/conf/${dev}/disable_ipv6`, '0');
        } catch (e) {
          throw internalError(`failed to enable IPv6 on ${dev}: ${errText(e)}`);
        }
      }
      tryWrite(`net/ipv6/conf/${ifname}/keep_addr_on_down`, '1');
    }
  });
}

const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;
const DAD_TIMEOUT_MS = 5000;

/** Waits until no IPv6 address of the link is tentative (reference: ip.SettleAddresses). */
async function settleAddresses(cs: NetlinkSocket, link: Link, timeoutMs = DAD_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const addrs = listAddresses(cs, { index: link.index, family: 6 });
    const failed = addrs.find((a) => a.flags & IFA_F_DADFAILED);
    if (failed) throw internalError(`link ${link.name} has address ${formatCIDR(failed.cidr)} in DADFAILED state`);
    if (!addrs.some((a) => a.flags & IFA_F_TENTATIVE)) return;
    if (Date.now() >= deadline) {
      throw internalError(`link ${link.name} still has tentative addresses after ${Math.round(timeoutMs / 1000)} seconds`);
    }
    await sleep(100);
  }
}

function describeRoute(r: Route, gw: string | undefined, ifname: string): string {
  return `${r.dst} via ${gw ?? '<nil>'} dev ${ifname} metric ${r.priority ?? 0} (Scope: ${r.scope ?? 0}, Table: ${r.table ?? 0})`;
}

/**
 * The reference's ipam.ConfigureIface over the container socket: every IP whose `interface`
 * points at ifname is added (IPs without an index are skipped), the link is set up, IPv6 DAD
 * is awaited when a v6 gateway exists, then every route is added via its own gateway or the
 * first gateway of its family.
 */
export async function configureIface(
  cs: NetlinkSocket,
  ifname: string,
  res: { interfaces: Interface[]; ips: IPConfig[]; routes: Route[] },
): Promise<void> {
  if (res.interfaces.length === 0) throw internalError('no interfaces to configure');
  const link = getLinkByName(cs, ifname);
  if (!link) throw internalError(`failed to lookup ${JSON.stringify(ifname)}: Link not found`);

  let v6Gateway = false;
  for (const ipc of res.ips) {
    if (ipc.interface === undefined || ipc.interface === null) continue;
    const idx = ipc.interface;
    if (idx < 0 || idx >= res.interfaces.length || res.interfaces[idx]!.name !== ifname) {
      throw internalError(`failed to add IP addr ${ipc.address} to ${JSON.stringify(ifname)}: invalid interface index`);
    }
    const cidr = parseCIDR(ipc.address);
    if (!cidr) throw internalError(`failed to add IP addr ${ipc.address} to ${JSON.stringify(ifname)}: invalid address`);
    try {
      addAddress(cs, link.index, cidr);
    } catch (e) {
      if (!isExists(e)) throw internalError(`failed to add IP addr ${ipc.address} to ${JSON.stringify(ifname)}: ${errText(e)}`);
    }
    if (cidr.ip.family === 6 && ipc.gateway) v6Gateway = true;
  }

  try {
    setLinkUp(cs, link.index);
  } catch (e) {
    throw internalError(`failed to set ${JSON.stringify(ifname)} UP: ${errText(e)}`);
  }

  if (v6Gateway) await settleAddresses(cs, link);

  const gws = firstGateways(res.ips);
  const added: string[] = [];
  for (const r of res.routes) {
    const dst = mustParseCIDR(r.dst);
    const gw = r.gw ? mustParseIP(r.gw) : gws[dst.ip.family];
    const spec: RouteSpec = { dst: networkOf(dst), index: link.index };
    if (gw) spec.gw = gw;
    if (r.priority !== undefined) spec.metric = r.priority;
    if (r.table !== undefined) spec.table = r.table;
    if (r.scope !== undefined) spec.scope = r.scope;
    try {
      addRoute(cs, spec);
    } catch (e) {
      // A second route to an already-routed destination (the reference would add it as an
      // ECMP next hop) or the kernel's own prefix route: the destination is reachable.
      if (!isExists(e)) {
        throw internalError(`failed to add route '${describeRoute(r, gw && formatIP(gw), ifname)}': ${errText(e)}`);
      }
      log.debug(`bridge: route ${r.dst} already present${added.includes(r.dst) ? ' (ECMP duplicate skipped)' : ''}`);
    }
    added.push(r.dst);
  }
}
