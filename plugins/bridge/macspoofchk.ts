// MAC spoof check (reference: pkg/link/spoofcheck.go, §2.5): in the nftables *bridge* family,
// frames entering the bridge from the host veth must carry the container's MAC as source.
// Layout: table `bridge nat`, base chain PREROUTING (filter, prerouting, priority -300, policy
// accept) with `iifname <hostVeth> jump cni-br-iface-<id>`; that chain jumps to `<chain>-mac`,
// which returns for `ether saddr <mac>` and drops the rest. Every rule carries the comment
// `macspoofchk-<id>`, id = `<containerID>-<ifname>`.
import { internalError } from '../../shared/cni/errors';
import { nftablesUsable, nftApply, nftListJson } from '../../shared/netfilter/run';

const SPOOFCHK_TABLE = 'nat';
const SPOOFCHK_BASE_CHAIN = 'PREROUTING';

export const spoofchkRefId = (containerId: string, ifname: string): string => `${containerId}-${ifname}`;
const spoofchkComment = (refId: string): string => `macspoofchk-${refId}`;
const ifaceChainName = (refId: string): string => `cni-br-iface-${refId}`;
const macChainName = (refId: string): string => `${ifaceChainName(refId)}-mac`;

// nft's scanner takes unquoted identifiers of letters, digits and `/\_.-`; container IDs are
// restricted to that set by the spec, interface names are not: refuse what would not parse.
const NFT_WORD = /^[A-Za-z0-9_.\-/]+$/;

function checkWord(what: string, v: string): void {
  if (!NFT_WORD.test(v)) throw internalError(`failed to setup spoof-check: ${what} ${JSON.stringify(v)} cannot be used in an nftables chain name`);
}

/**
 * One atomic batch: declare table and chains (no-ops when present), flush the attachment's own
 * chains so a repeated setup does not duplicate their rules, then add the rules.
 */
export function spoofchkSetupBatch(hostVeth: string, mac: string, refId: string): string {
  checkWord('attachment id', refId);
  checkWord('interface name', hostVeth);
  const t = `bridge ${SPOOFCHK_TABLE}`;
  const ic = ifaceChainName(refId);
  const mc = macChainName(refId);
  const c = `comment "${spoofchkComment(refId)}"`;
  return [
    `add table ${t}`,
    `add chain ${t} ${SPOOFCHK_BASE_CHAIN} { type filter hook prerouting priority -300 ; policy accept ; }`,
    `add chain ${t} ${ic}`,
    `add chain ${t} ${mc}`,
    `flush chain ${t} ${ic}`,
    `flush chain ${t} ${mc}`,
    `add rule ${t} ${SPOOFCHK_BASE_CHAIN} iifname "${hostVeth}" jump ${ic} ${c}`,
    `add rule ${t} ${ic} jump ${mc} ${c}`,
    `add rule ${t} ${mc} ether saddr ${mac} return ${c}`,
    `add rule ${t} ${mc} drop ${c}`,
    '',
  ].join('\n');
}

interface NftJsonObject {
  chain?: { family: string; table: string; name: string; handle: number };
  rule?: { family: string; table: string; chain: string; handle: number; comment?: string; expr?: unknown[] };
}

type NftListing = { nftables?: NftJsonObject[] };

/** The `iifname "<veth>"` of a base-chain rule's expressions (nft JSON `match` on meta iifname). */
function matchedIifname(expr: unknown[] | undefined): string | undefined {
  for (const e of expr ?? []) {
    const m = (e as { match?: { left?: { meta?: { key?: string } }; right?: unknown } }).match;
    if (m?.left?.meta?.key === 'iifname' && typeof m.right === 'string') return m.right;
  }
  return undefined;
}

/**
 * The teardown batch for `nft -j list table bridge nat` output: delete the base-chain rules
 * jumping to the attachment's chain (by handle, found by comment), then flush and delete its two
 * chains. null when nothing of the attachment is left.
 */
export function spoofchkTeardownBatch(listing: NftListing, refId: string): string | null {
  const t = `bridge ${SPOOFCHK_TABLE}`;
  const comment = spoofchkComment(refId);
  const ic = ifaceChainName(refId);
  const mc = macChainName(refId);
  const lines: string[] = [];
  const chains = new Set<string>();
  for (const o of listing.nftables ?? []) {
    if (o.chain && o.chain.family === 'bridge' && o.chain.table === SPOOFCHK_TABLE) chains.add(o.chain.name);
    const r = o.rule;
    if (r && r.family === 'bridge' && r.table === SPOOFCHK_TABLE && r.chain === SPOOFCHK_BASE_CHAIN && r.comment === comment) {
      lines.push(`delete rule ${t} ${SPOOFCHK_BASE_CHAIN} handle ${r.handle}`);
    }
  }
  // The iface chain jumps to the mac chain: empty and delete it first.
  for (const ch of [ic, mc]) {
    if (!chains.has(ch)) continue;
    lines.push(`flush chain ${t} ${ch}`, `delete chain ${t} ${ch}`);
  }
  return lines.length === 0 ? null : lines.join('\n') + '\n';
}

const COMMENT_PREFIX = spoofchkComment('');

/**
 * GC (spec 1.1; the reference's bridge has none): the teardown of every attachment whose
 * base-chain rule matches a host veth that is gone and which is not in `valid` (comments,
 * `macspoofchk-<containerID>-<ifname>`). The rules carry no network name, so one whose veth
 * still exists may guard a live attachment of another network and is kept; one whose veth is
 * gone guards nothing (a new veth gets a new random name). null when there is nothing to remove.
 */
export function spoofchkGCBatch(listing: NftListing, validComments: ReadonlySet<string>, linkExists: (name: string) => boolean): string | null {
  const dead = new Set<string>();
  for (const o of listing.nftables ?? []) {
    const r = o.rule;
    if (!r || r.family !== 'bridge' || r.table !== SPOOFCHK_TABLE || r.chain !== SPOOFCHK_BASE_CHAIN) continue;
    if (!r.comment?.startsWith(COMMENT_PREFIX) || validComments.has(r.comment)) continue;
    const veth = matchedIifname(r.expr);
    if (veth !== undefined && !linkExists(veth)) dead.add(r.comment.slice(COMMENT_PREFIX.length));
  }
  const batches = [...dead].sort().map((refId) => spoofchkTeardownBatch(listing, refId) ?? '');
  const batch = batches.join('');
  return batch === '' ? null : batch;
}

function fail(what: string, e: unknown): never {
  throw internalError(`failed to ${what} spoof-check: ${e instanceof Error ? e.message : String(e)}`);
}

export function setupSpoofCheck(hostVeth: string, mac: string, refId: string): void {
  const batch = spoofchkSetupBatch(hostVeth, mac, refId);
  try {
    nftApply(batch);
  } catch (e) {
    fail('setup', e);
  }
}

/** Idempotent: an absent table or chain is not an error. */
export function teardownSpoofCheck(refId: string): void {
  let listing: unknown;
  try {
    listing = nftListJson(['table', 'bridge', SPOOFCHK_TABLE]);
  } catch (e) {
    fail('teardown', e);
  }
  if (!listing) return;
  const batch = spoofchkTeardownBatch(listing as NftListing, refId);
  if (!batch) return;
  try {
    nftApply(batch);
  } catch (e) {
    fail('teardown', e);
  }
}

/** GC of the spoof-check rules (spoofchkGCBatch); nothing to do without nft or its table. */
export function gcSpoofCheck(valid: readonly { containerID: string; ifname: string }[], linkExists: (name: string) => boolean): void {
  if (!nftablesUsable()) return;
  let listing: unknown;
  try {
    listing = nftListJson(['table', 'bridge', SPOOFCHK_TABLE]);
  } catch (e) {
    fail('garbage-collect', e);
  }
  if (!listing) return;
  const keep = new Set(valid.map((a) => spoofchkComment(spoofchkRefId(a.containerID, a.ifname))));
  const batch = spoofchkGCBatch(listing as NftListing, keep, linkExists);
  if (!batch) return;
  try {
    nftApply(batch);
  } catch (e) {
    fail('garbage-collect', e);
  }
}
