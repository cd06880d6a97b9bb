import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetConf } from '../../../shared/cni/types';
import { parsePortMapConf } from '../../../plugins/portmap/config';
import { checkRules, nftAddBatch, nftComment, ownedRules, staleRules } from '../../../plugins/portmap/nft-rules';
import { mustParseCIDR } from '../../../shared/ip';
import type { NftRule } from '../../../shared/netfilter/nft';

const probe = { iptables: () => true, nftables: () => true };
const conf = (extra: Record<string, unknown>) =>
  parsePortMapConf({ cniVersion: '1.0.0', name: 'test', type: 'portmap', backend: 'nftables', ...extra } as NetConf, 'eth0', probe);
const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'sctp', hostIP: '2001:db8:a::1' },
];
const CID = 'icee6giejonei6so';
const C = nftComment('test', CID);

test('comment identifies network and container', () => {
  assert.match(C, /^[0-9a-f]{16}-[0-9a-f]{16}, net: test, id: icee6giejonei6so$/);
  assert.notEqual(nftComment('other', CID), C);
  assert.ok(Buffer.byteLength(nftComment('n', 'x'.repeat(300))) <= 128);
});

test('v4 with snat and conditions: exact batch', () => {
  const c = conf({ runtimeConfig: { portMappings: MAPPINGS }, conditionsV4: ['ip', 'saddr', '!=', '1.2.3.4'] });
  assert.deepEqual(nftAddBatch(c, CID, mustParseCIDR('10.0.0.2/24')).trim().split('\n'), [
    'add table ip cni_hostport { comment "CNI portmap plugin" ; }',
    'add chain ip cni_hostport hostports',
    'add chain ip cni_hostport hostip_hostports',
    'add chain ip cni_hostport hostports_all',
    'flush chain ip cni_hostport hostports_all',
    'add rule ip cni_hostport hostports_all jump hostip_hostports',
    'add rule ip cni_hostport hostports_all jump hostports',
    'add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }',
    'flush chain ip cni_hostport prerouting',
    'add rule ip cni_hostport prerouting ip saddr != 1.2.3.4 fib daddr type local jump hostports_all',
    'add chain ip cni_hostport output { type nat hook output priority -100 ; }',
    'flush chain ip cni_hostport output',
    'add rule ip cni_hostport output ip saddr != 1.2.3.4 fib daddr type local jump hostports_all',
    'add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }',
    `add rule ip cni_hostport hostports tcp dport 8080 dnat to 10.0.0.2:80 comment "${C}"`,
    `add rule ip cni_hostport hostports udp dport 8080 dnat to 10.0.0.2:81 comment "${C}"`,
    `add rule ip cni_hostport hostports ip daddr 192.168.0.2 tcp dport 8083 dnat to 10.0.0.2:83 comment "${C}"`,
    `add rule ip cni_hostport hostports tcp dport 8084 dnat to 10.0.0.2:84 comment "${C}"`,
    `add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "${C}"`,
    `add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "${C}"`,
  ]);
});

test('v6 without snat: no masquerading chain, [ip]:port, hostIP family filter', () => {
  const c = conf({ runtimeConfig: { portMappings: MAPPINGS }, snat: false });
  const lines = nftAddBatch(c, CID, mustParseCIDR('2001:db8::2/64')).trim().split('\n');
  assert.ok(!lines.some((l) => l.includes('masquerad')));
  assert.deepEqual(lines.filter((l) => l.includes(' hostports ')), [
    `add rule ip6 cni_hostport hostports tcp dport 8080 dnat to [2001:db8::2]:80 comment "${C}"`,
    `add rule ip6 cni_hostport hostports udp dport 8080 dnat to [2001:db8::2]:81 comment "${C}"`,
    `add rule ip6 cni_hostport hostports ip6 daddr 2001:db8:a::1 sctp dport 8085 dnat to [2001:db8::2]:85 comment "${C}"`,
  ]);
});

test('masqAll: one masquerade rule from anywhere (v4 and v6)', () => {
  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] }, masqAll: true });
  const m4 = nftAddBatch(c, CID, mustParseCIDR('10.0.0.2/24')).split('\n').filter((l) => l.includes('masquerading ip'));
  assert.deepEqual(m4, [`add rule ip cni_hostport masquerading ip saddr 0.0.0.0/0 ip daddr 10.0.0.2 masquerade comment "${C}"`]);
  const m6 = nftAddBatch(c, CID, mustParseCIDR('2001:db8::2/64')).split('\n').filter((l) => l.includes('masquerading ip6'));
  assert.deepEqual(m6, [`add rule ip6 cni_hostport masquerading ip6 saddr ::/0 ip6 daddr 2001:db8::2 masquerade comment "${C}"`]);
});

const rule = (chain: string, handle: number, comment: string | undefined, addr = '10.0.0.2'): NftRule => ({
  family: 'ip', table: 'cni_hostport', chain, handle, comment,
  expr: [{ dnat: { addr, port: 80 } }],
});

test('DEL selection: ours by prefix, reference rules by exact cid scoped by address', () => {
  const rules = [
    rule('hostports', 1, C),
    rule('hostports', 2, nftComment('other', CID)),
    rule('hostports', 3, CID),
    rule('hostports', 4, CID, '10.9.9.9'),
    rule('masquerading', 5, C),
    rule('prerouting', 6, C),
    rule('hostports', 7, undefined),
  ];
  assert.deepEqual(ownedRules(rules, 'test', CID, ['10.0.0.2']).map((r) => r.handle), [1, 3, 5]);
  assert.deepEqual(ownedRules(rules, 'test', CID).map((r) => r.handle), [1, 3, 4, 5]);
});

test('GC selection and CHECK counts', () => {
  const rules = [rule('hostports', 1, C), rule('hostports', 2, nftComment('test', 'gone')), rule('hostports', 3, nftComment('other', 'gone'))];
  assert.deepEqual(staleRules(rules, 'test', [CID]).map((r) => r.handle), [2]);
  assert.deepEqual(staleRules(rules, 'test', []).map((r) => r.handle), [1, 2]);

  const c = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] } });
  const net = mustParseCIDR('10.0.0.2/24');
  assert.equal(checkRules([rule('hostports', 1, C)], c, CID, net), 'missing hostport rules in "masquerading" chain');
  assert.equal(checkRules([rule('masquerading', 1, C)], c, CID, net), 'missing hostport rules in "hostports" chain');
  assert.equal(checkRules([rule('hostports', 1, C), rule('masquerading', 2, C), rule('masquerading', 3, C)], c, CID, net), undefined);
  const all = conf({ runtimeConfig: { portMappings: [MAPPINGS[0]] }, masqAll: true });
  assert.equal(checkRules([rule('hostports', 1, C), rule('masquerading', 2, C)], all, CID, net), undefined);
});
