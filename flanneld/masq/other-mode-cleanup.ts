// The other traffic manager's leftovers (flanneld.md §7: cleaned at start, as the reference does):
// switching a node from iptables to nftables mode, or back, must not leave the old mode's rules
// masquerading with an older subnet. Pure: the batches; the manager runs them.
import type { Family } from '../../shared/ip';
import { deleteLineFor, jumpTarget, tableBatch, type SavedTable } from '../../shared/netfilter/restore';
import { FORWARD_CHAIN, MASQ_CHAIN } from './iptables-rules';
import { NFT_TABLE } from './nft-rules';

/** Our iptables chains, by table. */
const IPTABLES_CHAINS: ReadonlyArray<{ table: 'nat' | 'filter'; chain: string }> = [
  { table: 'nat', chain: MASQ_CHAIN },
  { table: 'filter', chain: FORWARD_CHAIN },
];

/**
 * One iptables-restore input (both tables, one transaction per table) that removes every jump to
 * our chains, then flushes and deletes the chains. Empty when the dumps hold none of it.
 * `saved` maps a table name to parseSave of that table.
 */
export function iptablesCleanupBatch(saved: Record<'nat' | 'filter', SavedTable>): { batch: string; removed: string[] } {
  let batch = '';
  const removed: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const t = saved[table];
    const lines: string[] = [];
    for (const { chain } of IPTABLES_CHAINS.filter((c) => c.table === table)) {
      // A chain that is still referenced cannot be deleted: the jumps go first, in the same batch.
      const jumps = t.rules.filter((r) => r.chain !== chain && jumpTarget(r.args) === chain);
      for (const r of jumps) lines.push(deleteLineFor(r));
      if (t.chains.has(chain)) {
        lines.push(`-F ${chain}`, `-X ${chain}`);
        removed.push(`${table} ${chain}`);
      } else if (jumps.length) {
        removed.push(`${table} jumps to ${chain}`);
      }
    }
    if (lines.length) batch += tableBatch(table, lines);
  }
  return { batch, removed };
}

/** Which of our nft tables a `nft -j list tables` listing holds. */
export function ourNftTables(json: unknown): Family[] {
  const list = (json as { nftables?: Array<{ table?: { family: string; name: string } }> } | undefined)?.nftables ?? [];
  return ([4, 6] as const).filter((f) => list.some((o) => o.table?.family === NFT_TABLE[f].family && o.table.name === NFT_TABLE[f].name));
}
