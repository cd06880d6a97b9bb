// Kernel layer against the real kernel (root). Each test makes throw-away namespaces; the
// test process acts as "host" only through sockets opened inside a made "node" namespace (and
// withNetns windows), so nothing touches the machine's own network. `ip -j`/`bridge -j` are
// the oracle.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatIP, mustParseCIDR, mustParseIP } from '../../shared/ip';
import { LOCK_EX, LOCK_NB, LOCK_UN, NETLINK_ROUTE, native } from '../../shared/native/addon';
import {
  NetNS, NetnsNotFoundError, NotANetnsError, hostNetns, readSysctl, sameNetns, withNetns, writeSysctl,
} from '../../shared/netns';
import * as nl from '../../shared/netlink';
import { NetlinkSocket } from '../../shared/netlink';
import {
  TestNetns, bridgeJson, cleanupAllNetns, execIn, ipIn, ipJson, leakedNetns, makeNetns,
} from '../helpers/netns';

interface Node {
  ns: TestNetns;
  netns: NetNS;
  s: NetlinkSocket;
}

/** A fresh "node" namespace with a socket bound in it; everything is removed afterwards. */
function withNode<T>(fn: (n: Node) => T): T {
  const ns = makeNetns('node');
  const netns = NetNS.open(ns.path);
  const s = NetlinkSocket.openIn(netns);
  try {
    return fn({ ns, netns, s });
  } finally {
    s.close();
    netns.close();
    ns.cleanup();
  }
}

/** Polls get() for up to 2 s until it returns want; returns the last value. */
function waitFor<T>(get: () => T, want: T): T {
  const end = Date.now() + 2000;
  let v = get();
  while (v !== want && Date.now() < end) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    v = get();
  }
  return v;
}

const link = (nsName: string, dev: string): any => ipJson(nsName, ['-d', 'link', 'show', 'dev', dev])[0];

/** Whether this kernel has CONFIG_BRIDGE_VLAN_FILTERING (probed with iproute2). */
let vlanFilteringSupported = false;

before(() => {
  hostNetns();
  const probe = makeNetns('probe');
  try {
    ipIn(probe.name, ['link', 'add', 'brprobe', 'type', 'bridge', 'vlan_filtering', '1']);
    vlanFilteringSupported = true;
  } catch (e) {
    assert.match(String((e as Error).message), /Operation not supported/);
  } finally {
    probe.cleanup();
  }
});

after(() => {
  cleanupAllNetns();
  assert.deepEqual(leakedNetns(), [], 'namespaces left behind');
});

describe('addon', () => {
  it('nlRecv times out with code EAGAIN', () => {
    const fd = native().nlOpen(NETLINK_ROUTE, 50);
    try {
      assert.throws(() => native().nlRecv(fd), (e: any) => e.code === 'EAGAIN' && e.errno === 11);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('flock LOCK_NB fails with EWOULDBLOCK/EAGAIN while another fd holds it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsk-'));
    const f = path.join(dir, 'lock');
    fs.writeFileSync(f, '');
    const a = fs.openSync(f, 'r');
    const b = fs.openSync(f, 'r');
    try {
      native().flock(a, LOCK_EX);
      assert.throws(() => native().flock(b, LOCK_EX | LOCK_NB), (e: any) => ['EAGAIN', 'EWOULDBLOCK'].includes(e.code) && e.errno === 11);
      native().flock(a, LOCK_UN);
      native().flock(b, LOCK_EX | LOCK_NB);
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('setns with a non-namespace fd fails with EINVAL', () => {
    const fd = fs.openSync('/proc/self/status', 'r');
    try {
      assert.throws(() => native().setns(fd, 0x40000000), (e: any) => e.code === 'EINVAL' && e.errno === 22);
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('netns', () => {
  it('open: missing path → NetnsNotFoundError, regular file → NotANetnsError', () => {
    assert.throws(() => NetNS.open('/run/netns/cts-definitely-missing'), NetnsNotFoundError);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsk-'));
    try {
      fs.writeFileSync(path.join(dir, 'f'), '');
      assert.throws(() => NetNS.open(path.join(dir, 'f')), (e: unknown) =>
        e instanceof NotANetnsError && /^unknown FS magic on ".*\/f": [0-9a-f]+$/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
    assert.ok(nl.isNotFound(new NetnsNotFoundError('/x')));
  });

  it('withNetns switches the thread and returns, also after a throw; sameNetns compares', () => {
    const a = makeNetns('a');
    const b = makeNetns('b');
    const na = NetNS.open(a.path);
    const nb = NetNS.open(b.path);
    const self = NetNS.open('/proc/thread-self/ns/net');
    try {
      assert.ok(sameNetns(hostNetns(), self));
      assert.ok(!sameNetns(na, nb));
      assert.ok(!sameNetns(hostNetns(), na));
      const inode = (): number => fs.statSync('/proc/thread-self/ns/net').ino;
      const hostIno = inode();
      assert.equal(withNetns(na, inode), fs.fstatSync(na.fd).ino);
      assert.equal(inode(), hostIno);
      // Nested windows return to the enclosing namespace.
      withNetns(na, () => {
        assert.equal(withNetns(nb, inode), fs.fstatSync(nb.fd).ino);
        assert.equal(inode(), fs.fstatSync(na.fd).ino);
      });
      assert.throws(() => withNetns(na, () => { throw new Error('boom'); }), /boom/);
      assert.equal(inode(), hostIno);
      // A socket opened in the window stays in that namespace: it sees only that ns's links.
      const s = NetlinkSocket.openIn(na);
      try {
        assert.deepEqual(nl.listLinks(s).map((l) => l.name), ['lo']);
      } finally {
        s.close();
      }
    } finally {
      for (const n of [na, nb, self]) n.close();
      a.cleanup();
      b.cleanup();
    }
  });

  it('sysctl read/write inside a namespace, interface name with a dot, host untouched', () => {
    withNode(({ ns, netns, s }) => {
      nl.createVeth(s, { name: 'vd.5', peerName: 'vd.6' });
      const hostArpNotify = readSysctl('net/ipv4/conf/all/arp_notify');
      const hostForward = readSysctl('net.ipv4.ip_forward');
      withNetns(netns, () => {
        assert.equal(readSysctl('net/ipv4/conf/vd.5/arp_notify'), '0');
        writeSysctl('net/ipv4/conf/vd.5/arp_notify', 1);
        writeSysctl('net/ipv4/conf/all/arp_notify', '1');
        writeSysctl('net.ipv4.ip_forward', '1');
        assert.equal(readSysctl('net/ipv4/conf/vd.5/arp_notify'), '1');
        assert.equal(readSysctl('net.ipv4.ip_forward'), '1');
      });
      assert.equal(execIn(ns.name, 'cat', ['/proc/sys/net/ipv4/conf/vd.5/arp_notify']).trim(), '1');
      assert.equal(execIn(ns.name, 'cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1');
      assert.equal(readSysctl('net/ipv4/conf/all/arp_notify'), hostArpNotify);
      assert.equal(readSysctl('net.ipv4.ip_forward'), hostForward);
      assert.throws(() => readSysctl('net/ipv4/conf/vd.5/arp_notify'), /ENOENT/);
    });
  });
});

describe('links', () => {
  it('bridge without vlan_filtering: create, inspect, EEXIST, delete', () => {
    withNode(({ ns, s }) => {
      const br = nl.createBridge(s, { name: 'cni0', mtu: 1450 });
      const o = link(ns.name, 'cni0');
      assert.equal(o.linkinfo.info_kind, 'bridge');
      assert.equal(o.linkinfo.info_data.vlan_filtering, 0);
      assert.equal(o.mtu, 1450);
      assert.equal(br.index, o.ifindex);
      assert.equal(br.mac, o.address);
      assert.equal(br.kind, 'bridge');
      assert.deepEqual(br.bridge, { vlanFiltering: false });
      assert.equal(br.up, false);
      assert.throws(() => nl.createBridge(s, { name: 'cni0' }), (e: any) => e.code === 'EEXIST' && e.errno === 17 && nl.isExists(e));
      assert.deepEqual(nl.getLinkByIndex(s, br.index), nl.getLinkByName(s, 'cni0'));
      nl.deleteLink(s, br.index);
      assert.equal(nl.getLinkByName(s, 'cni0'), null);
      assert.deepEqual(ipJson(ns.name, ['link', 'show', 'type', 'bridge']), []);
    });
  });

  it('bridge with vlan_filtering on, then off (EOPNOTSUPP, like iproute2, when the kernel lacks it)', () => {
    withNode(({ ns, s }) => {
      if (!vlanFilteringSupported) {
        assert.throws(() => nl.createBridge(s, { name: 'brv', vlanFiltering: true }), (e: any) => e.code === 'EOPNOTSUPP');
        const br = nl.createBridge(s, { name: 'brv', vlanFiltering: false });
        assert.throws(() => nl.setBridgeVlanFiltering(s, br.index, true), (e: any) => e.code === 'EOPNOTSUPP');
        assert.equal(link(ns.name, 'brv').linkinfo.info_data.vlan_filtering, 0);
        return;
      }
      const br = nl.createBridge(s, { name: 'brv', vlanFiltering: true });
      assert.equal(link(ns.name, 'brv').linkinfo.info_data.vlan_filtering, 1);
      assert.deepEqual(br.bridge, { vlanFiltering: true });
      nl.setBridgeVlanFiltering(s, br.index, false);
      assert.equal(link(ns.name, 'brv').linkinfo.info_data.vlan_filtering, 0);
      assert.deepEqual(nl.getLinkByIndex(s, br.index)!.bridge, { vlanFiltering: false });
    });
  });

  it('veth with the peer created directly inside another namespace, named as requested', () => {
    withNode(({ ns, s }) => {
      const ctr = makeNetns('ctr');
      const ctrNs = NetNS.open(ctr.path);
      const cs = NetlinkSocket.openIn(ctrNs);
      try {
        nl.createVeth(s, {
          name: 'veth1234abcd', mtu: 1400, mac: '02:11:22:33:44:55',
          peerName: 'eth0', peerNetnsFd: ctrNs.fd, peerMac: '0a:58:0a:f4:01:05',
        });
        const host = nl.getLinkByName(s, 'veth1234abcd')!;
        const peer = nl.getLinkByName(cs, 'eth0')!;
        assert.equal(nl.getLinkByName(s, 'eth0'), null, 'peer must not exist in the node namespace');
        const ho = link(ns.name, 'veth1234abcd');
        const po = link(ctr.name, 'eth0');
        assert.equal(ho.linkinfo.info_kind, 'veth');
        assert.equal(po.linkinfo.info_kind, 'veth');
        assert.equal(ho.address, '02:11:22:33:44:55');
        assert.equal(po.address, '0a:58:0a:f4:01:05');
        assert.equal(ho.mtu, 1400);
        assert.equal(po.mtu, 1400);
        assert.equal(host.kind, 'veth');
        assert.equal(host.mac, '02:11:22:33:44:55');
        assert.equal(peer.mac, '0a:58:0a:f4:01:05');
        // IFLA_LINK is the peer's index in its own namespace; IFLA_LINK_NETNSID marks it foreign.
        assert.equal(host.parentIndex, peer.index);
        assert.equal(peer.parentIndex, host.index);
        assert.equal(host.linkNetnsId, ho.link_netnsid);
        assert.equal(typeof host.linkNetnsId, 'number');
        // Up on both ends → operstate up (veth carrier needs the peer up). The kernel updates
        // operstate asynchronously (linkwatch), so poll like the bridge plugin does.
        nl.setLinkUp(s, host.index);
        assert.equal(nl.getLinkByIndex(s, host.index)!.up, true);
        assert.notEqual(nl.getLinkByIndex(s, host.index)!.operstate, 'up');
        nl.setLinkUp(cs, peer.index);
        assert.equal(waitFor(() => nl.getLinkByIndex(s, host.index)!.operstate, 'up'), 'up');
        assert.equal(link(ns.name, 'veth1234abcd').operstate, 'UP');
        assert.equal(nl.getLinkByIndex(cs, peer.index)!.up, true);
        nl.setLinkDown(cs, peer.index);
        assert.equal(nl.getLinkByIndex(cs, peer.index)!.up, false);
        assert.equal(link(ctr.name, 'eth0').flags.includes('UP'), false);
        // Deleting one end removes the pair.
        assert.equal(nl.deleteLinkByName(cs, 'eth0'), true);
        assert.equal(nl.getLinkByName(s, 'veth1234abcd'), null);
        assert.equal(nl.deleteLinkByName(cs, 'eth0'), false);
      } finally {
        cs.close();
        ctrNs.close();
        ctr.cleanup();
      }
    });
  });

  it('vxlan (VNI 1, port 8472, nolearning, local IP, underlay device)', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'under0', peerName: 'under1' });
      const under = nl.getLinkByName(s, 'under0')!;
      nl.addAddress(s, under.index, mustParseCIDR('192.168.50.1/24'));
      const vx = nl.createVxlan(s, {
        name: 'flannel.1', vni: 1, port: 8472, local: mustParseIP('192.168.50.1'),
        linkIndex: under.index, learning: false, mtu: 1450, mac: '66:77:88:99:aa:bb',
      });
      const o = link(ns.name, 'flannel.1');
      assert.equal(o.linkinfo.info_kind, 'vxlan');
      assert.equal(o.linkinfo.info_data.id, 1);
      assert.equal(o.linkinfo.info_data.port, 8472);
      assert.equal(o.linkinfo.info_data.local, '192.168.50.1');
      assert.equal(o.linkinfo.info_data.link, 'under0');
      assert.equal(o.linkinfo.info_data.learning, false);
      assert.equal(o.mtu, 1450);
      assert.equal(o.address, '66:77:88:99:aa:bb');
      assert.equal(vx.kind, 'vxlan');
      assert.equal(vx.vxlan!.vni, 1);
      assert.equal(vx.vxlan!.port, 8472);
      assert.equal(formatIP(vx.vxlan!.local!), '192.168.50.1');
      assert.equal(vx.vxlan!.linkIndex, under.index);
      assert.equal(vx.vxlan!.learning, false);
      // With learning on, the kernel reports it.
      const vx2 = nl.createVxlan(s, { name: 'vx2', vni: 2, port: 4789, local: mustParseIP('192.168.50.1'), linkIndex: under.index, learning: true });
      assert.equal(vx2.vxlan!.learning, true);
      assert.equal(link(ns.name, 'vx2').linkinfo.info_data.learning, true);
    });
  });

  it('promisc, MTU, MAC, master / nomaster, rename', () => {
    withNode(({ ns, s }) => {
      const br = nl.createBridge(s, { name: 'br0' });
      nl.createVeth(s, { name: 'va', peerName: 'vb' });
      const va = nl.getLinkByName(s, 'va')!;
      nl.setPromisc(s, br.index, true);
      assert.equal(link(ns.name, 'br0').promiscuity, 1);
      assert.equal(nl.getLinkByIndex(s, br.index)!.promisc, true);
      nl.setPromisc(s, br.index, false);
      assert.equal(link(ns.name, 'br0').promiscuity, 0);
      assert.equal(nl.getLinkByIndex(s, br.index)!.promisc, false);
      nl.setMtu(s, va.index, 1280);
      assert.equal(link(ns.name, 'va').mtu, 1280);
      nl.setMac(s, va.index, '0A:58:0A:F4:01:01');
      assert.equal(link(ns.name, 'va').address, '0a:58:0a:f4:01:01');
      assert.equal(nl.getLinkByIndex(s, va.index)!.mac, '0a:58:0a:f4:01:01');
      nl.setMaster(s, va.index, br.index);
      assert.equal(link(ns.name, 'va').master, 'br0');
      assert.equal(nl.getLinkByIndex(s, va.index)!.masterIndex, br.index);
      nl.setMaster(s, va.index, 0);
      assert.equal(link(ns.name, 'va').master, undefined);
      assert.equal(nl.getLinkByIndex(s, va.index)!.masterIndex, undefined);
      nl.setLinkName(s, va.index, 'va-renamed');
      assert.equal(nl.getLinkByIndex(s, va.index)!.name, 'va-renamed');
      assert.equal(link(ns.name, 'va-renamed').ifindex, va.index);
      const names = nl.listLinks(s).map((l) => l.name).sort();
      assert.deepEqual(names, ipJson(ns.name, ['link', 'show']).map((l: any) => l.ifname).sort());
    });
  });

  it('moves a link into another namespace', () => {
    withNode(({ s }) => {
      const other = makeNetns('other');
      const on = NetNS.open(other.path);
      try {
        nl.createVeth(s, { name: 'mv0', peerName: 'mv1' });
        nl.setLinkNetns(s, nl.getLinkByName(s, 'mv1')!.index, on.fd);
        assert.equal(nl.getLinkByName(s, 'mv1'), null);
        assert.equal(link(other.name, 'mv1').linkinfo.info_kind, 'veth');
      } finally {
        on.close();
        other.cleanup();
      }
    });
  });

  it('error codes on missing links', () => {
    withNode(({ s }) => {
      assert.equal(nl.getLinkByName(s, 'nope0'), null);
      assert.equal(nl.getLinkByIndex(s, 99999), null);
      assert.equal(nl.deleteLinkByName(s, 'nope0'), false);
      for (const fn of [() => nl.deleteLink(s, 99999), () => nl.setMtu(s, 99999, 1400), () => nl.setLinkUp(s, 99999)]) {
        assert.throws(fn, (e: any) => e instanceof nl.NetlinkError && e.code === 'ENODEV' && e.errno === 19 && nl.isNotFound(e));
      }
    });
  });
});

describe('bridge ports', () => {
  it('hairpin and isolated flags', () => {
    withNode(({ ns, s }) => {
      const br = nl.createBridge(s, { name: 'br0' });
      nl.createVeth(s, { name: 'vp', peerName: 'vq' });
      const vp = nl.getLinkByName(s, 'vp')!;
      nl.setMaster(s, vp.index, br.index);
      assert.deepEqual(nl.getBridgePortFlags(s, vp.index), { hairpin: false, isolated: false });
      nl.setBridgePortFlags(s, vp.index, { hairpin: true });
      let d = link(ns.name, 'vp').linkinfo.info_slave_data;
      assert.equal(d.hairpin, true);
      assert.equal(d.isolated, false);
      nl.setBridgePortFlags(s, vp.index, { isolated: true });
      d = link(ns.name, 'vp').linkinfo.info_slave_data;
      assert.equal(d.hairpin, true);
      assert.equal(d.isolated, true);
      assert.deepEqual(nl.getBridgePortFlags(s, vp.index), { hairpin: true, isolated: true });
      nl.setBridgePortFlags(s, vp.index, { hairpin: false, isolated: false });
      d = link(ns.name, 'vp').linkinfo.info_slave_data;
      assert.equal(d.hairpin, false);
      assert.equal(d.isolated, false);
      assert.throws(() => nl.getBridgePortFlags(s, br.index), /not a bridge port/);
    });
  });

  it('port VLANs: PVID untagged add / list / delete (EOPNOTSUPP, like bridge(8), without kernel support)', () => {
    withNode(({ ns, s }) => {
      const br = nl.createBridge(s, { name: 'br0', vlanFiltering: vlanFilteringSupported || undefined });
      nl.createVeth(s, { name: 'vp', peerName: 'vq' });
      const vp = nl.getLinkByName(s, 'vp')!;
      nl.setMaster(s, vp.index, br.index);
      if (!vlanFilteringSupported) {
        assert.throws(() => nl.addBridgeVlan(s, vp.index, 10, { pvid: true, untagged: true }), (e: any) => e.code === 'EOPNOTSUPP');
        assert.throws(() => bridgeJson(ns.name, ['vlan', 'add', 'dev', 'vp', 'vid', '10', 'pvid', 'untagged']), /Operation not supported/);
        assert.deepEqual(nl.listBridgeVlans(s, vp.index), []);
        return;
      }
      nl.addBridgeVlan(s, vp.index, 10, { pvid: true, untagged: true });
      nl.addBridgeVlan(s, vp.index, 20);
      const vl = nl.listBridgeVlans(s, vp.index);
      assert.deepEqual(vl.find((v) => v.vid === 10), { vid: 10, pvid: true, untagged: true });
      assert.deepEqual(vl.find((v) => v.vid === 20), { vid: 20, pvid: false, untagged: false });
      const o = bridgeJson(ns.name, ['vlan', 'show', 'dev', 'vp']);
      const v10 = o[0].vlans.find((v: any) => v.vlan === 10);
      assert.deepEqual([...v10.flags].sort(), ['Egress Untagged', 'PVID']);
      nl.delBridgeVlan(s, vp.index, 20);
      assert.equal(nl.listBridgeVlans(s, vp.index).some((v) => v.vid === 20), false);
    });
  });
});

describe('addresses', () => {
  it('IPv4 and IPv6 add / list / delete with ip -j as oracle; EEXIST; noprefixroute', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'va', peerName: 'vb' });
      const va = nl.getLinkByName(s, 'va')!;
      // IPv4 prefix routes exist only while the link is up.
      nl.setLinkUp(s, va.index);
      nl.addAddress(s, va.index, mustParseCIDR('10.244.1.1/24'));
      nl.addAddress(s, va.index, mustParseCIDR('fd00:10::1/64'));
      nl.addAddress(s, va.index, mustParseCIDR('10.250.0.5/16'), { noPrefixRoute: true });
      const o = ipJson(ns.name, ['addr', 'show', 'dev', 'va'])[0].addr_info;
      const v4 = o.find((a: any) => a.local === '10.244.1.1');
      assert.equal(v4.prefixlen, 24);
      assert.equal(v4.broadcast, '10.244.1.255');
      assert.equal(v4.scope, 'global');
      assert.equal(o.find((a: any) => a.local === 'fd00:10::1').prefixlen, 64);
      assert.equal(o.find((a: any) => a.local === '10.250.0.5').noprefixroute, true);
      const routes = ipJson(ns.name, ['route', 'show', 'dev', 'va']).map((r: any) => r.dst);
      assert.ok(routes.includes('10.244.1.0/24'));
      assert.ok(!routes.includes('10.250.0.0/16'), 'noprefixroute must not create the subnet route');

      const mine = nl.listAddresses(s, { index: va.index });
      const fmt = (a: nl.Address): string => `${formatIP(a.cidr.ip)}/${a.cidr.prefix}`;
      const theirs = o.filter((a: any) => a.family === 'inet' || a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`).sort();
      assert.deepEqual(mine.filter((a) => a.cidr.ip.family === 4 || a.scope === 0).map(fmt).sort(), theirs);
      assert.ok(mine.find((a) => fmt(a) === '10.250.0.5/16')!.flags & 0x200);
      assert.deepEqual(nl.listAddresses(s, { index: va.index, family: 6 }).map((a) => a.cidr.ip.family).filter((f) => f !== 6), []);
      assert.ok(nl.listAddresses(s, { family: 4 }).every((a) => a.cidr.ip.family === 4));

      assert.throws(() => nl.addAddress(s, va.index, mustParseCIDR('10.244.1.1/24')), (e: any) => e.code === 'EEXIST' && /file exists/.test(e.message));
      assert.equal(nl.ensureAddress(s, va.index, mustParseCIDR('10.244.1.1/24')), false);
      nl.delAddress(s, va.index, mustParseCIDR('10.244.1.1/24'));
      nl.delAddress(s, va.index, mustParseCIDR('fd00:10::1/64'));
      assert.throws(() => nl.delAddress(s, va.index, mustParseCIDR('10.244.1.1/24')), (e: any) => e.code === 'EADDRNOTAVAIL' && nl.isNotFound(e));
      assert.equal(nl.deleteAddressIfPresent(s, va.index, mustParseCIDR('fd00:10::1/64')), false);
      assert.equal(nl.deleteAddressIfPresent(s, va.index, mustParseCIDR('10.250.0.5/16')), true);
      const left = ipJson(ns.name, ['addr', 'show', 'dev', 'va'])[0].addr_info.filter((a: any) => a.scope === 'global');
      assert.deepEqual(left, []);
    });
  });
});

describe('routes', () => {
  function setup(n: Node): number {
    nl.createVeth(n.s, { name: 'va', peerName: 'vb' });
    const va = nl.getLinkByName(n.s, 'va')!;
    nl.addAddress(n.s, va.index, mustParseCIDR('10.244.1.1/24'));
    nl.addAddress(n.s, va.index, mustParseCIDR('fd00:10::1/64'), { noPrefixRoute: false });
    nl.setLinkUp(n.s, va.index);
    nl.setLinkUp(n.s, nl.getLinkByName(n.s, 'vb')!.index);
    return va.index;
  }

  it('onlink route via a gateway outside the subnet', () => {
    withNode((n) => {
      const idx = setup(n);
      nl.addRoute(n.s, { dst: mustParseCIDR('10.20.0.0/16'), gw: mustParseIP('10.99.0.1'), index: idx, onlink: true });
      const o = ipJson(n.ns.name, ['route', 'show', '10.20.0.0/16'])[0];
      assert.equal(o.gateway, '10.99.0.1');
      assert.equal(o.dev, 'va');
      assert.ok(o.flags.includes('onlink'));
      const r = nl.listRoutes(n.s, { family: 4, index: idx }).find((x) => formatIP(x.dst.ip) === '10.20.0.0')!;
      assert.equal(r.dst.prefix, 16);
      assert.equal(formatIP(r.gw!), '10.99.0.1');
      assert.ok(r.flags & 4, 'RTNH_F_ONLINK');
      assert.equal(r.protocol, 3);
      assert.equal(r.scope, 0);
      // Without onlink the kernel refuses an unreachable gateway.
      assert.throws(() => nl.addRoute(n.s, { dst: mustParseCIDR('10.21.0.0/16'), gw: mustParseIP('10.99.0.1'), index: idx }),
        (e: any) => e.code === 'ENETUNREACH' && /Nexthop has invalid gateway/.test(e.message));
      const got = nl.routeGet(n.s, mustParseIP('10.20.3.4'))!;
      assert.equal(formatIP(got.gw!), '10.99.0.1');
      assert.equal(got.index, idx);
      assert.equal(nl.routeGet(n.s, mustParseIP('203.0.113.9')), null);
    });
  });

  it('metric and table, replaceRoute, delete and idempotent delete, EEXIST; IPv6', () => {
    withNode((n) => {
      const idx = setup(n);
      const spec = { dst: mustParseCIDR('10.30.0.0/24'), gw: mustParseIP('10.244.1.254'), index: idx, metric: 100, table: 100 };
      nl.addRoute(n.s, spec);
      let o = ipJson(n.ns.name, ['route', 'show', 'table', '100']);
      assert.equal(o.length, 1);
      assert.equal(o[0].dst, '10.30.0.0/24');
      assert.equal(o[0].metric, 100);
      assert.equal(o[0].gateway, '10.244.1.254');
      assert.throws(() => nl.addRoute(n.s, spec), (e: any) => e.code === 'EEXIST');
      const inTable = nl.listRoutes(n.s, { table: 100 });
      assert.equal(inTable.length, 1);
      assert.equal(inTable[0]!.metric, 100);
      assert.equal(inTable[0]!.table, 100);
      assert.equal(nl.listRoutes(n.s, { family: 4 }).some((r) => r.table === 100), false, 'default is the main table');

      nl.replaceRoute(n.s, { ...spec, gw: mustParseIP('10.244.1.253') });
      o = ipJson(n.ns.name, ['route', 'show', 'table', '100']);
      assert.equal(o.length, 1);
      assert.equal(o[0].gateway, '10.244.1.253');

      // A table above 255 travels in RTA_TABLE.
      nl.addRoute(n.s, { dst: mustParseCIDR('10.31.0.0/24'), index: idx, table: 1000, mtu: 1300, advmss: 1260 });
      const t1000 = ipJson(n.ns.name, ['route', 'show', 'table', '1000'])[0];
      assert.equal(t1000.dst, '10.31.0.0/24');
      assert.equal(t1000.scope, 'link');
      assert.deepEqual(t1000.metrics, [{ mtu: 1300, advmss: 1260 }]);
      assert.equal(nl.listRoutes(n.s, { table: 1000 })[0]!.scope, 253);

      nl.delRoute(n.s, { dst: mustParseCIDR('10.30.0.0/24'), table: 100 });
      assert.deepEqual(ipJson(n.ns.name, ['route', 'show', 'table', '100']), []);
      assert.throws(() => nl.delRoute(n.s, { dst: mustParseCIDR('10.30.0.0/24'), table: 100 }), (e: any) => e.code === 'ESRCH' && nl.isNotFound(e));
      assert.equal(nl.deleteRouteIfPresent(n.s, { dst: mustParseCIDR('10.30.0.0/24'), table: 100 }), false);

      // IPv6 (default route via a link-local-free global gateway in the on-link /64).
      nl.addRoute(n.s, { dst: mustParseCIDR('::/0'), gw: mustParseIP('fd00:10::fe'), index: idx, metric: 1024 });
      const d6 = ipJson(n.ns.name, ['-6', 'route', 'show', 'default'])[0];
      assert.equal(d6.gateway, 'fd00:10::fe');
      assert.equal(d6.metric, 1024);
      const r6 = nl.listRoutes(n.s, { family: 6 }).find((r) => r.dst.prefix === 0)!;
      assert.equal(formatIP(r6.gw!), 'fd00:10::fe');
      assert.equal(r6.index, idx);
      assert.equal(formatIP(nl.routeGet(n.s, mustParseIP('2001:db8::1'))!.gw!), 'fd00:10::fe');
      nl.delRoute(n.s, { dst: mustParseCIDR('::/0'), gw: mustParseIP('fd00:10::fe'), index: idx });
      assert.deepEqual(ipJson(n.ns.name, ['-6', 'route', 'show', 'default']), []);
      assert.throws(() => nl.delRoute(n.s, { dst: mustParseCIDR('::/0'), index: idx }), (e: any) => e.code === 'ESRCH' || e.code === 'ENOENT');
      assert.equal(nl.deleteRouteIfPresent(n.s, { dst: mustParseCIDR('::/0'), index: idx }), false);

      // Main-table listing matches iproute2's.
      const fmt = (r: nl.RouteInfo): string => `${formatIP(r.dst.ip)}/${r.dst.prefix}`;
      const mine = nl.listRoutes(n.s, { family: 4 }).map(fmt).sort();
      const theirs = ipJson(n.ns.name, ['-4', 'route', 'show']).map((r: any) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`)).sort();
      assert.deepEqual(mine, theirs);
    });
  });

  it('ECMP IPv6 routes come back as one RouteInfo per next hop', () => {
    withNode((n) => {
      const idx = setup(n);
      ipIn(n.ns.name, ['-6', 'route', 'add', '2001:db8:5::/64', 'nexthop', 'via', 'fd00:10::a', 'dev', 'va', 'nexthop', 'via', 'fd00:10::b', 'dev', 'va']);
      const rs = nl.listRoutes(n.s, { family: 6 }).filter((r) => formatIP(r.dst.ip) === '2001:db8:5::');
      assert.deepEqual(rs.map((r) => formatIP(r.gw!)).sort(), ['fd00:10::a', 'fd00:10::b']);
      assert.ok(rs.every((r) => r.index === idx));
    });
  });
});

describe('neighbours and FDB', () => {
  it('permanent neighbour: replace, list, delete, ENOENT', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'va', peerName: 'vb' });
      const va = nl.getLinkByName(s, 'va')!;
      nl.addAddress(s, va.index, mustParseCIDR('10.244.1.1/24'));
      const ip = mustParseIP('10.244.1.7');
      nl.replaceNeighbour(s, { index: va.index, ip, mac: '0a:58:0a:f4:01:07', permanent: true });
      nl.replaceNeighbour(s, { index: va.index, ip, mac: '0a:58:0a:f4:01:08', permanent: true });
      const o = ipJson(ns.name, ['neigh', 'show', 'dev', 'va']);
      assert.equal(o.length, 1);
      assert.equal(o[0].dst, '10.244.1.7');
      assert.equal(o[0].lladdr, '0a:58:0a:f4:01:08');
      assert.deepEqual(o[0].state, ['PERMANENT']);
      const n = nl.listNeighbours(s, { index: va.index });
      assert.equal(n.length, 1);
      assert.equal(formatIP(n[0]!.ip), '10.244.1.7');
      assert.equal(n[0]!.mac, '0a:58:0a:f4:01:08');
      assert.equal(n[0]!.state, 0x80);
      const ip6 = mustParseIP('fd00:10::7');
      nl.replaceNeighbour(s, { index: va.index, ip: ip6, mac: '0a:58:0a:f4:01:09', permanent: true });
      assert.equal(nl.listNeighbours(s, { family: 6, index: va.index }).filter((x) => x.state === 0x80).length, 1);
      assert.equal(ipJson(ns.name, ['-6', 'neigh', 'show', 'dev', 'va']).find((x: any) => x.dst === 'fd00:10::7').lladdr, '0a:58:0a:f4:01:09');
      nl.deleteNeighbour(s, va.index, ip);
      nl.deleteNeighbour(s, va.index, ip6);
      assert.deepEqual(ipJson(ns.name, ['neigh', 'show', 'dev', 'va']).filter((x: any) => x.state?.includes('PERMANENT')), []);
      assert.throws(() => nl.deleteNeighbour(s, va.index, ip), (e: any) => e.code === 'ENOENT' && nl.isNotFound(e));
    });
  });

  it('FDB entry on a vxlan device (dst, self, permanent)', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'under0', peerName: 'under1' });
      const under = nl.getLinkByName(s, 'under0')!;
      nl.addAddress(s, under.index, mustParseCIDR('192.168.50.1/24'));
      const vx = nl.createVxlan(s, { name: 'flannel.1', vni: 1, port: 8472, local: mustParseIP('192.168.50.1'), linkIndex: under.index, learning: false });
      const mac = '5a:11:22:33:44:55';
      nl.replaceFdb(s, { index: vx.index, mac, dst: mustParseIP('192.168.50.2'), permanent: true, self: true });
      nl.replaceFdb(s, { index: vx.index, mac, dst: mustParseIP('192.168.50.2'), permanent: true, self: true });
      const o = bridgeJson(ns.name, ['fdb', 'show', 'dev', 'flannel.1']).filter((e: any) => e.mac === mac);
      assert.equal(o.length, 1);
      assert.equal(o[0].dst, '192.168.50.2');
      assert.ok(o[0].flags.includes('self'));
      assert.equal(o[0].state, 'permanent');
      const mine = nl.listFdb(s, vx.index).filter((e) => e.mac === mac);
      assert.equal(mine.length, 1);
      assert.equal(formatIP(mine[0]!.dst!), '192.168.50.2');
      assert.equal(mine[0]!.state, 0x80);
      assert.ok(mine[0]!.flags & 0x02);
      nl.deleteFdb(s, { index: vx.index, mac, dst: mustParseIP('192.168.50.2') });
      assert.deepEqual(bridgeJson(ns.name, ['fdb', 'show', 'dev', 'flannel.1']).filter((e: any) => e.mac === mac), []);
      assert.throws(() => nl.deleteFdb(s, { index: vx.index, mac, dst: mustParseIP('192.168.50.2') }), (e: any) => nl.isNotFound(e));
    });
  });
});

describe('dump filters and vxlan options (flanneld)', () => {
  it('listRoutes by protocol; routeGet reports the preferred source', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'under0', peerName: 'under1' });
      const under = nl.getLinkByName(s, 'under0')!;
      nl.setLinkUp(s, under.index);
      nl.addAddress(s, under.index, mustParseCIDR('192.168.50.1/24'));
      nl.addAddress(s, under.index, mustParseCIDR('192.168.50.9/24'));
      nl.addRoute(s, { dst: mustParseCIDR('10.5.2.0/24'), gw: mustParseIP('192.168.50.2'), index: under.index, protocol: 127 });
      nl.addRoute(s, { dst: mustParseCIDR('10.5.3.0/24'), gw: mustParseIP('192.168.50.3'), index: under.index });
      const ours = nl.listRoutes(s, { family: 4, protocol: 127 });
      assert.deepEqual(ours.map((r) => `${formatIP(r.dst.ip)}/${r.dst.prefix} ${r.protocol}`), ['10.5.2.0/24 127']);
      assert.equal(nl.listRoutes(s, { family: 4, protocol: 3 }).filter((r) => r.dst.prefix === 24 && formatIP(r.dst.ip) === '10.5.3.0').length, 1);
      assert.deepEqual(nl.listRoutes(s, { family: 6, protocol: 127 }), []);
      ipIn(ns.name, ['route', 'add', '10.9.0.0/16', 'dev', 'under0', 'src', '192.168.50.9']);
      assert.equal(formatIP(nl.routeGet(s, mustParseIP('10.9.1.1'))!.prefsrc!), '192.168.50.9');
    });
  });

  it('listNeighbours and listFdb by device return that device only; vxlan GBP and the default port', () => {
    withNode(({ ns, s }) => {
      nl.createVeth(s, { name: 'under0', peerName: 'under1' });
      const under = nl.getLinkByName(s, 'under0')!;
      nl.addAddress(s, under.index, mustParseCIDR('192.168.50.1/24'));
      const local = mustParseIP('192.168.50.1');
      const v1 = nl.createVxlan(s, { name: 'vx1', vni: 1, port: 0, local, linkIndex: under.index, learning: false, gbp: true });
      const v2 = nl.createVxlan(s, { name: 'vx2', vni: 2, port: 4789, local, linkIndex: under.index, learning: false });
      const d1 = link(ns.name, 'vx1').linkinfo.info_data;
      assert.deepEqual([d1.port, d1.gbp], [8472, true]);
      assert.deepEqual([nl.getLinkByIndex(s, v1.index)!.vxlan!.gbp, nl.getLinkByIndex(s, v2.index)!.vxlan!.gbp], [true, undefined]);
      for (const [v, n] of [[v1, 1], [v2, 2]] as const) {
        nl.replaceNeighbour(s, { index: v.index, ip: mustParseIP(`10.5.${n}.0`), mac: `0a:00:00:00:00:0${n}`, permanent: true });
        nl.replaceFdb(s, { index: v.index, mac: `0a:00:00:00:00:0${n}`, dst: mustParseIP(`192.168.50.${n + 1}`), permanent: true, self: true });
      }
      assert.deepEqual(nl.listNeighbours(s, { index: v1.index, family: 4 }).map((x) => formatIP(x.ip)), ['10.5.1.0']);
      assert.deepEqual(nl.listNeighbours(s, { index: v2.index }).map((x) => formatIP(x.ip)), ['10.5.2.0']);
      assert.deepEqual(nl.listFdb(s, v1.index).filter((e) => e.dst).map((e) => e.mac), ['0a:00:00:00:00:01']);
      assert.deepEqual(nl.listFdb(s, v2.index).filter((e) => e.dst).map((e) => e.mac), ['0a:00:00:00:00:02']);
    });
  });
});
