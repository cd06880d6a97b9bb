// etcd faults (issue 15), on the standalone build only (the daemon logic is the same code in
// both builds; these tests take minutes): etcd stopped for 30 s, etcd hung for 30 s (SIGSTOP:
// the kernel accepts connections, nothing answers), one node cut off from etcd for longer than
// its lease TTL, compaction past a node's watch revision, and a 3-member etcd losing its leader.
// The datapath stays (a 10/s ping between pods loses nothing, routes stay), /readyz says "etcd
// unreachable since …" within 10 s and is ready again within 15 s of etcd's return, with the
// same subnet.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlannelCluster, addressOf, leaseSubnet, routeTo, type ClusterNode } from '../helpers/flannel-cluster';
import { attachPod, httpIn, pingStream, type Pod } from '../helpers/flannel-pods';
import { eventually } from '../helpers/flanneld-proc';
import { execIn } from '../helpers/netns';
import { builds } from '../helpers/plugins';

const CONFIG = { Network: '10.2.0.0/16', Backend: { Type: 'vxlan' } };
const HEALTH_PORT = 9102;
const OUTAGE_MS = 30_000;
import { sleep } from '../../shared/base/sleep';
const build = builds().find((b) => b.label === 'standalone')!;

const readyz = (n: ClusterNode): { status: number; body: string } => httpIn(n.host.ns.name, `http://127.0.0.1:${HEALTH_PORT}/readyz`);
const healthArgs = [`--healthz-port=${HEALTH_PORT}`, '--healthz-ip=127.0.0.1'];
/** Every node has a route to every other node's subnet. */
const meshProgrammed = (nodes: ClusterNode[]): boolean => nodes.every((a) => nodes.every((b) => a === b || !!routeTo(a, leaseSubnet(b))));

/** Drops n's TCP with etcd (10.0.0.1:2379) both ways in n's own namespace: a path that answers nothing. */
function cutOff(n: ClusterNode, on: boolean): void {
  execIn(n.host.ns.name, 'iptables', [on ? '-I' : '-D', 'OUTPUT', '-d', '10.0.0.1', '-p', 'tcp', '--dport', '2379', '-j', 'DROP']);
  execIn(n.host.ns.name, 'iptables', [on ? '-I' : '-D', 'INPUT', '-s', '10.0.0.1', '-p', 'tcp', '--sport', '2379', '-j', 'DROP']);
}

describe(`flanneld keeps the datapath through etcd faults and reports them on /readyz (${build.label} build)`, () => {
  let c: FlannelCluster;
  let nodes: ClusterNode[];
  let p1: Pod;
  let p2: Pod;
  const figures: string[] = [];

  before(async () => {
    c = await FlannelCluster.create(build, 'ef', 3, { '/coreos.com/network': CONFIG });
    nodes = c.nodes;
    for (const n of nodes) await c.start(n, { extra: healthArgs });
    await eventually('mesh programmed', 10_000, () => meshProgrammed(nodes));
    p1 = attachPod(c, nodes[0]!, 'ef');
    p2 = attachPod(c, nodes[1]!, 'ef');
    await eventually('every node ready', 10_000, () => nodes.every((n) => readyz(n).status === 200));
  });

  after(async () => {
    await c?.destroy();
    if (figures.length) console.log(`# figure (${build.label}) etcd faults: ${figures.join('; ')}`);
  });

  /** An outage of every node's etcd: begin, hold for OUTAGE_MS, end; asserts the whole contract. */
  const outage = async (what: string, begin: () => Promise<void> | void, end: () => Promise<void> | void): Promise<void> => {
    const subnets = nodes.map(leaseSubnet);
    const keys = Object.keys(c.leases()).sort();
    const s = pingStream(p1.ns, p2.ip, 0.1);
    await sleep(500);
    await begin();
    const t0 = Date.now();
    // Every node says why it is not ready within 10 s.
    const why = await eventually(`${what}: every node not ready with the reason`, 12_000, () => {
      const r = nodes.map(readyz);
      return r.every((x) => x.status === 503 && /etcd unreachable since \d{4}-\d\d-\d\dT/.test(x.body)) && r[0]!.body;
    });
    const notReadyMs = Date.now() - t0;
    assert.ok(notReadyMs <= 10_000, `${what}: not ready only after ${notReadyMs} ms`);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - t0)));
    assert.ok(meshProgrammed(nodes), `${what}: routes kept through the outage`);
    await end();
    const t1 = Date.now();
    await eventually(`${what}: every node ready again`, 20_000, () => nodes.every((n) => readyz(n).status === 200));
    const readyMs = Date.now() - t1;
    await sleep(500);
    const r = await s.stop();
    figures.push(`${what}: not ready after ${notReadyMs} ms ("${why.trim()}"), ready ${readyMs} ms after etcd's return, ${r.lost.length} of ${r.transmitted} pings lost`);
    assert.ok(readyMs <= 15_000, `${what}: ready only ${readyMs} ms after etcd's return`);
    assert.deepEqual(r.lost, [], `${what}: lost icmp_seq ${r.lost.join(',')}`);
    assert.deepEqual(nodes.map(leaseSubnet), subnets, 'same subnets');
    assert.deepEqual(Object.keys(c.leases()).sort(), keys, 'same lease keys in etcd');
    assert.ok(meshProgrammed(nodes));
    for (const n of nodes) assert.equal(n.daemon!.proc.exitCode, null, `${n.name}'s daemon still running`);
  };

  it('etcd stopped for 30 s: 0 pings lost, routes stay, /readyz "etcd unreachable since …" within 10 s, ready within 15 s of its return, same subnets', async () => {
    await outage('etcd stopped 30 s', () => c.etcd.kill(), () => c.etcd.restart());
  });

  it('etcd hung for 30 s (SIGSTOP: connections accepted, nothing answered): the same', async () => {
    await outage('etcd hung (SIGSTOP) 30 s', () => c.etcd.pause(), () => c.etcd.resume());
  });

  it('a node cut off from etcd for longer than its lease TTL (10 s): its datapath stays, the lease is re-acquired with the same subnet through CAS, peers program it again', async () => {
    const [n1, n2] = nodes as [ClusterNode, ClusterNode];
    // n2 restarted with a short TTL (restart without loss is its own test).
    await n2.daemon!.stop('SIGTERM');
    await c.start(n2, { extra: [...healthArgs, '--subnet-lease-ttl=10'] });
    await n2.daemon!.waitForOutput((o) => /leases listed/.test(o));
    await eventually('n2 ready', 10_000, () => readyz(n2).status === 200);
    const sub = leaseSubnet(n2);
    const key = `/coreos.com/network/subnets/${addressOf(sub)}-24`;
    const before = c.leases()[key]!;
    cutOff(n2, true);
    const t0 = Date.now();
    try {
      const why = await eventually('n2 not ready with the reason', 12_000, () => { const r = readyz(n2); return r.status === 503 && /etcd unreachable since/.test(r.body) && r.body; });
      const notReadyMs = Date.now() - t0;
      assert.ok(notReadyMs <= 10_000, `${notReadyMs} ms`);
      await eventually('n2\'s lease expired in etcd', 20_000, () => !c.leases()[key]);
      const expiredMs = Date.now() - t0;
      await eventually('n1 drops n2 (its lease is gone)', 5000, () => !routeTo(n1, sub));
      await sleep(3000);
      assert.ok(nodes.every((b) => b === n2 || routeTo(n2, leaseSubnet(b))), 'n2 keeps its routes to the peers');
      figures.push(`n2 cut off: not ready after ${notReadyMs} ms ("${why.trim()}"), its 10 s lease expired in etcd after ${expiredMs} ms`);
    } finally {
      cutOff(n2, false);
    }
    const t1 = Date.now();
    await eventually('n2 ready again', 20_000, () => readyz(n2).status === 200);
    const readyMs = Date.now() - t1;
    const after = await eventually('n2\'s key re-created', 5000, () => c.leases()[key]);
    await eventually('n1 programs n2 again', 5000, () => routeTo(n1, sub));
    figures.push(`n2 back: ready ${readyMs} ms after the path returned`);
    assert.ok(readyMs <= 15_000, `${readyMs} ms`);
    assert.equal(leaseSubnet(n2), sub, 'same subnet');
    assert.notEqual(after.lease, before.lease, 'under a new etcd lease');
    assert.equal(after.value.NodeID, before.value.NodeID);
    await n2.daemon!.waitForOutput((o) => /lease .*re-acquired/.test(o), 5000);
    await eventually('pod on n1 → pod on n2', 5000, () => execIn(p1.ns, 'busybox', ['ping', '-c', '1', '-W', '1', p2.ip]).includes('1 packets received'));
  });

  it('compaction past a node\'s watch revision while it is cut off, then a node joins: it is programmed there too', async () => {
    const n1 = nodes[0]!;
    cutOff(n1, true);
    let n4: ClusterNode;
    try {
      await eventually('n1 not ready', 12_000, () => readyz(n1).status === 503);
      // Until gRPC keepalive (10 s + 5 s) gives the connection up, the watch stream would simply
      // resume on it: wait for it to go, so the watch must be re-established after the compaction.
      const t0 = Date.now();
      await eventually('n1\'s connection to etcd given up', 30_000, () =>
        execIn(n1.host.ns.name, 'ss', ['-Htn', 'state', 'established', 'dst', '10.0.0.1:2379']).trim() === '');
      figures.push(`n1's dead connection to etcd closed ${Date.now() - t0} ms after it was not ready`);
      n4 = c.addNode();
      await c.start(n4, { extra: healthArgs });
      const sub4 = leaseSubnet(n4);
      await eventually('n2 programs n4', 5000, () => routeTo(nodes[1]!, sub4));
      const rev = JSON.parse(c.etcd.etcdctl(['endpoint', 'status', '-w', 'json']).replace(/"(member_id|cluster_id|leader|raft_term)":(\d+)/g, '"$1":"$2"'))[0].Status.header.revision;
      c.etcd.etcdctl(['compaction', String(rev)]);
      assert.ok(!routeTo(n1, sub4), 'n1 cannot know n4 yet');
    } finally {
      cutOff(n1, false);
    }
    const t0 = Date.now();
    const sub4 = leaseSubnet(n4!);
    await eventually('n1 programs n4 after the compaction', 20_000, () => routeTo(n1, sub4));
    figures.push(`compaction: n1 programmed the joined node ${Date.now() - t0} ms after its path returned`);
    await n1.daemon!.waitForOutput((o) => /re-listing/.test(o), 5000);
    await eventually('n1 ready', 15_000, () => readyz(n1).status === 200);
  });
});

describe(`flanneld against a 3-member etcd whose leader is killed (${build.label} build)`, () => {
  let c: FlannelCluster;
  const figures: string[] = [];

  before(async () => {
    c = await FlannelCluster.create(build, 'e3', 3, { '/coreos.com/network': CONFIG }, { etcdMembers: 3 });
  });

  after(async () => {
    await c?.destroy();
    if (figures.length) console.log(`# figure (${build.label}) 3-member etcd: ${figures.join('; ')}`);
  });

  it('the leader killed: a node joining after the failover is programmed on the others; all ready', async () => {
    const [n1, n2, n3] = c.nodes as [ClusterNode, ClusterNode, ClusterNode];
    assert.equal(c.daemonArgs(n1).find((a) => a.startsWith('--etcd-endpoints='))!.split(',').length, 3, 'three endpoints given');
    for (const n of [n1, n2]) await c.start(n, { extra: healthArgs });
    await eventually('n1 and n2 programmed', 10_000, () => meshProgrammed([n1, n2]));
    const cl = c.etcdCluster!;
    const leader = cl.leader();
    // The daemons spread their calls over the endpoints: wait until both talk to the leader, so
    // its loss is a failover for them and not a member they never used.
    const leaderPort = cl.members[leader]!.clientPort;
    await eventually('n1 and n2 connected to the leader', 20_000, () => [n1, n2].every((n) =>
      execIn(n.host.ns.name, 'ss', ['-Htn', 'state', 'established', 'dst', `10.0.0.1:${leaderPort}`]).trim() !== ''));
    await cl.members[leader]!.kill();
    const t0 = Date.now();
    const next = await eventually('a new leader', 15_000, () => { try { const l = cl.leader(); return l !== leader ? String(l) : false; } catch { return false; } });
    figures.push(`member ${leader} (leader) killed, member ${next} leads after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await c.start(n3, { extra: healthArgs });
    const sub3 = leaseSubnet(n3);
    await eventually('n3 programmed on n1 and n2', 15_000, () => routeTo(n1, sub3) && routeTo(n2, sub3));
    figures.push(`n3 start → programmed on n1 and n2 ${Date.now() - t1} ms`);
    assert.ok(meshProgrammed([n1, n2, n3]));
    await eventually('every node ready', 15_000, () => [n1, n2, n3].every((n) => readyz(n).status === 200));
  });
});
