// Lease list → desired kernel objects, ownership filters and the diff (pure, no root).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCIDR, formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import type { FdbEntry, Neighbour, RouteInfo } from '../../../shared/netlink';
import type { Family, Lease } from '../../../flanneld/types';
import {
  diff, describeFdb, describeNeigh, describeRoute, hostGwDesired, isEmptyDiff, sameL2, vxlanDesired,
} from '../../../flanneld/datapath/desired';
import type { ActualState, DesiredState } from '../../../flanneld/datapath/desired';
import { RTPROT_FLANNEL, ownedFdb, ownedNeighbours, ownedRoutes } from '../../../flanneld/datapath/ownership';

const DEV = { index: 10, name: 'flannel.1' };
const NET4 = mustParseCIDR('10.5.0.0/16');
const NET6 = mustParseCIDR('fc00::/48');
const DEV6 = { index: 11, name: 'flannel-v6.1' };
const EXT = { index: 2, name: 'eth0' };

function lease(v4: string | null, pub: string | null, mac: string | null, o: { type?: string; v6?: string; pub6?: string; mac6?: string } = {}): Lease {
  const subnets: Lease['subnets'] = {};
  if (v4) subnets[4] = mustParseCIDR(v4);
  if (o.v6) subnets[6] = mustParseCIDR(o.v6);
  const publicIP: Lease['attrs']['publicIP'] = {};
  if (pub) publicIP[4] = mustParseIP(pub);
  if (o.pub6) publicIP[6] = mustParseIP(o.pub6);
  const backendData: Lease['attrs']['backendData'] = {};
  if (mac) backendData[4] = { VNI: 1, VtepMAC: mac };
  if (o.mac6) backendData[6] = { VNI: 1, VtepMAC: o.mac6 };
  return {
    keyName: `${v4 ?? o.v6}`.replace('/', '-'), subnets, etcdLease: '1', modRevision: '1',
    attrs: { publicIP, backendType: o.type ?? 'vxlan', backendData },
  };
}

const lines = (s: DesiredState): string[] => [
  ...s.neighs.map((n) => describeNeigh(n, n.dev.name)),
  ...s.fdb.map((f) => describeFdb(f, f.dev.name)),
  ...s.routes.map((r) => describeRoute(r, r.dev.name)),
];

const route = (dst: string, gw: string | undefined, index: number, o: Partial<RouteInfo> = {}): RouteInfo => ({
  dst: mustParseCIDR(dst), ...(gw ? { gw: mustParseIP(gw) } : {}), index, scope: 0, metric: 0, table: 254,
  protocol: RTPROT_FLANNEL, flags: 0, type: 1, ...o,
});

describe('vxlanDesired', () => {
  it('gives ARP, FDB and an onlink route per vxlan lease', () => {
    const warns: string[] = [];
    const s = vxlanDesired([lease('10.5.52.0/24', '192.168.1.2', '0A:00:00:00:00:01')], { family: 4, network: NET4, dev: DEV, ext: EXT }, (m) => warns.push(m));
    assert.deepEqual(lines(s), [
      'neigh 10.5.52.0 lladdr 0a:00:00:00:00:01 dev flannel.1 nud permanent',
      'fdb 0a:00:00:00:00:01 dev flannel.1 dst 192.168.1.2 self permanent',
      'route 10.5.52.0/24 via 10.5.52.0 dev flannel.1 onlink',
    ]);
    assert.deepEqual(warns, []);
  });

  it('IPv6 uses the same path: <subnet>:: as gateway and the v6 public IP', () => {
    const l = lease(null, null, null, { v6: 'fc00:0:0:5::/64', pub6: 'fd00::2', mac6: '0a:00:00:00:00:06' });
    const s = vxlanDesired([l], { family: 6, network: NET6, dev: DEV6, ext: EXT }, () => {});
    assert.deepEqual(lines(s), [
      'neigh fc00:0:0:5:: lladdr 0a:00:00:00:00:06 dev flannel-v6.1 nud permanent',
      'fdb 0a:00:00:00:00:06 dev flannel-v6.1 dst fd00::2 self permanent',
      'route fc00:0:0:5::/64 via fc00:0:0:5:: dev flannel-v6.1 onlink',
    ]);
  });

  it('skips other backend types, a missing or bad VtepMAC, a missing PublicIP, with a warning each', () => {
    const warns: string[] = [];
    const s = vxlanDesired([
      lease('10.5.1.0/24', '192.168.1.2', '0a:00:00:00:00:01', { type: 'host-gw' }),
      lease('10.5.2.0/24', '192.168.1.3', null),
      lease('10.5.3.0/24', '192.168.1.4', 'zz:00:00:00:00:01'),
      lease('10.5.4.0/24', '192.168.1.5', '01:00:5e:00:00:01'),
      lease('10.5.5.0/24', null, '0a:00:00:00:00:05'),
      lease('10.6.0.0/24', '192.168.1.6', '0a:00:00:00:00:06'),
      lease('10.5.0.0/15', '192.168.1.7', '0a:00:00:00:00:07'),
    ], { family: 4, network: NET4, dev: DEV, ext: EXT }, (m) => warns.push(m));
    assert.deepEqual(lines(s), []);
    assert.equal(warns.length, 7);
    assert.match(warns[5]!, /lease 10\.6\.0\.0-24: 10\.6\.0\.0\/24 is outside Network 10\.5\.0\.0\/16, ignored/);
    assert.match(warns[6]!, /10\.5\.0\.0\/15 is outside Network/);
    assert.match(warns[0]!, /lease 10\.5\.1\.0-24: BackendType "host-gw" is not "vxlan", ignored/);
    assert.match(warns[1]!, /BackendData is absent, skipped/);
    assert.match(warns[2]!, /invalid VtepMAC "zz:00:00:00:00:01"/);
    assert.match(warns[3]!, /non-unicast VtepMAC/);
    assert.match(warns[4]!, /no IPv4 PublicIP/);
  });

  it('a v4-only peer in a dual-stack network has nothing for v6, silently', () => {
    const warns: string[] = [];
    const s = vxlanDesired([lease('10.5.52.0/24', '192.168.1.2', '0a:00:00:00:00:01')], { family: 6, network: NET6, dev: DEV6, ext: EXT }, (m) => warns.push(m));
    assert.deepEqual(lines(s), []);
    assert.deepEqual(warns, []);
  });

  it('DirectRouting: a peer on our L2 is routed via its PublicIP on the external interface', () => {
    const routes = [
      route('192.168.1.0/24', undefined, EXT.index, { protocol: 2 }),
      route('0.0.0.0/0', '192.168.1.1', EXT.index, { protocol: 3 }),
    ];
    const s = vxlanDesired([
      lease('10.5.52.0/24', '192.168.1.2', '0a:00:00:00:00:01'),
      lease('10.5.53.0/24', '172.16.0.9', '0a:00:00:00:00:02'),
    ], { family: 4, network: NET4, dev: DEV, ext: EXT, directRoutes: routes }, () => {});
    assert.deepEqual(lines(s), [
      'neigh 10.5.53.0 lladdr 0a:00:00:00:00:02 dev flannel.1 nud permanent',
      'fdb 0a:00:00:00:00:01 dev flannel.1 dst 192.168.1.2 self permanent',
      'fdb 0a:00:00:00:00:02 dev flannel.1 dst 172.16.0.9 self permanent',
      'route 10.5.52.0/24 via 192.168.1.2 dev eth0',
      'route 10.5.53.0/24 via 10.5.53.0 dev flannel.1 onlink',
    ]);
  });

  it('two leases for one subnet: the first wins, with a warning', () => {
    const warns: string[] = [];
    const s = vxlanDesired([
      lease('10.5.52.0/24', '192.168.1.2', '0a:00:00:00:00:01'),
      lease('10.5.52.0/24', '192.168.1.3', '0a:00:00:00:00:02'),
    ], { family: 4, network: NET4, dev: DEV, ext: EXT }, (m) => warns.push(m));
    assert.equal(s.routes.length, 1);
    assert.equal(formatIP(s.routes[0]!.gw), '10.5.52.0');
    assert.equal(s.neighs.length, 1);
    assert.match(warns[0]!, /two leases want a route to 10\.5\.52\.0\/24/);
  });

  it('two leases with one VtepMAC: one FDB entry (the kernel keeps one remote per MAC), with a warning', () => {
    const warns: string[] = [];
    const s = vxlanDesired([
      lease('10.5.52.0/24', '192.168.1.2', '0a:00:00:00:00:01'),
      lease('10.5.53.0/24', '192.168.1.3', '0a:00:00:00:00:01'),
    ], { family: 4, network: NET4, dev: DEV, ext: EXT }, (m) => warns.push(m));
    assert.deepEqual(s.fdb.map((f) => formatIP(f.dst)), ['192.168.1.2']);
    assert.equal(s.routes.length, 2);
    assert.match(warns[0]!, /two leases publish VtepMAC 0a:00:00:00:00:01/);
  });
});

describe('sameL2', () => {
  const routes = [
    route('192.168.1.0/24', undefined, 2, { protocol: 2 }),
    route('192.168.1.128/25', '192.168.1.1', 2),
    route('10.9.0.0/16', undefined, 3),
    route('0.0.0.0/0', '192.168.1.1', 2),
  ];
  it('longest prefix wins; no gateway and the external interface means same L2', () => {
    assert.equal(sameL2(mustParseIP('192.168.1.5'), routes, 2), true);
    assert.equal(sameL2(mustParseIP('192.168.1.200'), routes, 2), false);
    assert.equal(sameL2(mustParseIP('10.9.1.1'), routes, 2), false, 'connected, but through another interface');
    assert.equal(sameL2(mustParseIP('8.8.8.8'), routes, 2), false);
    assert.equal(sameL2(mustParseIP('fd00::1'), routes, 2), false);
  });
});

describe('hostGwDesired', () => {
  it('routes each host-gw lease via its PublicIP on the external interface', () => {
    const l = lease('10.5.52.0/24', '192.168.1.2', null, { type: 'host-gw', v6: 'fc00:0:0:5::/64', pub6: 'fd00::2' });
    assert.deepEqual(lines(hostGwDesired([l], 4, NET4, EXT, () => {})), ['route 10.5.52.0/24 via 192.168.1.2 dev eth0']);
    assert.deepEqual(lines(hostGwDesired([l], 6, NET6, EXT, () => {})), ['route fc00:0:0:5::/64 via fd00::2 dev eth0']);
    const warns: string[] = [];
    assert.deepEqual(lines(hostGwDesired([lease('10.5.1.0/24', '192.168.1.2', '0a:00:00:00:00:01')], 4, NET4, EXT, (m) => warns.push(m))), []);
    assert.equal(warns.length, 1);
  });
});

describe('ownership', () => {
  it('routes: our protocol and inside Network only', () => {
    const net = mustParseCIDR('10.5.0.0/16');
    const rs = [
      route('10.5.52.0/24', '10.5.52.0', 10),
      route('10.5.53.0/24', '10.5.53.0', 10, { protocol: 3 }),
      route('10.6.1.0/24', '10.6.1.0', 10),
      route('10.0.0.0/8', '10.5.0.1', 10),
      route('fc00::/64', 'fc00::', 10),
    ];
    assert.deepEqual(ownedRoutes(rs, net).map((r) => formatCIDR(r.dst)), ['10.5.52.0/24']);
  });
  it('neighbours and FDB: permanent entries on our device only', () => {
    const n = (index: number, state: number): Neighbour => ({ index, ip: mustParseIP('10.5.1.0'), mac: '0a:00:00:00:00:01', state });
    assert.equal(ownedNeighbours([n(10, 0x80), n(10, 0x02), n(11, 0x80)], 10).length, 1);
    const f = (index: number, state: number, dst?: string): FdbEntry => ({ index, mac: '0a:00:00:00:00:01', state, flags: 2, ...(dst ? { dst: mustParseIP(dst) } : {}) });
    assert.equal(ownedFdb([f(10, 0x80, '1.2.3.4'), f(10, 0x02, '1.2.3.4'), f(10, 0x80), f(11, 0x80, '1.2.3.4')], 10).length, 1);
  });
});

describe('diff', () => {
  const want = (leases: Lease[], family: Family = 4): DesiredState => vxlanDesired(leases, { family, network: family === 4 ? NET4 : NET6, dev: DEV, ext: EXT }, () => {});
  const actualOf = (s: DesiredState): ActualState => ({
    neighs: s.neighs.map((n) => ({ index: n.dev.index, ip: n.ip, mac: n.mac, state: 0x80 })),
    fdb: s.fdb.map((f) => ({ index: f.dev.index, mac: f.mac, dst: f.dst, state: 0x80, flags: 2 })),
    routes: s.routes.map((r) => route(formatCIDR(r.dst), formatIP(r.gw), r.dev.index, { flags: r.onlink ? 4 : 0 })),
  });
  const a = lease('10.5.1.0/24', '192.168.1.2', '0a:00:00:00:00:01');
  const b = lease('10.5.2.0/24', '192.168.1.3', '0a:00:00:00:00:02');

  it('nothing to do when the kernel matches (MAC case ignored)', () => {
    const act = actualOf(want([a, b]));
    act.neighs[0] = { ...act.neighs[0]!, mac: '0A:00:00:00:00:01' };
    assert.equal(isEmptyDiff(diff(want([a, b]), act)), true);
  });

  it('adds what is missing, removes what no lease wants', () => {
    const d = diff(want([a]), actualOf(want([b])));
    assert.deepEqual(d.neigh.add.map((n) => formatIP(n.ip)), ['10.5.1.0']);
    assert.deepEqual(d.neigh.del.map((n) => formatIP(n.ip)), ['10.5.2.0']);
    assert.deepEqual(d.fdb.add.map((f) => f.mac), ['0a:00:00:00:00:01']);
    assert.deepEqual(d.fdb.del.map((f) => f.mac), ['0a:00:00:00:00:02']);
    assert.deepEqual(d.route.add.map((r) => formatCIDR(r.dst)), ['10.5.1.0/24']);
    assert.deepEqual(d.route.del.map((r) => formatCIDR(r.dst)), ['10.5.2.0/24']);
  });

  it('a changed VtepMAC replaces the neighbour and swaps the FDB entry; the route stays', () => {
    const a2 = lease('10.5.1.0/24', '192.168.1.2', '0a:00:00:00:00:99');
    const d = diff(want([a2]), actualOf(want([a])));
    assert.deepEqual(d.neigh.add.map((n) => n.mac), ['0a:00:00:00:00:99']);
    assert.deepEqual(d.neigh.del, []);
    assert.deepEqual(d.fdb.add.map((f) => f.mac), ['0a:00:00:00:00:99']);
    assert.deepEqual(d.fdb.del.map((f) => f.mac), ['0a:00:00:00:00:01']);
    assert.deepEqual(d.route.add, []);
  });

  it('a changed PublicIP swaps the FDB remote only', () => {
    const a2 = lease('10.5.1.0/24', '192.168.1.77', '0a:00:00:00:00:01');
    const d = diff(want([a2]), actualOf(want([a])));
    assert.deepEqual(d.fdb.add.map((f) => formatIP(f.dst)), ['192.168.1.77']);
    assert.deepEqual(d.fdb.del.map((f) => formatIP(f.dst!)), ['192.168.1.2']);
    assert.deepEqual([d.neigh.add, d.neigh.del, d.route.add, d.route.del], [[], [], [], []]);
  });

  it('a route with the wrong gateway, device or onlink flag is replaced', () => {
    for (const o of [{ gw: mustParseIP('10.5.1.1') }, { index: 99 }, { flags: 0 }]) {
      const act = actualOf(want([a]));
      act.routes[0] = { ...act.routes[0]!, ...o };
      const d = diff(want([a]), act);
      assert.deepEqual(d.route.add.map((r) => formatCIDR(r.dst)), ['10.5.1.0/24'], JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      assert.deepEqual(d.route.del, []);
    }
  });

  // A loose bound (shared CI machines), but far below what a quadratic compare would take.
  it('1000 peers: desired state and diff in under 500 ms', () => {
    const leases = Array.from({ length: 1000 }, (_, i) => lease(`10.5.${i & 255}.${(i >> 8) * 16}/28`, `172.16.${i >> 8}.${i & 255}`, `0a:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`));
    const d0 = want(leases);
    assert.equal(d0.routes.length, 1000);
    const act = actualOf(d0);
    const t = process.hrtime.bigint();
    const d = diff(want(leases), act);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    assert.equal(isEmptyDiff(d), true);
    assert.ok(ms < 500, `took ${ms} ms`);
  });
});
