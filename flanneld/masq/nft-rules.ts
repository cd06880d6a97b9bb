// flanneld's nftables mode (EnableNFTables, flanneld.md §7): our own tables `ip flannel-ipv4` and
// `ip6 flannel-ipv6`, each replaced as a whole by one `nft -f` transaction. Pure: the batch text
// and the comparison of a `nft -j list table` read with what was applied.
//
// Chain names, types, hooks, priorities and comments are the reference's (its e2e compares
// `nft list chain flannel-ipv4 postrtg` text); the rules carry the iptables chains' semantics
// (iptables-rules.ts), which differ from the reference's nft rules in two places on purpose:
// kube-proxy's mark is matched as the bit 0x4000 (`--mark 0x4000/0x4000`), not as a mark equal to
// 0x4000, and the fourth rule keeps external traffic to *our* pods un-NATed (`! -s N -d P`) where
// the reference's nft text (`saddr != P daddr N`) also exempts host → remote-pod traffic, which
// leaves its last masquerade rule unreachable.
import { type CIDR, type Family } from '../../shared/ip';
import { MULTICAST_NET } from '../../shared/netfilter/ipmasq-rules';
import { familyCIDR } from './family-cidr';

export const NFT_TABLE: Record<Family, { family: 'ip' | 'ip6'; name: string }> = {
  4: { family: 'ip', name: 'flannel-ipv4' },
  6: { family: 'ip6', name: 'flannel-ipv6' },
};
const NFT_MASQ_CHAIN = 'postrtg';
const NFT_FORWARD_CHAIN = 'forward';
/** kube-proxy's KUBE-MARK-MASQ bit. */
const KUBE_PROXY_MARK_BIT = '0x00004000';

interface NftChain {
  name: string;
  comment: string;
  /** The chain's `type … hook … priority …; policy accept;` line. */
  hook: string;
  rules: string[];
}

/** One family's table as flanneld wants it. */
export interface NftTable {
  family: Family;
  chains: NftChain[];
}

/** `postrtg`: the FLANNEL-POSTRTG rules (see masqRules) in nft syntax, in the same order. */
export function nftMasqChain(family: Family, network: CIDR, subnet: CIDR, randomFully: boolean): NftChain {
  const n = familyCIDR(family, 'network', network);
  const p = familyCIDR(family, 'subnet', subnet);
  const a = NFT_TABLE[family].family;
  const masq = randomFully ? 'masquerade fully-random' : 'masquerade';
  return {
    name: NFT_MASQ_CHAIN,
    comment: 'chain to manage traffic masquerading by flannel',
    // srcnat (100): NAT after every filter decision, like iptables' nat POSTROUTING.
    hook: 'type nat hook postrouting priority srcnat; policy accept;',
    rules: [
      `meta mark & ${KUBE_PROXY_MARK_BIT} == ${KUBE_PROXY_MARK_BIT} return`,
      `${a} saddr ${p} ${a} daddr ${n} return`,
      `${a} saddr ${n} ${a} daddr ${p} return`,
      `${a} saddr != ${n} ${a} daddr ${p} return`,
      `${a} saddr ${n} ${a} daddr != ${MULTICAST_NET[family]} ${masq}`,
      `${a} saddr != ${n} ${a} daddr ${n} ${masq}`,
    ],
  };
}

/**
 * `forward`: accept the network's traffic. A separate base chain cannot override another base
 * chain's drop (an accept only ends this chain), but it is what the reference installs and it
 * keeps the network's packets from falling through to a drop policy of ours; no drop policy here,
 * ever: that would cut the node's own forwarding.
 */
export function nftForwardChain(family: Family, network: CIDR): NftChain {
  const n = familyCIDR(family, 'network', network);
  const a = NFT_TABLE[family].family;
  return {
    name: NFT_FORWARD_CHAIN,
    comment: 'chain to accept flannel traffic',
    hook: 'type filter hook forward priority filter; policy accept;',
    rules: [`${a} saddr ${n} accept`, `${a} daddr ${n} accept`],
  };
}

/**
 * One transaction that replaces the table: `add table` (so the `delete` cannot fail on a first
 * install), `delete table` (the old chains and rules go, whatever was in them), then the table
 * in full. The kernel applies the batch atomically: packets see the old set or the new one.
 * A table without chains is deleted only (nothing is wanted for that family any more).
 */
export function nftTableBatch(t: NftTable): string {
  const { family, name } = NFT_TABLE[t.family];
  const lines = [`add table ${family} ${name}`, `delete table ${family} ${name}`];
  if (t.chains.length === 0) return lines.join('\n') + '\n';
  lines.push(`table ${family} ${name} {`, `\tcomment "rules for ${name}"`);
  for (const c of t.chains) {
    lines.push(`\tchain ${c.name} {`, `\t\tcomment "${c.comment}"`, `\t\t${c.hook}`);
    for (const r of c.rules) lines.push(`\t\t${r}`);
    lines.push('\t}');
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Deletes our tables of the given families when present (`destroy` needs nft ≥ 1.0.8). */
export function nftDeleteTablesBatch(families: readonly Family[]): string {
  return families.map((f) => `add table ${NFT_TABLE[f].family} ${NFT_TABLE[f].name}\ndelete table ${NFT_TABLE[f].family} ${NFT_TABLE[f].name}\n`).join('');
}

/**
 * A listing reduced to what the kernel holds, without handles: the fingerprint compared across
 * resyncs. `nft -j list table` prints its own rendering of each rule's expressions (not our
 * text), so the manager fingerprints the table right after applying it and compares later reads
 * with that.
 */
export function nftFingerprint(json: unknown): string {
  const list = (json as { nftables?: unknown[] } | undefined)?.nftables;
  if (!Array.isArray(list)) return '';
  const out: unknown[] = [];
  for (const o of list) {
    if (!o || typeof o !== 'object' || 'metainfo' in o) continue;
    const [[kind, body]] = Object.entries(o as Record<string, unknown>) as [[string, Record<string, unknown>]];
    const { handle: _h, ...rest } = body ?? {};
    out.push({ [kind]: rest });
  }
  return JSON.stringify(out);
}

/** Rules per chain in a listing (a quick check that an applied table has what was sent). */
export function nftRuleCounts(json: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  const list = (json as { nftables?: unknown[] } | undefined)?.nftables ?? [];
  for (const o of list) {
    const c = (o as { chain?: { name: string } }).chain;
    if (c) counts.set(c.name, counts.get(c.name) ?? 0);
    const r = (o as { rule?: { chain: string } }).rule;
    if (r) counts.set(r.chain, (counts.get(r.chain) ?? 0) + 1);
  }
  return counts;
}
