// Result conversion along the spec's converter graph (SPEC.md "Version considerations"):
// 0.1.0 ↔ 0.2.0, {0.1,0.2} ↔ {0.3.0,0.3.1,0.4.0} ↔ {1.0.0,1.1.0}; anything else has no converter.
import { CniError, ErrorCode } from './errors';
import type { AnyResult, DNS, Interface, IPConfig, LegacyIPConfig, LegacyResult, NetConf, Result, Route } from './types';
import { CURRENT_VERSION, normaliseVersion, SUPPORTED_VERSIONS } from './version';
import { parseCIDR, parseIP } from '../ip';

type Family = 'legacy' | 'v04' | 'v1';

function familyOf(v: string): Family | undefined {
  switch (v) {
    case '0.1.0':
    case '0.2.0':
      return 'legacy';
    case '0.3.0':
    case '0.3.1':
    case '0.4.0':
      return 'v04';
    case '1.0.0':
    case '1.1.0':
      return 'v1';
    default:
      return undefined;
  }
}

const FAMILY_VERSIONS: Record<Family, string[]> = {
  legacy: ['0.1.0', '0.2.0'],
  v04: ['0.3.0', '0.3.1', '0.4.0'],
  v1: ['1.0.0', '1.1.0'],
};

const decodeError = (msg: string): CniError => new CniError(ErrorCode.DecodingFailure, msg);

function dnsOrUndefined(d: unknown): DNS | undefined {
  if (!d || typeof d !== 'object') return undefined;
  const dns = d as DNS;
  const out: DNS = {};
  if (dns.nameservers?.length) out.nameservers = [...dns.nameservers];
  if (dns.domain) out.domain = dns.domain;
  if (dns.search?.length) out.search = [...dns.search];
  if (dns.options?.length) out.options = [...dns.options];
  return Object.keys(out).length ? out : undefined;
}

function ipFamilyOfCidr(addr: string): 4 | 6 {
  const c = parseCIDR(addr);
  if (!c) throw decodeError(`invalid IP address in result: ${JSON.stringify(addr)}`);
  return c.ip.family;
}

function routeFamily(r: Route): 4 | 6 {
  const c = parseCIDR(r.dst);
  if (!c) throw decodeError(`invalid route destination in result: ${JSON.stringify(r.dst)}`);
  return c.ip.family;
}

function checkShape(r: unknown): asserts r is Record<string, unknown> {
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw decodeError('result is not a JSON object');
}

/** Any result → the internal 1.1.0 form (a fresh object; input untouched). */
function toV1(r: AnyResult, from: Family): Result {
  if (from === 'legacy') {
    const l = r as LegacyResult;
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    for (const ipc of [l.ip4, l.ip6]) {
      if (!ipc) continue;
      if (typeof ipc.ip !== 'string') throw decodeError('result ip4/ip6 lacks "ip"');
      ips.push(ipc.gateway ? { address: ipc.ip, gateway: ipc.gateway } : { address: ipc.ip });
      for (const rt of ipc.routes ?? []) routes.push({ ...rt });
    }
    const out: Result = { cniVersion: CURRENT_VERSION, ips, routes };
    const dns = dnsOrUndefined(l.dns);
    if (dns) out.dns = dns;
    return out;
  }
  const c = r as Result;
  if (c.ips !== undefined && !Array.isArray(c.ips)) throw decodeError('result "ips" is not a list');
  if (c.interfaces !== undefined && !Array.isArray(c.interfaces)) throw decodeError('result "interfaces" is not a list');
  if (c.routes !== undefined && !Array.isArray(c.routes)) throw decodeError('result "routes" is not a list');
  const out: Result = { cniVersion: CURRENT_VERSION };
  if (c.interfaces) out.interfaces = c.interfaces.map((i) => ({ ...i }));
  if (c.ips) {
    out.ips = c.ips.map((ip) => {
      if (!ip || typeof ip.address !== 'string') throw decodeError('result IP config lacks "address"');
      // Key order as the reference prints it: interface, address, gateway.
      const n: Partial<IPConfig> = {};
      if (ip.interface !== undefined && ip.interface !== null) n.interface = ip.interface;
      n.address = ip.address;
      if (ip.gateway) n.gateway = ip.gateway;
      return n as IPConfig;
    });
  }
  if (c.routes) out.routes = c.routes.map((rt) => ({ ...rt }));
  const dns = dnsOrUndefined(c.dns);
  if (dns) out.dns = dns;
  return out;
}

function fromV1(r: Result, to: string): AnyResult {
  const fam = familyOf(to)!;
  if (fam === 'v1') {
    const out: Result = { cniVersion: to };
    if (r.interfaces?.length) out.interfaces = r.interfaces;
    if (r.ips?.length) out.ips = r.ips;
    if (r.routes?.length) out.routes = r.routes;
    if (r.dns) out.dns = r.dns;
    return out;
  }
  if (fam === 'v04') {
    const out: Result = { cniVersion: to };
    if (r.interfaces?.length) {
      // 0.3/0.4 interfaces carry only name, mac, sandbox.
      out.interfaces = r.interfaces.map((i) => {
        const n: Interface = { name: i.name };
        if (i.mac) n.mac = i.mac;
        if (i.sandbox) n.sandbox = i.sandbox;
        return n;
      });
    }
    if (r.ips?.length) {
      out.ips = r.ips.map((ip) => {
        const n: Partial<IPConfig> = { version: ipFamilyOfCidr(ip.address) === 4 ? '4' : '6' };
        if (ip.interface !== undefined) n.interface = ip.interface;
        n.address = ip.address;
        if (ip.gateway) n.gateway = ip.gateway;
        return n as IPConfig;
      });
    }
    if (r.routes?.length) out.routes = r.routes; // route extras kept, as the reference does
    if (r.dns) out.dns = r.dns;
    return out;
  }
  // legacy: first IP of each family; routes follow their family's IP.
  let ip4: LegacyIPConfig | undefined;
  let ip6: LegacyIPConfig | undefined;
  for (const ip of r.ips ?? []) {
    const f = ipFamilyOfCidr(ip.address);
    const entry: LegacyIPConfig = { ip: ip.address };
    if (ip.gateway) entry.gateway = ip.gateway;
    if (f === 4 && !ip4) ip4 = entry;
    if (f === 6 && !ip6) ip6 = entry;
  }
  if (!ip4 && !ip6) throw new CniError(ErrorCode.Internal, 'cannot convert: no valid IP addresses');
  for (const rt of r.routes ?? []) {
    const target = routeFamily(rt) === 4 ? ip4 : ip6;
    if (target) (target.routes ??= []).push(rt);
  }
  const out: LegacyResult = { cniVersion: to };
  if (ip4) out.ip4 = ip4;
  if (ip6) out.ip6 = ip6;
  if (r.dns) out.dns = r.dns;
  return out;
}

/** Converts a result to `toVersion` ('' means 0.1.0), along the spec's edges only. */
export function convertResult(r: AnyResult, toVersion: string): AnyResult {
  checkShape(r);
  const from = normaliseVersion(r.cniVersion);
  const to = normaliseVersion(toVersion);
  const ff = familyOf(from);
  const tf = familyOf(to);
  if (!ff || !tf) throw new CniError(ErrorCode.IncompatibleVersion, `no converter for CNI result version ${from} to ${to}`);
  return fromV1(toV1(r, ff), to);
}

/** Any result → 1.1.0. */
export function toCurrentResult(r: AnyResult): Result {
  return convertResult(r, CURRENT_VERSION) as Result;
}

/**
 * prevResult parsed with the config's version (libcni injects it) and returned as 1.1.0.
 * A prevResult whose version is outside the config version's family is an error, as in
 * the reference's version.ParsePrevResult.
 */
export function parsePrevResult(conf: NetConf): Result | undefined {
  const raw = conf.prevResult;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, 'could not parse prevResult: prevResult is not a JSON object');
  }
  const confVersion = normaliseVersion(conf.cniVersion);
  const prev = { ...(raw as Record<string, unknown>) } as unknown as AnyResult;
  if (!prev.cniVersion) prev.cniVersion = confVersion;
  const cf = familyOf(confVersion);
  if (!cf || familyOf(prev.cniVersion) !== cf) {
    const supported = cf ? FAMILY_VERSIONS[cf] : [...SUPPORTED_VERSIONS];
    throw new CniError(
      ErrorCode.DecodingFailure,
      `could not parse prevResult: result type supports [${supported.join(' ')}] but unmarshalled CNIVersion is "${prev.cniVersion}"`,
    );
  }
  let result: Result;
  try {
    result = toCurrentResult(prev);
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `could not parse prevResult: ${(e as Error).message}`);
  }
  checkAddresses(result);
  return result;
}

/**
 * The reference decodes addresses as it parses (types.IPNet, net.IP): a prevResult naming
 * something that is not an address fails, rather than being skipped by the plugin using it.
 */
function checkAddresses(r: Result): void {
  const fail = (field: string, v: unknown, what: string): never => {
    throw new CniError(ErrorCode.DecodingFailure, `could not parse prevResult: ${field}: ${JSON.stringify(v)} is not ${what}`);
  };
  (r.ips ?? []).forEach((ip, i) => {
    if (!parseCIDR(ip.address)) fail(`ips[${i}].address`, ip.address, 'an address/prefix (CIDR)');
    if (ip.gateway !== undefined && (typeof ip.gateway !== 'string' || !parseIP(ip.gateway))) fail(`ips[${i}].gateway`, ip.gateway, 'an IP address');
  });
  (r.routes ?? []).forEach((rt, i) => {
    if (typeof rt?.dst !== 'string' || !parseCIDR(rt.dst)) fail(`routes[${i}].dst`, rt?.dst, 'an address/prefix (CIDR)');
    if (rt.gw !== undefined && rt.gw !== null && rt.gw !== '' && (typeof rt.gw !== 'string' || !parseIP(rt.gw))) fail(`routes[${i}].gw`, rt.gw, 'an IP address');
  });
}
