// Source NAT for a bridge attachment's addresses (the bridge plugin's ipMasq), iptables or
// nftables, compatible with the rules the reference Go bridge makes. Each operation is one
// batch per family and backend on the normal path; `iptables-save` is read only to reconcile
// (repeated setup, teardown without addresses, GC). Both backends implement MasqBackend and
// live in this one module (a bridge call loads it either way; two would cost a load more).
import type { CIDR, Family } from '../ip';
import type { NetfilterBackend, NetfilterKind } from './backend';
import {
  type IptMasqIds,
  iptMasqIds,
  iptMasqResetBatch,
  iptMasqSetupBatch,
  iptMasqTeardownBatch,
  iptRemoveChainBatch,
  NFT_MASQ_CHAIN,
  NFT_MASQ_TABLE,
  nftInstanceHash,
  nftMasqComment,
  nftMasqSetupBatch,
  nftNetworkHash,
} from './ipmasq-rules';
import { formatChainName, goQuote } from './names';
import { deleteRuleCmd, type NftRule, rulesOf } from './nft';
import { commentOf, deleteLineFor, jumpTarget, parseSave, type SavedTable } from './restore';
import { iptablesRestore, iptablesSave, iptablesUsable, iptablesUsableAny, nftablesUsable, nftApply, nftListJson, NetfilterError } from './run';

/** An attachment the runtime still knows (CNI GC's valid-attachments entry). */
interface Attachment {
  containerID: string;
  ifname: string;
}

const FAMILIES: readonly Family[] = [4, 6];

/** One attachment's masquerade rules, on one backend. */
interface MasqBackend extends NetfilterBackend {
  setup(ips: readonly CIDR[], network: string, ifname: string, containerId: string): void;
  /** Removes the attachment's rules; returns whether there were any. */
  teardown(ips: readonly CIDR[], network: string, ifname: string, containerId: string): boolean;
  /** Removes the rules of this network's attachments that are not in `valid`. */
  gc(network: string, valid: readonly Attachment[]): void;
}

/**
 * The configured `ipMasqBackend` (validated by the bridge config, which reports an unknown one),
 * or the default: iptables unless only nftables is usable.
 */
export function chooseMasqBackend(configured: NetfilterKind | undefined): NetfilterKind {
  return configured ?? (!iptablesUsable(4) && nftablesUsable() ? 'nftables' : 'iptables');
}

const byFamily = (ips: readonly CIDR[], f: Family): CIDR[] => ips.filter((c) => c.ip.family === f);

// ---------------------------------------------------------------- iptables

/** Saved rules (any chain) that jump to one of `chains`, as delete lines. */
function jumpDeletes(saved: SavedTable, chains: ReadonlySet<string>): string[] {
  return saved.rules.filter((r) => chains.has(jumpTarget(r.args) ?? '')).map(deleteLineFor);
}

function iptSetup(ips: readonly CIDR[], ids: IptMasqIds): void {
  for (const f of FAMILIES) {
    const fips = byFamily(ips, f);
    if (fips.length === 0) continue;
    try {
      iptablesRestore(f, iptMasqSetupBatch(fips, ids));
    } catch (e) {
      if (!(e instanceof NetfilterError)) throw e;
      // The chain exists already (repeated ADD, a leftover): rebuild it and its jumps.
      const saved = parseSave(iptablesSave(f));
      iptablesRestore(f, iptMasqResetBatch(fips, ids, jumpDeletes(saved, new Set([ids.chain]))));
    }
  }
}

/**
 * The saved nat table of a family, or null when it cannot be listed and `bestEffort` (a
 * kernel without IPv6 NAT holds no rules of ours there; the reference skips such a family).
 */
function savedNat(f: Family, bestEffort: boolean): SavedTable | null {
  try {
    return parseSave(iptablesSave(f));
  } catch (e) {
    if (bestEffort) return null;
    throw e;
  }
}

/**
 * Removes the chains (and every jump to them) of one family, found by reading the table;
 * returns whether there was anything to remove.
 */
function iptRemoveByScan(f: Family, chains: readonly string[], bestEffort: boolean): boolean {
  const saved = savedNat(f, bestEffort);
  if (!saved) return false;
  const batch = iptRemoveChainBatch(chains, jumpDeletes(saved, new Set(chains)), saved.chains);
  if (batch) iptablesRestore(f, batch);
  return !!batch;
}

/** Returns whether anything of this attachment was found (and removed). */
function iptTeardown(ips: readonly CIDR[], ids: IptMasqIds): boolean {
  let found = false;
  for (const f of FAMILIES) {
    if (!iptablesUsable(f)) continue;
    const fips = byFamily(ips, f);
    if (fips.length > 0) {
      try {
        iptablesRestore(f, iptMasqTeardownBatch(fips, ids));
        found = true;
        continue;
      } catch (e) {
        if (!(e instanceof NetfilterError)) throw e;
        // Already gone, or the jumps differ (legacy `-s ip/prefix` form): scan instead.
      }
    } else if (ips.length > 0) {
      continue; // addresses known and none of this family: nothing was set up here
    }
    if (iptRemoveByScan(f, [ids.chain], fips.length === 0)) found = true;
  }
  return found;
}

function iptGC(network: string, valid: readonly Attachment[]): void {
  const keep = new Set(valid.map((a) => formatChainName(network, a.containerID)));
  const ourComment = `name: ${goQuote(network)} id: `;
  for (const f of FAMILIES) {
    if (!iptablesUsable(f)) continue;
    const saved = savedNat(f, f === 6);
    if (!saved) continue;
    const stale = new Set<string>();
    for (const r of saved.rules) {
      if (!/^CNI-[0-9a-f]{24}$/.test(r.chain) || keep.has(r.chain)) continue;
      if (commentOf(r.args)?.startsWith(ourComment)) stale.add(r.chain);
    }
    if (stale.size === 0) continue;
    const batch = iptRemoveChainBatch([...stale], jumpDeletes(saved, stale), saved.chains);
    if (batch) iptablesRestore(f, batch);
  }
}

const iptablesMasq: MasqBackend = {
  kind: 'iptables',
  usable: iptablesUsableAny,
  setup: (ips, network, _ifname, containerId) => iptSetup(ips, iptMasqIds(network, containerId)),
  teardown: (ips, network, _ifname, containerId) => iptTeardown(ips, iptMasqIds(network, containerId)),
  gc: iptGC,
};

// ---------------------------------------------------------------- nftables

function nftMasqRules(): NftRule[] {
  const json = nftListJson(['chain', 'inet', NFT_MASQ_TABLE, NFT_MASQ_CHAIN]);
  return json === undefined ? [] : rulesOf(json);
}

function nftSetup(ips: readonly CIDR[], network: string, ifname: string, containerId: string): void {
  const prefix = nftInstanceHash(network, ifname, containerId);
  // Rules left by an earlier attachment with the same identity (IP reuse race in the reference).
  const stale = nftMasqRules().filter((r) => r.comment?.startsWith(prefix)).map(deleteRuleCmd);
  nftApply(nftMasqSetupBatch(ips, network, ifname, containerId, stale));
}

/** Returns how many rules were deleted. */
function nftDeleteWhere(pred: (r: NftRule) => boolean): number {
  const doomed = nftMasqRules().filter(pred);
  if (doomed.length) nftApply(doomed.map(deleteRuleCmd).join('\n') + '\n');
  return doomed.length;
}

const nftMasq: MasqBackend = {
  kind: 'nftables',
  usable: nftablesUsable,
  setup: nftSetup,
  teardown(_ips, network, ifname, containerId) {
    const prefix = nftInstanceHash(network, ifname, containerId);
    return nftDeleteWhere((r) => r.comment?.startsWith(prefix) ?? false) > 0;
  },
  gc(network, valid) {
    const netPrefix = nftNetworkHash(network) + '-';
    const keep = new Set(valid.map((a) => nftMasqComment(network, a.ifname, a.containerID)));
    nftDeleteWhere((r) => !!r.comment && r.comment.startsWith(netPrefix) && !keep.has(r.comment));
  },
};

// ---------------------------------------------------------------- API

/** In the order the reference tries them: iptables first. */
const BACKENDS: Record<NetfilterKind, MasqBackend> = { iptables: iptablesMasq, nftables: nftMasq };
const ALL: readonly MasqBackend[] = Object.values(BACKENDS);

/** Masquerades traffic from `ips` leaving their subnets, tagged with this attachment's identity. */
export function setupIPMasq(kind: NetfilterKind, ips: CIDR[], network: string, ifname: string, containerId: string): void {
  if (ips.length === 0) return;
  BACKENDS[kind].setup(ips, network, ifname, containerId);
}

// A backend whose tools the host lacks is skipped by the callers, since its rules cannot exist.
function collect(errors: unknown[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    errors.push(e);
  }
}

/** Every backend's failure in one error, one line each (999 with this text at the CNI boundary). */
const failures = (errors: unknown[]): AggregateError =>
  new AggregateError(errors, errors.map((e) => (e as Error).message).join('\n'));

/**
 * Removes this attachment's rules. With `ips` empty (DEL without a netns) the iptables chain and
 * its jumps are found by name in the saved table; nftables rules are found by the attachment's
 * comment prefix either way.
 *
 * `expected` is the backend the ADD chose (the DEL derives it from the same config and host
 * with chooseMasqBackend): it is tried first, and the other backend only when the expected one
 * held nothing of this attachment (the config or the host's tools changed since the ADD), so a
 * normal DEL runs one tool. Without `expected` both are tried, like the reference.
 */
export function teardownIPMasq(ips: CIDR[], network: string, ifname: string, containerId: string, expected?: NetfilterKind): void {
  const errors: unknown[] = [];
  const order = expected ? [BACKENDS[expected], ...ALL.filter((b) => b.kind !== expected)] : ALL;
  for (const b of order) {
    if (!b.usable()) continue;
    let found = false;
    collect(errors, () => {
      found = b.teardown(ips, network, ifname, containerId);
    });
    if (found && b.kind === expected) break;
  }
  if (errors.length) throw failures(errors);
}

/** Removes the rules of this network's attachments that are not in `valid`, on both backends. */
export function gcIPMasq(network: string, valid: Attachment[]): void {
  const errors: unknown[] = [];
  for (const b of ALL) if (b.usable()) collect(errors, () => b.gc(network, valid));
  if (errors.length) throw failures(errors);
}
