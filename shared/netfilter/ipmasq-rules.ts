// The bridge plugin's ipMasq rules, generated exactly as the reference (pkg/ip ipmasq) makes
// them, so that chains and rules made by either implementation are found by the other.
// Pure: returns rule argument lists and batch text; ipmasq.ts runs them.
import { type CIDR, type Family, formatCIDR, formatIP, networkOf } from '../ip';
import { formatChainName, formatComment, shortHash } from './names';
import { NFT_COMMENT_MAX, nftString, truncateComment } from './nft';
import { ruleLine, tableBatch } from './restore';

// ---------------------------------------------------------------- iptables (table nat)

export const MULTICAST_NET: Record<Family, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' };

export interface IptMasqIds {
  chain: string;
  comment: string;
}

/** Chain `CNI-<hash(net+cid)>` and comment `name: "<net>" id: "<cid>"`; ifname is not part of it (historical). */
export const iptMasqIds = (network: string, containerId: string): IptMasqIds => ({
  chain: formatChainName(network, containerId),
  comment: formatComment(network, containerId),
});

/** Rules of the per-attachment chain for the addresses of one family: ACCEPTs, then one MASQUERADE. */
export function iptMasqChainRules(ips: readonly CIDR[], ids: IptMasqIds): string[][] {
  if (ips.length === 0) return [];
  const fam = ips[0]!.ip.family;
  const rules = ips.map((c) => ['-d', formatCIDR(c), '-j', 'ACCEPT', '-m', 'comment', '--comment', ids.comment]);
  rules.push(['!', '-d', MULTICAST_NET[fam], '-j', 'MASQUERADE', '-m', 'comment', '--comment', ids.comment]);
  return rules;
}

/** POSTROUTING jump for one address (`-s <ip>`, no prefix). */
export const iptMasqJumpRule = (c: CIDR, ids: IptMasqIds): string[] =>
  ['-s', formatIP(c.ip), '-j', ids.chain, '-m', 'comment', '--comment', ids.comment];

/**
 * Fast setup batch: `-N` makes the batch fail when the chain already exists (repeated ADD,
 * IP reuse), which sends the caller to the reconciling slow path instead of duplicating jumps.
 */
export function iptMasqSetupBatch(ips: readonly CIDR[], ids: IptMasqIds): string {
  const lines = [`-N ${ids.chain}`];
  for (const r of iptMasqChainRules(ips, ids)) lines.push(ruleLine('-A', ids.chain, r));
  for (const c of ips) lines.push(ruleLine('-A', 'POSTROUTING', iptMasqJumpRule(c, ids)));
  return tableBatch('nat', lines);
}

/**
 * Reconciling setup batch: deletes the given existing jump lines (saved `-D ...` lines),
 * creates-or-flushes the chain (`:CHAIN` does both in --noflush mode) and refills it.
 */
export function iptMasqResetBatch(ips: readonly CIDR[], ids: IptMasqIds, deleteLines: readonly string[]): string {
  const lines = [...deleteLines, `:${ids.chain} - [0:0]`];
  for (const r of iptMasqChainRules(ips, ids)) lines.push(ruleLine('-A', ids.chain, r));
  for (const c of ips) lines.push(ruleLine('-A', 'POSTROUTING', iptMasqJumpRule(c, ids)));
  return tableBatch('nat', lines);
}

/** Fast teardown batch: the exact jumps for the known addresses, then flush and delete the chain. */
export function iptMasqTeardownBatch(ips: readonly CIDR[], ids: IptMasqIds): string {
  const lines = ips.map((c) => ruleLine('-D', 'POSTROUTING', iptMasqJumpRule(c, ids)));
  lines.push(`-F ${ids.chain}`, `-X ${ids.chain}`);
  return tableBatch('nat', lines);
}

/** Teardown from a scan: the saved jump lines to delete, then flush+delete when the chain exists. */
export function iptRemoveChainBatch(chains: readonly string[], deleteLines: readonly string[], existing: ReadonlySet<string>): string | undefined {
  const lines = [...deleteLines];
  for (const c of chains) if (existing.has(c)) lines.push(`-F ${c}`);
  for (const c of chains) if (existing.has(c)) lines.push(`-X ${c}`);
  return lines.length ? tableBatch('nat', lines) : undefined;
}

// ---------------------------------------------------------------- nftables (inet cni_plugins_masquerade)

export const NFT_MASQ_TABLE = 'cni_plugins_masquerade';
export const NFT_MASQ_CHAIN = 'masq_checks';
const T = `inet ${NFT_MASQ_TABLE}`;

/** H(network): the prefix shared by every rule of one network. */
export const nftNetworkHash = (network: string): string => shortHash(network);

/** H(network)-H(ifname:cid): the prefix identifying one attachment's rules. */
export const nftInstanceHash = (network: string, ifname: string, containerId: string): string =>
  `${shortHash(network)}-${shortHash(`${ifname}:${containerId}`)}`;

/**
 * `<H(net)>-<H(if:cid)>, net: <net>, if: <ifname>, id: <cid>` without double quotes, cut to 128.
 * Backslashes go too: nftString() drops them when the rule is written, and GC compares this
 * text with the stored comment (an interface name may contain one).
 */
export function nftMasqComment(network: string, ifname: string, containerId: string): string {
  const strip = (s: string): string => s.replace(/["\\]/g, '');
  const c = `${nftInstanceHash(network, ifname, containerId)}, net: ${strip(network)}, if: ${strip(ifname)}, id: ${strip(containerId)}`;
  return c.length > NFT_COMMENT_MAX ? truncateComment(c) : c;
}

/** Setup batch: skeleton (idempotent), stale rules of this instance deleted, one rule per address. */
export function nftMasqSetupBatch(
  ips: readonly CIDR[],
  network: string,
  ifname: string,
  containerId: string,
  staleDeletes: readonly string[],
): string {
  const comment = nftMasqComment(network, ifname, containerId);
  const lines = [
    `add table ${T} { comment ${nftString('Masquerading for plugins from github.com/containernetworking/plugins')} ; }`,
    `add chain ${T} ${NFT_MASQ_CHAIN} { comment ${nftString('Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet')} ; }`,
    `add chain ${T} postrouting { type nat hook postrouting priority 100 ; }`,
    `flush chain ${T} postrouting`,
    `add rule ${T} postrouting ip daddr == 224.0.0.0/4 return`,
    `add rule ${T} postrouting ip6 daddr == ff00::/8 return`,
    `add rule ${T} postrouting goto ${NFT_MASQ_CHAIN}`,
    ...staleDeletes,
  ];
  for (const c of ips) {
    const ipx = c.ip.family === 4 ? 'ip' : 'ip6';
    lines.push(
      `add rule ${T} ${NFT_MASQ_CHAIN} ${ipx} saddr == ${formatIP(c.ip)} ${ipx} daddr != ${formatCIDR(networkOf(c))} masquerade comment ${nftString(comment)}`,
    );
  }
  return lines.join('\n') + '\n';
}
