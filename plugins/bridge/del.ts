// Bridge DEL (§2.3), idempotent and tolerant: the container interface or the whole netns may
// already be gone, CNI_NETNS may be empty (containerd's `run --rm`). Every cleanup step runs
// regardless of the others; the first error is reported after all of them were tried.
import { delegateDel } from '../../shared/cni/delegate';
import { toCniError } from '../../shared/cni/errors';
import { log } from '../../shared/base/log';
import type { CmdArgs } from '../../shared/cni/plugin';
import { parsePrevResult } from '../../shared/cni/convert';
import { parseCIDR, type CIDR } from '../../shared/ip';
import { listAddresses } from '../../shared/netlink/addresses';
import { deleteLink, getLinkByName } from '../../shared/netlink/links';
import { NetlinkSocket } from '../../shared/netlink/socket';
import { chooseMasqBackend, teardownIPMasq } from '../../shared/netfilter/ipmasq';
import { hostNetns, NetNS, NetnsNotFoundError } from '../../shared/netns';
import { loadBridgeConf } from './config';
import { spoofchkRefId, teardownSpoofCheck } from './macspoofchk';

const RT_SCOPE_UNIVERSE = 0;

/** Deletes the container interface (its host peer goes with it); returns its global addresses. */
function deleteContainerIface(netnsPath: string, ifname: string): CIDR[] {
  let ns: NetNS;
  try {
    ns = NetNS.open(netnsPath);
  } catch (e) {
    if (e instanceof NetnsNotFoundError) return []; // the container is gone, and its veth with it
    throw e;
  }
  let cs: NetlinkSocket | undefined;
  try {
    cs = NetlinkSocket.openIn(ns);
    const link = getLinkByName(cs, ifname);
    if (!link) return [];
    const addrs = listAddresses(cs, { index: link.index })
      .filter((a) => a.scope === RT_SCOPE_UNIVERSE)
      .map((a) => a.cidr);
    try {
      deleteLink(cs, link.index);
    } catch (e) {
      if (getLinkByName(cs, ifname)) throw e;
    }
    return addrs;
  } finally {
    cs?.close();
    ns.close();
  }
}

/** The IPs a previous ADD reported, for teardown when the interface cannot tell any more. */
function prevResultIPs(a: CmdArgs): CIDR[] {
  try {
    const prev = parsePrevResult(a.conf);
    return (prev?.ips ?? []).map((ip) => parseCIDR(ip.address)).filter((c): c is CIDR => c !== null);
  } catch (e) {
    log.warn(`bridge DEL: ignoring unparsable prevResult: ${(e as Error).message}`);
    return [];
  }
}

export async function cmdDel(a: CmdArgs): Promise<void> {
  const c = loadBridgeConf(a.conf, a.args);
  hostNetns();
  const errors: unknown[] = [];
  const step = async (fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      errors.push(e);
    }
  };

  let ifaceIPs: CIDR[] = [];
  if (a.netns !== '') await step(() => { ifaceIPs = deleteContainerIface(a.netns, a.ifname); });

  if (c.macspoofchk) {
    try {
      teardownSpoofCheck(spoofchkRefId(a.containerId, a.ifname));
    } catch (e) {
      log.warn(`bridge DEL: ${(e as Error).message}`);
    }
  }

  if (c.ipamType !== '' && c.ipMasq) {
    // With the interface gone (or no netns given) the prevResult still names the IPs; with
    // neither, teardown finds the rules by the attachment's chain name and comment.
    const ips = ifaceIPs.length > 0 ? ifaceIPs : prevResultIPs(a);
    // The backend this config makes ADD choose goes first; the other runs only if it held nothing.
    await step(() => teardownIPMasq(ips, c.name, a.ifname, a.containerId, chooseMasqBackend(c.ipMasqBackend)));
  }

  if (c.ipamType !== '') await step(() => delegateDel(c.ipamType, a.stdin, a));

  if (errors.length > 0) throw toCniError(errors[0]);
}
