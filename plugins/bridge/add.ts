// Bridge ADD (§2.2). Every step that changes state registers its undo; any failure runs them in
// reverse (IPAM release, rules removed, host veth deleted — which takes its container peer with
// it, a bridge this call created), so a failed ADD leaves the node as it was.
import { delegateAdd, delegateCheckAdd, delegateDel } from '../../shared/cni/delegate';
import { internalError, wrapError } from '../../shared/cni/errors';
import { log } from '../../shared/base/log';
import type { CmdArgs } from '../../shared/cni/plugin';
import type { Interface, Result } from '../../shared/cni/types';
import { toCurrentResult } from '../../shared/cni/convert';
import { versionAtLeast } from '../../shared/cni/version';
import { mustParseCIDR, type CIDR } from '../../shared/ip';
import { deleteLinkByName, getLinkByIndex, getLinkByName, setLinkUp } from '../../shared/netlink/links';
import { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link } from '../../shared/netlink/types';
import { chooseMasqBackend, setupIPMasq, teardownIPMasq } from '../../shared/netfilter/ipmasq';
import { hostNetns, NetNS, writeSysctl } from '../../shared/netns';
import { checkAddConstraints, loadBridgeConf, type BridgeConf } from './config';
import { configureIface, createVethPair, setContainerSysctls } from './container-iface';
import { enableForwarding, ensureGatewayAddresses, ensureVlanGateway } from './bridge-gateway';
import { ensureBridge, removeBridgeIfUnused } from './ensure-bridge';
import { calcGateways } from './gateway';
import { attachPort } from './host-port';
import { setupSpoofCheck, spoofchkRefId, teardownSpoofCheck } from './macspoofchk';
import { buildResult, type BridgeInterfaces } from './result';
import { sleep } from '../../shared/base/sleep';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The reference's port-state schedule: 0, 50, 500, 1000, 1000 ms (2.55 s in all). */
const PORT_WAIT_SCHEDULE_MS = [0, 50, 500, 1000, 1000] as const;

/** Waits for the host veth's operstate to become "up" (the bridge port forwarding). */
async function waitPortUp(hs: NetlinkSocket, index: number, name: string, schedule: readonly number[] = PORT_WAIT_SCHEDULE_MS): Promise<Link> {
  let last: Link | null = null;
  for (const ms of schedule) {
    if (ms > 0) await sleep(ms);
    last = getLinkByIndex(hs, index);
    if (!last) throw internalError(`failed to lookup ${JSON.stringify(name)}: Link not found`);
    if (last.operstate === 'up') return last;
  }
  throw internalError(`bridge port in error state: ${last?.operstate ?? 'unknown'}`);
}

type Undo = { what: string; run: () => unknown };

async function rollback(undo: Undo[]): Promise<void> {
  for (const u of undo.reverse()) {
    try {
      await u.run();
    } catch (e) {
      log.warn(`bridge ADD rollback: ${u.what}: ${errText(e)}`);
    }
  }
}

const ifaceOf = (l: Link, sandbox?: string): Interface => (sandbox === undefined ? { name: l.name, mac: l.mac } : { name: l.name, mac: l.mac, sandbox });

export async function cmdAdd(a: CmdArgs): Promise<Result> {
  const c = loadBridgeConf(a.conf, a.args);
  checkAddConstraints(c);
  // An L2 result has no IPs, and 0.1.0/0.2.0 results are nothing but IPs: the result could not
  // be printed, so refuse before creating anything rather than leave an attachment behind.
  if (c.ipamType === '' && !versionAtLeast(a.conf.cniVersion, '0.3.0')) {
    throw internalError(`cannot convert: no valid IP addresses (a bridge without IPAM needs cniVersion 0.3.0 or later, got ${a.conf.cniVersion})`);
  }
  hostNetns(); // records the namespace every window returns to, before any window opens
  // Everything that can be known before the first change is checked first, so an invalid ADD
  // leaves the node as it was: the container's namespace, and the IPAM's config (its type names
  // a plugin in CNI_PATH; our own in-process IPAM validates the config without touching anything).
  let contNs: NetNS;
  try {
    contNs = NetNS.open(a.netns);
  } catch (e) {
    throw internalError(`failed to open netns ${JSON.stringify(a.netns)}: ${errText(e)}`);
  }
  let hs: NetlinkSocket;
  try {
    if (c.ipamType !== '') await delegateCheckAdd(c.ipamType, a.stdin, a);
    hs = NetlinkSocket.open();
  } catch (e) {
    contNs.close();
    throw e;
  }
  let cs: NetlinkSocket | undefined;
  const undo: Undo[] = [];
  try {
    const ensured = ensureBridge(hs, c);
    const br = ensured.link;
    // A bridge this ADD created goes with it when the ADD fails (unless a concurrent ADD has
    // attached a port to it meanwhile); a bridge that existed stays, as in the reference.
    if (ensured.created) undo.push({ what: `delete bridge ${c.bridge}`, run: () => removeBridgeIfUnused(hs, br.index, c.bridge) });
    cs = NetlinkSocket.openIn(contNs);

    const pair = createVethPair(hs, cs, contNs, a.ifname, c.mtu, c.mac);
    const hostName = pair.host.name;
    undo.push({ what: `delete ${hostName}`, run: () => deleteLinkByName(hs, hostName) });
    setLinkUp(hs, pair.host.index);
    try {
      writeSysctl(`net/ipv6/conf/${hostName}/accept_ra`, '0');
    } catch {
      /* no IPv6 on this host */
    }
    attachPort(hs, br, pair.host, {
      hairpinMode: c.hairpinMode,
      portIsolation: c.portIsolation,
      vlan: c.vlan,
      vlans: c.vlans,
      preserveDefaultVlan: c.preserveDefaultVlan,
    });

    const ifaces: BridgeInterfaces = {
      bridge: ifaceOf(br),
      hostVeth: ifaceOf(pair.host),
      container: ifaceOf(pair.container, a.netns),
    };

    if (c.macspoofchk) {
      const refId = spoofchkRefId(a.containerId, a.ifname);
      undo.push({ what: 'spoof-check teardown', run: () => teardownSpoofCheck(refId) });
      setupSpoofCheck(hostName, pair.container.mac, refId);
    }

    let result: Result;
    if (c.ipamType !== '') {
      result = await addL3(a, c, hs, cs, contNs, br, ifaces, undo);
    } else {
      if (!c.disableContainerInterface) {
        try {
          setLinkUp(cs, pair.container.index);
        } catch (e) {
          throw internalError(`failed to set ${JSON.stringify(a.ifname)} up: ${errText(e)}`);
        }
      }
      result = buildResult(ifaces, undefined, c.dns);
    }

    // A container end left down keeps the host end in lowerlayerdown: nothing to wait for.
    const host = c.disableContainerInterface
      ? getLinkByIndex(hs, pair.host.index)
      : await waitPortUp(hs, pair.host.index, hostName);
    // The host veth's and the bridge's MACs may have changed since (port churn, pinning).
    const ifs = result.interfaces!;
    if (host) ifs[1] = { ...ifs[1]!, mac: host.mac };
    const brNow = getLinkByName(hs, c.bridge);
    if (brNow) ifs[0] = { ...ifs[0]!, mac: brNow.mac };
    return result;
  } catch (e) {
    await rollback(undo);
    throw e;
  } finally {
    cs?.close();
    contNs.close();
    hs.close();
  }
}

async function addL3(
  a: CmdArgs,
  c: BridgeConf,
  hs: NetlinkSocket,
  cs: NetlinkSocket,
  contNs: NetNS,
  br: Link,
  ifaces: BridgeInterfaces,
  undo: Undo[],
): Promise<Result> {
  const raw = await delegateAdd(c.ipamType, a.stdin, a);
  undo.push({ what: `IPAM DEL (${c.ipamType})`, run: () => delegateDel(c.ipamType, a.stdin, a) });
  const ipam = toCurrentResult(raw);
  const ips = ipam.ips ?? [];
  if (ips.length === 0) throw internalError('IPAM plugin returned missing IP config');

  const plan = calcGateways(ips, ipam.routes ?? [], { isGateway: c.isGateway, isDefaultGateway: c.isDefaultGateway });
  const cidrs: CIDR[] = plan.ips.map((ip) => mustParseCIDR(ip.address));
  const draft = buildResult(ifaces, { ips: plan.ips, routes: plan.routes, dns: ipam.dns }, c.dns);

  setContainerSysctls(contNs, a.ifname, { enabledad: c.enabledad, hasV6: cidrs.some((x) => x.ip.family === 6) });
  await configureIface(cs, a.ifname, { interfaces: draft.interfaces!, ips: draft.ips!, routes: draft.routes ?? [] });

  if (c.isGateway) {
    let dev = br;
    if (c.vlan !== 0 && (plan.bridgeAddrs[4].length > 0 || plan.bridgeAddrs[6].length > 0)) {
      dev = ensureVlanGateway(hs, br, c.vlan, c.preserveDefaultVlan);
      ifaces.vlanGateway = ifaceOf(dev);
    }
    const prefix = c.vlan !== 0 ? 'failed to set vlan interface for bridge with addr' : 'failed to set bridge addr';
    for (const family of [4, 6] as const) {
      const wanted = plan.bridgeAddrs[family];
      if (wanted.length === 0) continue;
      try {
        ensureGatewayAddresses(hs, dev, family, wanted, c.forceAddress);
      } catch (e) {
        throw wrapError(prefix, e);
      }
      enableForwarding(family);
    }
  }

  if (c.ipMasq) {
    const backend = chooseMasqBackend(c.ipMasqBackend);
    undo.push({ what: 'ipMasq teardown', run: () => teardownIPMasq(cidrs, c.name, a.ifname, a.containerId) });
    setupIPMasq(backend, cidrs, c.name, a.ifname, a.containerId);
  }

  return buildResult(ifaces, { ips: plan.ips, routes: plan.routes, dns: ipam.dns }, c.dns);
}
