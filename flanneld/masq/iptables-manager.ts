// Keeps flanneld's own iptables chains (FLANNEL-POSTRTG in nat, FLANNEL-FWD in filter) equal to
// the rule sets derived from the lease. A check is one `iptables-save -t <table>` read and a
// parse, not one `iptables -C` exec per rule (flannel #933: those starved kube-proxy of the
// xtables lock); a repair rewrites the whole chain in one `iptables-restore --noflush`
// transaction, so the rules' order holds and nothing is half-applied. Nothing is flushed on
// exit: pods keep their egress while the daemon restarts (flannel #2237).
import { iptablesRestore, iptablesSave } from '../../shared/netfilter/run';
import type { Family as IPFamily } from '../../shared/ip';
import { parseSave } from '../../shared/netfilter/restore';
import type { LogFn } from '../log';
import { missingRules, restoreBatch } from './iptables-rules';

export interface ChainSpec {
  family: IPFamily;
  table: 'nat' | 'filter';
  chain: string;
  rules: string[][];
  /** The rule in a built-in chain that jumps to ours. */
  jump: { from: string; args: string[] };
  /** Why this chain exists, for logs ('masquerade', 'forward'). */
  purpose: string;
}

export interface EnsureReport {
  /** Chains rewritten because something was missing or out of order. */
  repaired: string[];
  errors: string[];
}

export class IptablesChains {
  private specs: ChainSpec[] = [];

  constructor(private readonly log: LogFn) {}

  /** Replaces the desired chains (a new lease subnet rewrites FLANNEL-POSTRTG on the next ensure). */
  setDesired(specs: ChainSpec[]): void {
    this.specs = specs;
  }

  desired(): readonly ChainSpec[] {
    return this.specs;
  }

  /**
   * Reads each (family, table) once and rewrites the chains that differ from the desired rules.
   * `force` rewrites without reading (the first install at start-up, or after a subnet change).
   */
  ensure(force = false): EnsureReport {
    const report: EnsureReport = { repaired: [], errors: [] };
    const groups = new Map<string, ChainSpec[]>();
    for (const s of this.specs) {
      const k = `${s.family}/${s.table}`;
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const specs of groups.values()) {
      const { family, table } = specs[0]!;
      try {
        const saved = parseSave(iptablesSave(family, table), table);
        const stale = specs.filter((s) => force || missingRules(saved, s.chain, s.rules, s.jump).length > 0);
        if (stale.length === 0) continue;
        for (const s of stale) {
          if (!force) this.log('warn', `iptables: ${s.chain} (${s.purpose}, IPv${family}) differs from the lease's rules: ${missingRules(saved, s.chain, s.rules, s.jump).map((m) => `${m.kind} ${m.line}`).join('; ')}; rewriting it`);
        }
        const batch = stale.map((s) => restoreBatch(table, s.chain, s.rules, s.jump, saved)).join('');
        iptablesRestore(family, batch);
        for (const s of stale) {
          report.repaired.push(`${s.chain} (IPv${family})`);
          this.log('info', `iptables: ${s.chain} (${s.purpose}, IPv${family}, table ${table}) installed: ${s.rules.length} rules and the jump from ${s.jump.from}`);
        }
      } catch (e) {
        report.errors.push(`IPv${family} ${table}: ${(e as Error).message}`);
      }
    }
    return report;
  }
}
