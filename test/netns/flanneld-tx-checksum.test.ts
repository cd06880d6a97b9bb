// --disable-vxlan-tx-checksum-offload's ioctl against a real vxlan device in a throw-away
// namespace, with ethtool(8) as the independent oracle: tx-checksum-ip-generic goes from on to
// off, a second call changes nothing, an absent device is skipped.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureTxChecksumOff } from '../../flanneld/datapath/tx-checksum';
import { NetNS, withNetns } from '../../shared/netns';
import { cleanupAllNetns, execIn, ipIn, makeNetns } from '../helpers/netns';

const feature = (ns: string, dev: string, name: string): string => {
  const line = execIn(ns, 'ethtool', ['-k', dev]).split('\n').find((l) => l.trim().startsWith(`${name}:`));
  assert.ok(line, `ethtool -k ${dev} lists ${name}`);
  return line.split(':')[1]!.trim();
};

describe('vxlan tx checksum offload switch (netns)', () => {
  after(cleanupAllNetns);

  test('ETHTOOL_STXCSUM turns tx-checksum-ip-generic off on flannel.1; idempotent; absent devices skipped', () => {
    const t = makeNetns('ftxc');
    ipIn(t.name, ['link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'nolearning']);
    assert.equal(feature(t.name, 'flannel.1', 'tx-checksum-ip-generic'), 'on');
    const netns = NetNS.open(t.path);
    try {
      assert.deepEqual(withNetns(netns, () => ensureTxChecksumOff(['flannel.1', 'flannel-v6.1'])), { changed: ['flannel.1'], errors: [] });
      assert.equal(feature(t.name, 'flannel.1', 'tx-checksum-ip-generic'), 'off');
      assert.match(feature(t.name, 'flannel.1', 'tx-checksumming'), /^off/);
      assert.deepEqual(withNetns(netns, () => ensureTxChecksumOff(['flannel.1'])), { changed: [], errors: [] });
    } finally {
      netns.close();
    }
  });
});
