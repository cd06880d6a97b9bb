import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetConf } from '../../../shared/cni/types';
import { parsePortMapConf } from '../../../plugins/portmap/config';
import {
  addFastBatch,
  addReconcileBatch,
  checkBatch,
  delBySavedBatch,
  delFastBatch,
  dnatChainName,
  dnatChainRules,
  dnatEntryRules,
  gcBatch,
  markMasqEntryRule,
  markMasqRule,
  setMarkRule,
  splitPortList,
  toplevelEntryRule,
  trimComment,
} from '../../../plugins/portmap/iptables-rules';
import { mustParseCIDR } from '../../../shared/ip';
import { parseSave } from '../../../shared/netfilter/restore';

const probe = { iptables: () => true, nftables: () => true };
const CID =
  'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';

const conf = (extra: Record<string, unknown>) =>
  parsePortMapConf({ cniVersion: '1.0.0', name: 'test', type: 'portmap', ...extra } as NetConf, 'eth0', probe);

const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
];
const full = () => conf({ runtimeConfig: { portMappings: MAPPINGS }, snat: true, conditionsV4: ['-a', 'b'], conditionsV6: ['-c', 'd'] });
const comment = `dnat name: "test" id: "${CID}"`;
const SM = 'CNI-HOSTPORT-SETMARK';

test('chain names', () => {
  assert.equal(dnatChainName('testNetName', CID), 'CNI-DN-bfd599665540dd91d5d28');
  assert.equal(dnatChainName('test', CID), 'CNI-DN-67e92b96e692a494b6b85');
});

test('entry rules: grouped by sorted protocol, conditions appended', () => {
  const ch = 'CNI-DN-67e92b96e692a494b6b85';
  assert.deepEqual(dnatEntryRules(full(), CID, false), [
    ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'tcp', '--destination-ports', '8080,8081,8083,8084,8085,8086', '-a', 'b', '-j', ch],
    ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'udp', '--destination-ports', '8080,8082', '-a', 'b', '-j', ch],
  ]);
  assert.deepEqual(dnatEntryRules(full(), CID, true)[1]!.slice(10, 12), ['-c', 'd']);
});

test('multiport chunks of at most 15 ports', () => {
  const ports = Array.from({ length: 32 }, (_, i) => 9000 + i);
  assert.deepEqual(splitPortList(ports).map((s) => s.split(',').length), [15, 15, 2]);
  const c = conf({ runtimeConfig: { portMappings: ports.map((p) => ({ hostPort: p, containerPort: 80, protocol: 'tcp' })) } });
  const entries = dnatEntryRules(c, 'x', false);
  assert.equal(entries.length, 3);
  assert.equal(entries[0]![9], ports.slice(0, 15).join(','));
  assert.equal(entries[2]![9], '9030,9031');
});

test('v4 container chain rules: hairpin, localhost, DNAT; hostIP and wildcard', () => {
  assert.deepEqual(dnatChainRules(full(), mustParseCIDR('10.0.0.2/24')), [
    ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'tcp', '--dport', '8081', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'tcp', '--dport', '8081', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'udp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'udp', '--dport', '8080', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
    ['-p', 'udp', '--dport', '8082', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'udp', '--dport', '8082', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
    ['-p', 'tcp', '--dport', '8084', '-s', '10.0.0.2/24', '-j', SM],
    ['-p', 'tcp', '--dport', '8084', '-s', '127.0.0.1', '-j', SM],
    ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
  ]);
});

test('v6 container chain rules: no localhost rule, [ip]:port', () => {
  assert.deepEqual(dnatChainRules(full(), mustParseCIDR('2001:db8::2/64')), [
    ['-p', 'tcp', '--dport', '8080', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:80'],
    ['-p', 'tcp', '--dport', '8081', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:80'],
    ['-p', 'udp', '--dport', '8080', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:81'],
    ['-p', 'udp', '--dport', '8082', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:82'],
    ['-p', 'tcp', '--dport', '8085', '-d', '2001:db8:a::1', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'tcp', '--dport', '8085', '-d', '2001:db8:a::1', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:85'],
    ['-p', 'tcp', '--dport', '8086', '-s', '2001:db8::2/64', '-j', SM],
    ['-p', 'tcp', '--dport', '8086', '-j', 'DNAT', '--to-destination', '[2001:db8::2]:86'],
  ]);
});

test('snat false: only DNAT rules', () => {
  const c = conf({ runtimeConfig: { portMappings: MAPPINGS }, snat: false });
  assert.deepEqual(dnatChainRules(c, mustParseCIDR('10.0.0.2/24')), [
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
    ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
    ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
  ]);
});

test('externalSetMarkChain', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] }, externalSetMarkChain: 'PLZ-SET-MARK' });
  assert.deepEqual(dnatChainRules(c, mustParseCIDR('10.0.0.2/24')), [
    ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'PLZ-SET-MARK'],
    ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'PLZ-SET-MARK'],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
  ]);
  // The shared mark chains are not ours then: the batch neither checks nor creates them.
  assert.ok(!addFastBatch(c, 'x', mustParseCIDR('10.0.0.2/24')).includes('CNI-HOSTPORT-SETMARK'));
});

test('masqAll: any source, no localhost rule', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] }, masqAll: true });
  assert.deepEqual(dnatChainRules(c, mustParseCIDR('10.0.0.2/24')), [
    ['-p', 'tcp', '--dport', '8080', '-s', '0.0.0.0/0', '-j', SM],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
  ]);
  assert.deepEqual(dnatChainRules(c, mustParseCIDR('2001:db8::2/64'))[0], ['-p', 'tcp', '--dport', '8080', '-s', '::/0', '-j', SM]);
});

test('top-level and mark chains; markMasqBit 5 -> 0x20/0x20', () => {
  assert.deepEqual(toplevelEntryRule(), ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'CNI-HOSTPORT-DNAT']);
  assert.deepEqual(setMarkRule(5), ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', '0x20/0x20']);
  assert.deepEqual(markMasqRule(5), ['-m', 'mark', '--mark', '0x20/0x20', '-j', 'MASQUERADE']);
  assert.deepEqual(setMarkRule(13).at(-1), '0x2000/0x2000');
  assert.deepEqual(setMarkRule(31).at(-1), '0x80000000/0x80000000');
  assert.deepEqual(markMasqEntryRule(), ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ']);
});

test('comment trimmed to 253 + "..." above 255 bytes', () => {
  assert.equal(trimComment('a'.repeat(255)), 'a'.repeat(255));
  assert.equal(trimComment('a'.repeat(300)), 'a'.repeat(253) + '...');
});

test('ADD fast batch: checks shared chains, never declares them, -N the pod chain, prepends entries', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0], MAPPINGS[2]] } });
  const ch = dnatChainName('test', 'cid1');
  assert.equal(
    addFastBatch(c, 'cid1', mustParseCIDR('10.0.0.2/24')),
    [
      '*nat',
      '-C PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-C OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-C CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-C CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-C POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      `-N ${ch}`,
      `-A ${ch} -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80`,
      `-A ${ch} -p udp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -p udp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${ch} -p udp --dport 8080 -j DNAT --to-destination 10.0.0.2:81`,
      `-I CNI-HOSTPORT-DNAT 1 -m comment --comment "dnat name: \\"test\\" id: \\"cid1\\"" -m multiport -p tcp --destination-ports 8080 -j ${ch}`,
      `-I CNI-HOSTPORT-DNAT 1 -m comment --comment "dnat name: \\"test\\" id: \\"cid1\\"" -m multiport -p udp --destination-ports 8080 -j ${ch}`,
      'COMMIT',
      '',
    ].join('\n'),
  );
});

const ch1 = dnatChainName('test', 'cid1');
const SAVED = parseSave(`*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:${ch1} - [0:0]
:CNI-DN-000000000000000000000 - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"cid1\\"" -m multiport --dports 8080 -j ${ch1}
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"other\\" id: \\"cid9\\"" -m multiport --dports 9090 -j CNI-DN-000000000000000000000
-A ${ch1} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
COMMIT
`);

test('ADD reconcile batch: creates only what is missing, replaces the old entry rule', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] } });
  const lines = addReconcileBatch(c, 'cid1', mustParseCIDR('10.0.0.2/24'), SAVED).split('\n');
  assert.ok(!lines.includes(':CNI-HOSTPORT-DNAT - [0:0]'), 'existing shared chain must not be flushed');
  assert.ok(lines.includes(':CNI-HOSTPORT-SETMARK - [0:0]'));
  assert.ok(lines.includes(':CNI-HOSTPORT-MASQ - [0:0]'));
  assert.ok(lines.includes('-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
  assert.ok(!lines.includes('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
  assert.ok(lines.includes('-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'));
  assert.ok(lines.some((l) => l.startsWith('-D CNI-HOSTPORT-DNAT') && l.endsWith(ch1)));
  assert.ok(!lines.some((l) => l.includes('CNI-DN-000000000000000000000')));
  assert.ok(lines.includes(`:${ch1} - [0:0]`));
});

test('DEL batches: exact entry rules, fallback from the saved table, nothing left → undefined', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] }, conditionsV6: ['-c', 'd'] });
  assert.equal(
    delFastBatch(c, 'cid1', false),
    `*nat\n-D CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"cid1\\"" -m multiport -p tcp --destination-ports 8080 -j ${ch1}\n-F ${ch1}\n-X ${ch1}\nCOMMIT\n`,
  );
  assert.ok(delFastBatch(c, 'cid1', true).includes('--destination-ports 8080 -c d -j'));
  const b = delBySavedBatch('test', 'cid1', SAVED)!.split('\n');
  assert.equal(b.filter((l) => l.startsWith('-D CNI-HOSTPORT-DNAT')).length, 1);
  assert.ok(b.includes(`-F ${ch1}`) && b.includes(`-X ${ch1}`));
  assert.equal(delBySavedBatch('test', 'gone', SAVED), undefined);
});

test('CHECK batch describes each line for the reference error text', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] } });
  const { batch, items } = checkBatch(c, 'cid1', mustParseCIDR('10.0.0.2/24'));
  const lines = batch.split('\n');
  assert.equal(lines.length - 3, items.length); // *nat, COMMIT, trailing ''
  assert.ok(lines.slice(1, -2).every((l) => l.startsWith('-C ')));
  assert.equal(items[0]!.chain, ch1);
  assert.equal(items[3]!.chain, 'CNI-HOSTPORT-DNAT');
  assert.equal(items[4]!.chain, 'PREROUTING');
});

test('GC batch: only this network, only containers not valid', () => {
  assert.equal(gcBatch('test', ['cid1'], SAVED), undefined);
  const b = gcBatch('test', [], SAVED)!;
  assert.ok(b.includes(`-X ${ch1}`));
  assert.ok(!b.includes('CNI-DN-000000000000000000000'));
  assert.equal(gcBatch('nonet', [], SAVED), undefined);
});
