// Dual-stack flanneld end to end, then the same cluster switched to nftables mode, then the
// start-up refusal of a Network that overlaps the node's networks. Two nodes on a dual-stack
// underlay (10.0.0.0/24 + fd00::/64) run our flanneld with the deployment notes' flags; pods are
// attached by our flannel conflist. Pod → underlay host pings check the masquerade: the underlay
// hosts have no route back to the pod networks, so only a NATed packet gets an answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envOf, FlannelCluster, linkOf, type ClusterNode } from '../helpers/flannel-cluster';
import { eventually, startFlanneld } from '../helpers/flanneld-proc';
import { flannelConflist } from '../helpers/flannel-node';
import { Runtime } from '../helpers/libcni';
import { execIn, ipIn, ipJson, makeNetns } from '../helpers/netns';
import { builds } from '../helpers/plugins';

const V4NET = '10.2.0.0/16';
const V6NET = 'fd10::/56';
const CONFIG = { Network: V4NET, EnableIPv6: true, IPv6Network: V6NET, Backend: { Type: 'vxlan' } };
const PREFIX = '/coreos.com/network';

function ping(ns: string, ip: string): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '2', ip]).status === 0;
}
const net = (cidr: string): string => cidr.replace(/\.1\/(\d+)$/, '.0/$1').replace(/::1\/(\d+)$/, '::/$1');

for (const build of builds()) {
  describe(`flanneld dual-stack, nftables mode and overlap refusal (${build.label} build)`, () => {
    const tag = `fds${build.label[0]}`;
    let c: FlannelCluster;
    let nodes: ClusterNode[];
    const pods: Record<string, { ns: string; v4: string; v6: string }> = {};
    const figures: string[] = [];
    const env = (n: ClusterNode): Record<string, string> => envOf(fs.readFileSync(n.subnetFile, 'utf8'));

    before(async () => {
      c = await FlannelCluster.create(build, tag, 2, { [PREFIX]: JSON.stringify(CONFIG) }, { v6: true });
      nodes = c.nodes;
    });
    after(async () => {
      await c?.destroy();
      if (figures.length) console.log(`# figure (${build.label}): ${figures.join('; ')}`);
    });

    it('subnet.env carries both families; the lease value carries PublicIPv6 and BackendV6Data', async () => {
      for (const n of nodes) await c.start(n);
      const subnets4 = new Set<string>();
      for (const n of nodes) {
        const e = env(n);
        assert.equal(e.FLANNEL_NETWORK, V4NET);
        assert.match(e.FLANNEL_SUBNET!, /^10\.2\.\d+\.1\/24$/);
        assert.equal(e.FLANNEL_IPV6_NETWORK, V6NET);
        assert.match(e.FLANNEL_IPV6_SUBNET!, /^fd10:0:0:[0-9a-f]+::1\/64$/);
        assert.equal(e.FLANNEL_IPMASQ, 'true');
        assert.deepEqual(Object.keys(e), ['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ']);
        subnets4.add(e.FLANNEL_SUBNET!);
        figures.push(`${n.name} FLANNEL_MTU=${e.FLANNEL_MTU}`);
        const key = `${PREFIX}/subnets/${net(e.FLANNEL_SUBNET!).replace('/', '-')}&${net(e.FLANNEL_IPV6_SUBNET!).replace('/', '-')}`;
        const l = c.leases()[key];
        assert.ok(l, `${key} in ${Object.keys(c.leases()).join(', ')}`);
        assert.equal(l.value.PublicIP, n.host.ip);
        assert.equal(l.value.PublicIPv6, n.host.ip6);
        assert.deepEqual(l.value.BackendData, { VNI: 1, VtepMAC: linkOf(n).address });
        assert.deepEqual(l.value.BackendV6Data, { VNI: 1, VtepMAC: linkOf(n, 'flannel-v6.1').address });
      }
      assert.equal(subnets4.size, 2);
    });

    it('flannel-v6.1 is vxlan VNI 1 over the node\'s v6 address; masquerade rules for v6 are in ip6tables', () => {
      for (const n of nodes) {
        const l = linkOf(n, 'flannel-v6.1');
        assert.equal(l.linkinfo.info_kind, 'vxlan');
        assert.equal(l.linkinfo.info_data.id, 1);
        assert.equal(l.linkinfo.info_data.local6 ?? l.linkinfo.info_data.local, n.host.ip6);
        const sub6 = net(env(n).FLANNEL_IPV6_SUBNET!);
        const rules = execIn(n.host.ns.name, 'ip6tables-save', ['-t', 'nat']).split('\n').filter((x) => x.startsWith('-A FLANNEL-POSTRTG'));
        assert.ok(rules.includes(`-A FLANNEL-POSTRTG -s ${sub6} -d ${V6NET} -m comment --comment "flanneld masq" -j RETURN`), rules.join('\n'));
        assert.ok(rules.some((x) => x.includes(`-s ${V6NET} ! -d ff00::/8`) && x.includes('MASQUERADE')), rules.join('\n'));
      }
    });

    it('dual-stack pods attached by the flannel conflist ping each other over v4 and v6 across nodes, and leave the network masqueraded', async () => {
      for (const n of nodes) {
        const conf = flannelConflist('1.0.0', { subnetFile: n.subnetFile, flannelDir: path.join(n.dir, 'flannel'), networksDir: path.join(n.dir, 'networks') });
        const rt = new Runtime(conf, build.dir, path.join(n.dir, 'cache'), n.host.ns.name);
        const pns = makeNetns(`${tag}-p${n.name}`);
        const r = rt.add({ containerId: `${tag}-${n.name}-pod`, netns: pns.path, ifname: 'eth0' });
        const ips = (r.ips as Array<{ address: string }>).map((x) => x.address.split('/')[0]!);
        const v4 = ips.find((x) => x.includes('.'))!;
        const v6 = ips.find((x) => x.includes(':'))!;
        assert.ok(v4 && v6, `both families in ${JSON.stringify(r.ips)}`);
        pods[n.name] = { ns: pns.name, v4, v6 };
      }
      const { n1: p1, n2: p2 } = pods as Record<'n1' | 'n2', { ns: string; v4: string; v6: string }>;
      assert.ok(ping(p1.ns, p2.v4), 'v4 pod n1 → pod n2');
      assert.ok(ping(p2.ns, p1.v4), 'v4 pod n2 → pod n1');
      // A new v6 address is tentative until duplicate address detection ends (about 1–2 s).
      const t0 = Date.now();
      await eventually('v6 pod n1 → pod n2', 8000, () => ping(p1.ns, p2.v6));
      figures.push(`first v6 pod → pod ping answered after ${Date.now() - t0} ms`);
      assert.ok(ping(p2.ns, p1.v6), 'v6 pod n2 → pod n1');
      // The etcd host (10.0.0.1 / fd00::1) has no route to the pod networks: only masquerade answers.
      assert.ok(ping(p1.ns, '10.0.0.1'), 'v4 pod → underlay host (masqueraded)');
      assert.ok(ping(p1.ns, 'fd00::1'), 'v6 pod → underlay host (masqueraded)');
    });

    it('nftables mode (EnableNFTables): after a restart the golden flannel-ipv4/flannel-ipv6 chains, the iptables chains gone, pods still ping over both families', async () => {
      c.etcd.etcdctl(['put', `${PREFIX}/config`, JSON.stringify({ ...CONFIG, EnableNFTables: true })]);
      for (const n of nodes) {
        assert.equal(await n.daemon!.stop('SIGTERM'), 0, n.daemon!.output());
        await c.start(n, { extra: n.name === 'n2' ? ['--ip-blackhole-route', '--disable-vxlan-tx-checksum-offload'] : [] });
        await n.daemon!.waitForOutput((o) => o.includes('nftables: table ip6 flannel-ipv6 installed'), 10_000);
      }
      const n1 = nodes[0]!;
      const p4 = net(env(n1).FLANNEL_SUBNET!);
      const p6 = net(env(n1).FLANNEL_IPV6_SUBNET!);
      assert.equal(execIn(n1.host.ns.name, 'nft', ['list', 'chain', 'ip', 'flannel-ipv4', 'postrtg']), `table ip flannel-ipv4 {
\tchain postrtg {
\t\tcomment "chain to manage traffic masquerading by flannel"
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tmeta mark & 0x00004000 == 0x00004000 return
\t\tip saddr ${p4} ip daddr ${V4NET} return
\t\tip saddr ${V4NET} ip daddr ${p4} return
\t\tip saddr != ${V4NET} ip daddr ${p4} return
\t\tip saddr ${V4NET} ip daddr != 224.0.0.0/4 masquerade fully-random
\t\tip saddr != ${V4NET} ip daddr ${V4NET} masquerade fully-random
\t}
}
`);
      assert.equal(execIn(n1.host.ns.name, 'nft', ['list', 'chain', 'ip', 'flannel-ipv4', 'forward']), `table ip flannel-ipv4 {
\tchain forward {
\t\tcomment "chain to accept flannel traffic"
\t\ttype filter hook forward priority filter; policy accept;
\t\tip saddr ${V4NET} accept
\t\tip daddr ${V4NET} accept
\t}
}
`);
      assert.match(execIn(n1.host.ns.name, 'nft', ['list', 'chain', 'ip6', 'flannel-ipv6', 'postrtg']), new RegExp(`ip6 saddr ${p6.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} ip6 daddr fd10::/56 return`));
      for (const n of nodes) {
        for (const save of ['iptables-save', 'ip6tables-save']) {
          for (const t of ['nat', 'filter']) assert.doesNotMatch(execIn(n.host.ns.name, save, ['-t', t]), /FLANNEL/, `${n.name} ${save} -t ${t}`);
        }
      }
      const { n1: q1, n2: q2 } = pods as Record<'n1' | 'n2', { ns: string; v4: string; v6: string }>;
      assert.ok(ping(q1.ns, q2.v4), 'v4 pod n1 → pod n2 (nft)');
      assert.ok(ping(q2.ns, q1.v6), 'v6 pod n2 → pod n1 (nft)');
      assert.ok(ping(q1.ns, '10.0.0.1'), 'v4 pod → underlay host, masqueraded by nft');
      assert.ok(ping(q1.ns, 'fd00::1'), 'v6 pod → underlay host, masqueraded by nft');
    });

    it('n2 with --ip-blackhole-route and --disable-vxlan-tx-checksum-offload: blackholes for both subnets survive a periodic reconcile; offload off on both devices', async () => {
      const n2 = nodes[1]!;
      const e = env(n2);
      const bh = (): string[] => [...ipJson(n2.host.ns.name, ['route', 'show', 'type', 'blackhole']), ...ipJson(n2.host.ns.name, ['-6', 'route', 'show', 'type', 'blackhole'])]
        .map((r: any) => `${r.dst} proto ${r.protocol} metric ${r.metric}`);
      const want = [`${net(e.FLANNEL_SUBNET!)} proto 127 metric 1048576`, `${net(e.FLANNEL_IPV6_SUBNET!)} proto 127 metric 1048576`];
      assert.deepEqual(bh(), want);
      // The periodic full reconcile runs every 10 s: the blackholes are still there after one.
      await new Promise((r) => setTimeout(r, 11_000));
      assert.deepEqual(bh(), want);
      for (const dev of ['flannel.1', 'flannel-v6.1']) {
        const line = execIn(n2.host.ns.name, 'ethtool', ['-k', dev]).split('\n').find((l) => l.trim().startsWith('tx-checksum-ip-generic:'));
        assert.match(line ?? '', /: off/, `${dev}: ${line}`);
      }
      // n1 runs without the switch: offload stays on there.
      const l1 = execIn(nodes[0]!.host.ns.name, 'ethtool', ['-k', 'flannel.1']).split('\n').find((l) => l.trim().startsWith('tx-checksum-ip-generic:'));
      assert.match(l1 ?? '', /: on/);
      const { n1: q1, n2: q2 } = pods as Record<'n1' | 'n2', { ns: string; v4: string; v6: string }>;
      assert.ok(ping(q1.ns, q2.v4), 'pod on n2 still reachable over v4 (cni0 wins over the blackhole)');
      assert.ok(ping(q1.ns, q2.v6), 'pod on n2 still reachable over v6');
    });

    it('a Network overlapping the node\'s networks is refused at start, exit 1, the route and the address named; no lease taken', async () => {
      const n2 = nodes[1]!;
      assert.equal(await n2.daemon!.stop('SIGTERM'), 0);
      ipIn(n2.host.ns.name, ['route', 'add', '10.2.128.0/17', 'dev', 'eth0']);
      ipIn(n2.host.ns.name, ['-6', 'addr', 'add', 'fd10:0:0:ff::5/64', 'dev', 'eth0', 'nodad']);
      const keys = Object.keys(c.leases()).sort();
      try {
        const d = startFlanneld(build.dir, n2.host.ns.name, c.daemonArgs(n2));
        assert.equal(await d.exited, 1, d.output());
        const out = d.output();
        assert.match(out, /Network 10\.2\.0\.0\/16 overlaps the route 10\.2\.128\.0\/17 dev eth0 proto \d+/);
        assert.match(out, /Network fd10::\/56 overlaps the external interface eth0's address fd10:0:0:ff::5\/64/);
        assert.equal(out.trim().split('\n').filter((l) => l.startsWith('flanneld:')).length, 1, out);
        assert.doesNotMatch(out, /lease acquired/);
        assert.deepEqual(Object.keys(c.leases()).sort(), keys, 'no lease written');
      } finally {
        ipIn(n2.host.ns.name, ['route', 'del', '10.2.128.0/17', 'dev', 'eth0']);
        ipIn(n2.host.ns.name, ['-6', 'addr', 'del', 'fd10:0:0:ff::5/64', 'dev', 'eth0']);
      }
    });

    it('a lease-shaped route (a cni0 left with another subnet) is checked against the lease once held; our own cni0 route and blackholes never count', async () => {
      const n2 = nodes[1]!;
      // subnet.env gone (as after mk-docker-opts -d rewrote it): our cni0 route is still ours.
      fs.rmSync(n2.subnetFile);
      await c.start(n2, { extra: ['--ip-blackhole-route'] });
      await n2.daemon!.waitForOutput((o) => /wrote \S*subnet\.env/.test(o), 10_000);
      assert.doesNotMatch(n2.daemon!.output(), /overlaps/);
      assert.equal(await n2.daemon!.stop('SIGTERM'), 0);
      ipIn(n2.host.ns.name, ['route', 'add', '10.2.251.0/24', 'dev', 'eth0']);
      try {
        const d = startFlanneld(build.dir, n2.host.ns.name, c.daemonArgs(n2));
        assert.equal(await d.exited, 1, d.output());
        assert.match(d.output(), /Network 10\.2\.0\.0\/16 overlaps the route 10\.2\.251\.0\/24 dev eth0 proto \d+/);
      } finally {
        ipIn(n2.host.ns.name, ['route', 'del', '10.2.251.0/24', 'dev', 'eth0']);
      }
      n2.daemon = startFlanneld(build.dir, n2.host.ns.name, c.daemonArgs(n2));
      await n2.daemon.waitForOutput((o) => /lease acquired/.test(o), 10_000);
      const { n1: q1, n2: q2 } = pods as Record<'n1' | 'n2', { ns: string; v4: string; v6: string }>;
      assert.ok(ping(q1.ns, q2.v4), 'pod on n2 reachable again');
    });
  });
}

for (const build of builds()) {
  describe(`flanneld IPv6-only network (${build.label} build)`, () => {
    const tag = `fd6${build.label[0]}`;
    let c: FlannelCluster;

    before(async () => {
      const config = { EnableIPv4: false, EnableIPv6: true, IPv6Network: 'fd20::/56', Backend: { Type: 'vxlan' } };
      c = await FlannelCluster.create(build, tag, 2, { [PREFIX]: JSON.stringify(config) }, { v6: true });
    });
    after(async () => c?.destroy());

    it('subnet.env has only the IPv6 keys, the lease only v6 fields, no IPv4 device or rules; v6 pods ping across nodes', async () => {
      const pods: string[][] = [];
      for (const n of c.nodes) {
        await c.start(n);
        const e = envOf(fs.readFileSync(n.subnetFile, 'utf8'));
        assert.deepEqual(Object.keys(e), ['FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ']);
        assert.equal(e.FLANNEL_IPV6_NETWORK, 'fd20::/56');
        assert.equal(ipJson(n.host.ns.name, ['link', 'show']).some((l: any) => l.ifname === 'flannel.1'), false, 'no IPv4 vxlan device');
        assert.doesNotMatch(execIn(n.host.ns.name, 'iptables-save', ['-t', 'nat']), /FLANNEL/);
        assert.match(execIn(n.host.ns.name, 'ip6tables-save', ['-t', 'nat']), /-A FLANNEL-POSTRTG -s fd20::\/56/);
        const conf = flannelConflist('1.0.0', { subnetFile: n.subnetFile, flannelDir: path.join(n.dir, 'flannel'), networksDir: path.join(n.dir, 'networks') });
        const rt = new Runtime(conf, build.dir, path.join(n.dir, 'cache'), n.host.ns.name);
        const pns = makeNetns(`${tag}-p${n.name}`);
        const r = rt.add({ containerId: `${tag}-${n.name}-pod`, netns: pns.path, ifname: 'eth0' });
        pods.push([pns.name, String(r.ips[0].address).split('/')[0]!]);
      }
      const lease = Object.values(c.leases())[0]!;
      assert.ok(c.nodes.some((n) => n.host.ip6 === lease.value.PublicIPv6), JSON.stringify(lease.value));
      assert.equal(lease.value.BackendV6Data?.VNI, 1, JSON.stringify(lease.value));
      console.log(`# figure: v6-only lease value ${JSON.stringify(lease.value)}`);
      const [[ns1, ip1], [ns2, ip2]] = pods as [[string, string], [string, string]];
      assert.match(ip1, /^fd20:/);
      await eventually('v6-only pod n1 → pod n2', 8000, () => ping(ns1, ip2));
      assert.ok(ping(ns2, ip1), 'v6-only pod n2 → pod n1');
    });
  });
}
