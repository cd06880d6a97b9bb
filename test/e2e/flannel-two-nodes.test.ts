// The scenario the suite exists for: two flannel nodes (network namespaces on a shared underlay
// bridge, vxlan flannel.1 programmed the way flanneld does), pods attached by running the
// kube-flannel conflist chain (flannel → bridge → host-local, then portmap) inside the node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Runtime, type ConfList } from '../helpers/libcni';
import { builds, tempDir } from '../helpers/plugins';
import { inNs, ipJ, ping, sh, shStatus, tcpFetch, tcpServer, waitReady } from '../helpers/sh';

const POD_CIDR = '10.244.0.0/16';

for (const build of builds()) {
  describe(`flannel two-node pod network (${build.label} build)`, () => {
    const tag = `cts${process.pid % 10000}${build.label[0]}`;
    const ns = { fabric: `${tag}-fab`, n1: `${tag}-n1`, n2: `${tag}-n2`, p11: `${tag}-p11`, p12: `${tag}-p12`, p21: `${tag}-p21` };
    const underlay = { n1: '192.168.250.1', n2: '192.168.250.2' };
    const tmp = tempDir('e2e');
    const runtimes: Record<'n1' | 'n2', Runtime> = {} as never;
    const results: Record<string, any> = {};
    const servers: ReturnType<typeof tcpServer>[] = [];

    const podIp = (pod: string): string => String(results[pod].ips[0].address).split('/')[0]!;

    before(() => {
      for (const n of Object.values(ns)) sh('ip', ['netns', 'add', n]);
      sh('ip', ['-n', ns.fabric, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['-n', ns.fabric, 'link', 'set', 'br0', 'up']);
      const vteps: Record<string, string> = {};
      for (const [i, node] of [[1, 'n1'], [2, 'n2']] as const) {
        const nn = ns[node];
        sh('ip', ['-n', nn, 'link', 'set', 'lo', 'up']);
        sh('ip', ['-n', nn, 'link', 'add', `u${i}`, 'type', 'veth', 'peer', 'name', `f${i}`, 'netns', ns.fabric]);
        sh('ip', ['-n', ns.fabric, 'link', 'set', `f${i}`, 'master', 'br0', 'up']);
        sh('ip', ['-n', nn, 'addr', 'add', `${underlay[node]}/24`, 'dev', `u${i}`]);
        sh('ip', ['-n', nn, 'link', 'set', `u${i}`, 'up']);
        // flanneld's vxlan device: VNI 1, port 8472, nolearning, MTU 1450, <subnet>.0/32.
        sh('ip', ['-n', nn, 'link', 'add', 'flannel.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'nolearning', 'local', underlay[node], 'dev', `u${i}`]);
        sh('ip', ['-n', nn, 'link', 'set', 'flannel.1', 'mtu', '1450', 'up']);
        sh('ip', ['-n', nn, 'addr', 'add', `10.244.${i}.0/32`, 'dev', 'flannel.1']);
        vteps[node] = ipJ(nn, ['link', 'show', 'flannel.1'])[0].address;
        const dir = path.join(tmp.path, node);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'subnet.env'), `FLANNEL_NETWORK=${POD_CIDR}\nFLANNEL_SUBNET=10.244.${i}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n`);
      }
      // What flanneld programs for each remote lease: ARP, FDB, then the onlink route.
      for (const [here, there, j] of [['n1', 'n2', 2], ['n2', 'n1', 1]] as const) {
        sh('ip', ['-n', ns[here], 'neigh', 'replace', `10.244.${j}.0`, 'lladdr', vteps[there]!, 'dev', 'flannel.1', 'nud', 'permanent']);
        sh('bridge', ['-n', ns[here], 'fdb', 'append', vteps[there]!, 'dev', 'flannel.1', 'dst', underlay[there], 'self', 'permanent']);
        sh('ip', ['-n', ns[here], 'route', 'replace', `10.244.${j}.0/24`, 'via', `10.244.${j}.0`, 'dev', 'flannel.1', 'onlink']);
      }
      for (const node of ['n1', 'n2'] as const) {
        const dir = path.join(tmp.path, node);
        const list: ConfList = {
          name: 'cbr0',
          cniVersion: '0.3.1',
          plugins: [
            {
              type: 'flannel',
              subnetFile: path.join(dir, 'subnet.env'),
              dataDir: path.join(dir, 'flannel'),
              ipam: { dataDir: path.join(dir, 'networks') },
              delegate: { hairpinMode: true, isDefaultGateway: true },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        };
        runtimes[node] = new Runtime(list, build.dir, path.join(dir, 'cache'), ns[node]);
      }
    });

    after(() => {
      for (const s of servers) s.kill('SIGKILL');
      for (const n of Object.values(ns)) shStatus('ip', ['netns', 'del', n]);
      tmp.cleanup();
    });

    const pods: [string, 'n1' | 'n2', number | undefined][] = [['p11', 'n1', 18080], ['p12', 'n1', undefined], ['p21', 'n2', undefined]];

    it('ADD gives each pod an address from its node\'s /24, a default route via cni0 .1 and MTU 1450', () => {
      for (const [pod, node, hostPort] of pods) {
        const caps = hostPort ? { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] } : {};
        const r = runtimes[node].add({ containerId: `${tag}${pod}`, netns: `/run/netns/${ns[pod as 'p11']}`, ifname: 'eth0', capabilityArgs: caps });
        results[pod] = r;
        const i = node === 'n1' ? 1 : 2;
        assert.equal(r.cniVersion, '0.3.1');
        assert.match(r.ips[0].address, new RegExp(`^10\\.244\\.${i}\\.\\d+/24$`));
        assert.equal(r.ips[0].gateway, `10.244.${i}.1`);
        const link = ipJ(ns[pod as 'p11'], ['link', 'show', 'eth0'])[0];
        assert.equal(link.mtu, 1450);
        const routes = ipJ(ns[pod as 'p11'], ['route', 'show', 'default']);
        assert.equal(routes[0]?.gateway, `10.244.${i}.1`);
        const cni0 = ipJ(ns[node], ['addr', 'show', 'cni0'])[0];
        assert.ok(cni0.addr_info.some((a: any) => a.local === `10.244.${i}.1` && a.prefixlen === 24));
      }
    });

    it('pod ↔ pod on one node', () => {
      assert.ok(ping(ns.p11, podIp('p12')));
      assert.ok(ping(ns.p12, podIp('p11')));
    });

    it('pod ↔ pod across nodes through vxlan', () => {
      assert.ok(ping(ns.p11, podIp('p21')));
      assert.ok(ping(ns.p21, podIp('p12')));
    });

    it('node → remote pod', () => {
      assert.ok(ping(ns.n2, podIp('p11')));
      assert.ok(ping(ns.n1, podIp('p21')));
    });

    it('a hostPort on node 1 is reached from node 2', async () => {
      const srv = tcpServer(ns.p11, 8080, 'hello from p11');
      servers.push(srv);
      await waitReady(srv);
      assert.equal(tcpFetch(ns.n2, underlay.n1, 18080), 'hello from p11');
      assert.equal(tcpFetch(ns.p21, underlay.n1, 18080), 'hello from p11');
    });

    it('DEL of every pod leaves no veth, address file, scratch file or rule', () => {
      for (const [pod, node] of pods) runtimes[node].del({ containerId: `${tag}${pod}`, netns: `/run/netns/${ns[pod as 'p11']}`, ifname: 'eth0' });
      for (const node of ['n1', 'n2'] as const) {
        const links = ipJ(ns[node], ['link', 'show']).map((l: any) => l.ifname as string);
        assert.deepEqual(links.filter((l: string) => l.startsWith('veth')), [], `${node} veths`);
        const dir = path.join(tmp.path, node);
        const addrFiles = fs.readdirSync(path.join(dir, 'networks', 'cbr0')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
        assert.deepEqual(addrFiles, [], `${node} address files`);
        assert.deepEqual(fs.readdirSync(path.join(dir, 'flannel')), [], `${node} scratch files`);
        const rules = inNs(ns[node], 'iptables-save', ['-t', 'nat']);
        assert.doesNotMatch(rules, /CNI-DN-|-j CNI-[0-9a-f]/, `${node} per-pod rules`);
      }
    });
  });
}
