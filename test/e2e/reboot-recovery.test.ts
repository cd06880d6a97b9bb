// Reboot recovery (issue 9): pods with hostPorts run on a flannel node, then the node "reboots"
// without any DEL: every pod netns vanishes (their veths with them), while /var/lib/cni (address
// files, flannel scratch files, last_reserved_ip) persists, and the netfilter rules either
// survived (node namespace kept) or were restored at boot by iptables-restore into a fresh node
// namespace (cni0 gone, conntrack empty). The runtime's result cache is kept or lost. Then the
// runtime starts new pods (reusing host ports) and runs GC with the live set only. Every
// resource of the old pods must be reclaimed, the new pods must be untouched, later ADDs must
// work, and once the new pods are deleted the node must equal its warm baseline.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backdate, type FlannelNode, ipOf, makeFlannelNode, natRules, NOTHING, podResources } from '../helpers/flannel-node';
import { normalizedSnapshot } from '../helpers/kill-trials';
import type { RuntimeConf } from '../helpers/libcni';
import { cleanupAllNetns, makeNetns, type TestNetns } from '../helpers/netns';
import { sleepSync } from '../../shared/base/sleep';
import { builds, tempDir } from '../helpers/plugins';
import { inNs, ping, sh, tcpFetch, tcpServer, udpEchoServer, udpExchange, waitReady } from '../helpers/sh';

/** Older than the GC grace (shared/state/gc-grace.ts): the old pods' files date from before the reboot. */
const BEFORE_REBOOT_MS = 10 * 60_000;
const CLIENT_UDP_PORT = 40123;

interface Scenario {
  cache: 'kept' | 'lost';
  /** rules-survive: the node netns stays (only pods vanish); full: the node netns is recreated and iptables restored */
  reboot: 'rules-survive' | 'full';
}
// Cache kept → libcni's synthesised DELs do the work; cache lost → the plugins' own GC must
// (and the surviving conntrack entry shows whether portmap's GC deletes flows as DEL does).
const SCENARIOS: Scenario[] = [
  { cache: 'kept', reboot: 'rules-survive' },
  { cache: 'lost', reboot: 'rules-survive' },
  { cache: 'lost', reboot: 'full' },
];

/** The `## nft` section with each table's chain blocks sorted (their order carries no meaning), empty base chains left out. */
function sortNftChains(snapshot: string): string {
  return snapshot
    .split(/^(?=## )/m)
    .map((sec) => {
      if (!sec.startsWith('## nft')) return sec;
      const out: string[] = [];
      let blocks: string[][] = [];
      let cur: string[] | undefined;
      for (const l of sec.split('\n')) {
        if (/^\tchain /.test(l)) {
          cur = [l];
          blocks.push(cur);
        } else if (cur) {
          cur.push(l);
          if (l === '\t}') cur = undefined;
        } else if (l === '}') {
          // An empty base chain holds no rule (iptables-restore makes one per builtin chain it names).
          const used = blocks.filter((b) => !(b.length === 3 && /^\t\ttype \w+ hook \w+ priority [\w-]+; policy accept;$/.test(b[1]!)));
          out.push(...used.map((b) => b.join('\n')).sort(), l);
          blocks = [];
        } else {
          out.push(l);
        }
      }
      return out.join('\n');
    })
    .join('');
}

interface Pod {
  ns: TestNetns;
  rc: RuntimeConf;
  result?: any;
}

type Mapping = { hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' };

for (const build of builds()) {
  for (const sc of SCENARIOS) {
    const label = `${build.label[0]}${sc.cache[0]}${sc.reboot[0]}`;
    describe(`reboot recovery (${build.label} build): cache ${sc.cache}, ${sc.reboot === 'full' ? 'node rebooted, iptables restored' : 'netfilter rules survived'}`, () => {
      const tmp = tempDir(`reboot-${label}`);
      let node: FlannelNode;
      let warm = '';
      let seq = 0;
      const oldPods: Pod[] = [];
      const newPods: Pod[] = [];
      const servers: ReturnType<typeof tcpServer>[] = [];
      // iptables-restore into a fresh namespace creates iptables-nft's chains in another order,
      // and every builtin chain it names: compare each nft table's non-empty chains as a set.
      const snapshot = (): string => sortNftChains(normalizedSnapshot(node.ns.name, [node.flannelDir, node.networksDir]));
      const pod = (mappings: Mapping[]): Pod => {
        const ns = makeNetns(`rb${label}`);
        return { ns, rc: { containerId: `rb${process.pid}${label}${++seq}`, netns: ns.path, ifname: 'eth0', capabilityArgs: { portMappings: mappings } } };
      };
      const res = (p: Pod) => podResources(node, p.rc.containerId, [ipOf(p.result)]);
      const live = () => newPods.map((p) => ({ containerID: p.rc.containerId, ifname: 'eth0' }));
      /** Container IDs of the CNI-HOSTPORT-DNAT entries for a host port, in rule order. */
      const entriesFor = (port: number): (string | undefined)[] =>
        natRules(node.ns.name)
          .split('\n')
          .filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') && new RegExp(` --dports (\\d+,)*${port}(,\\d+)* `).test(l))
          .map((l) => /id: \\"([^\\]+)\\"/.exec(l)?.[1]);
      const stopServers = (): void => {
        for (const s of servers.splice(0)) s.kill('SIGKILL');
      };

      before(() => {
        node = makeFlannelNode(build, tmp.path, `rbn${label}`, { subnet: 6 });
        // A warm node: cni0, portmap's top-level chains, host-local's lock exist after the first pod.
        const w = pod([{ hostPort: 18000, containerPort: 80, protocol: 'tcp' }]);
        w.result = node.rt.add(w.rc);
        node.rt.del(w.rc);
        w.ns.cleanup();
        warm = snapshot();
      });

      after(() => {
        stopServers();
        try {
          cleanupAllNetns();
        } finally {
          tmp.cleanup();
        }
      });

      it('old pods run with host ports; one has a live UDP flow through its host port', async () => {
        const mappings: Mapping[][] = [
          [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
          [{ hostPort: 18081, containerPort: 8080, protocol: 'tcp' }, { hostPort: 18090, containerPort: 5353, protocol: 'udp' }],
        ];
        for (const m of mappings) {
          const p = pod(m);
          p.result = node.rt.add(p.rc);
          oldPods.push(p);
          const r = res(p);
          assert.equal(r.addressFiles.length, 1);
          assert.equal(r.masqChains.length, 1);
          assert.equal(r.dnatChains.length, 1);
        }
        const srv = udpEchoServer(oldPods[1]!.ns.name, 5353, 'old');
        servers.push(srv);
        await waitReady(srv);
        assert.match(udpExchange(node.ns.name, node.gateway, 18090, 'one', { srcPort: CLIENT_UDP_PORT }), /^old <- .*: one$/);
        assert.ok(res(oldPods[1]!).conntrack.length > 0, 'a UDP conntrack entry DNATed to the old pod');
      });

      it(`the node reboots: pods vanish without DEL; state files persist; cache ${sc.cache}`, () => {
        stopServers(); // a process inside a netns would keep it (and its veth) alive
        for (const p of oldPods) p.ns.cleanup();
        if (sc.reboot === 'full') {
          const v4 = inNs(node.ns.name, 'iptables-save', []);
          const v6 = inNs(node.ns.name, 'ip6tables-save', []);
          sh('ip', ['netns', 'del', node.ns.name]);
          sh('ip', ['netns', 'add', node.ns.name]);
          sh('ip', ['-n', node.ns.name, 'link', 'set', 'lo', 'up']);
          sh('ip', ['netns', 'exec', node.ns.name, 'iptables-restore'], { input: v4 });
          sh('ip', ['netns', 'exec', node.ns.name, 'ip6tables-restore'], { input: v6 });
        }
        if (sc.cache === 'lost') fs.rmSync(node.cacheDir, { recursive: true, force: true });
        for (const p of oldPods) {
          backdate(path.join(node.flannelDir, p.rc.containerId), BEFORE_REBOOT_MS);
          for (const f of podResources(node, p.rc.containerId, [ipOf(p.result)]).addressFiles) backdate(path.join(node.netDir, f), BEFORE_REBOOT_MS);
        }

        // The kernel tears a deleted netns (and the veth pairs in it) down asynchronously.
        const veths = (): unknown[] => JSON.parse(sh('ip', ['-n', node.ns.name, '-j', 'link', 'show', 'type', 'veth']) || '[]');
        for (let i = 0; i < 100 && veths().length > 0; i++) sleepSync(100);
        assert.deepEqual(veths(), [], 'no veth is left on the node');
        for (const p of oldPods) {
          const r = res(p);
          assert.equal(r.addressFiles.length, 1, 'the address file persisted');
          assert.equal(r.scratchFile, true, 'the scratch file persisted');
          assert.equal(r.masqChains.length, 1, 'the ipMasq chain survived / was restored');
          assert.equal(r.dnatChains.length, 1, 'the portmap chain survived / was restored');
          assert.equal(r.cacheFile, sc.cache === 'kept');
        }
        const ct = res(oldPods[1]!).conntrack;
        if (sc.reboot === 'full') assert.deepEqual(ct, [], 'a fresh node has no conntrack entries');
        else assert.ok(ct.length > 0, 'the old UDP flow is still tracked');
      });

      if (sc.cache === 'lost') {
        it('with the whole cache dir gone, libcni\'s GC does nothing at all (not even the plugins\' GC)', () => {
          const before = oldPods.map(res);
          const n = node.rt.calls.length;
          assert.deepEqual(node.rt.gc([]), []);
          assert.equal(node.rt.calls.length, n, 'no plugin ran');
          assert.deepEqual(oldPods.map(res), before);
        });
      }

      it('new pods start, reusing host ports; the newest entry for 18080 comes first (last ADD wins a port)', () => {
        const mappings: Mapping[][] = [
          [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }],
          [{ hostPort: 18081, containerPort: 8080, protocol: 'tcp' }, { hostPort: 18091, containerPort: 5353, protocol: 'udp' }],
        ];
        const oldIps = new Set(oldPods.map((p) => ipOf(p.result)));
        for (const m of mappings) {
          const p = pod(m);
          p.result = node.rt.add(p.rc);
          newPods.push(p);
          assert.match(p.result.ips[0].address, /^10\.244\.6\.\d+\/24$/);
          assert.ok(!oldIps.has(ipOf(p.result)), 'the old addresses are still reserved until GC');
        }
        assert.deepEqual(entriesFor(18080), [newPods[0]!.rc.containerId, oldPods[0]!.rc.containerId]);
      });

      it('GC with the live set only reclaims every resource of the old pods', () => {
        if (sc.reboot === 'rules-survive') {
          // One more datagram of the old flow (nobody answers) renews its conntrack timeout.
          udpExchange(node.ns.name, node.gateway, 18090, 'three', { srcPort: CLIENT_UDP_PORT, timeoutMs: 300 });
          assert.ok(res(oldPods[1]!).conntrack.length > 0, 'precondition: the old UDP flow is still tracked');
        }
        const n = node.rt.calls.length;
        assert.deepEqual(node.rt.gc(live()).map((e) => e.message), []);
        const calls = node.rt.calls.slice(n).map((c) => `${c.command} ${c.type}${c.env.CNI_CONTAINERID ? ' ' + c.env.CNI_CONTAINERID : ''}`);
        const dels = sc.cache === 'kept' ? oldPods.flatMap((p) => [`DEL portmap ${p.rc.containerId}`, `DEL flannel ${p.rc.containerId}`]) : [];
        assert.deepEqual(calls, [...dels, 'GC flannel', 'GC portmap']);
        for (const p of oldPods) assert.deepEqual(res(p), NOTHING, `old pod ${p.rc.containerId}`);
        assert.deepEqual(entriesFor(18080), [newPods[0]!.rc.containerId]);
      });

      it('the new pods are untouched: resources, CHECK, gateway, TCP and UDP host ports', async () => {
        for (const p of newPods) {
          const r = res(p);
          assert.deepEqual(r.addressFiles, [ipOf(p.result)]);
          assert.equal(r.scratchFile, true);
          assert.equal(r.masqChains.length, 1);
          assert.equal(r.dnatChains.length, 1);
          assert.equal(r.cacheFile, true);
          node.rt.check(p.rc);
          assert.ok(ping(p.ns.name, node.gateway), `${p.rc.containerId} → gateway`);
        }
        const tcp = tcpServer(newPods[0]!.ns.name, 8080, 'new-0');
        const udp = udpEchoServer(newPods[1]!.ns.name, 5353, 'new-1');
        servers.push(tcp, udp);
        await Promise.all([waitReady(tcp), waitReady(udp)]);
        assert.equal(tcpFetch(node.ns.name, node.gateway, 18080), 'new-0', 'host port 18080 now reaches the new pod');
        assert.match(udpExchange(node.ns.name, node.gateway, 18091, 'ping'), /^new-1 <- .*: ping$/);
        stopServers();
      });

      it('a later ADD gets an address normally', () => {
        const p = pod([]);
        p.result = node.rt.add(p.rc);
        newPods.push(p);
        assert.match(p.result.ips[0].address, /^10\.244\.6\.\d+\/24$/);
        assert.equal(new Set(newPods.map((x) => ipOf(x.result))).size, newPods.length, 'distinct addresses');
        assert.deepEqual(res(p).addressFiles, [ipOf(p.result)]);
        assert.ok(ping(p.ns.name, node.gateway));
      });

      it('after DEL of the new pods the node equals its warm baseline', () => {
        for (const p of newPods) node.rt.del(p.rc);
        assert.deepEqual(fs.readdirSync(path.join(node.cacheDir, 'results')), []);
        assert.equal(snapshot(), warm);
      });
    });
  }
}
