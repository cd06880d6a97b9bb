// nftables text and JSON helpers (pure): quoting for `nft -f` batches and reading the rules
// out of `nft -j -a list ...` output.

/** nft comments hold at most 128 bytes (NFT_USERDATA_MAXLEN), like knftables' CommentLengthMax. */
export const NFT_COMMENT_MAX = 128;

/**
 * A double-quoted nft string. nft has no escape for `"` inside a string, so quotes (and
 * backslashes) are dropped, as the reference does for the names it puts in comments.
 */
export function nftString(s: string): string {
  return '"' + s.replace(/["\\\n\r]/g, '') + '"';
}

/** Cuts a comment to nft's limit, counting UTF-8 bytes and never splitting a character. */
export function truncateComment(s: string): string {
  if (Buffer.byteLength(s, 'utf8') <= NFT_COMMENT_MAX) return s;
  let out = '';
  let n = 0;
  for (const ch of s) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (n + b > NFT_COMMENT_MAX) break;
    out += ch;
    n += b;
  }
  return out;
}

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
  expr: unknown[];
}

interface NftObject {
  rule?: { family: string; table: string; chain: string; handle: number; comment?: string; expr?: unknown[] };
  chain?: { family: string; table: string; name: string };
}

function objects(json: unknown): NftObject[] {
  if (!json || typeof json !== 'object') return [];
  const list = (json as { nftables?: unknown }).nftables;
  return Array.isArray(list) ? (list as NftObject[]) : [];
}

/** All rules of a listing (with handles when listed with -a). */
export function rulesOf(json: unknown): NftRule[] {
  const out: NftRule[] = [];
  for (const o of objects(json)) {
    const r = o.rule;
    if (!r) continue;
    out.push({ family: r.family, table: r.table, chain: r.chain, handle: r.handle, comment: r.comment, expr: r.expr ?? [] });
  }
  return out;
}

/** The delete command for a listed rule. */
export const deleteRuleCmd = (r: NftRule): string => `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`;

/** Whether a rule's expressions mention `value` as a whole JSON string (e.g. an address). */
export function exprMentions(r: NftRule, value: string): boolean {
  return JSON.stringify(r.expr).includes(JSON.stringify(value));
}
