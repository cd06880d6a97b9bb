// The host-local `ipam` config, canonicalised: range sets in allocation order, routes, state
// location, DNS source, and the IPs the runtime asked for.
import * as path from 'node:path';
import { parseCniArgs } from '../../shared/cni/args';
import { configError } from '../../shared/cni/errors';
import type { NetConf, Route } from '../../shared/cni/types';
import { validate } from '../../shared/cni/validate';
import { versionAtLeast } from '../../shared/cni/version';
import { type IP, parseCIDR, parseIP } from '../../shared/ip';
import type { RangeInput } from './config-schema';
import { confValidator, storeValidator } from './config-validators.generated';
import type { RangeSpec } from './range';
import { type RangeSet, canonicalizeRangeSet, rangeSetFamily, rangeSetsOverlap } from './range-set';

const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

/** Where one network's reservations live. */
interface StoreConfig {
  /** Network name (validated: a single safe path component). */
  name: string;
  dataDir: string;
  /** `<dataDir>/<name>`. */
  networkDir: string;
}

export interface HostLocalConfig extends StoreConfig {
  cniVersion: string;
  /** In allocation order: runtimeConfig.ipRanges, then the legacy single range, then `ranges`. */
  rangeSets: RangeSet[];
  routes: Route[];
  resolvConf?: string;
  /** Deduplicated, in request order. */
  requestedIPs: IP[];
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The network name becomes a directory under dataDir: it must be one harmless path component. */
export function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw configError('missing network name');
  if (name === '.' || name === '..' || !NAME_RE.test(name)) {
    throw configError('invalid characters found in network name', name);
  }
  return name;
}

function requireIpam(conf: NetConf): void {
  if (conf.ipam === undefined || conf.ipam === null) throw configError("IPAM config missing 'ipam' key");
}

function storeConfigOf(name: unknown, dataDir: string | null | undefined): StoreConfig {
  const net = checkNetworkName(name);
  const dir = dataDir || DEFAULT_DATA_DIR;
  if (!path.isAbsolute(dir)) throw configError(`invalid config: ipam.dataDir: must be an absolute path (got ${JSON.stringify(dir)})`);
  const root = path.resolve(dir);
  return { name: net, dataDir: root, networkDir: path.join(root, net) };
}

/**
 * Only what DEL, GC and STATUS need (name and dataDir): they must keep working when the ranges
 * were edited into something invalid after the containers were created.
 */
export function loadStoreConfig(conf: NetConf): StoreConfig {
  requireIpam(conf);
  const c = validate(storeValidator, conf);
  return storeConfigOf(conf.name, c.ipam.dataDir);
}

const toSpec = (r: RangeInput): RangeSpec => ({
  subnet: parseCIDR(r.subnet)!,
  rangeStart: r.rangeStart ? parseIP(r.rangeStart)! : undefined,
  rangeEnd: r.rangeEnd ? parseIP(r.rangeEnd)! : undefined,
  gateway: r.gateway ? parseIP(r.gateway)! : undefined,
});

/** "10.1.2.3" or "10.1.2.3/24" (the prefix is ignored, as in the reference). */
function parseRequestedIP(s: string, source: string): IP {
  const slash = s.indexOf('/');
  const ip = slash === -1 ? parseIP(s) : parseCIDR(s)?.ip ?? null;
  if (!ip) throw configError(`cannot understand ip: ${JSON.stringify(s)} in ${source} is not an IP address`);
  return ip;
}

/**
 * Requested IPs. The spec's CONVENTIONS deprecate CNI_ARGS in favour of `args` and
 * capabilities and say a plugin given both ignores CNI_ARGS; so `IP=` from CNI_ARGS is used only
 * when neither `args.cni.ips` nor `runtimeConfig.ips` requests anything (the reference combines
 * all three). `args.cni.ips` and `runtimeConfig.ips` are combined, in that order; duplicates
 * collapse.
 */
function requestedIPsOf(
  cniArgs: string,
  argsIps: readonly string[] | null | undefined,
  rtIps: readonly string[] | null | undefined,
): IP[] {
  const out: IP[] = [];
  const add = (ip: IP): void => {
    if (!out.some((x) => x.family === ip.family && x.value === ip.value)) out.push(ip);
  };
  (argsIps ?? []).forEach((s, i) => add(parseRequestedIP(s, `args.cni.ips[${i}]`)));
  (rtIps ?? []).forEach((s, i) => add(parseRequestedIP(s, `runtimeConfig.ips[${i}]`)));
  if (out.length === 0) {
    const env = parseCniArgs(cniArgs, ['IP']);
    if (env.IP !== undefined && env.IP !== '') add(parseRequestedIP(env.IP, 'CNI_ARGS IP'));
  }
  return out;
}

/** Full validation and canonicalisation for ADD and CHECK. `cniArgs` is the raw CNI_ARGS. */
export function loadConfig(conf: NetConf, cniArgs: string): HostLocalConfig {
  requireIpam(conf);
  const c = validate(confValidator, conf);
  const ipam = c.ipam;
  const store = storeConfigOf(conf.name, ipam.dataDir);
  const requestedIPs = requestedIPsOf(cniArgs, c.args?.cni?.ips, c.runtimeConfig?.ips);

  const raw: RangeInput[][] = [];
  if (c.runtimeConfig?.ipRanges) raw.push(...c.runtimeConfig.ipRanges);
  // The reference turns the legacy top-level range into set #0 only when `subnet` is given.
  if (ipam.subnet) {
    raw.push([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  }
  if (ipam.ranges) raw.push(...ipam.ranges);
  if (raw.length === 0) throw configError('no IP ranges specified');

  const rangeSets = raw.map((set, i) => {
    try {
      return canonicalizeRangeSet(set.map(toSpec));
    } catch (e) {
      throw configError(`invalid range set ${i}: ${(e as Error).message}`);
    }
  });

  const v4 = rangeSets.filter((s) => rangeSetFamily(s) === 4).length;
  if ((v4 > 1 || rangeSets.length - v4 > 1) && !versionAtLeast(conf.cniVersion, '0.3.0')) {
    throw configError(`CNI version ${conf.cniVersion} does not support more than 1 address per family`);
  }
  for (let i = 0; i < rangeSets.length; i++) {
    for (let j = i + 1; j < rangeSets.length; j++) {
      if (rangeSetsOverlap(rangeSets[i]!, rangeSets[j]!)) throw configError(`range set ${i} overlaps with ${j}`);
    }
  }

  const routes: Route[] = (ipam.routes ?? []).map((r) => {
    const out: Route = { dst: r.dst };
    if (r.gw) out.gw = r.gw;
    for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
      const v = r[k];
      if (typeof v === 'number') out[k] = v;
    }
    return out;
  });

  const cfg: HostLocalConfig = { ...store, cniVersion: conf.cniVersion, rangeSets, routes, requestedIPs };
  if (ipam.resolvConf) cfg.resolvConf = ipam.resolvConf;
  return cfg;
}
