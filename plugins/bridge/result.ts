// The bridge ADD result (reference: current.Result built in cmdAdd). Pure.
import { CURRENT_VERSION } from '../../shared/cni/version';
import type { DNS, Interface, IPConfig, Result, Route } from '../../shared/cni/types';

/** Interfaces are always [bridge, host veth, container veth]: every IP belongs to index 2. */
export const CONTAINER_IFACE_INDEX = 2;

export interface BridgeInterfaces {
  bridge: Interface;
  hostVeth: Interface;
  /** Carries `sandbox` = CNI_NETNS. */
  container: Interface;
  /** `<bridge>.<vlan>` gateway veth, appended when isGateway with a VLAN. */
  vlanGateway?: Interface;
}

interface L3Part {
  ips: IPConfig[];
  routes: Route[];
  dns?: DNS;
}

/**
 * Assembles a 1.1.0 result. The config's `dns`, when any of its fields is set, replaces the DNS
 * the IPAM returned (reference: dnsConfSet).
 */
export function buildResult(ifaces: BridgeInterfaces, l3?: L3Part, confDns?: DNS): Result {
  const interfaces: Interface[] = [{ ...ifaces.bridge }, { ...ifaces.hostVeth }, { ...ifaces.container }];
  if (ifaces.vlanGateway) interfaces.push({ ...ifaces.vlanGateway });
  const result: Result = { cniVersion: CURRENT_VERSION, interfaces };
  if (l3) {
    result.ips = l3.ips.map((ip) => {
      const out: IPConfig = { ...ip, interface: CONTAINER_IFACE_INDEX };
      delete out.version;
      return out;
    });
    if (l3.routes.length > 0) result.routes = l3.routes.map((r) => ({ ...r }));
    if (l3.dns && Object.keys(l3.dns).length > 0) result.dns = l3.dns;
  }
  if (confDns) result.dns = { ...confDns };
  return result;
}
