// Values from configs and the environment inside iptables-restore and nft batches: each stays
// one argument / one quoted string / one expression, or is refused; and no plugin code runs a
// shell. (The netns tier applies such batches for real: test/netns/hostile-values.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetConf } from '../../../shared/cni/types';
import { parseCIDR } from '../../../shared/ip';
import { formatComment } from '../../../shared/netfilter/names';
import { nftString } from '../../../shared/netfilter/nft';
import { iptMasqJumpRule, iptMasqIds, nftMasqComment, nftMasqSetupBatch } from '../../../shared/netfilter/ipmasq-rules';
import { quoteArg, ruleLine, tableBatch, tokenize } from '../../../shared/netfilter/restore';
import { type BackendProbe, checkConditions, parsePortMapConf } from '../../../plugins/portmap/config';
import { dnatComment, dnatEntryRules, trimComment } from '../../../plugins/portmap/iptables-rules';
import { nftAddBatch, nftComment } from '../../../plugins/portmap/nft-rules';
import { spoofchkSetupBatch } from '../../../plugins/bridge/macspoofchk';
import { CniError } from '../../../shared/cni/errors';

const HOSTILE = [
  'x";$(touch /tmp/pwn) #',
  "it's `id`",
  'a\\"b',
  '-j ACCEPT',
  'COMMIT *filter',
  '$((1+1)) && rm -rf / || true',
  'ünïcødé ✓',
  '"',
  '\\',
];

test('quoteArg: every hostile value reads back as exactly one argument on one line', () => {
  for (const v of HOSTILE) {
    const line = ruleLine('-A', 'CHAIN', ['-m', 'comment', '--comment', v, '-j', 'ACCEPT']);
    assert.ok(!line.includes('\n'), line);
    assert.deepEqual(tokenize(line), ['-A', 'CHAIN', '-m', 'comment', '--comment', v, '-j', 'ACCEPT'], line);
  }
});

test('quoteArg refuses line breaks and NUL: no quoting keeps them inside an iptables-restore line', () => {
  for (const v of ['a\nb', 'a\rb', 'a\0b', '10.0.0.0/8\nCOMMIT\n*filter\n-A INPUT -j DROP']) {
    assert.throws(() => quoteArg(v), /contains a line break or NUL/);
  }
  const batch = tableBatch('nat', [ruleLine('-A', 'X', ['--comment', 'a b'])]);
  assert.equal(batch.split('\n').length, 4, batch);
});

test('iptables comments: name/id quoted the reference way, cut to 255 bytes without splitting a character', () => {
  assert.equal(formatComment('n..1', 'c-_.2'), 'name: "n..1" id: "c-_.2"');
  const long = trimComment(`dnat name: "${'é'.repeat(200)}" id: "x"`);
  assert.ok(Buffer.byteLength(long) <= 256, String(Buffer.byteLength(long)));
  assert.ok(long.endsWith('...') && !long.includes('\ufffd'));
  // A full masquerade jump rule with such values is one line, its comment one argument.
  const ids = iptMasqIds('net..x', 'ctr-_.1');
  const line = ruleLine('-A', 'POSTROUTING', iptMasqJumpRule(parseCIDR('10.1.2.3/24')!, ids));
  assert.equal(tokenize(line)[tokenize(line).indexOf('--comment') + 1], 'name: "net..x" id: "ctr-_.1"');
});

test('nft strings: quotes, backslashes and line breaks never reach the batch', () => {
  for (const v of HOSTILE.concat(['a\nb', 'x"; flush ruleset; "'])) {
    const s = nftString(v);
    assert.match(s, /^"[^"\\\n\r]*"$/, s);
  }
});

test('nft comments as computed equal what nft stores, so DEL/CHECK/GC find their own rules', () => {
  const ifname = 'e"1;#$\\';
  const masq = nftMasqComment('net..x', ifname, 'ctr-_.1');
  assert.equal(nftString(masq), `"${masq}"`, 'nothing left for nftString to strip');
  assert.ok(masq.endsWith('if: e1;#$, id: ctr-_.1'), masq);
  const batch = nftMasqSetupBatch([parseCIDR('10.1.2.3/24')!], 'net..x', ifname, 'ctr-_.1', []);
  assert.ok(batch.includes(`comment "${masq}"`));
  const pm = nftComment('n'.repeat(300), 'c');
  assert.equal(nftString(pm), `"${pm}"`);
  assert.ok(Buffer.byteLength(pm) <= 128);
});

test('portmap conditions: iptables tokens without line breaks; nft expressions without ; # or line breaks outside quotes', () => {
  checkConditions('conditionsV4', ['-m', 'comment', '--comment', 'x";$(id) # ;']);
  checkConditions('conditionsV4', ['iifname != "x;y#z"', 'ip saddr { 10.0.0.0/8, 192.168.0.0/16 }']);
  checkConditions('conditionsV6', undefined);
  const bad: Array<[string[], RegExp]> = [
    [['-s', '10.0.0.0/8\nCOMMIT'], /^conditionsV4\[1\]: must not contain line breaks or NUL \(got "10\.0\.0\.0\/8\\nCOMMIT"\)$/],
    [['-s', '10.0.0.0/8\0'], /conditionsV4\[1\]: must not contain line breaks or NUL/],
    [['ip saddr 10.0.0.0/8 accept; flush table inet filter #'], /conditionsV4\[0\]: .*';' or '#' outside quotes/],
    [['ip saddr 10.0.0.0/8 accept # the rest is gone'], /conditionsV4\[0\]/],
    [['ip saddr 10.0.0.0/8', 'accept\nflush ruleset'], /conditionsV4\[1\]/],
    [['iifname "eth0'], /unbalanced quotes/],
  ];
  for (const [conds, msg] of bad) {
    assert.throws(() => checkConditions('conditionsV4', conds), (e: unknown) => e instanceof CniError && e.code === 7 && msg.test(e.message));
  }
});

const probe: BackendProbe = { iptables: () => true, nftables: () => true };
const pmConf = (extra: Record<string, unknown>): NetConf =>
  ({ cniVersion: '1.0.0', name: 'n', type: 'portmap', runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 80 }] }, ...extra }) as NetConf;

test('portmap config refuses an externalSetMarkChain that is not a chain name, and injecting conditions', () => {
  assert.equal(parsePortMapConf(pmConf({ externalSetMarkChain: 'KUBE-MARK-MASQ' }), 'eth0', probe).externalSetMarkChain, 'KUBE-MARK-MASQ');
  for (const v of ['KUBE-MARK-MASQ\n-A INPUT -j DROP', 'A B', '', '-j', '!x', 'x"y', 'X'.repeat(29)]) {
    assert.throws(
      () => parsePortMapConf(pmConf({ externalSetMarkChain: v }), 'eth0', probe),
      (e: unknown) => e instanceof CniError && e.code === 7 && e.message === `externalSetMarkChain: must be an iptables chain name (got ${JSON.stringify(v)})`,
      v,
    );
  }
  assert.throws(() => parsePortMapConf(pmConf({ conditionsV6: ['ip6 saddr ::1 accept; flush ruleset'] }), 'eth0', probe), /conditionsV6\[0\]/);
});

test('valid hostile conditions stay inside their rule in both backends', () => {
  const c = {
    name: 'n..1', snat: true, masqAll: false, markMasqBit: 13,
    conditionsV4: ['-m', 'comment', '--comment', 'x";$(id) #'],
    mappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' as const }],
  };
  const [entry] = dnatEntryRules(c, 'c-1', false);
  const line = ruleLine('-A', 'CNI-HOSTPORT-DNAT', entry!);
  const args = tokenize(line);
  assert.deepEqual(args.filter((_, i) => args[i - 1] === '--comment'), [dnatComment('n..1', 'c-1'), 'x";$(id) #']);
  const nft = nftAddBatch({ ...c, conditionsV4: ['iifname != "x;y#z"'] }, 'c-1', parseCIDR('10.1.2.3/24')!);
  const entries = nft.split('\n').filter((l) => l.includes('fib daddr type local'));
  assert.deepEqual(entries, [
    'add rule ip cni_hostport prerouting iifname != "x;y#z" fib daddr type local jump hostports_all',
    'add rule ip cni_hostport output iifname != "x;y#z" fib daddr type local jump hostports_all',
  ]);
});

test('macspoofchk refuses interface names nft would not read as one word', () => {
  assert.throws(() => spoofchkSetupBatch('vethabc', '02:00:00:00:00:01', 'ctr-e"1;#'), /cannot be used in an nftables chain name/);
  assert.ok(spoofchkSetupBatch('vethabc', '02:00:00:00:00:01', 'ctr-eth0').includes('comment "macspoofchk-ctr-eth0"'));
});

/** The TypeScript sources of the plugins and shared code (this file runs from <outDir>/test/unit/netfilter). */
function sources(): string[] {
  const root = path.resolve(__dirname, '../../../..');
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.push(p);
    }
  };
  for (const d of ['plugins', 'shared']) walk(path.join(root, d));
  return out;
}

test('no plugin code runs a shell: child processes only by argument vector', () => {
  const files = sources();
  assert.ok(files.length > 20, `found ${files.length} source files`);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    if (!text.includes('child_process')) continue;
    assert.doesNotMatch(text, /\bshell\s*:/, `${f} passes a shell option`);
    assert.doesNotMatch(text, /import\s*\{[^}]*\b(exec|execSync)\b[^}]*\}\s*from\s*['"](node:)?child_process['"]/, `${f} imports exec/execSync (a shell)`);
    assert.doesNotMatch(text, /\b(child_process|cp)\.(exec|execSync)\b|\bexecSync\s*\(/, `${f} uses exec/execSync (a shell)`);
    assert.doesNotMatch(text, /['"`](\/bin\/)?(ba)?sh['"`]/, `${f} names a shell`);
  }
});
