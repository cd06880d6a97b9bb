import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../../../shared/cni/errors';
import { spoofchkGCBatch, spoofchkRefId, spoofchkSetupBatch, spoofchkTeardownBatch } from '../../../plugins/bridge/macspoofchk';

test('setup batch: table, base chain, per-attachment chains flushed, four commented rules', () => {
  const id = spoofchkRefId('container-1', 'eth0');
  assert.equal(id, 'container-1-eth0');
  assert.equal(
    spoofchkSetupBatch('veth1234abcd', '02:11:22:33:44:55', id),
    [
      'add table bridge nat',
      'add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }',
      'add chain bridge nat cni-br-iface-container-1-eth0',
      'add chain bridge nat cni-br-iface-container-1-eth0-mac',
      'flush chain bridge nat cni-br-iface-container-1-eth0',
      'flush chain bridge nat cni-br-iface-container-1-eth0-mac',
      'add rule bridge nat PREROUTING iifname "veth1234abcd" jump cni-br-iface-container-1-eth0 comment "macspoofchk-container-1-eth0"',
      'add rule bridge nat cni-br-iface-container-1-eth0 jump cni-br-iface-container-1-eth0-mac comment "macspoofchk-container-1-eth0"',
      'add rule bridge nat cni-br-iface-container-1-eth0-mac ether saddr 02:11:22:33:44:55 return comment "macspoofchk-container-1-eth0"',
      'add rule bridge nat cni-br-iface-container-1-eth0-mac drop comment "macspoofchk-container-1-eth0"',
      '',
    ].join('\n'),
  );
});

test('setup refuses names nft cannot parse unquoted', () => {
  assert.throws(() => spoofchkSetupBatch('veth1', '02:11:22:33:44:55', 'id-eth 0'), (e: unknown) => e instanceof CniError && e.code === 999);
  assert.throws(() => spoofchkSetupBatch('veth"1', '02:11:22:33:44:55', 'id-eth0'), CniError);
});

const listing = {
  nftables: [
    { metainfo: {} },
    { table: { family: 'bridge', name: 'nat', handle: 1 } },
    { chain: { family: 'bridge', table: 'nat', name: 'PREROUTING', handle: 1 } },
    { chain: { family: 'bridge', table: 'nat', name: 'cni-br-iface-a-eth0', handle: 2 } },
    { chain: { family: 'bridge', table: 'nat', name: 'cni-br-iface-a-eth0-mac', handle: 3 } },
    { chain: { family: 'bridge', table: 'nat', name: 'cni-br-iface-b-eth0', handle: 4 } },
    { rule: { family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 7, comment: 'macspoofchk-a-eth0' } },
    { rule: { family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 8, comment: 'macspoofchk-b-eth0' } },
    { rule: { family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 9, comment: 'macspoofchk-a-eth0' } },
    { rule: { family: 'bridge', table: 'nat', chain: 'cni-br-iface-a-eth0', handle: 10, comment: 'macspoofchk-a-eth0' } },
  ],
};

test('teardown batch: only this attachment\'s base rules by handle, then its chains, iface chain first', () => {
  assert.equal(
    spoofchkTeardownBatch(listing as never, 'a-eth0'),
    [
      'delete rule bridge nat PREROUTING handle 7',
      'delete rule bridge nat PREROUTING handle 9',
      'flush chain bridge nat cni-br-iface-a-eth0',
      'delete chain bridge nat cni-br-iface-a-eth0',
      'flush chain bridge nat cni-br-iface-a-eth0-mac',
      'delete chain bridge nat cni-br-iface-a-eth0-mac',
      '',
    ].join('\n'),
  );
  // b has no mac chain left: only what exists is deleted.
  assert.equal(
    spoofchkTeardownBatch(listing as never, 'b-eth0'),
    ['delete rule bridge nat PREROUTING handle 8', 'flush chain bridge nat cni-br-iface-b-eth0', 'delete chain bridge nat cni-br-iface-b-eth0', ''].join('\n'),
  );
  assert.equal(spoofchkTeardownBatch(listing as never, 'c-eth0'), null);
  assert.equal(spoofchkTeardownBatch({}, 'a-eth0'), null);
});

test('GC batch: attachments not valid whose veth is gone; valid or live-veth ones stay', () => {
  const base = (handle: number, id: string, veth: string): object => ({
    rule: {
      family: 'bridge', table: 'nat', chain: 'PREROUTING', handle, comment: `macspoofchk-${id}`,
      expr: [
        { match: { op: '==', left: { meta: { key: 'iifname' } }, right: veth } },
        { jump: { target: `cni-br-iface-${id}` } },
      ],
    },
  });
  const gcListing = {
    nftables: [
      { chain: { family: 'bridge', table: 'nat', name: 'PREROUTING', handle: 1 } },
      ...['valid-eth0', 'dead-eth0', 'other-eth0'].flatMap((id) => [
        { chain: { family: 'bridge', table: 'nat', name: `cni-br-iface-${id}`, handle: 2 } },
        { chain: { family: 'bridge', table: 'nat', name: `cni-br-iface-${id}-mac`, handle: 3 } },
      ]),
      base(11, 'valid-eth0', 'vethgone1'), // in the valid list: kept even with its veth gone
      base(12, 'dead-eth0', 'vethgone2'), // not valid, veth gone: removed
      base(13, 'other-eth0', 'vethlive'), // not valid (another network?), veth alive: kept
      // Someone else's rule in our table, without our comment: never touched.
      { rule: { family: 'bridge', table: 'nat', chain: 'PREROUTING', handle: 14, comment: 'theirs', expr: [] } },
    ],
  };
  const live = new Set(['vethlive']);
  assert.equal(
    spoofchkGCBatch(gcListing as never, new Set(['macspoofchk-valid-eth0']), (n) => live.has(n)),
    [
      'delete rule bridge nat PREROUTING handle 12',
      'flush chain bridge nat cni-br-iface-dead-eth0',
      'delete chain bridge nat cni-br-iface-dead-eth0',
      'flush chain bridge nat cni-br-iface-dead-eth0-mac',
      'delete chain bridge nat cni-br-iface-dead-eth0-mac',
      '',
    ].join('\n'),
  );
  assert.equal(spoofchkGCBatch(gcListing as never, new Set(['macspoofchk-valid-eth0', 'macspoofchk-dead-eth0']), (n) => live.has(n)), null);
  assert.equal(spoofchkGCBatch({}, new Set(), () => false), null);
});
