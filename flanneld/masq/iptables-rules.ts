// flanneld's masquerade and FORWARD rules (flanneld.md §7), one code path for both families.
// Pure: rule argument lists, the one iptables-restore batch that installs a chain, and the check
// of an iptables-save dump against what should be there (one save + parse instead of N `-C`
// execs, which starved kube-proxy in flannel #933). Arguments are generated in the order
// iptables-save prints them, so a saved rule and a generated one compare token by token.
import { type CIDR, type Family } from '../../shared/ip';
import { MULTICAST_NET } from '../../shared/netfilter/ipmasq-rules';
import { familyCIDR } from './family-cidr';
import { deleteLineFor, jumpTarget, ruleLine, type SavedRule, type SavedTable, tableBatch } from '../../shared/netfilter/restore';

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const FORWARD_CHAIN = 'FLANNEL-FWD';
const MASQ_COMMENT = 'flanneld masq';
const FORWARD_COMMENT = 'flanneld forward';
/** kube-proxy marks packets it will masquerade itself with this bit (KUBE-MARK-MASQ). */
const KUBE_PROXY_MASQ_MARK = '0x4000/0x4000';

/** A rule in a built-in chain that sends packets to our chain. */
export interface JumpRule {
  from: string;
  args: string[];
}

const comment = (c: string): string[] => ['-m', 'comment', '--comment', c];

export const MASQ_JUMP: JumpRule = { from: 'POSTROUTING', args: [...comment(MASQ_COMMENT), '-j', MASQ_CHAIN] };
export const FORWARD_JUMP: JumpRule = { from: 'FORWARD', args: [...comment(FORWARD_COMMENT), '-j', FORWARD_CHAIN] };

/**
 * FLANNEL-POSTRTG for network N and this node's lease subnet P: traffic within N keeps its
 * addresses (pods see each other's real IPs); pod traffic leaving N is masqueraded, except
 * multicast (no NAT for groups) and what kube-proxy already marked for its own masquerade.
 * `randomFully`: pick NAT source ports fully at random, avoiding the conntrack insertion race
 * between concurrent connections; the caller knows whether its iptables supports it.
 */
export function masqRules(family: Family, network: CIDR, subnet: CIDR, randomFully: boolean): string[][] {
  const n = familyCIDR(family, 'network', network);
  const p = familyCIDR(family, 'subnet', subnet);
  const c = comment(MASQ_COMMENT);
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  return [
    ['-m', 'mark', '--mark', KUBE_PROXY_MASQ_MARK, ...c, '-j', 'RETURN'],
    ['-s', p, '-d', n, ...c, '-j', 'RETURN'],
    ['-s', n, '-d', p, ...c, '-j', 'RETURN'],
    ['!', '-s', n, '-d', p, ...c, '-j', 'RETURN'],
    ['-s', n, '!', '-d', MULTICAST_NET[family], ...c, ...masq],
    ['!', '-s', n, '-d', n, ...c, ...masq],
  ];
}

/** FLANNEL-FWD: accept the network's traffic even when the FORWARD policy is DROP (Docker sets it). */
export function forwardRules(family: Family, network: CIDR): string[][] {
  const n = familyCIDR(family, 'network', network);
  const c = comment(FORWARD_COMMENT);
  return [
    ['-s', n, ...c, '-j', 'ACCEPT'],
    ['-d', n, ...c, '-j', 'ACCEPT'],
  ];
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Rules in `jump.from` that jump to `chain`: the exact jump first, then any other (stale) ones. */
function jumpsTo(saved: SavedTable, chain: string, jump: JumpRule): { exact: SavedRule[]; other: SavedRule[] } {
  const exact: SavedRule[] = [];
  const other: SavedRule[] = [];
  for (const r of saved.rules) {
    if (r.chain !== jump.from || jumpTarget(r.args) !== chain) continue;
    (same(r.args, jump.args) ? exact : other).push(r);
  }
  return { exact, other };
}

/**
 * One `iptables-restore --noflush` batch for one table: `:CHAIN - [0:0]` creates the chain or
 * flushes it (only it, under --noflush), the rules follow in order, so a rule set made for an
 * older subnet is replaced as a whole in one transaction. The jump is appended only when `saved`
 * (parseSave of the same table) lacks it; extra copies, and other jumps into the chain, are deleted.
 */
export function restoreBatch(table: string, chain: string, rules: readonly (readonly string[])[], jump: JumpRule, saved: SavedTable): string {
  const lines = [`:${chain} - [0:0]`, ...rules.map((r) => ruleLine('-A', chain, r))];
  const { exact, other } = jumpsTo(saved, chain, jump);
  for (const r of [...exact.slice(1), ...other]) lines.push(deleteLineFor(r));
  if (exact.length === 0) lines.push(ruleLine('-A', jump.from, jump.args));
  return tableBatch(table, lines);
}

type RuleProblemKind = 'missing' | 'out-of-order' | 'unexpected' | 'missing-jump' | 'extra-jump';

interface RuleProblem {
  kind: RuleProblemKind;
  /** The rule as an `-A` restore line. */
  line: string;
}

/**
 * What differs between the saved table and the expected chain + jump: rules missing, present but
 * out of order, present in the chain but not expected (e.g. an old subnet's), and the jump missing
 * or duplicated. Empty when the kernel has exactly the expected set.
 */
export function missingRules(saved: SavedTable, chain: string, expectedRules: readonly (readonly string[])[], jump: JumpRule): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const actual = saved.rules.filter((r) => r.chain === chain);
  const used = new Set<number>();
  let last = -1;
  for (const r of actual) {
    const i = expectedRules.findIndex((e, j) => !used.has(j) && same(e, r.args));
    if (i === -1) {
      problems.push({ kind: 'unexpected', line: r.line });
      continue;
    }
    used.add(i);
    if (i < last) problems.push({ kind: 'out-of-order', line: r.line });
    else last = i;
  }
  expectedRules.forEach((e, j) => {
    if (!used.has(j)) problems.push({ kind: 'missing', line: ruleLine('-A', chain, e) });
  });
  const { exact, other } = jumpsTo(saved, chain, jump);
  if (exact.length === 0) problems.push({ kind: 'missing-jump', line: ruleLine('-A', jump.from, jump.args) });
  for (const r of [...exact.slice(1), ...other]) problems.push({ kind: 'extra-jump', line: r.line });
  return problems;
}
