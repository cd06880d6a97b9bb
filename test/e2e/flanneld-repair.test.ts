// Self-healing (issue 15): by-hand damage to what the daemon owns on n1 — flannel.1 itself, the
// route, FDB entry and ARP entry of the peer n2, the FLANNEL-POSTRTG chain, flannel.1's MAC — is
// repaired within 10 s (each repair time printed): deletions and link changes at once through
// netlink notifications, the rest (a rewritten entry, the iptables chain) by the periodic checks
// (5 s). A re-created flannel.1 keeps the persisted VtepMAC and gets the peers' entries back. And a peer whose lease was deleted while our daemon
// was stopped has no route, ARP or FDB entry left right after our start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FlannelCluster, addressOf, leaseSubnet, linkOf, routeTo, type ClusterNode } from '../helpers/flannel-cluster';
import { attachPod, type Pod } from '../helpers/flannel-pods';
import { eventually } from '../helpers/flanneld-proc';
import { bridgeJson, execIn, ipIn, ipJson } from '../helpers/netns';
import { builds } from '../helpers/plugins';

const CONFIG = { Network: '10.2.0.0/16', Backend: { Type: 'vxlan' } };
const REPAIR_BOUND_MS = 10_000;

for (const build of builds()) {
  describe(`flanneld repairs by-hand damage within 10 s (${build.label} build)`, () => {
    let c: FlannelCluster;
    let n1: ClusterNode;
    let n2: ClusterNode;
    let p1: Pod;
    let p2: Pod;
    const figures: string[] = [];

    const ns = (): string => n1.host.ns.name;
    const neighTo = (n: ClusterNode, peer: ClusterNode): any =>
      ipJson(n.host.ns.name, ['neigh', 'show', 'dev', 'flannel.1']).find((e: any) => e.dst === addressOf(leaseSubnet(peer)));
    const fdbTo = (n: ClusterNode, peer: ClusterNode): any =>
      bridgeJson(n.host.ns.name, ['fdb', 'show', 'dev', 'flannel.1']).find((e: any) => e.mac === linkOf(peer).address && e.dst === peer.host.ip);
    /** n1's whole programming for n2 as the kernel has it. */
    const peerProgrammed = (): boolean => {
      const r = routeTo(n1, leaseSubnet(n2));
      const nb = neighTo(n1, n2);
      return !!(r && r.dev === 'flannel.1' && r.gateway === addressOf(leaseSubnet(n2)) && nb?.lladdr === linkOf(n2).address && fdbTo(n1, n2));
    };
    const ping = (): boolean => spawnSync('ip', ['netns', 'exec', p1.ns, 'busybox', 'ping', '-c', '1', '-W', '2', p2.ip]).status === 0;

    /** Damages, then measures until `repaired()` holds; asserts ≤ 10 s. */
    const repairTime = async (what: string, damage: () => void, repaired: () => boolean): Promise<number> => {
      assert.ok(repaired(), `${what}: not in the repaired state before the damage`);
      damage();
      assert.ok(!repaired(), `${what}: the damage did not take`);
      const t0 = Date.now();
      await eventually(`${what} repaired`, REPAIR_BOUND_MS + 2000, () => repaired());
      const ms = Date.now() - t0;
      figures.push(`${what} ${ms} ms`);
      assert.ok(ms <= REPAIR_BOUND_MS, `${what}: repaired after ${ms} ms`);
      return ms;
    };

    before(async () => {
      c = await FlannelCluster.create(build, `rp${build.label[0]}`, 3, { '/coreos.com/network': CONFIG });
      await c.startAll();
      [n1, n2] = c.nodes as [ClusterNode, ClusterNode];
      p1 = attachPod(c, n1, `rp${build.label[0]}`);
      p2 = attachPod(c, n2, `rp${build.label[0]}`);
      assert.ok(ping(), 'pod on n1 → pod on n2 before any damage');
    });

    after(async () => {
      await c?.destroy();
      if (figures.length) console.log(`# figure (${build.label}) repair times: ${figures.join('; ')}`);
    });

    it('peer route deleted → re-added', async () => {
      await repairTime('route', () => ipIn(ns(), ['route', 'del', leaseSubnet(n2)]), () => !!routeTo(n1, leaseSubnet(n2)));
      assert.ok(peerProgrammed());
    });

    it('peer FDB entry deleted → re-added', async () => {
      await repairTime('FDB entry', () => execIn(ns(), 'bridge', ['fdb', 'del', linkOf(n2).address, 'dev', 'flannel.1', 'dst', n2.host.ip]), () => !!fdbTo(n1, n2));
    });

    it('peer ARP entry deleted → re-added (permanent)', async () => {
      await repairTime('ARP entry', () => ipIn(ns(), ['neigh', 'del', addressOf(leaseSubnet(n2)), 'dev', 'flannel.1']), () => neighTo(n1, n2)?.state?.includes('PERMANENT'));
      assert.equal(neighTo(n1, n2).lladdr, linkOf(n2).address);
    });

    it('peer ARP entry rewritten to another MAC (no deletion, so no notification: the periodic check) → set back', async () => {
      const mac = linkOf(n2).address;
      await repairTime('ARP entry rewritten', () => ipIn(ns(), ['neigh', 'replace', addressOf(leaseSubnet(n2)), 'lladdr', '02:de:ad:be:ef:02', 'dev', 'flannel.1', 'nud', 'permanent']),
        () => neighTo(n1, n2)?.lladdr === mac);
    });

    it('FLANNEL-POSTRTG flushed → its rules back', async () => {
      const rules = (): string[] => execIn(ns(), 'iptables-save', ['-t', 'nat']).split('\n').filter((l) => l.startsWith('-A FLANNEL-POSTRTG'));
      const before = rules();
      assert.equal(before.length, 6, before.join('\n'));
      await repairTime('FLANNEL-POSTRTG flush', () => execIn(ns(), 'iptables', ['-t', 'nat', '-F', 'FLANNEL-POSTRTG']), () => rules().length === 6);
      assert.deepEqual(rules(), before);
    });

    it('flannel.1\'s MAC changed → set back (the one peers have in n1\'s lease)', async () => {
      const mac = linkOf(n1).address;
      await repairTime('flannel.1 MAC', () => ipIn(ns(), ['link', 'set', 'flannel.1', 'address', '02:de:ad:be:ef:01']), () => linkOf(n1)?.address === mac);
      assert.equal(neighTo(n2, n1)?.lladdr, mac, 'n2 still has the same MAC for n1');
      assert.ok(ping());
    });

    it('flannel.1 deleted → re-created with the persisted MAC, its address, and the peers\' route, ARP and FDB entries', async () => {
      const before = linkOf(n1);
      const own = `${addressOf(leaseSubnet(n1))}/32`;
      await repairTime('flannel.1 deleted', () => ipIn(ns(), ['link', 'del', 'flannel.1']), () => {
        const l = linkOf(n1);
        if (!l || !l.flags.includes('UP')) return false;
        const addrs = ipJson(ns(), ['addr', 'show', 'flannel.1'])[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`);
        return addrs.includes(own) && peerProgrammed() && !!routeTo(n1, leaseSubnet(c.nodes[2]!));
      });
      const now = linkOf(n1);
      assert.equal(now.address, before.address, 'persisted VtepMAC');
      assert.notEqual(now.ifindex, before.ifindex, 'a new device');
      assert.equal(now.mtu, 1450);
      assert.equal(now.linkinfo.info_data.id, 1);
      assert.match(n1.daemon!.output(), /repaired link flannel\.1/);
      await eventually('pod on n1 → pod on n2 after the re-creation', 5000, () => ping());
    });

    it('a peer\'s lease deleted while our daemon is stopped: its route, ARP and FDB entries are gone right after our start', async () => {
      const n3 = c.nodes[2]!;
      const sub3 = leaseSubnet(n3);
      const mac3 = linkOf(n3).address;
      assert.ok(routeTo(n1, sub3) && neighTo(n1, n3) && fdbTo(n1, n3), 'n3 programmed on n1');
      assert.equal(await n1.daemon!.stop('SIGTERM'), 0);
      assert.equal(await n3.daemon!.stop('SIGTERM'), 0);
      c.etcd.etcdctl(['del', `/coreos.com/network/subnets/${addressOf(sub3)}-24`]);
      await c.start(n1);
      await n1.daemon!.waitForOutput((o) => /leases listed/.test(o), 20_000);
      const t0 = Date.now();
      await eventually('n3\'s entries gone on n1', 2000, () =>
        !routeTo(n1, sub3) && !neighTo(n1, n3) && !bridgeJson(ns(), ['fdb', 'show', 'dev', 'flannel.1']).some((e: any) => e.mac === mac3));
      figures.push(`stale peer removed ≤ ${Date.now() - t0} ms after the start's lease list`);
      assert.ok(peerProgrammed(), 'n2 still programmed');
      assert.ok(ping());
    });
  });
}
