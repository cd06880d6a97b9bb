// flanneld's masq/forward rule sets against real iptables and ip6tables in a throw-away
// namespace: the generated lines equal what iptables-save prints, the batch is idempotent,
// a re-apply for another subnet replaces the chain, and missingRules sees a deleted rule.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FORWARD_CHAIN,
  FORWARD_JUMP,
  MASQ_CHAIN,
  MASQ_JUMP,
  type JumpRule,
  forwardRules,
  masqRules,
  missingRules,
  restoreBatch,
} from '../../flanneld/masq/iptables-rules';
import { type Family, mustParseCIDR as c } from '../../shared/ip';
import { parseSave, ruleLine } from '../../shared/netfilter/restore';
import { cleanupAllNetns, execIn, makeNetns } from '../helpers/netns';

const ROOT = process.getuid?.() === 0;

const PLAN: Record<Family, { n: string; p: string; p2: string; save: string; restore: string }> = {
  4: { n: '10.2.0.0/16', p: '10.2.41.0/24', p2: '10.2.42.0/24', save: 'iptables-save', restore: 'iptables-restore' },
  6: { n: 'fd00:2::/32', p: 'fd00:2:29::/64', p2: 'fd00:2:2a::/64', save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

describe('flanneld masq rules (netns)', { skip: !ROOT && 'needs root' }, () => {
  after(cleanupAllNetns);

  for (const fam of [4, 6] as Family[]) {
    const t = PLAN[fam];
    const saved = (ns: string, table: string) => parseSave(execIn(ns, t.save, ['-t', table]), table);
    const apply = (ns: string, table: string, chain: string, rules: string[][], jump: JumpRule) =>
      execIn(ns, t.restore, ['--noflush'], restoreBatch(table, chain, rules, jump, saved(ns, table)));
    const chainLines = (ns: string, table: string, chain: string) =>
      saved(ns, table).rules.filter((r) => r.chain === chain || r.args.includes(chain)).map((r) => r.line);

    test(`IPv${fam}: masq set installs exactly as generated, idempotently, and is replaced for a new subnet`, () => {
      const ns = makeNetns(`fmasq${fam}`).name;
      const rules = masqRules(fam, c(t.n), c(t.p), true);
      apply(ns, 'nat', MASQ_CHAIN, rules, MASQ_JUMP);
      apply(ns, 'nat', MASQ_CHAIN, rules, MASQ_JUMP);
      const expected = [ruleLine('-A', MASQ_JUMP.from, MASQ_JUMP.args), ...rules.map((r) => ruleLine('-A', MASQ_CHAIN, r))];
      assert.deepEqual(chainLines(ns, 'nat', MASQ_CHAIN), expected);
      assert.deepEqual(missingRules(saved(ns, 'nat'), MASQ_CHAIN, rules, MASQ_JUMP), []);

      // Delete one rule behind our back: it is reported, the others are not.
      execIn(ns, fam === 4 ? 'iptables' : 'ip6tables', ['-t', 'nat', '-D', MASQ_CHAIN, ...rules[2]!]);
      assert.deepEqual(missingRules(saved(ns, 'nat'), MASQ_CHAIN, rules, MASQ_JUMP), [
        { kind: 'missing', line: ruleLine('-A', MASQ_CHAIN, rules[2]!) },
      ]);
      // And the jump.
      execIn(ns, fam === 4 ? 'iptables' : 'ip6tables', ['-t', 'nat', '-D', MASQ_JUMP.from, ...MASQ_JUMP.args]);
      assert.deepEqual(missingRules(saved(ns, 'nat'), MASQ_CHAIN, rules, MASQ_JUMP).map((p) => p.kind), ['missing', 'missing-jump']);

      // Re-applied for another subnet: only the new subnet's rules remain, one jump.
      const rules2 = masqRules(fam, c(t.n), c(t.p2), false);
      apply(ns, 'nat', MASQ_CHAIN, rules2, MASQ_JUMP);
      assert.deepEqual(chainLines(ns, 'nat', MASQ_CHAIN), [
        ruleLine('-A', MASQ_JUMP.from, MASQ_JUMP.args),
        ...rules2.map((r) => ruleLine('-A', MASQ_CHAIN, r)),
      ]);
      assert.ok(!execIn(ns, t.save, ['-t', 'nat']).includes(t.p), 'the old subnet is gone');
      // The old set against the new kernel state: all its subnet rules reported.
      assert.ok(missingRules(saved(ns, 'nat'), MASQ_CHAIN, rules, MASQ_JUMP).some((p) => p.kind === 'unexpected'));
    });

    test(`IPv${fam}: forward set, duplicate jumps are removed by the next apply`, () => {
      const ns = makeNetns(`ffwd${fam}`).name;
      const rules = forwardRules(fam, c(t.n));
      apply(ns, 'filter', FORWARD_CHAIN, rules, FORWARD_JUMP);
      assert.deepEqual(missingRules(saved(ns, 'filter'), FORWARD_CHAIN, rules, FORWARD_JUMP), []);
      const ipt = fam === 4 ? 'iptables' : 'ip6tables';
      execIn(ns, ipt, ['-t', 'filter', '-A', FORWARD_JUMP.from, ...FORWARD_JUMP.args]);
      execIn(ns, ipt, ['-t', 'filter', '-A', FORWARD_JUMP.from, ...FORWARD_JUMP.args]);
      assert.deepEqual(missingRules(saved(ns, 'filter'), FORWARD_CHAIN, rules, FORWARD_JUMP).map((p) => p.kind), ['extra-jump', 'extra-jump']);
      apply(ns, 'filter', FORWARD_CHAIN, rules, FORWARD_JUMP);
      assert.deepEqual(missingRules(saved(ns, 'filter'), FORWARD_CHAIN, rules, FORWARD_JUMP), []);
      assert.deepEqual(chainLines(ns, 'filter', FORWARD_CHAIN), [
        ruleLine('-A', FORWARD_JUMP.from, FORWARD_JUMP.args),
        ...rules.map((r) => ruleLine('-A', FORWARD_CHAIN, r)),
      ]);
    });
  }
});
