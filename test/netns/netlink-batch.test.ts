// Batched netlink writes (NetlinkSocket.requestBatch) against the real kernel, in a throw-away
// namespace: per-entry results mapped by sequence number across chunks, a failing entry in the
// middle that does not stop the others, the order kept across datagrams. `ip -j` is the oracle.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR, mustParseIP } from '../../shared/ip';
import { NetNS } from '../../shared/netns';
import * as nl from '../../shared/netlink';
import { cleanupAllNetns, ipIn, ipJson, leakedNetns, makeNetns } from '../helpers/netns';

const opened: { close(): void }[] = [];
after(() => {
  for (const o of opened.splice(0).reverse()) o.close();
  cleanupAllNetns();
  assert.deepEqual(leakedNetns(), [], 'namespaces left behind');
});

describe('netlink batch (netns)', () => {
  const ns = makeNetns('nlbatch');
  ipIn(ns.name, ['link', 'add', 'bt0', 'type', 'veth', 'peer', 'name', 'bt1']);
  ipIn(ns.name, ['addr', 'add', '192.168.90.1/24', 'dev', 'bt0']);
  ipIn(ns.name, ['link', 'set', 'bt0', 'up']);
  ipIn(ns.name, ['link', 'set', 'bt1', 'up']);
  const netns = NetNS.open(ns.path);
  const sock = nl.NetlinkSocket.openIn(netns);
  opened.push(netns, sock);
  const index = ipJson(ns.name, ['link', 'show', 'bt0'])[0].ifindex as number;
  const neigh = (i: number, idx = index): nl.NetlinkOp =>
    nl.replaceNeighbourOp({ index: idx, ip: mustParseIP(`192.168.90.${100 + i}`), mac: `0a:00:00:00:00:${(i + 16).toString(16)}`, permanent: true });
  const neighs = (): string[] => ipJson(ns.name, ['neigh', 'show', 'dev', 'bt0']).map((n: any) => `${n.dst} ${n.lladdr}`).sort();

  it('7 writes in chunks of 3: the bad one (no such device) fails alone, every other one is applied', () => {
    const ops = [neigh(0), neigh(1), neigh(2), neigh(3, 999_999), neigh(4), neigh(5), neigh(6)];
    const res = sock.requestBatch(ops, 3);
    assert.equal(res.length, 7);
    assert.deepEqual(res.map((r) => (r ? (r as nl.NetlinkError).code : null)), [null, null, null, 'ENODEV', null, null, null]);
    assert.deepEqual(neighs(), [0, 1, 2, 4, 5, 6].map((i) => `192.168.90.${100 + i} 0a:00:00:00:00:${(i + 16).toString(16)}`));
    // The socket stays in step: a plain request after the batch gets its own ack.
    nl.deleteNeighbour(sock, index, mustParseIP('192.168.90.100'));
    assert.equal(neighs().length, 5);
  });

  it('order is kept across datagrams: add then delete of one route leaves nothing; a missing one is ESRCH', () => {
    const route = { dst: mustParseCIDR('10.77.0.0/24'), gw: mustParseIP('192.168.90.2'), index, protocol: 127 };
    const other = { dst: mustParseCIDR('10.77.1.0/24'), gw: mustParseIP('192.168.90.2'), index, protocol: 127 };
    const res = sock.requestBatch([nl.replaceRouteOp(route), nl.replaceRouteOp(other), nl.delRouteOp(route), nl.delRouteOp(route)], 1);
    assert.deepEqual(res.map((r) => (r ? (r as nl.NetlinkError).code : null)), [null, null, null, 'ESRCH']);
    assert.deepEqual(ipJson(ns.name, ['route', 'show', 'proto', '127']).map((r: any) => r.dst), ['10.77.1.0/24']);
  });

  it('1000 entries in the default chunk size: all acked, all there', () => {
    const ops = Array.from({ length: 1000 }, (_, i) =>
      nl.replaceRouteOp({ dst: mustParseCIDR(`10.${80 + (i >> 8)}.${i & 255}.0/24`), gw: mustParseIP('192.168.90.2'), index, protocol: 127 }));
    const res = sock.requestBatch(ops);
    assert.deepEqual(res.filter((r) => r !== null), []);
    assert.equal(ipJson(ns.name, ['route', 'show', 'proto', '127']).length, 1001);
    assert.deepEqual(sock.requestBatch([]), []);
  });
});
