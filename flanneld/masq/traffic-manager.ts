// One interface for flanneld's masquerade and forward rules, whichever netfilter front end the
// network config picks (EnableNFTables): the daemon sets the desired rules from its lease, calls
// ensure() at start and every --iptables-resync seconds, and cleans the other mode's leftovers
// once at start. Nothing is removed on exit (pods keep their egress across a restart).
import type { CIDR } from '../../shared/ip';
import { iptablesRestore, iptablesSave, iptablesUsable, nftablesUsable, nftApply, nftListJson } from '../../shared/netfilter/run';
import { parseSave } from '../../shared/netfilter/restore';
import type { LogFn } from '../log';
import type { Family, Lease, PerFamily } from '../types';
import { IptablesChains, type ChainSpec, type EnsureReport } from './iptables-manager';
import { FORWARD_CHAIN, FORWARD_JUMP, forwardRules, MASQ_CHAIN, MASQ_JUMP, masqRules } from './iptables-rules';
import { NFT_TABLE, nftDeleteTablesBatch, nftFingerprint, nftForwardChain, nftMasqChain, nftRuleCounts, nftTableBatch, type NftTable } from './nft-rules';
import { iptablesCleanupBatch, ourNftTables } from './other-mode-cleanup';

export type { EnsureReport } from './iptables-manager';

export interface TrafficPlan {
  families: Family[];
  networks: PerFamily<CIDR>;
  /** --ip-masq */
  ipMasq: boolean;
  /** --iptables-forward-rules */
  forwardRules: boolean;
  /** Not --ip-masq-fully-random-disable. */
  randomFully: boolean;
}

interface CleanupReport {
  removed: string[];
  errors: string[];
}

export interface TrafficManager {
  readonly mode: 'iptables' | 'nftables';
  /** The rules for this lease's subnets (applied by the next ensure). */
  setDesired(lease: Lease): void;
  /** Makes the kernel hold the desired rules; `force` rewrites without reading first. */
  ensure(force: boolean): EnsureReport;
  /** Removes the other mode's chains/tables, if any (start-up only). */
  cleanupOther(): CleanupReport;
  /** The desired rules, for /debug/state. */
  describe(): unknown;
}

export function createTrafficManager(nftables: boolean, plan: TrafficPlan, log: LogFn): TrafficManager {
  return nftables ? new NftTraffic(plan, log) : new IptablesTraffic(plan, log);
}

class IptablesTraffic implements TrafficManager {
  readonly mode = 'iptables';
  private readonly chains: IptablesChains;

  constructor(
    private readonly plan: TrafficPlan,
    private readonly log: LogFn,
  ) {
    this.chains = new IptablesChains(log);
  }

  setDesired(lease: Lease): void {
    const specs: ChainSpec[] = [];
    for (const f of this.plan.families) {
      const network = this.plan.networks[f]!;
      const subnet = lease.subnets[f];
      if (this.plan.ipMasq && subnet) {
        specs.push({ family: f, table: 'nat', chain: MASQ_CHAIN, purpose: 'masquerade', rules: masqRules(f, network, subnet, this.plan.randomFully), jump: MASQ_JUMP });
      }
      if (this.plan.forwardRules) {
        specs.push({ family: f, table: 'filter', chain: FORWARD_CHAIN, purpose: 'forward', rules: forwardRules(f, network), jump: FORWARD_JUMP });
      }
    }
    this.chains.setDesired(specs);
  }

  ensure(force: boolean): EnsureReport {
    return this.chains.ensure(force);
  }

  cleanupOther(): CleanupReport {
    const report: CleanupReport = { removed: [], errors: [] };
    if (!nftablesUsable()) return report; // no nft tool: no nft tables of ours can have been made by us
    try {
      const ours = ourNftTables(nftListJson(['tables']));
      if (ours.length === 0) return report;
      nftApply(nftDeleteTablesBatch(ours));
      for (const f of ours) report.removed.push(`nft table ${NFT_TABLE[f].family} ${NFT_TABLE[f].name}`);
      this.log('info', `nftables mode is off: removed ${report.removed.join(', ')} (left by an earlier run with EnableNFTables)`);
    } catch (e) {
      report.errors.push(`removing the nftables mode's tables: ${(e as Error).message}`);
    }
    return report;
  }

  describe(): unknown {
    return this.chains.desired().map((s) => ({ family: s.family, table: s.table, chain: s.chain, rules: s.rules.map((r) => r.join(' ')) }));
  }
}

class NftTraffic implements TrafficManager {
  readonly mode = 'nftables';
  private tables: NftTable[] = [];
  /** Per family, the fingerprint of the table as read back right after we applied it. */
  private applied = new Map<Family, string>();

  constructor(
    private readonly plan: TrafficPlan,
    private readonly log: LogFn,
  ) {}

  setDesired(lease: Lease): void {
    this.tables = [];
    for (const f of this.plan.families) {
      const network = this.plan.networks[f]!;
      const subnet = lease.subnets[f];
      const chains = [];
      if (this.plan.ipMasq && subnet) chains.push(nftMasqChain(f, network, subnet, this.plan.randomFully));
      if (this.plan.forwardRules) chains.push(nftForwardChain(f, network));
      if (chains.length) this.tables.push({ family: f, chains });
    }
    this.applied.clear();
  }

  ensure(force: boolean): EnsureReport {
    const report: EnsureReport = { repaired: [], errors: [] };
    if (this.tables.length === 0) return report;
    const name = (t: NftTable): string => `${NFT_TABLE[t.family].family} ${NFT_TABLE[t.family].name}`;
    let stale: NftTable[];
    try {
      // One `nft -j list table` per family, compared with what we read after the last apply.
      stale = force ? this.tables : this.tables.filter((t) => nftFingerprint(this.list(t.family)) !== this.applied.get(t.family));
    } catch (e) {
      report.errors.push(`nftables: reading our tables: ${(e as Error).message}`);
      return report;
    }
    if (stale.length === 0) return report;
    if (!force) this.log('warn', `nftables: ${stale.map(name).join(', ')} differs from the lease's rules; replacing it`);
    try {
      nftApply(stale.map(nftTableBatch).join(''));
    } catch (e) {
      report.errors.push(`nftables: replacing ${stale.map(name).join(', ')}: ${(e as Error).message}`);
      return report;
    }
    for (const t of stale) {
      try {
        const json = this.list(t.family);
        const counts = nftRuleCounts(json);
        const short = t.chains.filter((c) => counts.get(c.name) !== c.rules.length);
        if (short.length) throw new Error(`chain ${short.map((c) => `${c.name} has ${counts.get(c.name) ?? 0} rules, ${c.rules.length} were applied`).join('; ')}`);
        this.applied.set(t.family, nftFingerprint(json));
        report.repaired.push(`table ${name(t)}`);
        this.log('info', `nftables: table ${name(t)} installed: ${t.chains.map((c) => `${c.name} (${c.rules.length} rules)`).join(', ')}`);
      } catch (e) {
        report.errors.push(`nftables: table ${name(t)} after replacing it: ${(e as Error).message}`);
      }
    }
    return report;
  }

  private list(f: Family): unknown {
    return nftListJson(['table', NFT_TABLE[f].family, NFT_TABLE[f].name]);
  }

  cleanupOther(): CleanupReport {
    const report: CleanupReport = { removed: [], errors: [] };
    for (const f of [4, 6] as const) {
      if (!iptablesUsable(f)) continue;
      try {
        const nat = parseSave(iptablesSave(f, 'nat'), 'nat');
        const filter = parseSave(iptablesSave(f, 'filter'), 'filter');
        const { batch, removed } = iptablesCleanupBatch({ nat, filter });
        if (!batch) continue;
        iptablesRestore(f, batch);
        report.removed.push(...removed.map((r) => `IPv${f} ${r}`));
      } catch (e) {
        report.errors.push(`removing the iptables mode's IPv${f} chains: ${(e as Error).message}`);
      }
    }
    if (report.removed.length) this.log('info', `nftables mode: removed the iptables mode's ${report.removed.join(', ')} (left by an earlier run without EnableNFTables)`);
    return report;
  }

  describe(): unknown {
    return this.tables.map((t) => ({ table: `${NFT_TABLE[t.family].family} ${NFT_TABLE[t.family].name}`, chains: t.chains.map((c) => ({ name: c.name, rules: c.rules })) }));
  }
}
