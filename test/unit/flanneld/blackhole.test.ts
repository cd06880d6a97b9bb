// --ip-blackhole-route's pure part: which blackhole routes of ours to add and delete; and the
// reconciler's ownership leaving the blackhole alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLACKHOLE_METRIC, blackholeDiff } from '../../../flanneld/datapath/blackhole';
import { ownedRoutes, RTPROT_FLANNEL } from '../../../flanneld/datapath/ownership';
import { formatCIDR, mustParseCIDR as c } from '../../../shared/ip';
import type { RouteInfo } from '../../../shared/netlink';

const bh = (dst: string, o: Partial<RouteInfo> = {}): RouteInfo => ({ dst: c(dst), scope: 0, metric: BLACKHOLE_METRIC, table: 254, protocol: RTPROT_FLANNEL, flags: 0, type: 6, ...o });
const net = c('10.5.0.0/16');

test('our subnet without a blackhole: one to add', () => {
  assert.deepEqual(blackholeDiff([], c('10.5.52.0/24'), net), { add: [c('10.5.52.0/24')], del: [] });
});

test('present with our metric: nothing; an older subnet\'s or a wrong metric: deleted (and re-added)', () => {
  assert.deepEqual(blackholeDiff([bh('10.5.52.0/24')], c('10.5.52.0/24'), net), { add: [], del: [] });
  const d = blackholeDiff([bh('10.5.9.0/24'), bh('10.5.52.0/24', { metric: 5 })], c('10.5.52.0/24'), net);
  assert.deepEqual(d.add.map(formatCIDR), ['10.5.52.0/24']);
  assert.deepEqual(d.del.map((r) => `${formatCIDR(r.dst)} ${r.metric}`), ['10.5.9.0/24 ' + BLACKHOLE_METRIC, '10.5.52.0/24 5']);
});

test('not ours: another protocol, a unicast route, outside the network, the other family', () => {
  const routes = [bh('10.5.9.0/24', { protocol: 3 }), bh('10.5.9.0/24', { type: 1 }), bh('10.6.9.0/24'), bh('fd00::/64')];
  assert.deepEqual(blackholeDiff(routes, c('10.5.52.0/24'), net).del, []);
});

test('the reconciler does not own the blackhole route (it would delete it: no lease wants it)', () => {
  assert.deepEqual(ownedRoutes([bh('10.5.52.0/24'), bh('10.5.53.0/24', { type: 1 })], net).map((r) => formatCIDR(r.dst)), ['10.5.53.0/24']);
});
