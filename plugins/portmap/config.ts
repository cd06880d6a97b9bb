// The portmap plugin's configuration (reference: plugins/meta/portmap PortMapConf, §4.1) and
// the container addresses it forwards to, taken from prevResult.
import { parsePrevResult } from '../../shared/cni/convert';
import { configError } from '../../shared/cni/errors';
import type { NetConf, Result } from '../../shared/cni/types';
import { validate } from '../../shared/cni/validate';
import { type CIDR, type IP, parseCIDR, parseIP } from '../../shared/ip';
import { goQuote } from '../../shared/netfilter/names';
import type { NetfilterKind } from '../../shared/netfilter/backend';
import { iptablesUsable, nftablesUsable } from '../../shared/netfilter/run';
import type { MappingInput } from './config-schema';
import { portMapConfValidator } from './config-validators.generated';

type Protocol = 'tcp' | 'udp' | 'sctp';
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

const DEFAULT_MARK_BIT = 13;

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** As configured (reference rules print it verbatim); undefined when absent or empty. */
  hostIP?: string;
  hostIPParsed?: IP;
}

export interface PortMapConf {
  cniVersion: string;
  name: string;
  backend: NetfilterKind;
  snat: boolean;
  masqAll: boolean;
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4?: string[];
  conditionsV6?: string[];
  mappings: PortMapping[];
  /** prevResult as 1.1.0; undefined when the config carries none. */
  prevResult?: Result;
  containerIPv4?: CIDR;
  containerIPv6?: CIDR;
}

// Values spliced into an iptables-restore or nft batch must stay data: a line break starts a new
// batch line (`COMMIT`, `*filter`, `flush ruleset`), and in nft a `;` outside quotes ends the
// command and a `#` comments out the rest of the line (our jump); a NUL cuts the line short.
const BATCH_BREAKERS = /[\r\n\0]/;

/** Whether an nft expression has `;` or `#` outside double quotes, or an unterminated quote. */
function nftBreaksOut(s: string): boolean {
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ';' || ch === '#')) return true;
  }
  return quoted;
}

/** Refuses condition tokens that would not stay inside their rule (code 7, naming the entry). */
export function checkConditions(field: 'conditionsV4' | 'conditionsV6', conds: readonly string[] | undefined): void {
  const syntax = conditionsBackend(conds);
  (conds ?? []).forEach((c, i) => {
    if (syntax === 'nftables' ? BATCH_BREAKERS.test(c) || nftBreaksOut(c) : BATCH_BREAKERS.test(c)) {
      const rule = syntax === 'nftables' ? "must not contain line breaks, NUL, unbalanced quotes, or ';' or '#' outside quotes" : 'must not contain line breaks or NUL';
      throw configError(`${field}[${i}]: ${rule} (got ${JSON.stringify(c)})`);
    }
  });
}

/** An iptables chain name: 1..28 characters, no blanks, quotes or controls, not an option. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CHAIN_NAME_RE = /^[^\s\x00-\x1f\x7f"'\\!-][^\s\x00-\x1f\x7f"'\\]{0,27}$/;

/** Which backend a list of conditions is written for: iptables tokens start with '-' or '!'. */
function conditionsBackend(conds: readonly string[] | undefined): NetfilterKind | undefined {
  if (!conds || conds.length === 0 || conds[0] === '') return undefined;
  return conds[0]!.startsWith('-') || conds[0]!.startsWith('!') ? 'iptables' : 'nftables';
}

export interface BackendProbe {
  iptables(): boolean;
  nftables(): boolean;
}

const hostProbe: BackendProbe = { iptables: () => iptablesUsable(4), nftables: () => nftablesUsable() };

/**
 * The backend: as configured, else the one the backend-specific options are written for
 * (the reference errors out on nft-syntax conditions without `backend`; we follow the user),
 * else iptables unless only nftables is usable.
 */
function chooseBackend(
  configured: string | undefined,
  opts: Record<NetfilterKind, string[]>,
  probe: BackendProbe,
): NetfilterKind {
  let backend: NetfilterKind;
  if (configured !== undefined) {
    if (configured !== 'iptables' && configured !== 'nftables') throw configError(`unrecognized backend ${goQuote(configured)}`);
    backend = configured;
  } else if (opts.nftables.length > 0 && opts.iptables.length === 0) {
    backend = 'nftables';
  } else if (opts.iptables.length > 0 && opts.nftables.length === 0) {
    backend = 'iptables';
  } else {
    backend = !probe.iptables() && probe.nftables() ? 'nftables' : 'iptables';
  }
  const wrong: NetfilterKind = backend === 'iptables' ? 'nftables' : 'iptables';
  if (opts[wrong].length > 0) {
    throw configError(`${backend} backend was requested but configuration contains ${wrong}-specific options [${opts[wrong].join(' ')}]`);
  }
  return backend;
}

function parseMapping(m: MappingInput): PortMapping {
  const hostPort = m.hostPort ?? 0;
  const containerPort = m.containerPort ?? 0;
  // Order as the reference: container port first.
  if (!Number.isInteger(containerPort) || containerPort <= 0 || containerPort > 65535) {
    throw configError(`Invalid container port number: ${containerPort}`);
  }
  if (!Number.isInteger(hostPort) || hostPort <= 0 || hostPort > 65535) {
    throw configError(`Invalid host port number: ${hostPort}`);
  }
  // A missing protocol means TCP (Docker's and Kubernetes' default); iptables and nft want lower case.
  const proto = (m.protocol ?? '').toLowerCase() || 'tcp';
  if (!(PROTOCOLS as readonly string[]).includes(proto)) {
    throw configError(`Invalid protocol: ${goQuote(m.protocol ?? '')} (want tcp, udp or sctp)`);
  }
  const out: PortMapping = { hostPort, containerPort, protocol: proto as Protocol };
  if (m.hostIP) {
    const ip = parseIP(m.hostIP);
    if (!ip) throw configError(`Invalid host IP: ${goQuote(m.hostIP)}`);
    out.hostIP = m.hostIP;
    out.hostIPParsed = ip;
  }
  return out;
}

/**
 * The container addresses: the first IPv4 and first IPv6 of prevResult, skipping addresses
 * whose (valid) interface index names another interface or one without a sandbox.
 */
function selectContainerIPs(result: Result, ifname: string): { v4?: CIDR; v6?: CIDR } {
  const out: { v4?: CIDR; v6?: CIDR } = {};
  const ifaces = result.interfaces ?? [];
  for (const ipc of result.ips ?? []) {
    const c = parseCIDR(ipc.address);
    if (!c) continue;
    if ((c.ip.family === 4 && out.v4) || (c.ip.family === 6 && out.v6)) continue;
    const idx = ipc.interface;
    if (typeof idx === 'number' && idx >= 0 && idx < ifaces.length) {
      const i = ifaces[idx]!;
      if (i.name !== ifname || !i.sandbox) continue;
    }
    if (c.ip.family === 4) out.v4 = c;
    else out.v6 = c;
  }
  return out;
}

/** Parses and validates the config (code 7 errors with the reference's texts). */
export function parsePortMapConf(conf: NetConf, ifname: string, probe: BackendProbe = hostProbe): PortMapConf {
  const raw = validate(portMapConfValidator, conf);
  if (raw.markMasqBit != null && raw.externalSetMarkChain != null) {
    throw configError('Cannot specify externalSetMarkChain and markMasqBit');
  }
  const markMasqBit = raw.markMasqBit ?? DEFAULT_MARK_BIT;
  if (markMasqBit < 0 || markMasqBit > 31) throw configError('MasqMarkBit must be between 0 and 31');

  if (raw.externalSetMarkChain != null && !CHAIN_NAME_RE.test(raw.externalSetMarkChain)) {
    throw configError(`externalSetMarkChain: must be an iptables chain name (got ${JSON.stringify(raw.externalSetMarkChain)})`);
  }
  const conditionsV4 = raw.conditionsV4 ?? undefined;
  const conditionsV6 = raw.conditionsV6 ?? undefined;
  checkConditions('conditionsV4', conditionsV4);
  checkConditions('conditionsV6', conditionsV6);
  const opts: Record<NetfilterKind, string[]> = { iptables: [], nftables: [] };
  if (raw.externalSetMarkChain != null) opts.iptables.push('externalSetMarkChain');
  const b4 = conditionsBackend(conditionsV4);
  if (b4) opts[b4].push('conditionsV4');
  const b6 = conditionsBackend(conditionsV6);
  if (b6) opts[b6].push('conditionsV6');
  const backend = chooseBackend(raw.backend ?? undefined, opts, probe);

  const mappings = (raw.runtimeConfig?.portMappings ?? []).map(parseMapping);

  const out: PortMapConf = {
    cniVersion: conf.cniVersion,
    name: conf.name,
    backend,
    snat: raw.snat ?? true,
    masqAll: raw.masqAll ?? false,
    markMasqBit,
    mappings,
  };
  if (raw.externalSetMarkChain != null) out.externalSetMarkChain = raw.externalSetMarkChain;
  if (conditionsV4) out.conditionsV4 = conditionsV4;
  if (conditionsV6) out.conditionsV6 = conditionsV6;
  const prev = parsePrevResult(conf);
  if (prev) {
    out.prevResult = prev;
    const { v4, v6 } = selectContainerIPs(prev, ifname);
    if (v4) out.containerIPv4 = v4;
    if (v6) out.containerIPv6 = v6;
  }
  return out;
}

/** The container addresses to forward to, IPv4 first. */
export function containerNets(c: PortMapConf): CIDR[] {
  const out: CIDR[] = [];
  if (c.containerIPv4) out.push(c.containerIPv4);
  if (c.containerIPv6) out.push(c.containerIPv6);
  return out;
}
