// Gateway decisions for an L3 bridge ADD (reference: calcGateways, ensureAddr). Pure.
import { internalError } from '../../shared/cni/errors';
import type { IPConfig, Route } from '../../shared/cni/types';
import {
  cidrEquals,
  formatCIDR,
  formatIP,
  networkOf,
  nextIP,
  overlaps,
  parseCIDR,
  parseIP,
  type CIDR,
  type Family,
  type IP,
} from '../../shared/ip';

interface GatewayOptions {
  isGateway: boolean;
  isDefaultGateway: boolean;
}

interface GatewayPlan {
  /** The IPAM IPs with gateways filled in (isGateway and none given: network address + 1). */
  ips: IPConfig[];
  /** The IPAM routes plus one default route per family when isDefaultGateway asks for it. */
  routes: Route[];
  /** Bridge addresses per family: each IP's gateway with that IP's prefix length, de-duplicated. */
  bridgeAddrs: { 4: CIDR[]; 6: CIDR[] };
}

const isDefaultDst = (dst: string, family: Family): boolean => {
  const c = parseCIDR(dst);
  return !!c && c.ip.family === family && c.prefix === 0 && c.ip.value === 0n;
};

const defaultDst = (family: Family): string => (family === 4 ? '0.0.0.0/0' : '::/0');

/** The conventional gateway of a subnet: its network address + 1. */
const gatewayOf = (addr: CIDR): IP => nextIP(networkOf(addr).ip);

/**
 * Fills gateways and default routes. A family gets a default route via the gateway of its first
 * IP unless the IPAM routes already hold a default route of that family *with* a gateway.
 */
export function calcGateways(ips: readonly IPConfig[], routes: readonly Route[], o: GatewayOptions): GatewayPlan {
  const isGateway = o.isGateway || o.isDefaultGateway;
  const outIps: IPConfig[] = [];
  const outRoutes: Route[] = routes.map((r) => ({ ...r }));
  const bridgeAddrs: { 4: CIDR[]; 6: CIDR[] } = { 4: [], 6: [] };
  const defaultFound: Record<Family, boolean> = { 4: false, 6: false };

  for (const ipc of ips) {
    const addr = parseCIDR(ipc.address);
    if (!addr) throw internalError(`Unknown IP object: ${JSON.stringify(ipc)}`);
    const family = addr.ip.family;
    const out: IPConfig = { ...ipc };
    delete out.version;
    if (out.gateway === undefined && isGateway) out.gateway = formatIP(gatewayOf(addr));
    outIps.push(out);

    if (o.isDefaultGateway && !defaultFound[family]) {
      defaultFound[family] = outRoutes.some((r) => r.gw !== undefined && isDefaultDst(r.dst, family));
      if (!defaultFound[family]) {
        const r: Route = { dst: defaultDst(family) };
        if (out.gateway !== undefined) r.gw = out.gateway;
        outRoutes.push(r);
        defaultFound[family] = true;
      }
    }

    if (isGateway && out.gateway !== undefined) {
      const gw = parseIP(out.gateway);
      if (!gw || gw.family !== family) throw internalError(`Unknown IP object: ${JSON.stringify(ipc)}`);
      const cidr: CIDR = { ip: gw, prefix: addr.prefix };
      if (!bridgeAddrs[family].some((c) => cidrEquals(c, cidr))) bridgeAddrs[family].push(cidr);
    }
  }
  return { ips: outIps, routes: outRoutes, bridgeAddrs };
}

interface AddressPlan {
  remove: CIDR[];
  add: CIDR[];
}

/**
 * Reconciles a bridge's addresses of one family with the gateway addresses it must carry.
 * For IPv4 any other address conflicts (one gateway subnet per bridge); for IPv6 only an
 * overlapping one does, so several v6 subnets can share a bridge. A conflict is replaced when
 * forceAddress is set, else it is an error (reference: `%q already has an IP address different
 * from %v`). Addresses that are themselves wanted never conflict.
 */
export function planBridgeAddresses(
  bridgeName: string,
  existing: readonly CIDR[],
  wanted: readonly CIDR[],
  forceAddress: boolean,
): AddressPlan {
  const plan: AddressPlan = { remove: [], add: [] };
  const removed = (c: CIDR): boolean => plan.remove.some((r) => cidrEquals(r, c));
  for (const w of wanted) {
    if (existing.some((e) => cidrEquals(e, w))) continue;
    for (const e of existing) {
      if (e.ip.family !== w.ip.family || removed(e)) continue;
      if (wanted.some((x) => cidrEquals(x, e))) continue;
      if (w.ip.family === 4 || overlaps(e, w)) {
        if (!forceAddress) {
          throw internalError(`${JSON.stringify(bridgeName)} already has an IP address different from ${formatCIDR(w)}`);
        }
        plan.remove.push(e);
      }
    }
    plan.add.push(w);
  }
  return plan;
}

/** The first gateway of each family among the IPs (ConfigureIface's default next hop). */
export function firstGateways(ips: readonly IPConfig[]): { 4?: IP; 6?: IP } {
  const out: { 4?: IP; 6?: IP } = {};
  for (const ipc of ips) {
    if (!ipc.gateway) continue;
    const gw = parseIP(ipc.gateway);
    if (gw && out[gw.family] === undefined) out[gw.family] = gw;
  }
  return out;
}
