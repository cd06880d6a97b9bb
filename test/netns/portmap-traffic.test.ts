// portmap with real traffic (cni-reference-behaviour.md §4, §8.4 integration): bridge → portmap
// chained by the libcni harness inside a throw-away "node" namespace, pods with real TCP/UDP
// listeners, and a "client" namespace on a veth to the node (192.168.77.2 → 192.168.77.1).
// For each build and each backend (iptables, nftables): a hostPort reached from outside, from
// 127.0.0.1 on the node, from the pod itself (hairpin) and from another pod; a UDP hostPort
// handed from one pod to the next while a client keeps one flow open (conntrack flush); and no
// rule of ours left after DEL. The servers report the peer address they see, so the NAT done
// (DNAT only, or DNAT + masquerade) is asserted too, not only reachability.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Runtime, type ConfList, type RuntimeConf } from '../helpers/libcni';
import { builds, tempDir } from '../helpers/plugins';
import { inNs, ipJ, sh, shStatus, tcpFetch, tcpWhoServer, udpEchoServer, udpExchange, waitReady } from '../helpers/sh';

const ROOT = process.getuid?.() === 0;
const PREFIX = `cts${process.pid}`;
const NODE_IP = '192.168.77.1';
const CLIENT_IP = '192.168.77.2';
const GATEWAY = '10.22.0.1';
const TCP_HOST_PORT = 18080;
const UDP_HOST_PORT = 18053;
const REUSED_UDP_HOST_PORT = 18054;
const CLIENT_SRC_PORT = 40000;

type Backend = 'iptables' | 'nftables';
type Pod = 'pa' | 'pb' | 'r1' | 'r2';

const ipOf = (result: any): string => String(result.ips[0].address).split('/')[0]!;

for (const build of ROOT ? builds() : []) {
  for (const backend of ['iptables', 'nftables'] as Backend[]) {
    describe(`portmap real traffic (${backend} backend, ${build.label} build)`, () => {
      const tag = `${PREFIX}${build.label[0]}${backend[0]}`;
      const ns = { node: `${tag}-node`, client: `${tag}-cl`, pa: `${tag}-pa`, pb: `${tag}-pb`, r1: `${tag}-r1`, r2: `${tag}-r2` };
      const cid = (pod: Pod): string => `${tag}-${pod}-0123abcd`;
      const tmp = tempDir('pmtraffic');
      const servers: ChildProcess[] = [];
      const results: Partial<Record<Pod, any>> = {};
      const added = new Set<Pod>();
      let rt: Runtime;

      const list: ConfList = {
        cniVersion: '1.0.0',
        name: `pmt-${tag}`,
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            isDefaultGateway: true,
            hairpinMode: true,
            ipMasq: true,
            ipMasqBackend: backend,
            ipam: { type: 'host-local', subnet: '10.22.0.0/24', dataDir: path.join(tmp.path, 'ipam') },
          },
          { type: 'portmap', capabilities: { portMappings: true }, backend },
        ],
      };

      const rc = (pod: Pod, mappings: Array<{ hostPort: number; containerPort: number; protocol: string }>): RuntimeConf => ({
        containerId: cid(pod),
        netns: `/run/netns/${ns[pod]}`,
        ifname: 'eth0',
        capabilityArgs: mappings.length ? { portMappings: mappings } : {},
      });
      const podConf: Record<Pod, RuntimeConf> = {
        pa: rc('pa', [
          { hostPort: TCP_HOST_PORT, containerPort: 8080, protocol: 'tcp' },
          { hostPort: UDP_HOST_PORT, containerPort: 5353, protocol: 'udp' },
        ]),
        pb: rc('pb', []),
        r1: rc('r1', [{ hostPort: REUSED_UDP_HOST_PORT, containerPort: 5353, protocol: 'udp' }]),
        r2: rc('r2', [{ hostPort: REUSED_UDP_HOST_PORT, containerPort: 5353, protocol: 'udp' }]),
      };

      const addPod = (pod: Pod): any => {
        const r = rt.add(podConf[pod]);
        added.add(pod);
        results[pod] = r;
        return r;
      };
      const delPod = (pod: Pod): void => {
        rt.del(podConf[pod]);
        added.delete(pod);
      };
      const serve = async (p: ChildProcess): Promise<void> => {
        servers.push(p);
        await waitReady(p);
      };

      const iptablesNat = (): string => inNs(ns.node, 'iptables-save', ['-t', 'nat']);
      const nftRuleset = (): string => inNs(ns.node, 'nft', ['list', 'ruleset']);
      const conntrackUdp = (port: number): string =>
        shStatus('ip', ['netns', 'exec', ns.node, 'conntrack', '-L', '-p', 'udp', '--orig-port-dst', String(port)]).out;
      /** What the node's netfilter looks like, for failure messages. */
      const dumps = (): string =>
        `\n--- iptables-save -t nat (node) ---\n${shStatus('ip', ['netns', 'exec', ns.node, 'iptables-save', '-t', 'nat']).out}` +
        `\n--- nft list ruleset (node) ---\n${shStatus('ip', ['netns', 'exec', ns.node, 'nft', 'list', 'ruleset']).out}` +
        `\n--- conntrack -L (node) ---\n${shStatus('ip', ['netns', 'exec', ns.node, 'conntrack', '-L']).out}`;
      const expectReply = (got: string, want: string, what: string): void => {
        if (got !== want) assert.fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}${dumps()}`);
      };

      before(() => {
        for (const n of Object.values(ns)) sh('ip', ['netns', 'add', n]);
        for (const n of [ns.node, ns.client]) sh('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
        sh('ip', ['-n', ns.node, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
        sh('ip', ['-n', ns.node, 'addr', 'add', `${NODE_IP}/24`, 'dev', 'up0']);
        sh('ip', ['-n', ns.node, 'link', 'set', 'up0', 'up']);
        sh('ip', ['-n', ns.client, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0']);
        sh('ip', ['-n', ns.client, 'link', 'set', 'eth0', 'up']);
        rt = new Runtime(list, build.dir, path.join(tmp.path, 'cache'), ns.node);
      });

      after(() => {
        for (const s of servers) s.kill('SIGKILL');
        // Deleting the node namespace takes its bridge, rules and conntrack table with it.
        for (const n of Object.values(ns)) shStatus('ip', ['netns', 'del', n]);
        tmp.cleanup();
      });

      it('ADD: pod A with TCP+UDP hostPorts, pod B without; CHECK passes; rules carry the container ID', async () => {
        const a = addPod('pa');
        const b = addPod('pb');
        for (const r of [a, b]) {
          assert.equal(r.cniVersion, '1.0.0');
          assert.match(r.ips[0].address, /^10\.22\.0\.\d+\/24$/);
          assert.equal(r.ips[0].gateway, GATEWAY);
        }
        rt.check(podConf.pa);
        rt.check(podConf.pb);
        if (backend === 'iptables') {
          const nat = iptablesNat();
          assert.match(nat, /^:CNI-DN-[0-9a-f]{21} /m, 'a CNI-DN chain for pod A');
          assert.ok(nat.includes(`id: \\"${cid('pa')}\\"`), `pod A's entry rules${dumps()}`);
        } else {
          const rules = nftRuleset();
          assert.match(rules, /table ip cni_hostport/);
          assert.ok(rules.includes(`dnat to ${ipOf(a)}:8080`) && rules.includes(cid('pa')), `pod A's nft rules${dumps()}`);
          assert.doesNotMatch(iptablesNat(), /CNI-DN-/, 'the nftables backend makes no iptables chains');
        }
        // (pod B's ID does appear in the bridge's ipMasq rules, so look at portmap's own only.)
        const portmapRules = backend === 'iptables'
          ? iptablesNat().split('\n').filter((l) => l.includes('dnat name:')).join('\n')
          : inNs(ns.node, 'nft', ['list', 'table', 'ip', 'cni_hostport']);
        assert.ok(portmapRules.includes(cid('pa')), `pod A's portmap rules\n${portmapRules}`);
        assert.ok(!portmapRules.includes(cid('pb')), `no portmap rule for pod B (no mappings)\n${portmapRules}`);
        await serve(tcpWhoServer(ns.pa, 8080, 'A'));
        await serve(udpEchoServer(ns.pa, 5353, 'A'));
      });

      it('TCP hostPort from the client namespace via the node address (DNAT only, client address kept)', () => {
        expectReply(tcpFetch(ns.client, NODE_IP, TCP_HOST_PORT), `A <- ${CLIENT_IP}`, 'client → node:hostPort/tcp');
      });

      it('UDP hostPort from the client namespace via the node address', () => {
        const got = udpExchange(ns.client, NODE_IP, UDP_HOST_PORT, 'ping', { srcPort: CLIENT_SRC_PORT + 1 });
        expectReply(got, `A <- ${CLIENT_IP}:${CLIENT_SRC_PORT + 1}: ping`, 'client → node:hostPort/udp');
      });

      it('TCP hostPort via 127.0.0.1 inside the node (route_localnet + localhost masquerade)', () => {
        const localnet = inNs(ns.node, 'cat', ['/proc/sys/net/ipv4/conf/cni0/route_localnet']).trim();
        assert.equal(localnet, '1', 'route_localnet on the bridge that routes to the pod');
        expectReply(tcpFetch(ns.node, '127.0.0.1', TCP_HOST_PORT), `A <- ${GATEWAY}`, 'node 127.0.0.1 → hostPort');
      });

      it('hairpin: pod A reaches its own hostPort via the node address (masqueraded to the gateway)', () => {
        expectReply(tcpFetch(ns.pa, NODE_IP, TCP_HOST_PORT), `A <- ${GATEWAY}`, 'pod A → node:hostPort (hairpin)');
      });

      // The reference's iptables hairpin rule matches the pod's address with the prefix length
      // of prevResult (`-s 10.22.0.2/24`, i.e. the whole pod subnet), so a neighbour pod is
      // masqueraded to the gateway too; its nftables rule matches the pod's address only
      // (`ip saddr 10.22.0.2`, PR #1235), so the neighbour keeps its own address.
      const neighbourSeenAs = (): string => (backend === 'iptables' ? GATEWAY : ipOf(results.pb));
      it(`another pod on the node reaches pod A's hostPort via the node address (${backend === 'iptables' ? 'masqueraded: subnet-wide hairpin rule' : 'its own address kept'})`, () => {
        expectReply(tcpFetch(ns.pb, NODE_IP, TCP_HOST_PORT), `A <- ${neighbourSeenAs()}`, 'pod B → node:hostPort');
      });

      it('UDP hostPort handed from pod R1 to pod R2 while the client keeps one flow: the next datagrams reach R2', async () => {
        const r1 = addPod('r1');
        await serve(udpEchoServer(ns.r1, 5353, 'R1'));
        const send = (msg: string, timeoutMs?: number): string =>
          udpExchange(ns.client, NODE_IP, REUSED_UDP_HOST_PORT, msg, { srcPort: CLIENT_SRC_PORT, timeoutMs });
        for (const i of [1, 2, 3]) expectReply(send(`n${i}`), `R1 <- ${CLIENT_IP}:${CLIENT_SRC_PORT}: n${i}`, `datagram ${i} to R1`);
        const flow = conntrackUdp(REUSED_UDP_HOST_PORT);
        assert.match(flow, new RegExp(`src=${CLIENT_IP} dst=${NODE_IP} sport=${CLIENT_SRC_PORT} dport=${REUSED_UDP_HOST_PORT} .*src=${ipOf(r1).replace(/\./g, '\\.')} dst=${CLIENT_IP} sport=5353 dport=${CLIENT_SRC_PORT}`), 'the client flow is DNATed to R1');

        delPod('r1');
        // With no mapping the datagram goes to the node itself (nothing listens): the flow now
        // has an un-NATed conntrack entry that only the flush on ADD removes.
        assert.equal(send('gap', 800), '', 'nobody answers while the hostPort is unmapped');
        const r2 = addPod('r2');
        assert.notEqual(ipOf(r2), ipOf(r1), 'R2 has a new address (else a stale flow would reach it anyway)');
        await serve(udpEchoServer(ns.r2, 5353, 'R2'));
        for (const i of [4, 5]) expectReply(send(`n${i}`), `R2 <- ${CLIENT_IP}:${CLIENT_SRC_PORT}: n${i}`, `datagram ${i} (same source port) to R2`);
        assert.match(conntrackUdp(REUSED_UDP_HOST_PORT), new RegExp(`src=${ipOf(r2).replace(/\./g, '\\.')} dst=${CLIENT_IP} sport=5353 dport=${CLIENT_SRC_PORT}`), 'the flow is now DNATed to R2');
      });

      it('DEL of every pod leaves no portmap chain or rule naming the containers', () => {
        for (const pod of [...added]) delPod(pod);
        const nat = iptablesNat();
        assert.doesNotMatch(nat, /CNI-DN-/, `no CNI-DN chain or jump\n${nat}`);
        assert.doesNotMatch(nat, /-j CNI-[0-9a-f]/, `no per-pod ipMasq chain\n${nat}`);
        const all = inNs(ns.node, 'iptables-save', []);
        const rules = nftRuleset();
        for (const pod of ['pa', 'pb', 'r1', 'r2'] as Pod[]) {
          assert.ok(!all.includes(cid(pod)), `iptables-save still names ${cid(pod)}\n${all}`);
          assert.ok(!rules.includes(cid(pod)), `nft list ruleset still names ${cid(pod)}\n${rules}`);
        }
        for (const pod of ['pa', 'pb', 'r1', 'r2'] as Pod[]) {
          assert.deepEqual(ipJ(ns[pod], ['link', 'show']).map((l: any) => l.ifname).filter((n: string) => n !== 'lo'), [], `${pod} interfaces`);
        }
      });
    });
  }
}

describe('portmap real traffic: residue', { skip: !ROOT && 'needs root' }, () => {
  it('no namespace of this run is left', () => {
    // Runs after the describes above (node:test runs top-level suites in order).
    const left = sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(PREFIX));
    assert.deepEqual(left, []);
  });
});
