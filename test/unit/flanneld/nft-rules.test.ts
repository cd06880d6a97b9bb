// The nftables mode's pure parts: the batch text (add + delete + full table, one transaction),
// the rules in the iptables chains' order and semantics, the fingerprint that ignores handles,
// and the other mode's cleanup batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nftDeleteTablesBatch, nftFingerprint, nftForwardChain, nftMasqChain, nftRuleCounts, nftTableBatch } from '../../../flanneld/masq/nft-rules';
import { iptablesCleanupBatch, ourNftTables } from '../../../flanneld/masq/other-mode-cleanup';
import { mustParseCIDR as c } from '../../../shared/ip';
import { parseSave } from '../../../shared/netfilter/restore';

test('the table batch replaces the whole table in one transaction', () => {
  const batch = nftTableBatch({ family: 4, chains: [nftMasqChain(4, c('10.5.0.0/16'), c('10.5.52.0/24'), false), nftForwardChain(4, c('10.5.0.0/16'))] });
  assert.equal(batch, `add table ip flannel-ipv4
delete table ip flannel-ipv4
table ip flannel-ipv4 {
\tcomment "rules for flannel-ipv4"
\tchain postrtg {
\t\tcomment "chain to manage traffic masquerading by flannel"
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tmeta mark & 0x00004000 == 0x00004000 return
\t\tip saddr 10.5.52.0/24 ip daddr 10.5.0.0/16 return
\t\tip saddr 10.5.0.0/16 ip daddr 10.5.52.0/24 return
\t\tip saddr != 10.5.0.0/16 ip daddr 10.5.52.0/24 return
\t\tip saddr 10.5.0.0/16 ip daddr != 224.0.0.0/4 masquerade
\t\tip saddr != 10.5.0.0/16 ip daddr 10.5.0.0/16 masquerade
\t}
\tchain forward {
\t\tcomment "chain to accept flannel traffic"
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr 10.5.0.0/16 accept
\t\tip daddr 10.5.0.0/16 accept
\t}
}
`);
  // Nothing wanted for a family: the table is only deleted.
  assert.equal(nftTableBatch({ family: 6, chains: [] }), 'add table ip6 flannel-ipv6\ndelete table ip6 flannel-ipv6\n');
  assert.equal(nftDeleteTablesBatch([4, 6]), 'add table ip flannel-ipv4\ndelete table ip flannel-ipv4\nadd table ip6 flannel-ipv6\ndelete table ip6 flannel-ipv6\n');
});

test('v6 rules use ip6 and ff00::/8; a CIDR of the wrong family is refused by name', () => {
  const ch = nftMasqChain(6, c('fd10::/56'), c('fd10:0:0:3::/64'), true);
  assert.deepEqual(ch.rules.slice(3), [
    'ip6 saddr != fd10::/56 ip6 daddr fd10:0:0:3::/64 return',
    'ip6 saddr fd10::/56 ip6 daddr != ff00::/8 masquerade fully-random',
    'ip6 saddr != fd10::/56 ip6 daddr fd10::/56 masquerade fully-random',
  ]);
  assert.throws(() => nftMasqChain(6, c('10.0.0.0/8'), c('fd10:0:0:3::/64'), true), { message: 'network 10.0.0.0/8 is not an IPv6 CIDR' });
  assert.throws(() => nftForwardChain(4, c('fd10::/56')), { message: 'network fd10::/56 is not an IPv4 CIDR' });
});

test('the fingerprint ignores handles and metainfo, and sees a changed rule; rule counts per chain', () => {
  const listing = (h: number, daddr: string) => ({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'ip', name: 'flannel-ipv4', handle: h } },
      { chain: { family: 'ip', table: 'flannel-ipv4', name: 'forward', handle: h + 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
      { chain: { family: 'ip', table: 'flannel-ipv4', name: 'postrtg', handle: h + 2 } },
      { rule: { family: 'ip', table: 'flannel-ipv4', chain: 'forward', handle: h + 3, expr: [{ match: { right: daddr } }] } },
    ],
  });
  assert.equal(nftFingerprint(listing(3, '10.5.0.0')), nftFingerprint(listing(9, '10.5.0.0')));
  assert.notEqual(nftFingerprint(listing(3, '10.5.0.0')), nftFingerprint(listing(3, '10.6.0.0')));
  assert.equal(nftFingerprint(undefined), '');
  assert.deepEqual([...nftRuleCounts(listing(3, 'x'))], [['forward', 1], ['postrtg', 0]]);
});

test('the iptables cleanup batch deletes jumps first, then flushes and deletes our chains; nothing to do → empty', () => {
  const nat = parseSave(`*nat
:POSTROUTING ACCEPT [0:0]
:FLANNEL-POSTRTG - [0:0]
-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
-A POSTROUTING -s 192.0.2.0/24 -j RETURN
-A FLANNEL-POSTRTG -s 10.5.0.0/16 -j RETURN
COMMIT
`, 'nat');
  const filter = parseSave(`*filter
:FORWARD DROP [0:0]
-A FORWARD -j FLANNEL-FWD
COMMIT
`, 'filter');
  assert.deepEqual(iptablesCleanupBatch({ nat, filter }), {
    batch: '*nat\n-D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n-F FLANNEL-POSTRTG\n-X FLANNEL-POSTRTG\nCOMMIT\n*filter\n-D FORWARD -j FLANNEL-FWD\nCOMMIT\n',
    removed: ['nat FLANNEL-POSTRTG', 'filter jumps to FLANNEL-FWD'],
  });
  const empty = parseSave('', 'nat');
  assert.deepEqual(iptablesCleanupBatch({ nat: empty, filter: empty }), { batch: '', removed: [] });
});

test('ourNftTables finds flannel-ipv4/flannel-ipv6 of the right family only', () => {
  const json = { nftables: [{ table: { family: 'ip6', name: 'flannel-ipv6' } }, { table: { family: 'inet', name: 'flannel-ipv4' } }] };
  assert.deepEqual(ourNftTables(json), [6]);
  assert.deepEqual(ourNftTables(undefined), []);
});
