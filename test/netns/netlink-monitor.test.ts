// NetlinkMonitor against the real kernel: a notification socket opened inside a throw-away
// namespace sees that namespace's link, neighbour and route deletions (made with `ip`, the
// oracle), returns at once when nothing is pending, and KernelEventWatch reports ours only.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetNS } from '../../shared/netns';
import { withNetns } from '../../shared/netns';
import { NetlinkMonitor, RTMGRP } from '../../shared/netlink';
import { KernelEventWatch, firstReason } from '../../flanneld/datapath/kernel-events';
import { cleanupAllNetns, ipIn, ipJson, leakedNetns, makeNetns } from '../helpers/netns';

after(() => {
  cleanupAllNetns();
  assert.deepEqual(leakedNetns(), [], 'namespaces left behind');
});

describe('NetlinkMonitor: rtnetlink notifications read without blocking', () => {
  it('sees a bridge link appear and go, a neighbour and a protocol-127 route deleted; drain() of nothing returns at once', () => {
    const ns = makeNetns('nlmon');
    const netns = NetNS.open(ns.path);
    const mon = withNetns(netns, () => NetlinkMonitor.open(RTMGRP.LINK | RTMGRP.NEIGH | RTMGRP.IPV4_ROUTE));
    try {
      const t0 = process.hrtime.bigint();
      assert.deepEqual(mon.drain(), { messages: [], overrun: false });
      assert.ok(process.hrtime.bigint() - t0 < 50_000_000n, 'an empty drain does not block');
      ipIn(ns.name, ['link', 'add', 'mon0', 'type', 'bridge']);
      ipIn(ns.name, ['link', 'set', 'mon0', 'up']);
      ipIn(ns.name, ['addr', 'add', '192.0.2.1/24', 'dev', 'mon0']);
      ipIn(ns.name, ['neigh', 'add', '192.0.2.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'mon0', 'nud', 'permanent']);
      ipIn(ns.name, ['route', 'add', '198.51.100.0/24', 'via', '192.0.2.9', 'proto', '127']);
      const index = ipJson(ns.name, ['link', 'show', 'mon0'])[0].ifindex as number;
      const owned = { links: [index] };
      let d = mon.drain();
      assert.ok(d.messages.some((m) => m.type === 16), 'RTM_NEWLINK seen');
      assert.equal(firstReason(d.messages, d.overrun, owned), 'link ' + index + ' changed');
      ipIn(ns.name, ['route', 'del', '198.51.100.0/24']);
      d = mon.drain();
      assert.equal(firstReason(d.messages, d.overrun, owned), 'route deleted');
      ipIn(ns.name, ['neigh', 'del', '192.0.2.9', 'dev', 'mon0']);
      d = mon.drain();
      assert.equal(firstReason(d.messages, d.overrun, owned), `neighbour entry on link ${index} deleted`);
      ipIn(ns.name, ['link', 'del', 'mon0']);
      d = mon.drain();
      assert.ok(d.messages.some((m) => m.type === 17), 'RTM_DELLINK seen');
      assert.equal(firstReason(d.messages, d.overrun, { links: [index + 100] }), null, 'not ours');
    } finally {
      mon.close();
      netns.close();
    }
  });

  it('KernelEventWatch calls back within a poll period when our link is deleted', async () => {
    const ns = makeNetns('nlwatch');
    const netns = NetNS.open(ns.path);
    ipIn(ns.name, ['link', 'add', 'mon1', 'type', 'bridge']);
    const index = ipJson(ns.name, ['link', 'show', 'mon1'])[0].ifindex as number;
    const reasons: string[] = [];
    const w = withNetns(netns, () => new KernelEventWatch(() => ({ links: [index] }), (r) => reasons.push(r), 50));
    try {
      await new Promise((r) => setTimeout(r, 120));
      assert.deepEqual(reasons, []);
      ipIn(ns.name, ['link', 'del', 'mon1']);
      const t0 = Date.now();
      while (reasons.length === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
      // One call per poll, naming the first of the notifications (the bridge's FDB entries go first).
      assert.equal(reasons.length, 1, reasons.join('; '));
      assert.match(reasons[0]!, new RegExp(`link ${index} deleted$`));
    } finally {
      w.close();
      netns.close();
    }
  });
});
