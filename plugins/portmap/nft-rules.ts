// The portmap nftables rules (tables `ip cni_hostport` and `ip6 cni_hostport`, §4.4) and the
// selection of a container's rules for DEL, CHECK and GC. Pure: nft-backend.ts runs them.
//
// Rule identity. The reference comments every rule with the bare container ID, so its DEL
// and CHECK cannot tell two networks of one container apart, and GC (per network) would be
// impossible. Our rules carry `<H(net)>-<H(cid)>, net: <net>, id: <cid>` (H = 16 hex of
// sha512, as the ipmasq comments; cut to 128 bytes), which scopes DEL, CHECK and GC to
// (network, container). Rules made by the Go plugin (comment == containerID) are still
// matched by our DEL/CHECK; on DEL they are scoped by the container's addresses when
// prevResult is known (every such rule names the container IP). Trade-off: the reference's
// DEL matches comment == containerID exactly, so it does not remove rules we made.
import { type CIDR, formatIP, isUnspecified } from '../../shared/ip';
import { shortHash } from '../../shared/netfilter/names';
import { exprMentions, type NftRule, nftString, truncateComment } from '../../shared/netfilter/nft';
import type { RuleConf } from './iptables-rules';

export const NFT_TABLE = 'cni_hostport';
const HOSTPORTS_CHAIN = 'hostports';
/** Legacy: hostIP rules lived here; kept (empty) so older rule sets keep working. */
const HOSTIP_HOSTPORTS_CHAIN = 'hostip_hostports';
const HOSTPORTS_ALL_CHAIN = 'hostports_all';
const MASQUERADING_CHAIN = 'masquerading';
/** Chains holding per-container rules. */
const RULE_CHAINS = [HOSTPORTS_CHAIN, HOSTIP_HOSTPORTS_CHAIN, MASQUERADING_CHAIN] as const;

export type NftFamily = 'ip' | 'ip6';
const nftFamilyOf = (c: CIDR): NftFamily => (c.ip.family === 4 ? 'ip' : 'ip6');

/** The prefix that identifies one (network, container)'s rules. */
const nftInstancePrefix = (net: string, cid: string): string => `${shortHash(net)}-${shortHash(cid)}`;
/** The prefix shared by every rule of one network. */
const nftNetworkPrefix = (net: string): string => `${shortHash(net)}-`;

export function nftComment(net: string, cid: string): string {
  const strip = (s: string): string => s.replace(/["\\\n\r]/g, '');
  return truncateComment(`${nftInstancePrefix(net, cid)}, net: ${strip(net)}, id: ${strip(cid)}`);
}

/** `ip:port` / `[ip]:port`. */
const target = (c: CIDR, port: number): string =>
  c.ip.family === 6 ? `[${formatIP(c.ip)}]:${port}` : `${formatIP(c.ip)}:${port}`;

/** The mapping rules (chain hostports) for one container address. */
function hostportRules(c: RuleConf, containerNet: CIDR): string[] {
  const fam = nftFamilyOf(containerNet);
  const out: string[] = [];
  for (const m of c.mappings) {
    let dst = '';
    if (m.hostIPParsed) {
      if (m.hostIPParsed.family !== containerNet.ip.family) continue;
      if (!isUnspecified(m.hostIPParsed)) dst = `${fam} daddr ${formatIP(m.hostIPParsed)} `;
    }
    out.push(`${dst}${m.protocol} dport ${m.hostPort} dnat to ${target(containerNet, m.containerPort)}`);
  }
  return out;
}

/** The masquerade rules (chain masquerading) for one container address; empty without snat. */
function masqueradeRules(c: RuleConf, containerNet: CIDR): string[] {
  if (!c.snat) return [];
  const fam = nftFamilyOf(containerNet);
  const ip = formatIP(containerNet.ip);
  const src = c.masqAll ? (fam === 'ip' ? '0.0.0.0/0' : '::/0') : ip;
  const out = [`${fam} saddr ${src} ${fam} daddr ${ip} masquerade`];
  if (fam === 'ip' && !c.masqAll) out.push(`ip saddr 127.0.0.1 ip daddr ${ip} masquerade`);
  return out;
}

/** One `nft -f` batch: skeleton (idempotent; hook chains rebuilt) and this container's rules. */
export function nftAddBatch(c: RuleConf, cid: string, containerNet: CIDR): string {
  const fam = nftFamilyOf(containerNet);
  const T = `${fam} ${NFT_TABLE}`;
  const conds = ((fam === 'ip' ? c.conditionsV4 : c.conditionsV6) ?? []).join(' ');
  const entry = `${conds ? conds + ' ' : ''}fib daddr type local jump ${HOSTPORTS_ALL_CHAIN}`;
  const comment = nftString(nftComment(c.name, cid));
  const lines = [
    `add table ${T} { comment ${nftString('CNI portmap plugin')} ; }`,
    `add chain ${T} ${HOSTPORTS_CHAIN}`,
    `add chain ${T} ${HOSTIP_HOSTPORTS_CHAIN}`,
    `add chain ${T} ${HOSTPORTS_ALL_CHAIN}`,
    `flush chain ${T} ${HOSTPORTS_ALL_CHAIN}`,
    `add rule ${T} ${HOSTPORTS_ALL_CHAIN} jump ${HOSTIP_HOSTPORTS_CHAIN}`,
    `add rule ${T} ${HOSTPORTS_ALL_CHAIN} jump ${HOSTPORTS_CHAIN}`,
    `add chain ${T} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${T} prerouting`,
    `add rule ${T} prerouting ${entry}`,
    `add chain ${T} output { type nat hook output priority -100 ; }`,
    `flush chain ${T} output`,
    `add rule ${T} output ${entry}`,
  ];
  if (c.snat) lines.push(`add chain ${T} ${MASQUERADING_CHAIN} { type nat hook postrouting priority 100 ; }`);
  for (const r of hostportRules(c, containerNet)) lines.push(`add rule ${T} ${HOSTPORTS_CHAIN} ${r} comment ${comment}`);
  for (const r of masqueradeRules(c, containerNet)) lines.push(`add rule ${T} ${MASQUERADING_CHAIN} ${r} comment ${comment}`);
  return lines.join('\n') + '\n';
}

const inRuleChain = (r: NftRule): boolean => (RULE_CHAINS as readonly string[]).includes(r.chain);

/**
 * This (network, container)'s rules in a listing: ours by comment prefix; the reference's
 * (comment == containerID) too, restricted to the container's addresses when known.
 */
export function ownedRules(rules: readonly NftRule[], net: string, cid: string, containerIPs?: readonly string[]): NftRule[] {
  const prefix = nftInstancePrefix(net, cid);
  return rules.filter((r) => {
    if (!inRuleChain(r) || r.comment === undefined) return false;
    if (r.comment.startsWith(prefix)) return true;
    if (r.comment !== cid) return false;
    return !containerIPs || containerIPs.length === 0 || containerIPs.some((ip) => exprMentions(r, ip));
  });
}

/** GC: rules of network `net` whose container is not among `validCids`. */
export function staleRules(rules: readonly NftRule[], net: string, validCids: readonly string[]): NftRule[] {
  const netPrefix = nftNetworkPrefix(net);
  const keep = new Set(validCids.map((cid) => nftInstancePrefix(net, cid)));
  return rules.filter((r) => inRuleChain(r) && r.comment?.startsWith(netPrefix) && !keep.has(r.comment.slice(0, 33)));
}

/** The parts of an expression of `nft -j` output that udpForwardOf reads. */
interface NftExprJson {
  match?: { op?: string; left?: { payload?: { protocol?: string; field?: string } }; right?: unknown };
  dnat?: { addr?: unknown };
}

/** The UDP host port and container address of a mapping rule (`udp dport P dnat to ip:port`), if it is one. */
export function udpForwardOf(r: NftRule): { hostPort: number; ip: string } | undefined {
  let port: number | undefined;
  let ip: string | undefined;
  for (const e of r.expr as NftExprJson[]) {
    const left = e?.match?.left?.payload;
    if (e?.match?.op === '==' && left?.protocol === 'udp' && left?.field === 'dport' && typeof e.match.right === 'number') port = e.match.right;
    if (typeof e?.dnat?.addr === 'string') ip = e.dnat.addr;
  }
  return port !== undefined && ip !== undefined ? { hostPort: port, ip } : undefined;
}

/**
 * CHECK for one address: enough rules of this container in `hostports` (mappings of this
 * family or without hostIP) and in `masquerading` (1, or 2 for IPv4 without masqAll).
 * Returns the reference's error text, or undefined when fine.
 */
export function checkRules(rules: readonly NftRule[], c: RuleConf, cid: string, containerNet: CIDR): string | undefined {
  const mine = ownedRules(rules, c.name, cid, [formatIP(containerNet.ip)]);
  const count = (chains: readonly string[]): number => mine.filter((r) => chains.includes(r.chain)).length;
  const wantPorts = c.mappings.filter((m) => !m.hostIPParsed || m.hostIPParsed.family === containerNet.ip.family).length;
  if (wantPorts > 0 && count([HOSTPORTS_CHAIN, HOSTIP_HOSTPORTS_CHAIN]) < wantPorts) {
    return `missing hostport rules in "${HOSTPORTS_CHAIN}" chain`;
  }
  if (c.snat) {
    const wantMasq = containerNet.ip.family === 4 && !c.masqAll ? 2 : 1;
    if (count([MASQUERADING_CHAIN]) < wantMasq) return `missing hostport rules in "${MASQUERADING_CHAIN}" chain`;
  }
  return undefined;
}
