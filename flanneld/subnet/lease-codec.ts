// Lease keys and values in flannel's etcd layout, byte-compatible with Go flanneld:
//   key   `<ip>-<len>` or `<v4>-<len>&<v6>-<len>` (subnet.MakeSubnetKey; a v6-only lease has the
//         v4 part `0.0.0.0-0`, as Go writes a zero ip.IP4Net);
//   value json.Marshal(lease.LeaseAttrs): PublicIP, PublicIPv6 (no omitempty: null when unset),
//         BackendType, BackendData, BackendV6Data (omitempty RawMessage), then our NodeID, which
//         Go's json.Unmarshal ignores as an unknown field.
import { formatIP, parseIP, type CIDR, type IP } from '../../shared/ip';
import type { LeaseAttrs, PerFamily } from '../types';
import { LeaseParseError } from './errors';

// flannel's regex (`(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$`), anchored at both ends
// with the dots escaped; the addresses are then checked by parseIP.
const KEY_RE = /^(\d+\.\d+\.\d+\.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

const ZERO_V4 = '0.0.0.0-0';

function cidrPart(c: CIDR): string {
  return `${formatIP(c.ip)}-${c.prefix}`;
}

/** The key name below `<prefix>/subnets/` for a lease's subnets. */
export function formatKeyName(subnets: PerFamily<CIDR>): string {
  const v4 = subnets[4] ? cidrPart(subnets[4]) : ZERO_V4;
  return subnets[6] ? `${v4}&${cidrPart(subnets[6])}` : v4;
}

/** Parses a key name (the part after `<prefix>/subnets/`); null when it is not a lease key. */
export function parseKeyName(name: string): PerFamily<CIDR> | null {
  const m = KEY_RE.exec(name);
  if (!m) return null;
  const out: PerFamily<CIDR> = {};
  const ip4 = parseIP(m[1]!);
  const len4 = Number(m[2]);
  if (!ip4 || ip4.family !== 4 || len4 > 32) return null;
  if (!(ip4.value === 0n && len4 === 0)) out[4] = { ip: ip4, prefix: len4 };
  if (m[3] !== undefined) {
    const ip6 = parseIP(m[3]);
    const len6 = Number(m[4]);
    if (!ip6 || ip6.family !== 6 || len6 > 128) return null;
    out[6] = { ip: ip6, prefix: len6 };
  }
  if (!out[4] && !out[6]) return null;
  return out;
}

// Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings (HTMLEscape); JSON.stringify
// does not. Those characters can only occur inside string literals, so a global replace is safe.
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The lease value exactly as Go's json.Marshal(LeaseAttrs) writes it, plus `"NodeID"` last. */
export function formatLeaseValue(a: LeaseAttrs): string {
  // ip.IP4 is a value type: an unset PublicIP marshals as "0.0.0.0" in Go.
  const parts: string[] = [
    `"PublicIP":${JSON.stringify(a.publicIP[4] ? formatIP(a.publicIP[4]) : '0.0.0.0')}`,
    `"PublicIPv6":${a.publicIP[6] ? JSON.stringify(formatIP(a.publicIP[6])) : 'null'}`,
    `"BackendType":${JSON.stringify(a.backendType)}`,
  ];
  if (a.backendData[4] !== undefined && a.backendData[4] !== null) parts.push(`"BackendData":${JSON.stringify(a.backendData[4])}`);
  if (a.backendData[6] !== undefined && a.backendData[6] !== null) parts.push(`"BackendV6Data":${JSON.stringify(a.backendData[6])}`);
  if (a.nodeId !== undefined) parts.push(`"NodeID":${JSON.stringify(a.nodeId)}`);
  return goEscape(`{${parts.join(',')}}`);
}

// Go's json.Unmarshal matches an exact field name first, then any case-insensitive one.
function pick(obj: Record<string, unknown>, field: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, field)) return obj[field];
  const lower = field.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function ipField(key: string, obj: Record<string, unknown>, field: string, family: 4 | 6): IP | undefined {
  const v = pick(obj, field);
  if (v === undefined || v === null) return undefined;
  const ip = typeof v === 'string' ? parseIP(v) : null;
  if (!ip || ip.family !== family) {
    throw new LeaseParseError(key, `field ${field} is ${JSON.stringify(v)}, not an IPv${family} address`);
  }
  // Go's zero ip.IP4 ("0.0.0.0") means "no public IPv4" (a v6-only node).
  if (family === 4 && ip.value === 0n) return undefined;
  return ip;
}

/** Parses a lease value tolerantly (keys case-insensitive, unknown fields ignored). */
export function parseLeaseValue(key: string, value: string): LeaseAttrs {
  let obj: unknown;
  try {
    obj = JSON.parse(value);
  } catch (e) {
    throw new LeaseParseError(key, `value is not JSON (${(e as Error).message})`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new LeaseParseError(key, `value is not a JSON object`);
  }
  const o = obj as Record<string, unknown>;
  const publicIP: LeaseAttrs['publicIP'] = {};
  const v4 = ipField(key, o, 'PublicIP', 4);
  if (v4) publicIP[4] = v4;
  const v6 = ipField(key, o, 'PublicIPv6', 6);
  if (v6) publicIP[6] = v6;
  const bt = pick(o, 'BackendType');
  if (bt !== undefined && bt !== null && typeof bt !== 'string') {
    throw new LeaseParseError(key, `field BackendType is ${JSON.stringify(bt)}, not a string`);
  }
  const backendData: LeaseAttrs['backendData'] = {};
  const bd4 = pick(o, 'BackendData');
  if (bd4 !== undefined && bd4 !== null) backendData[4] = bd4;
  const bd6 = pick(o, 'BackendV6Data');
  if (bd6 !== undefined && bd6 !== null) backendData[6] = bd6;
  const attrs: LeaseAttrs = { publicIP, backendType: typeof bt === 'string' ? bt : '', backendData };
  const nodeId = pick(o, 'NodeID');
  if (typeof nodeId === 'string' && nodeId !== '') attrs.nodeId = nodeId;
  return attrs;
}
