// The delegate config flannel hands to the real plugin (bridge + host-local by default): the
// user's `delegate`/`ipam` keys completed from subnet.env. Pure: no I/O.
import { configError } from '../../shared/cni/errors';
import { type CIDR, formatCIDR, formatIP, networkOf, parseCIDR, parseIP } from '../../shared/ip';
import type { FlannelConf } from './config';
import type { SubnetEnv } from './subnet-env';

export type JsonObject = Record<string, unknown>;

const DEFAULT_DELEGATE_TYPE = 'bridge';
const DEFAULT_IPAM_TYPE = 'host-local';

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

const ROUTE_INT_KEYS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/**
 * Validates the user's `ipam.routes` the way the reference's types.Route decoding does (dst a
 * CIDR, gw an IP, the numeric fields integers; other keys dropped) and re-renders them.
 */
function parseIpamRoutes(routes: unknown): JsonObject[] {
  const fail = (why: string): never => {
    throw configError(`failed to read IPAM routes: failed to parse ipam.routes: ${why}`);
  };
  if (routes === undefined || routes === null) return [];
  if (!Array.isArray(routes)) return fail(`expected a list of routes, got ${JSON.stringify(routes)}`);
  return routes.map((r: unknown, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail(`[${i}]: expected an object, got ${JSON.stringify(r)}`);
    const o = r as JsonObject;
    const dst = typeof o.dst === 'string' ? parseCIDR(o.dst) : null;
    if (!dst) return fail(`[${i}].dst: ${JSON.stringify(o.dst)} is not a CIDR`);
    const out: JsonObject = { dst: formatCIDR(dst) };
    if (o.gw !== undefined && o.gw !== null && o.gw !== '') {
      const gw = typeof o.gw === 'string' ? parseIP(o.gw) : null;
      if (!gw) return fail(`[${i}].gw: ${JSON.stringify(o.gw)} is not an IP address`);
      out.gw = formatIP(gw);
    }
    for (const k of ROUTE_INT_KEYS) {
      const v = o[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(`[${i}].${k}: ${JSON.stringify(v)} is not an integer`);
      out[k] = v;
    }
    return out;
  });
}

/** `[[{subnet: v4}], [{subnet: v6}]]`: one range set per family the node has a lease for. */
function rangesOf(env: SubnetEnv): JsonObject[][] {
  const sets: JsonObject[][] = [];
  if (env.subnet) sets.push([{ subnet: formatCIDR(networkOf(env.subnet)) }]);
  if (env.ip6Subnet) sets.push([{ subnet: formatCIDR(networkOf(env.ip6Subnet)) }]);
  return sets;
}

const networkKey = (c: CIDR): string => formatCIDR(networkOf(c));

/**
 * The delegate's ipam: the user's ipam (type default host-local), `ranges` set from the lease,
 * `routes` = the user's routes + one per flannel network (v4 then v6). A flannel network the
 * user already routes is not added again: the delegate would fail adding a duplicate route.
 */
function buildDelegateIpam(conf: FlannelConf, env: SubnetEnv): JsonObject {
  const base = conf.ipam ?? {};
  const type = 'type' in base ? base.type : DEFAULT_IPAM_TYPE;
  // host-local turns a top-level `subnet` into an extra range set of the same family, so every
  // container would get two addresses of it: flannel owns the ranges.
  if (type === DEFAULT_IPAM_TYPE && base.subnet !== undefined && base.subnet !== null) {
    throw configError(
      `ipam.subnet ${JSON.stringify(base.subnet)} must not be set: flannel sets the host-local ranges from ` +
        `FLANNEL_SUBNET/FLANNEL_IPV6_SUBNET of ${conf.subnetFile}`,
    );
  }
  const userRoutes = parseIpamRoutes(base.routes);
  const ipam: JsonObject = { type };
  for (const [k, v] of Object.entries(base)) {
    if (k !== 'type' && k !== 'ranges' && k !== 'routes') ipam[k] = clone(v);
  }
  ipam.ranges = rangesOf(env);
  const routed = new Set(userRoutes.map((r) => networkKey(parseCIDR(r.dst as string)!)));
  const routes = [...userRoutes];
  for (const n of [...env.networks, ...env.ip6Networks]) {
    if (routed.has(networkKey(n))) continue;
    routed.add(networkKey(n));
    routes.push({ dst: formatCIDR(networkOf(n)) });
  }
  ipam.routes = routes;
  return ipam;
}

/** cniVersion, name and type: the first keys of every delegate config. */
function delegateHead(conf: FlannelConf): JsonObject {
  const d = conf.delegate;
  const out: JsonObject = {};
  const cniVersion = conf.cniVersion !== '' ? conf.cniVersion : d.cniVersion;
  if (cniVersion !== undefined) out.cniVersion = cniVersion;
  out.name = conf.name;
  out.type = 'type' in d ? d.type : DEFAULT_DELEGATE_TYPE;
  return out;
}

/** The user's delegate keys not set yet, in their order (runtimeConfig goes last, separately). */
function copyUserKeys(out: JsonObject, d: JsonObject): void {
  for (const [k, v] of Object.entries(d)) {
    if (!(k in out) && k !== 'runtimeConfig') out[k] = clone(v);
  }
}

/**
 * The delegate config (§6.3 of the reference notes), keys in a fixed order: cniVersion, name,
 * type, mtu, ipMasq, isGateway (bridge), the user's other delegate keys in their order, ipam,
 * runtimeConfig. Defaults apply only where the user's `delegate` lacks the key.
 */
export function buildDelegateConf(conf: FlannelConf, env: SubnetEnv): JsonObject {
  const d = conf.delegate;
  const out = delegateHead(conf);
  out.mtu = 'mtu' in d ? clone(d.mtu) : env.mtu;
  // flanneld masquerades traffic leaving the cluster network itself when FLANNEL_IPMASQ=true;
  // otherwise the bridge must.
  out.ipMasq = 'ipMasq' in d ? clone(d.ipMasq) : !env.ipMasq;
  // The bridge carries the lease's first address (flanneld's `.1`): the pods' gateway.
  if (out.type === DEFAULT_DELEGATE_TYPE) out.isGateway = 'isGateway' in d ? clone(d.isGateway) : true;
  copyUserKeys(out, d);
  out.ipam = buildDelegateIpam(conf, env);
  const rc = conf.runtimeConfig ?? d.runtimeConfig;
  if (rc !== undefined) out.runtimeConfig = clone(rc);
  return out;
}

/**
 * What DEL/GC use when subnet.env is gone and no saved config is usable: enough for the
 * delegate to find and release the same state. host-local DEL releases by containerID+ifname
 * under `<ipam dataDir>/<name>`; bridge DEL removes the container's interface by netns+ifname.
 * Neither needs the ranges. ipMasq is unknown without subnet.env and left to the user's keys.
 */
export function buildMinimalDelegateConf(conf: FlannelConf): JsonObject {
  const d = conf.delegate;
  const out = delegateHead(conf);
  copyUserKeys(out, d);
  const ipam: JsonObject = { type: DEFAULT_IPAM_TYPE };
  for (const [k, v] of Object.entries(conf.ipam ?? {})) {
    if (k !== 'ranges' && k !== 'routes' && k !== 'subnet') ipam[k] = clone(v);
  }
  out.ipam = ipam;
  const rc = conf.runtimeConfig ?? d.runtimeConfig;
  if (rc !== undefined) out.runtimeConfig = clone(rc);
  return out;
}

/** The bytes saved and handed to the delegate. */
export const renderDelegateConf = (d: JsonObject): string => JSON.stringify(d);
