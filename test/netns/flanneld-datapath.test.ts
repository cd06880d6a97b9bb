// flanneld's kernel side against the real kernel: external interface selection, the vxlan and
// host-gw backends and their reconciler, in throw-away "node" namespaces joined by a veth pair
// (the underlay). Leases are hand-made (no etcd here). `ip -d -j link`, `ip -j neigh`,
// `bridge -j fdb`, `ip -j route` and busybox ping are the oracle.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR, mustParseIP } from '../../shared/ip';
import type { Family } from '../../shared/ip';
import { NetNS } from '../../shared/netns';
import { NetlinkSocket } from '../../shared/netlink';
import { createBackend, BackendError, RTPROT_FLANNEL } from '../../flanneld/backend';
import type { BackendNetwork, BackendPersisted } from '../../flanneld/backend';
import { ExternalInterfaceError, selectExternalInterface } from '../../flanneld/datapath/external-iface';
import type { ExternalInterface, ExternalInterfaceOptions } from '../../flanneld/datapath/external-iface';
import type { Lease, NetworkConfig } from '../../flanneld/types';
import { TestNetns, bridgeJson, cleanupAllNetns, execIn, ipIn, ipJson, leakedNetns, makeNetns } from '../helpers/netns';

interface Node {
  ns: TestNetns;
  netns: NetNS;
  sock: NetlinkSocket;
  /** Underlay addresses (on ul0). */
  ip4: string;
  ip6: string;
}

const opened: { close(): void }[] = [];

after(() => {
  for (const o of opened.splice(0).reverse()) o.close();
  cleanupAllNetns();
  assert.deepEqual(leakedNetns(), [], 'namespaces left behind');
});

/** Two namespaces joined by a veth pair named ul0 on both sides, 192.168.<n>.1|2/24 and fd<n>::1|2/64. */
function nodePair(tag: string, n: number): [Node, Node] {
  const a = makeNetns(`${tag}a`);
  const b = makeNetns(`${tag}b`);
  ipIn(a.name, ['link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', b.name]);
  const nodes = [a, b].map((ns, i): Node => {
    const ip4 = `192.168.${n}.${i + 1}`;
    const ip6 = `fd${n}::${i + 1}`;
    ipIn(ns.name, ['link', 'set', 'lo', 'up']);
    ipIn(ns.name, ['addr', 'add', `${ip4}/24`, 'dev', 'ul0']);
    // nodad: usable at once, no 1-2 s of duplicate address detection.
    ipIn(ns.name, ['addr', 'add', `${ip6}/64`, 'dev', 'ul0', 'nodad']);
    ipIn(ns.name, ['link', 'set', 'ul0', 'up']);
    const netns = NetNS.open(ns.path);
    const sock = NetlinkSocket.openIn(netns);
    opened.push(netns, sock);
    return { ns, netns, sock, ip4, ip6 };
  });
  return [nodes[0]!, nodes[1]!];
}

function vxlanConfig(network = '10.5.0.0/16', raw: Record<string, unknown> = { Type: 'vxlan' }, v6?: string): NetworkConfig {
  const plans: NetworkConfig['plans'] = {};
  if (network) plans[4] = { network: mustParseCIDR(network), subnetLen: 24, subnetMin: mustParseIP('10.0.0.0'), subnetMax: mustParseIP('10.0.0.0') };
  if (v6) plans[6] = { network: mustParseCIDR(v6), subnetLen: 64, subnetMin: mustParseIP('::'), subnetMax: mustParseIP('::') };
  return { enableIPv4: !!network, enableIPv6: !!v6, enableNFTables: false, plans, backend: { type: String(raw.Type).toLowerCase(), raw } };
}

function ext(node: Node, families: Family[] = [4], o: Partial<ExternalInterfaceOptions> = {}): ExternalInterface {
  return selectExternalInterface(node.sock, { iface: ['ul0'], ifaceRegex: [], families, ...o });
}

const logs: string[] = [];
const log = (level: string, msg: string): void => {
  logs.push(`${level}: ${msg}`);
};

function backend(node: Node, config: NetworkConfig, families: Family[] = [4], persisted: BackendPersisted = { vtepMac: {} }): BackendNetwork {
  return createBackend(node.sock, config, ext(node, families), persisted, log, { netns: node.netns });
}

/** A lease for node's subnet, with the attrs its backend publishes. */
function leaseOf(node: Node, be: BackendNetwork, subnets: { 4?: string; 6?: string }): Lease {
  const a = be.leaseAttrs();
  const s: Lease['subnets'] = {};
  const publicIP: Lease['attrs']['publicIP'] = {};
  if (subnets[4]) { s[4] = mustParseCIDR(subnets[4]); publicIP[4] = mustParseIP(node.ip4); }
  if (subnets[6]) { s[6] = mustParseCIDR(subnets[6]); publicIP[6] = mustParseIP(node.ip6); }
  return {
    keyName: (subnets[4] ?? subnets[6]!).replace('/', '-'), subnets: s, etcdLease: '7', modRevision: '1',
    attrs: { publicIP, backendType: a.backendType, backendData: a.backendData },
  };
}

const link = (node: Node, dev: string): any => ipJson(node.ns.name, ['-d', 'link', 'show', 'dev', dev])[0];
const neighs = (node: Node, dev: string): string[] =>
  ipJson(node.ns.name, ['neigh', 'show', 'dev', dev]).filter((n: any) => n.state?.includes('PERMANENT'))
    .map((n: any) => `${n.dst} ${n.lladdr}`).sort();
const fdb = (node: Node, dev: string): string[] =>
  bridgeJson(node.ns.name, ['fdb', 'show', 'dev', dev]).filter((f: any) => f.state === 'permanent' && f.dst)
    .map((f: any) => `${f.mac} ${f.dst}`).sort();
const routes = (node: Node, family: Family = 4, proto = String(RTPROT_FLANNEL)): string[] =>
  ipJson(node.ns.name, [`-${family}`, 'route', 'show', 'proto', proto])
    .map((r: any) => `${r.dst} via ${r.gateway} dev ${r.dev}${r.flags?.includes('onlink') ? ' onlink' : ''}`).sort();
const addrs = (node: Node, dev: string, family: Family = 4): string[] =>
  ipJson(node.ns.name, [`-${family}`, 'addr', 'show', 'dev', dev])[0].addr_info
    .filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`);

/** busybox ping, retried for up to 4 s (a fresh IPv6 address is tentative for a moment). */
function ping(node: Node, src: string, dst: string): void {
  const end = Date.now() + 4000;
  for (;;) {
    try {
      execIn(node.ns.name, 'busybox', ['ping', '-c1', '-W2', '-I', src, dst]);
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

describe('external interface (netns)', () => {
  const [a] = nodePair('xif', 61);
  // Port-less bridges stand in for extra interfaces (this kernel has no dummy module).
  ipIn(a.ns.name, ['link', 'add', 'down0', 'type', 'bridge']);
  ipIn(a.ns.name, ['addr', 'add', '10.61.0.1/24', 'dev', 'down0']);
  ipIn(a.ns.name, ['link', 'add', 'v4only', 'type', 'bridge']);
  ipIn(a.ns.name, ['addr', 'add', '10.62.0.1/24', 'dev', 'v4only']);
  ipIn(a.ns.name, ['link', 'set', 'v4only', 'up']);
  ipIn(a.ns.name, ['route', 'add', 'default', 'via', '192.168.61.2', 'dev', 'ul0']);
  const sel = (o: Partial<ExternalInterfaceOptions>, families: Family[] = [4]): ExternalInterface =>
    selectExternalInterface(a.sock, { iface: [], ifaceRegex: [], families, ...o });
  const ul0 = Number(ipJson(a.ns.name, ['link', 'show', 'dev', 'ul0'])[0].ifindex);

  it('--iface by name and by IP; the first usable entry wins', () => {
    const e = sel({ iface: ['ul0'] }, [4, 6]);
    assert.deepEqual([e.index, e.name, e.mtu, e.chosenBy], [ul0, 'ul0', 1500, '--iface']);
    assert.deepEqual(e.addr, { 4: mustParseIP('192.168.61.1'), 6: mustParseIP('fd61::1') });
    assert.deepEqual(e.publicIP, e.addr);
    assert.equal(sel({ iface: ['eth9', 'down0', '192.168.61.1'] }).name, 'ul0');
  });

  it('--iface errors name the flag and value', () => {
    assert.throws(() => sel({ iface: ['eth9'] }), (e: unknown) => e instanceof ExternalInterfaceError && e.message === '--iface eth9: no such interface');
    assert.throws(() => sel({ iface: ['10.99.0.1'] }), /--iface 10\.99\.0\.1: no interface has this address/);
    assert.throws(() => sel({ iface: ['down0'] }), /--iface down0: interface down0 is down/);
    assert.throws(() => sel({ iface: ['v4only'] }, [4, 6]), /--iface v4only: interface v4only has no global IPv6 address/);
    assert.throws(() => sel({ iface: ['eth9', 'down0'] }), /--iface eth9,down0: no usable interface: eth9: no such interface; down0: interface down0 is down/);
  });

  it('--iface-regex (names, then addresses), --iface-can-reach, default route', () => {
    assert.equal(sel({ ifaceRegex: ['^v4'] }).name, 'v4only');
    assert.equal(sel({ ifaceRegex: ['^down', '^192\\.168\\.61\\.'] }).name, 'ul0');
    assert.throws(() => sel({ ifaceRegex: ['^nomatch$'] }), /--iface-regex \^nomatch\$: no interface name or address matches/);
    const r = sel({ ifaceCanReach: '10.62.0.9' });
    assert.deepEqual([r.name, String(r.addr[4] && r.addr[4].value)], ['v4only', String(mustParseIP('10.62.0.1').value)]);
    assert.equal(sel({ ifaceCanReach: '8.8.8.8' }).name, 'ul0');
    assert.throws(() => sel({ ifaceCanReach: 'x' }), /--iface-can-reach x: not an IP address/);
    const d = sel({});
    assert.deepEqual([d.name, d.chosenBy], ['ul0', 'default route']);
    assert.throws(() => sel({}, [6]), /default route IPv6: no IPv6 default route/);
  });

  it('--public-ip overrides the published address, checked per family', () => {
    const e = sel({ iface: ['ul0'], publicIP: '203.0.113.7' });
    assert.deepEqual(e.publicIP, { 4: mustParseIP('203.0.113.7') });
    assert.deepEqual(e.addr, { 4: mustParseIP('192.168.61.1') });
    assert.throws(() => sel({ iface: ['ul0'], publicIP: 'fd00::1' }), /--public-ip fd00::1: not an IPv4 address/);
  });
});

describe('vxlan backend (netns)', () => {
  const [a, b] = nodePair('vx', 50);
  const cfg = vxlanConfig();
  let beA = backend(a, cfg);
  const beB = backend(b, cfg);
  const leaseA = leaseOf(a, beA, { 4: '10.5.1.0/24' });
  const leaseB = leaseOf(b, beB, { 4: '10.5.2.0/24' });
  const macA = beA.persisted().vtepMac[4]!;
  const macB = beB.persisted().vtepMac[4]!;

  it('creates flannel.1 with vni 1, port 8472, nolearning, local, link, MTU 1450 and our MAC', () => {
    const l = link(a, 'flannel.1');
    const d = l.linkinfo.info_data;
    assert.equal(l.linkinfo.info_kind, 'vxlan');
    assert.deepEqual([d.id, d.port, d.learning, d.local, d.link], [1, 8472, false, '192.168.50.1', 'ul0']);
    assert.equal(l.mtu, 1450);
    assert.equal(beA.mtu, 1450);
    assert.equal(l.address, macA);
    assert.equal(parseInt(macA.slice(0, 2), 16) & 3, 2, 'locally administered unicast');
    assert.ok(l.flags.includes('UP'));
    assert.equal(execIn(a.ns.name, 'cat', ['/proc/sys/net/ipv6/conf/flannel.1/accept_ra']).trim(), '0');
    assert.deepEqual(beA.leaseAttrs(), { backendType: 'vxlan', backendData: { 4: { VNI: 1, VtepMAC: macA } } });
  });

  it('puts <subnet>.0/32 on flannel.1, replacing a stale address inside Network only', () => {
    ipIn(a.ns.name, ['addr', 'add', '10.5.77.0/32', 'dev', 'flannel.1']);
    ipIn(a.ns.name, ['addr', 'add', '172.31.0.1/32', 'dev', 'flannel.1']);
    beA.setOwnLease(leaseA);
    beB.setOwnLease(leaseB);
    assert.deepEqual(addrs(a, 'flannel.1').sort(), ['10.5.1.0/32', '172.31.0.1/32']);
    assert.deepEqual(addrs(b, 'flannel.1'), ['10.5.2.0/32']);
    ipIn(a.ns.name, ['addr', 'del', '172.31.0.1/32', 'dev', 'flannel.1']);
  });

  it('reconciles a peer: ARP, FDB and onlink route, reported; then ping across flannel.1', () => {
    const rA = beA.reconcile([leaseB]);
    const rB = beB.reconcile([leaseA]);
    assert.deepEqual(rA, {
      added: [
        `neigh 10.5.2.0 lladdr ${macB} dev flannel.1 nud permanent`,
        `fdb ${macB} dev flannel.1 dst 192.168.50.2 self permanent`,
        'route 10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink',
      ],
      removed: [], errors: [],
    });
    assert.deepEqual(rB.errors, []);
    assert.deepEqual(neighs(a, 'flannel.1'), [`10.5.2.0 ${macB}`]);
    assert.deepEqual(fdb(a, 'flannel.1'), [`${macB} 192.168.50.2`]);
    assert.deepEqual(routes(a), ['10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink']);
    assert.deepEqual(routes(b), ['10.5.1.0/24 via 10.5.1.0 dev flannel.1 onlink']);
    ping(a, '10.5.1.0', '10.5.2.0');
    ping(b, '10.5.2.0', '10.5.1.0');
    assert.deepEqual(beA.reconcile([leaseB]), { added: [], removed: [], errors: [] }, 'a second pass has nothing to do');
  });

  it('re-creating the backend reuses the device: same ifindex, same MAC, nothing rewritten', () => {
    const before = link(a, 'flannel.1');
    beA = backend(a, cfg, [4], beA.persisted());
    const now = link(a, 'flannel.1');
    assert.deepEqual([now.ifindex, now.address], [before.ifindex, before.address]);
    beA.setOwnLease(leaseA);
    assert.deepEqual(beA.reconcile([leaseB]), { added: [], removed: [], errors: [] });
    ping(a, '10.5.1.0', '10.5.2.0');
  });

  it('a device whose MAC was changed gets the persisted MAC back, in place', () => {
    const before = link(a, 'flannel.1');
    ipIn(a.ns.name, ['link', 'set', 'flannel.1', 'address', '0a:00:00:00:99:99']);
    beA = backend(a, cfg, [4], { vtepMac: { 4: macA } });
    const now = link(a, 'flannel.1');
    assert.deepEqual([now.ifindex, now.address], [before.ifindex, macA]);
    assert.equal(beA.persisted().vtepMac[4], macA);
  });

  it('an incompatible device (other VNI, other local) is replaced', () => {
    for (const args of [['id', '5', 'local', '192.168.50.1'], ['id', '1', 'local', '192.168.50.9']]) {
      ipIn(a.ns.name, ['link', 'del', 'flannel.1']);
      ipIn(a.ns.name, ['link', 'add', 'flannel.1', 'type', 'vxlan', ...args, 'dev', 'ul0', 'dstport', '8472', 'nolearning']);
      const old = link(a, 'flannel.1').ifindex;
      beA = backend(a, cfg, [4], { vtepMac: { 4: macA } });
      const l = link(a, 'flannel.1');
      assert.notEqual(l.ifindex, old);
      assert.deepEqual([l.linkinfo.info_data.id, l.linkinfo.info_data.local, l.address], [1, '192.168.50.1', macA]);
      assert.ok(logs.some((m) => m.startsWith('warn: flannel.1 exists but is incompatible')));
    }
    beA.setOwnLease(leaseA);
    assert.equal(beA.reconcile([leaseB]).added.length, 3);
    ping(a, '10.5.1.0', '10.5.2.0');
  });

  it('objects deleted by hand come back on the next reconcile, and are reported', () => {
    ipIn(a.ns.name, ['route', 'del', '10.5.2.0/24']);
    ipIn(a.ns.name, ['neigh', 'del', '10.5.2.0', 'dev', 'flannel.1']);
    execIn(a.ns.name, 'bridge', ['fdb', 'del', macB, 'dev', 'flannel.1', 'dst', '192.168.50.2', 'self']);
    assert.deepEqual(beA.reconcile([leaseB]).added, [
      `neigh 10.5.2.0 lladdr ${macB} dev flannel.1 nud permanent`,
      `fdb ${macB} dev flannel.1 dst 192.168.50.2 self permanent`,
      'route 10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink',
    ]);
    ping(a, '10.5.1.0', '10.5.2.0');
  });

  it('the device itself deleted by hand is recreated with the same MAC on the next reconcile', () => {
    ipIn(a.ns.name, ['link', 'del', 'flannel.1']);
    const r = beA.reconcile([leaseB]);
    assert.deepEqual(r.errors, []);
    assert.match(r.added[0]!, new RegExp(`^link flannel\\.1 \\(index \\d+, mac ${macA}\\)$`));
    assert.equal(link(a, 'flannel.1').address, macA);
    assert.deepEqual(addrs(a, 'flannel.1'), ['10.5.1.0/32']);
    ping(a, '10.5.1.0', '10.5.2.0');
  });

  it('a changed VtepMAC or PublicIP of a peer is rewritten', () => {
    const moved = { ...leaseB, attrs: { ...leaseB.attrs, publicIP: { 4: mustParseIP('192.168.50.22') }, backendData: { 4: { VNI: 1, VtepMAC: '0a:00:00:00:22:22' } } } };
    const r = beA.reconcile([moved]);
    assert.deepEqual(r.removed, [`fdb ${macB} dev flannel.1 dst 192.168.50.2 self permanent`]);
    assert.deepEqual(r.added, [
      'neigh 10.5.2.0 lladdr 0a:00:00:00:22:22 dev flannel.1 nud permanent',
      'fdb 0a:00:00:00:22:22 dev flannel.1 dst 192.168.50.22 self permanent',
    ]);
    assert.deepEqual(neighs(a, 'flannel.1'), ['10.5.2.0 0a:00:00:00:22:22']);
    assert.deepEqual(fdb(a, 'flannel.1'), ['0a:00:00:00:22:22 192.168.50.22']);
    beA.reconcile([leaseB]);
    ping(a, '10.5.1.0', '10.5.2.0');
  });

  it('foreign objects and a second network (flannel.2) are untouched; a removed peer is cleaned up', () => {
    // Foreign: another protocol inside Network, our protocol outside Network, a non-permanent neighbour.
    ipIn(a.ns.name, ['route', 'add', '10.5.99.0/24', 'via', '10.5.2.0', 'dev', 'flannel.1', 'onlink']);
    ipIn(a.ns.name, ['route', 'add', '10.88.0.0/24', 'via', '10.5.2.0', 'dev', 'flannel.1', 'onlink', 'proto', String(RTPROT_FLANNEL)]);
    ipIn(a.ns.name, ['neigh', 'add', '10.5.3.0', 'lladdr', '0a:00:00:00:33:33', 'dev', 'flannel.1', 'nud', 'reachable']);
    // A second flanneld on this host: VNI 2, Network 10.77.0.0/16.
    const cfg2 = vxlanConfig('10.77.0.0/16', { Type: 'vxlan', VNI: 2 });
    const be2A = backend(a, cfg2);
    const be2B = backend(b, cfg2);
    be2A.setOwnLease(leaseOf(a, be2A, { 4: '10.77.1.0/24' }));
    assert.equal(be2A.reconcile([leaseOf(b, be2B, { 4: '10.77.2.0/24' })]).added.length, 3);
    const before2 = [neighs(a, 'flannel.2'), fdb(a, 'flannel.2')];

    const r = beA.reconcile([]);
    assert.deepEqual(r, {
      added: [],
      removed: [
        'route 10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink',
        `fdb ${macB} dev flannel.1 dst 192.168.50.2 self permanent`,
        `neigh 10.5.2.0 lladdr ${macB} dev flannel.1 nud permanent`,
      ],
      errors: [],
    });
    assert.deepEqual(neighs(a, 'flannel.1'), []);
    assert.deepEqual(fdb(a, 'flannel.1'), []);
    assert.deepEqual(routes(a), ['10.77.2.0/24 via 10.77.2.0 dev flannel.2 onlink', '10.88.0.0/24 via 10.5.2.0 dev flannel.1 onlink']);
    assert.deepEqual(routes(a, 4, 'boot'), ['10.5.99.0/24 via 10.5.2.0 dev flannel.1 onlink']);
    assert.ok(ipJson(a.ns.name, ['neigh', 'show', 'dev', 'flannel.1']).some((n: any) => n.dst === '10.5.3.0'));
    assert.deepEqual([neighs(a, 'flannel.2'), fdb(a, 'flannel.2')], before2);
    const d = beA.describe() as any;
    assert.deepEqual(d.ipv4.device.name, 'flannel.1');
    assert.deepEqual(d.ipv4.desired, { neighs: [], fdb: [], routes: [] });
    assert.equal(d.ipv4.foundBeforeLastReconcile.routes.length, 1);
    JSON.stringify(d);
  });
});

describe('host-gw backend (netns)', () => {
  const [a, b] = nodePair('hg', 51);
  const cfg = vxlanConfig('10.6.0.0/16', { Type: 'host-gw' });

  it('routes each peer via its public IP on the external interface; ping between pod-side addresses', () => {
    const beA = backend(a, cfg);
    const beB = backend(b, cfg);
    assert.equal(beA.mtu, 1500);
    assert.deepEqual(beA.leaseAttrs(), { backendType: 'host-gw', backendData: {} });
    for (const [node, addr] of [[a, '10.6.1.1/24'], [b, '10.6.2.1/24']] as const) {
      ipIn(node.ns.name, ['link', 'add', 'pods0', 'type', 'bridge']);
      ipIn(node.ns.name, ['addr', 'add', addr, 'dev', 'pods0']);
      ipIn(node.ns.name, ['link', 'set', 'pods0', 'up']);
    }
    const la = leaseOf(a, beA, { 4: '10.6.1.0/24' });
    const lb = leaseOf(b, beB, { 4: '10.6.2.0/24' });
    assert.deepEqual(beA.reconcile([lb]), { added: ['route 10.6.2.0/24 via 192.168.51.2 dev ul0'], removed: [], errors: [] });
    assert.deepEqual(beB.reconcile([la]).errors, []);
    assert.deepEqual(routes(a), ['10.6.2.0/24 via 192.168.51.2 dev ul0']);
    ping(a, '10.6.1.1', '10.6.2.1');
    ipIn(a.ns.name, ['route', 'del', '10.6.2.0/24']);
    assert.deepEqual(beA.reconcile([lb]).added, ['route 10.6.2.0/24 via 192.168.51.2 dev ul0']);
    assert.deepEqual(beA.reconcile([]).removed, ['route 10.6.2.0/24 via 192.168.51.2 dev ul0']);
    assert.deepEqual(routes(a), []);
  });

  it('refuses a public IP that is not an address of the interface (NAT)', () => {
    const e = selectExternalInterface(a.sock, { iface: ['ul0'], ifaceRegex: [], families: [4], publicIP: '203.0.113.7' });
    assert.throws(() => createBackend(a.sock, cfg, e, { vtepMac: {} }, log), (err: unknown) =>
      err instanceof BackendError && /public IP 203\.0\.113\.7 is not an address of ul0 \(probably you're on a NAT\)/.test(err.message));
  });
});

describe('vxlan backend over an IPv6 underlay (netns)', () => {
  const [a, b] = nodePair('v6', 52);
  const cfg = vxlanConfig('', { Type: 'vxlan' }, 'fc00::/48');

  it('flannel-v6.1: local fd52::1, MTU 1430, <subnet>::/128, neighbour/FDB/route, ping', () => {
    const beA = backend(a, cfg, [6]);
    const beB = backend(b, cfg, [6]);
    const l = link(a, 'flannel-v6.1');
    assert.deepEqual([l.linkinfo.info_data.id, l.linkinfo.info_data.local6, l.linkinfo.info_data.port, l.mtu], [1, 'fd52::1', 8472, 1430]);
    assert.equal(beA.mtu, 1430);
    const la = leaseOf(a, beA, { 6: 'fc00:0:0:1::/64' });
    const lb = leaseOf(b, beB, { 6: 'fc00:0:0:2::/64' });
    beA.setOwnLease(la);
    beB.setOwnLease(lb);
    assert.deepEqual(addrs(a, 'flannel-v6.1', 6), ['fc00:0:0:1::/128']);
    const macB = beB.persisted().vtepMac[6]!;
    assert.deepEqual(beA.reconcile([lb]).added, [
      `neigh fc00:0:0:2:: lladdr ${macB} dev flannel-v6.1 nud permanent`,
      `fdb ${macB} dev flannel-v6.1 dst fd52::2 self permanent`,
      'route fc00:0:0:2::/64 via fc00:0:0:2:: dev flannel-v6.1 onlink',
    ]);
    assert.deepEqual(beB.reconcile([la]).errors, []);
    assert.deepEqual(routes(a, 6), ['fc00:0:0:2::/64 via fc00:0:0:2:: dev flannel-v6.1 onlink']);
    assert.deepEqual(beA.reconcile([lb]), { added: [], removed: [], errors: [] }, 'a second pass has nothing to do');
    ping(a, 'fc00:0:0:1::', 'fc00:0:0:2::');
    const r = beA.reconcile([]);
    assert.deepEqual(r, { added: [], removed: [
      'route fc00:0:0:2::/64 via fc00:0:0:2:: dev flannel-v6.1 onlink',
      `fdb ${macB} dev flannel-v6.1 dst fd52::2 self permanent`,
      `neigh fc00:0:0:2:: lladdr ${macB} dev flannel-v6.1 nud permanent`,
    ], errors: [] });
    assert.deepEqual([neighs(a, 'flannel-v6.1'), fdb(a, 'flannel-v6.1')], [[], []]);
    assert.deepEqual(routes(a, 6), []);
  });
});

describe('dual-stack vxlan and a thousand peers (netns)', () => {
  const [a, b] = nodePair('ds', 53);
  const cfg = vxlanConfig('10.5.0.0/16', { Type: 'vxlan' }, 'fc00::/48');

  it('both devices from one backend; FLANNEL_MTU is the smaller (v6 underlay 1430); ping both families', () => {
    const beA = backend(a, cfg, [4, 6]);
    const beB = backend(b, cfg, [4, 6]);
    assert.deepEqual([link(a, 'flannel.1').mtu, link(a, 'flannel-v6.1').mtu, beA.mtu], [1450, 1430, 1430]);
    assert.notEqual(beA.persisted().vtepMac[4], beA.persisted().vtepMac[6]);
    const la = leaseOf(a, beA, { 4: '10.5.1.0/24', 6: 'fc00:0:0:1::/64' });
    const lb = leaseOf(b, beB, { 4: '10.5.2.0/24', 6: 'fc00:0:0:2::/64' });
    assert.deepEqual(Object.keys(la.attrs.backendData), ['4', '6']);
    beA.setOwnLease(la);
    beB.setOwnLease(lb);
    assert.equal(beA.reconcile([lb]).added.length, 6);
    assert.deepEqual(beB.reconcile([la]).errors, []);
    // Each device's FDB holds only its own family's remote.
    assert.deepEqual(fdb(a, 'flannel.1'), [`${beB.persisted().vtepMac[4]} 192.168.53.2`]);
    assert.deepEqual(fdb(a, 'flannel-v6.1'), [`${beB.persisted().vtepMac[6]} fd53::2`]);
    ping(a, '10.5.1.0', '10.5.2.0');
    ping(a, 'fc00:0:0:1::', 'fc00:0:0:2::');
    assert.deepEqual(beA.reconcile([lb]), { added: [], removed: [], errors: [] });
  });

  it('1000 peers: the first pass writes 3000 objects per family; a no-change pass only reads (timed)', (t) => {
    const beA = backend(a, cfg, [4, 6]);
    const peers: Lease[] = Array.from({ length: 1000 }, (_, i) => {
      const hex = (n: number): string => n.toString(16).padStart(2, '0');
      const mac = (f: number): string => `0a:${hex(f)}:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
      return {
        keyName: `peer-${i}`, etcdLease: '7', modRevision: '1',
        subnets: { 4: mustParseCIDR(`10.5.${(i >> 4) + 10}.${(i & 15) * 16}/28`), 6: mustParseCIDR(`fc00:0:0:${(i + 16).toString(16)}::/64`) },
        attrs: {
          publicIP: { 4: mustParseIP(`192.168.53.${(i % 200) + 20}`), 6: mustParseIP(`fd53::${(i + 20).toString(16)}`) },
          backendType: 'vxlan', backendData: { 4: { VNI: 1, VtepMAC: mac(4) }, 6: { VNI: 1, VtepMAC: mac(6) } },
        },
      };
    });
    const t1 = process.hrtime.bigint();
    const first = beA.reconcile(peers);
    const firstMs = Number(process.hrtime.bigint() - t1) / 1e6;
    t.diagnostic(`first pass of 1000 dual-stack peers (6000 writes) took ${firstMs.toFixed(1)} ms`);
    console.log(`# figure: first reconcile pass, 1000 dual-stack peers (6000 writes): ${firstMs.toFixed(1)} ms`);
    assert.deepEqual(first.errors, []);
    assert.equal(first.added.length, 6000);
    assert.equal(routes(a).length, 1000);
    assert.equal(fdb(a, 'flannel-v6.1').length, 1000);
    const t0 = process.hrtime.bigint();
    const again = beA.reconcile(peers);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.deepEqual(again, { added: [], removed: [], errors: [] });
    t.diagnostic(`no-change reconcile of 1000 dual-stack peers took ${ms.toFixed(1)} ms`);
    assert.ok(ms < 2000, `no-change reconcile took ${ms} ms`);
    // Removing one peer writes three deletions per family, nothing else.
    const gone = beA.reconcile(peers.slice(1));
    assert.deepEqual([gone.added.length, gone.removed.length, gone.errors], [0, 6, []]);
    const t2 = process.hrtime.bigint();
    assert.equal(beA.reconcile([]).removed.length, 999 * 6);
    console.log(`# figure: removal pass, 999 dual-stack peers (5994 deletions): ${(Number(process.hrtime.bigint() - t2) / 1e6).toFixed(1)} ms`);
    assert.deepEqual([routes(a).length, routes(a, 6).length, fdb(a, 'flannel.1').length, neighs(a, 'flannel-v6.1').length], [0, 0, 0, 0]);
  });
});

describe('vxlan DirectRouting (netns)', () => {
  const [a, b] = nodePair('dr', 54);
  const cfg = vxlanConfig('10.5.0.0/16', { Type: 'vxlan', DirectRouting: true });

  it('a peer on our L2 is routed via its public IP on ul0, a farther one through flannel.1; ping', () => {
    const beA = backend(a, cfg);
    const beB = backend(b, cfg);
    const la = leaseOf(a, beA, { 4: '10.5.1.0/24' });
    const lb = leaseOf(b, beB, { 4: '10.5.2.0/24' });
    const far: Lease = { ...lb, keyName: '10.5.3.0-24', subnets: { 4: mustParseCIDR('10.5.3.0/24') }, attrs: { ...lb.attrs, publicIP: { 4: mustParseIP('172.16.0.9') }, backendData: { 4: { VNI: 1, VtepMAC: '0a:00:00:00:03:03' } } } };
    beA.setOwnLease(la);
    beB.setOwnLease(lb);
    assert.deepEqual(beA.reconcile([lb, far]).errors, []);
    assert.deepEqual(beB.reconcile([la]).errors, []);
    assert.deepEqual(routes(a), ['10.5.2.0/24 via 192.168.54.2 dev ul0', '10.5.3.0/24 via 10.5.3.0 dev flannel.1 onlink']);
    assert.deepEqual(neighs(a, 'flannel.1'), ['10.5.3.0 0a:00:00:00:03:03']);
    ping(a, '10.5.1.0', '10.5.2.0');
    assert.deepEqual(beA.reconcile([lb, far]), { added: [], removed: [], errors: [] });
  });
});
