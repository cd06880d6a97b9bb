import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR } from '../../../shared/ip';
import {
  iptMasqChainRules,
  iptMasqIds,
  iptMasqJumpRule,
  iptMasqSetupBatch,
  iptMasqTeardownBatch,
  nftMasqComment,
  nftMasqSetupBatch,
} from '../../../shared/netfilter/ipmasq-rules';

test('iptables ipmasq: chain name, comment and rules as the reference (pkg/ip)', () => {
  const ids = iptMasqIds('test', '1234');
  assert.equal(ids.chain, 'CNI-2bbe0c48b91a7d1b8a6753a8');
  assert.equal(ids.comment, 'name: "test" id: "1234"');
  const v4 = mustParseCIDR('10.1.2.5/24');
  assert.deepEqual(iptMasqChainRules([v4], ids), [
    ['-d', '10.1.2.5/24', '-j', 'ACCEPT', '-m', 'comment', '--comment', 'name: "test" id: "1234"'],
    ['!', '-d', '224.0.0.0/4', '-j', 'MASQUERADE', '-m', 'comment', '--comment', 'name: "test" id: "1234"'],
  ]);
  assert.deepEqual(iptMasqJumpRule(v4, ids), ['-s', '10.1.2.5', '-j', ids.chain, '-m', 'comment', '--comment', 'name: "test" id: "1234"']);
  const v6 = mustParseCIDR('fd00::5/64');
  assert.deepEqual(iptMasqChainRules([v6], ids)[1]!.slice(0, 3), ['!', '-d', 'ff00::/8']);
});

test('iptables ipmasq batches', () => {
  const ids = iptMasqIds('test', '1234');
  const v4 = mustParseCIDR('10.1.2.5/24');
  assert.equal(
    iptMasqSetupBatch([v4], ids),
    [
      '*nat',
      '-N CNI-2bbe0c48b91a7d1b8a6753a8',
      '-A CNI-2bbe0c48b91a7d1b8a6753a8 -d 10.1.2.5/24 -j ACCEPT -m comment --comment "name: \\"test\\" id: \\"1234\\""',
      '-A CNI-2bbe0c48b91a7d1b8a6753a8 ! -d 224.0.0.0/4 -j MASQUERADE -m comment --comment "name: \\"test\\" id: \\"1234\\""',
      '-A POSTROUTING -s 10.1.2.5 -j CNI-2bbe0c48b91a7d1b8a6753a8 -m comment --comment "name: \\"test\\" id: \\"1234\\""',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.equal(
    iptMasqTeardownBatch([v4], ids),
    [
      '*nat',
      '-D POSTROUTING -s 10.1.2.5 -j CNI-2bbe0c48b91a7d1b8a6753a8 -m comment --comment "name: \\"test\\" id: \\"1234\\""',
      '-F CNI-2bbe0c48b91a7d1b8a6753a8',
      '-X CNI-2bbe0c48b91a7d1b8a6753a8',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('nftables ipmasq comments: reference vectors', () => {
  assert.equal(nftMasqComment('unit-test', 'eth0', 'one'), '6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one');
  assert.equal(nftMasqComment('unit-test', 'eth0', 'two'), '6fd94d501e58f0aa-d750b2c8f0f25d5f, net: unit-test, if: eth0, id: two');
  assert.equal(nftMasqComment('unit-test', 'eth0', 'three'), '6fd94d501e58f0aa-a4d4adb82b669cfe, net: unit-test, if: eth0, id: three');
  assert.equal(nftMasqComment('alternate', 'net1', 'three'), '82783ef24bdc7036-acb19d111858e348, net: alternate, if: net1, id: three');
  assert.equal(nftMasqComment('unit-test', 'eth0', 'four'), '6fd94d501e58f0aa-e766de567ef6c543, net: unit-test, if: eth0, id: four');
  const long = nftMasqComment('n"et', 'eth0', 'x'.repeat(200));
  assert.equal(long.length, 128);
  assert.ok(!long.includes('"'));
});

test('nftables ipmasq setup batch', () => {
  const b = nftMasqSetupBatch([mustParseCIDR('192.168.1.1/24'), mustParseCIDR('fd00:1::5/64')], 'unit-test', 'eth0', 'one', [
    'delete rule inet cni_plugins_masquerade masq_checks handle 7',
  ]);
  const lines = b.trim().split('\n');
  assert.deepEqual(lines, [
    'add table inet cni_plugins_masquerade { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }',
    'add chain inet cni_plugins_masquerade masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }',
    'add chain inet cni_plugins_masquerade postrouting { type nat hook postrouting priority 100 ; }',
    'flush chain inet cni_plugins_masquerade postrouting',
    'add rule inet cni_plugins_masquerade postrouting ip daddr == 224.0.0.0/4 return',
    'add rule inet cni_plugins_masquerade postrouting ip6 daddr == ff00::/8 return',
    'add rule inet cni_plugins_masquerade postrouting goto masq_checks',
    'delete rule inet cni_plugins_masquerade masq_checks handle 7',
    'add rule inet cni_plugins_masquerade masq_checks ip saddr == 192.168.1.1 ip daddr != 192.168.1.0/24 masquerade comment "6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one"',
    'add rule inet cni_plugins_masquerade masq_checks ip6 saddr == fd00:1::5 ip6 daddr != fd00:1::/64 masquerade comment "6fd94d501e58f0aa-287fc69eff0574a2, net: unit-test, if: eth0, id: one"',
  ]);
});

// An unknown value is the bridge config's error (test/unit/bridge/config.test.ts, code 7).
test('chooseMasqBackend: explicit values are kept', async () => {
  const { chooseMasqBackend } = await import('../../../shared/netfilter/ipmasq');
  assert.equal(chooseMasqBackend('iptables'), 'iptables');
  assert.equal(chooseMasqBackend('nftables'), 'nftables');
});
