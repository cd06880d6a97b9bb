// The start-up refusal of a Network over the node's own networks: which addresses and routes
// count, which are flannel's own (protocol, device, own lease subnet), and the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findOverlaps, overlapMessage, type OverlapInput } from '../../../flanneld/datapath/overlap';
import { mustParseCIDR as c, mustParseIP as ip } from '../../../shared/ip';
import type { RouteInfo } from '../../../shared/netlink';

const route = (dst: string, extra: Partial<RouteInfo & { dev: string }> = {}): RouteInfo & { dev?: string } => ({
  dst: c(dst), scope: 0, metric: 0, table: 254, protocol: 2, flags: 0, type: 1, dev: 'eth0', ...extra,
});

const base = (over: Partial<OverlapInput> = {}): OverlapInput => ({
  networks: [c('10.2.0.0/16'), c('fd10::/56')],
  ext: { name: 'eth0', addrs: [c('192.168.1.5/24'), c('fe80::1/64')] },
  routes: [route('0.0.0.0/0', { gw: ip('192.168.1.1') }), route('192.168.1.0/24'), route('::/0', { gw: ip('fe80::9') }), route('fe80::/64')],
  ownSubnets: [c('10.2.41.0/24')],
  ownDevices: ['flannel.1', 'flannel-v6.1'],
  ownProtocol: 127,
  ...over,
});

test('a node whose networks are disjoint from Network: nothing (default routes do not count)', () => {
  assert.deepEqual(findOverlaps(base()), []);
});

test("flannel's own routes do not count: our protocol, our devices, cni0's route for our own subnet", () => {
  const routes = [
    route('10.2.7.0/24', { protocol: 127, gw: ip('10.0.0.12'), dev: 'eth0' }), // host-gw / direct routing
    route('10.2.0.0/16', { dev: 'flannel.1', protocol: 3 }),
    route('fd10::/56', { dev: 'flannel-v6.1', protocol: 3 }),
    route('10.2.41.0/24', { dev: 'cni0', protocol: 2 }),
    route('10.2.41.0/24', { dev: undefined, type: 6, protocol: 127 }), // our blackhole
  ];
  assert.deepEqual(findOverlaps(base({ routes: [...base().routes, ...routes] })), []);
});

test('the external interface address inside Network, and routes more or less specific than it, are named', () => {
  const got = findOverlaps(base({
    ext: { name: 'eth0', addrs: [c('10.2.5.10/24'), c('fd10:0:0:9::5/64')] },
    routes: [
      route('10.2.5.0/24', { protocol: 2 }),
      route('10.0.0.0/8', { gw: ip('192.168.1.254'), protocol: 4, dev: 'tun0' }),
      route('10.2.42.0/24', { dev: 'cni0' }), // a bridge for another subnet than our own
      route('10.2.7.0/24', { protocol: 3, gw: ip('10.0.0.12'), dev: 'flannel.2' }), // another network's device
    ],
  }));
  assert.deepEqual(got.map((o) => o.what), [
    "the external interface eth0's address 10.2.5.10/24",
    'the route 10.2.5.0/24 dev eth0 proto 2',
    'the route 10.0.0.0/8 via 192.168.1.254 dev tun0 proto 4',
    'the route 10.2.42.0/24 dev eth0 proto 2'.replace('eth0', 'cni0'),
    'the route 10.2.7.0/24 via 10.0.0.12 dev flannel.2 proto 3',
    "the external interface eth0's address fd10:0:0:9::5/64",
  ]);
  assert.equal(
    overlapMessage('/coreos.com/network/config', got.slice(0, 1)),
    "/coreos.com/network/config: Network 10.2.0.0/16 overlaps the external interface eth0's address 10.2.5.10/24: flannel would capture the node's own traffic; choose a Network disjoint from the node's networks (or remove the conflicting route)",
  );
});

test('the other family never overlaps', () => {
  assert.deepEqual(findOverlaps(base({ networks: [c('fd10::/56')], routes: [route('10.2.5.0/24')] })), []);
});

test('two stages: lease-shaped routes (Network-inside, subnet length) only after the lease, against the subnet held', async () => {
  const { isLeaseShaped } = await import('../../../flanneld/datapath/overlap');
  const networks = [c('10.2.0.0/16'), c('fd10::/56')];
  const len = { 4: 24, 6: 64 };
  const routes = [route('10.2.41.0/24', { dev: 'cni0' }), route('10.2.128.0/17'), route('fd10:0:0:5::/64', { dev: 'cni0' }), route('10.3.1.0/24')];
  assert.deepEqual(routes.map((r) => isLeaseShaped(r, networks, len)), [true, false, true, false]);
  const stage = (own: string[] | undefined) => findOverlaps(base({
    routes,
    ext: own ? { name: 'eth0', addrs: [] } : base().ext,
    ownSubnets: (own ?? []).map(c),
    routeFilter: (r) => isLeaseShaped(r, networks, len) === (own !== undefined),
  })).map((o) => o.what);
  // Before the lease: the /17 only (cni0's routes may be ours).
  assert.deepEqual(stage(undefined), ['the route 10.2.128.0/17 dev eth0 proto 2']);
  // After: cni0's route for our own subnet is fine, one for another subnet is not.
  assert.deepEqual(stage(['10.2.41.0/24', 'fd10:0:0:5::/64']), []);
  assert.deepEqual(stage(['10.2.7.0/24', 'fd10:0:0:5::/64']), ['the route 10.2.41.0/24 dev cni0 proto 2']);
});
