// GC's view of the UDP forwards it removes (so their conntrack entries can be deleted, as DEL
// does): which CNI-DN chains are stale, and which UDP host ports / container addresses the
// stale iptables chains and nftables rules forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnatChainName, gcBatch, staleDnatChains, udpForwardsIn } from '../../../plugins/portmap/iptables-rules';
import { udpForwardOf } from '../../../plugins/portmap/nft-rules';
import { parseSave } from '../../../shared/netfilter/restore';
import type { NftRule } from '../../../shared/netfilter/nft';

const live = dnatChainName('cbr0', 'live');
const dead = dnatChainName('cbr0', 'dead');
const other = dnatChainName('othernet', 'dead');

const SAVED = parseSave(`*nat
:CNI-HOSTPORT-DNAT - [0:0]
:${live} - [0:0]
:${dead} - [0:0]
:${other} - [0:0]
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"live\\"" -m multiport --dports 18080 -j ${live}
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"cbr0\\" id: \\"live\\"" -m multiport --dports 18091 -j ${live}
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"cbr0\\" id: \\"dead\\"" -m multiport --dports 18081 -j ${dead}
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"cbr0\\" id: \\"dead\\"" -m multiport --dports 18090,18092 -j ${dead}
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"othernet\\" id: \\"dead\\"" -m multiport --dports 18093 -j ${other}
-A ${live} -p udp -m udp --dport 18091 -j DNAT --to-destination 10.244.6.5:5353
-A ${dead} -s 10.244.6.4/32 -p tcp -m tcp --dport 18081 -j CNI-HOSTPORT-SETMARK
-A ${dead} -p tcp -m tcp --dport 18081 -j DNAT --to-destination 10.244.6.4:8080
-A ${dead} -s 10.244.6.4/32 -p udp -m udp --dport 18090 -j CNI-HOSTPORT-SETMARK
-A ${dead} -p udp -m udp --dport 18090 -j DNAT --to-destination 10.244.6.4:5353
-A ${dead} -d 192.168.1.1/32 -p udp -m udp --dport 18092 -j DNAT --to-destination 10.244.6.4:53
-A ${other} -p udp -m udp --dport 18093 -j DNAT --to-destination 10.99.0.4:53
COMMIT
`);

test('stale chains: this network\'s, not valid', () => {
  assert.deepEqual(staleDnatChains('cbr0', ['live'], SAVED), [dead]);
  assert.deepEqual(staleDnatChains('cbr0', ['live', 'dead'], SAVED), []);
  assert.deepEqual(staleDnatChains('cbr0', [], SAVED).sort(), [live, dead].sort());
  assert.equal(gcBatch('cbr0', ['live', 'dead'], SAVED), undefined);
  assert.match(gcBatch('cbr0', ['live'], SAVED)!, new RegExp(`^-X ${dead}$`, 'm'));
});

test('UDP forwards of stale chains: host port and container address of each UDP DNAT rule', () => {
  assert.deepEqual(udpForwardsIn(SAVED, [dead]), [
    { hostPort: 18090, ip: '10.244.6.4' },
    { hostPort: 18092, ip: '10.244.6.4' },
  ]);
  assert.deepEqual(udpForwardsIn(SAVED, [live]), [{ hostPort: 18091, ip: '10.244.6.5' }]);
  assert.deepEqual(udpForwardsIn(SAVED, []), []);
});

test('IPv6 DNAT targets are read without brackets', () => {
  const chain = dnatChainName('cbr0', 'v6');
  const saved = parseSave(`*nat\n:${chain} - [0:0]\n-A ${chain} -p udp -m udp --dport 53 -j DNAT --to-destination [fd00::4]:5353\nCOMMIT\n`);
  assert.deepEqual(udpForwardsIn(saved, [chain]), [{ hostPort: 53, ip: 'fd00::4' }]);
});

test('nftables: a mapping rule\'s UDP host port and address; TCP and masquerade rules are not UDP forwards', () => {
  const rule = (expr: unknown[]): NftRule => ({ family: 'ip', table: 'cni_hostport', chain: 'hostports', handle: 1, comment: 'x', expr });
  const udp = rule([
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 18090 } },
    { dnat: { addr: '10.244.6.4', port: 5353 } },
  ]);
  assert.deepEqual(udpForwardOf(udp), { hostPort: 18090, ip: '10.244.6.4' });
  const v6 = rule([
    { match: { op: '==', left: { payload: { protocol: 'ip6', field: 'daddr' } }, right: 'fd00::9' } },
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 53 } },
    { dnat: { addr: 'fd00::3', port: 5353 } },
  ]);
  assert.deepEqual(udpForwardOf(v6), { hostPort: 53, ip: 'fd00::3' });
  const tcp = rule([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } }, { dnat: { addr: '10.0.0.2', port: 8080 } }]);
  assert.equal(udpForwardOf(tcp), undefined);
  const masq = rule([{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.0.0.2' } }, { masquerade: null }]);
  assert.equal(udpForwardOf(masq), undefined);
});
