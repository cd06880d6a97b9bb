// The deployment notes' scenario on this project's code alone: an etcd with client-certificate
// TLS, three nodes on one L2 underlay each running our flanneld with the notes' mixed-dash flags
// and --ip-masq, pods attached by our flannel conflist, then the cluster's life: a node joins, a
// node's lease goes, a daemon is killed and restarted under a ping stream, a second network on
// host-gw beside the first, and the start-up errors a user meets (missing config, invalid
// config, wrong CA).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeEtcdTls } from '../helpers/etcd';
import { addressOf, envOf, FlannelCluster, leaseSubnet, linkOf, routeTo, type ClusterNode } from '../helpers/flannel-cluster';
import { eventually, startFlanneld, waitForFile, type Flanneld } from '../helpers/flanneld-proc';
import { flannelConflist } from '../helpers/flannel-node';
import { Runtime } from '../helpers/libcni';
import { bridgeJson, execIn, ipIn, ipJson, makeNetns } from '../helpers/netns';
import { builds } from '../helpers/plugins';
import { tcpFetch, tcpServer, waitReady } from '../helpers/sh';

const NETWORK = '10.2.0.0/16';
const CONFIG = JSON.stringify({ Network: NETWORK, Backend: { Type: 'vxlan' } });
const HOSTGW_CONFIG = JSON.stringify({ Network: '10.3.0.0/16', Backend: { Type: 'host-gw' } });

const subnetOf = (n: ClusterNode): string => leaseSubnet(n);
const base = addressOf;

for (const build of builds()) {
  describe(`flanneld: the deployment notes' network on our code alone (${build.label} build)`, () => {
    const tag = `fd${build.label[0]}`;
    let c: FlannelCluster;
    let nodes: ClusterNode[];
    const rts: Record<string, Runtime> = {};
    const pods: Record<string, { ns: string; ip: string; node: ClusterNode }> = {};
    const figures: string[] = [];
    const etcdctl = (args: string[]): string => c.etcd.etcdctl(args);
    const vtep = (n: ClusterNode): any => linkOf(n);

    before(async () => {
      c = await FlannelCluster.create(build, tag, 3, { '/coreos.com/network': CONFIG, '/hostgw/network': HOSTGW_CONFIG });
      nodes = c.nodes;
    });

    after(async () => {
      await c?.destroy();
      if (figures.length) console.log(`# flanneld figures (${build.label}): ${figures.join('; ')}`);
    });

    it('two daemons start with the notes\' flags, lease a /24 each and write subnet.env; READY=1 reaches NOTIFY_SOCKET', async () => {
      const sock = path.join(c.tmp.path, 'notify.sock');
      const rx = spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nprint(s.recv(4096).decode(),flush=True)`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
      let got = '';
      rx.stdout!.on('data', (d) => (got += d));
      await eventually('notify receiver bound', 5000, () => got.includes('bound'));
      try {
        const [n1, n2] = nodes as [ClusterNode, ClusterNode];
        const t1 = await c.start(n1, { env: { NOTIFY_SOCKET: sock } });
        // n2 takes its TLS files from the environment, as a systemd EnvironmentFile would give them.
        n2.daemon = startFlanneld(build.dir, n2.host.ns.name, ['--ip-masq', `--etcd-endpoints=${c.etcd.endpoint}`, `--subnet-file=${n2.subnetFile}`], {
          FLANNELD_ETCD_CAFILE: c.certs.ca, FLANNELD_ETCD_CERTFILE: c.certs.clientCert, FLANNELD_ETCD_KEYFILE: c.certs.clientKey,
        });
        await waitForFile(n2.subnetFile, 20_000, n2.daemon);
        figures.push(`start → subnet.env ${t1.ms} ms`);
        await eventually('READY=1 on NOTIFY_SOCKET', 5000, () => got.includes('READY=1'));
      } finally {
        rx.kill();
      }
      const subnets = new Set<string>();
      for (const n of nodes.slice(0, 2)) {
        const env = envOf(fs.readFileSync(n.subnetFile, 'utf8'));
        assert.equal(env.FLANNEL_NETWORK, NETWORK);
        assert.match(env.FLANNEL_SUBNET!, /^10\.2\.\d+\.1\/24$/);
        assert.equal(env.FLANNEL_MTU, '1450');
        assert.equal(env.FLANNEL_IPMASQ, 'true');
        subnets.add(env.FLANNEL_SUBNET!);
      }
      assert.equal(subnets.size, 2, 'distinct subnets');
    });

    it('etcd holds each lease at <prefix>/subnets/<ip>-24 in flannel\'s JSON, attached to a 24 h etcd lease', () => {
      const all = c.leases();
      for (const n of nodes.slice(0, 2)) {
        const key = `/coreos.com/network/subnets/${base(subnetOf(n))}-24`;
        const l = all[key];
        assert.ok(l, `${key} in ${Object.keys(all).join(', ')}`);
        assert.notEqual(l.lease, '0', 'attached to an etcd lease');
        const { NodeID, ...flannelFields } = l.value;
        assert.match(String(NodeID), /^[0-9a-f]{32}$/);
        assert.deepEqual(flannelFields, { PublicIP: n.host.ip, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: vtep(n).address } });
        const ttl = etcdctl(['lease', 'timetolive', BigInt(l.lease).toString(16)]);
        const granted = Number(/granted with TTL\((\d+)s\)/.exec(ttl)?.[1]);
        assert.equal(granted, 86400, ttl);
      }
    });

    it('flannel.1 is vxlan VNI 1, port 8472, nolearning, local = eth0\'s address, MTU 1450, <subnet>.0/32', () => {
      for (const n of nodes.slice(0, 2)) {
        const l = vtep(n);
        const d = l.linkinfo.info_data;
        assert.equal(l.linkinfo.info_kind, 'vxlan');
        assert.equal(d.id, 1);
        assert.equal(d.port, 8472);
        assert.equal(d.learning, false);
        assert.equal(d.local, n.host.ip);
        assert.equal(d.link, 'eth0');
        assert.equal(l.mtu, 1450);
        assert.ok(l.flags.includes('UP'));
        const subnet = subnetOf(n);
        const addrs = ipJson(n.host.ns.name, ['addr', 'show', 'flannel.1'])[0].addr_info.filter((a: any) => a.family === 'inet');
        assert.deepEqual(addrs.map((a: any) => `${a.local}/${a.prefixlen}`), [`${base(subnet)}/32`]);
      }
    });

    it('each node has the peer\'s ARP entry, FDB entry and onlink route', () => {
      const [n1, n2] = nodes as [ClusterNode, ClusterNode];
      for (const [here, there] of [[n1, n2], [n2, n1]] as const) {
        const sub = subnetOf(there);
        const mac = vtep(there).address;
        const neigh = ipJson(here.host.ns.name, ['neigh', 'show', 'dev', 'flannel.1']).find((e: any) => e.dst === base(sub));
        assert.equal(neigh?.lladdr, mac);
        assert.ok(neigh.state.includes('PERMANENT'));
        const fdb = bridgeJson(here.host.ns.name, ['fdb', 'show', 'dev', 'flannel.1']).find((e: any) => e.mac === mac);
        assert.equal(fdb?.dst, there.host.ip);
        const r = routeTo(here, sub);
        assert.equal(r?.gateway, base(sub));
        assert.equal(r?.dev, 'flannel.1');
        assert.ok(r.flags.includes('onlink'));
      }
    });

    it('FLANNEL-POSTRTG (nat) and FLANNEL-FWD (filter) hold flannel\'s rules', () => {
      const n1 = nodes[0]!;
      const sub = subnetOf(n1);
      const nat = execIn(n1.host.ns.name, 'iptables-save', ['-t', 'nat']).split('\n');
      const c = '-m comment --comment "flanneld masq"';
      assert.deepEqual(nat.filter((l) => l.includes('FLANNEL-POSTRTG') && l.startsWith('-A')), [
        `-A POSTROUTING ${c} -j FLANNEL-POSTRTG`,
        `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${sub} -d ${NETWORK} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${NETWORK} -d ${sub} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG ! -s ${NETWORK} -d ${sub} ${c} -j RETURN`,
        `-A FLANNEL-POSTRTG -s ${NETWORK} ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
        `-A FLANNEL-POSTRTG ! -s ${NETWORK} -d ${NETWORK} ${c} -j MASQUERADE --random-fully`,
      ]);
      const filter = execIn(n1.host.ns.name, 'iptables-save', ['-t', 'filter']).split('\n');
      const f = '-m comment --comment "flanneld forward"';
      assert.deepEqual(filter.filter((l) => l.includes('FLANNEL-FWD') && l.startsWith('-A')), [
        `-A FORWARD ${f} -j FLANNEL-FWD`,
        `-A FLANNEL-FWD -s ${NETWORK} ${f} -j ACCEPT`,
        `-A FLANNEL-FWD -d ${NETWORK} ${f} -j ACCEPT`,
      ]);
    });

    it('pods attached by our flannel conflist ping across nodes both ways, and node → remote pod', () => {
      for (const n of nodes.slice(0, 2)) {
        const conf = flannelConflist('1.0.0', { subnetFile: n.subnetFile, flannelDir: path.join(n.dir, 'flannel'), networksDir: path.join(n.dir, 'networks') });
        rts[n.name] = new Runtime(conf, build.dir, path.join(n.dir, 'cache'), n.host.ns.name);
        const pns = makeNetns(`${tag}-p${n.name}`);
        const caps = n.name === 'n1' ? { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] } : {};
        const r = rts[n.name]!.add({ containerId: `${tag}-${n.name}-pod`, netns: pns.path, ifname: 'eth0', capabilityArgs: caps });
        const ip = String(r.ips[0].address).split('/')[0]!;
        const sub = subnetOf(n);
        assert.equal(ip, base(sub).replace(/\.0$/, '.2'), 'first pod address of the node\'s subnet');
        pods[n.name] = { ns: pns.name, ip, node: n };
      }
      const { n1: p1, n2: p2 } = pods as Record<'n1' | 'n2', { ns: string; ip: string }>;
      assert.ok(ping(p1.ns, p2.ip), 'pod on n1 → pod on n2');
      assert.ok(ping(p2.ns, p1.ip), 'pod on n2 → pod on n1');
      assert.ok(ping(nodes[0]!.host.ns.name, p2.ip), 'node n1 → pod on n2');
    });

    it('a hostPort of the pod on n1 is reached from n2 and from the pod on n2', async () => {
      const srv = tcpServer(pods.n1!.ns, 8080, 'hello from the pod on n1');
      try {
        await waitReady(srv);
        assert.equal(tcpFetch(nodes[1]!.host.ns.name, nodes[0]!.host.ip, 18080), 'hello from the pod on n1');
        assert.equal(tcpFetch(pods.n2!.ns, nodes[0]!.host.ip, 18080), 'hello from the pod on n1');
      } finally {
        srv.kill('SIGKILL');
      }
    });

    it('traceroute from a pod on n1 to a pod on n2: cni0 gateway → n2\'s flannel.1 (<subnet>.0) → the pod', () => {
      const { n1: p1, n2: p2 } = pods as Record<'n1' | 'n2', { ns: string; ip: string; node: ClusterNode }>;
      const out = execIn(p1.ns, 'busybox', ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '5', p2.ip]);
      const hops = out.split('\n').map((l) => /^\s*\d+\s+(\S+)/.exec(l)?.[1]).filter((h): h is string => !!h);
      const gw1 = base(subnetOf(nodes[0]!)).replace(/\.0$/, '.1');
      const vtep2 = base(subnetOf(nodes[1]!));
      assert.deepEqual(hops, [gw1, vtep2, p2.ip], out);
    });

    it('a node that joins is programmed on the others; its lease key appears → route on a peer within 2 s', async () => {
      const n3 = nodes[2]!;
      n3.daemon = startFlanneld(build.dir, n3.host.ns.name, c.daemonArgs(n3));
      const t0 = Date.now();
      const key = await eventually('n3 lease in etcd', 20_000, () => Object.entries(c.leases()).find(([, l]) => l.value.PublicIP === n3.host.ip)?.[0]);
      const tKey = Date.now();
      const sub = key.split('/').pop()!.replace('-', '/');
      await eventually(`route to ${sub} on n1 and n2`, 5000, () => nodes.slice(0, 2).every((n) => routeTo(n, sub)));
      const lat = Date.now() - tKey;
      figures.push(`n3 start → its lease in etcd ≤ ${tKey - t0} ms`);
      assert.ok(lat < 2000, `${lat} ms`);
      await waitForFile(n3.subnetFile, 10_000, n3.daemon);
    });

    it('a node whose lease goes is unprogrammed on the others (route, ARP, FDB); its own datapath stays after SIGTERM', async () => {
      const n3 = nodes[2]!;
      const sub = subnetOf(n3);
      const mac = vtep(n3).address;
      const code = await n3.daemon!.stop('SIGTERM');
      assert.equal(code, 0, n3.daemon!.output());
      // Nothing flushed on exit: the device, its address and the masquerade chain are still there.
      assert.equal(vtep(n3).address, mac);
      assert.match(execIn(n3.host.ns.name, 'iptables-save', ['-t', 'nat']), /-A FLANNEL-POSTRTG/);
      etcdctl(['del', `/coreos.com/network/subnets/${base(sub)}-24`]);
      for (const n of nodes.slice(0, 2)) {
        await eventually(`n3's route gone on ${n.name}`, 5000, () => !routeTo(n, sub));
        assert.equal(ipJson(n.host.ns.name, ['neigh', 'show', 'dev', 'flannel.1']).find((e: any) => e.dst === base(sub)), undefined, 'ARP entry gone');
        assert.equal(bridgeJson(n.host.ns.name, ['fdb', 'show', 'dev', 'flannel.1']).find((e: any) => e.mac === mac), undefined, 'FDB entry gone');
      }
    });

    it('a lease written in Go flanneld\'s format (hand-made JSON, etcd lease) is programmed like ours', async () => {
      const grant = etcdctl(['lease', 'grant', '600']);
      const id = /lease ([0-9a-f]+) granted/.exec(grant)![1]!;
      const mac = '7a:1b:2c:3d:4e:5f';
      etcdctl(['put', '--lease', id, '/coreos.com/network/subnets/10.2.250.0-24', `{"PublicIP":"10.0.0.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`]);
      const written = Date.now();
      const n1 = nodes[0]!;
      await eventually('route to 10.2.250.0/24 on n1', 5000, () => routeTo(n1, '10.2.250.0/24'));
      figures.push(`etcdctl put returned → route on a peer ≤ ${Date.now() - written} ms`);
      assert.equal(routeTo(n1, '10.2.250.0/24').gateway, '10.2.250.0');
      assert.equal(ipJson(n1.host.ns.name, ['neigh', 'show', 'dev', 'flannel.1']).find((e: any) => e.dst === '10.2.250.0')?.lladdr, mac);
      assert.equal(bridgeJson(n1.host.ns.name, ['fdb', 'show', 'dev', 'flannel.1']).find((e: any) => e.mac === mac)?.dst, '10.0.0.99');
      etcdctl(['lease', 'revoke', id]);
      await eventually('route to 10.2.250.0/24 gone after the etcd lease is revoked', 5000, () => !routeTo(n1, '10.2.250.0/24'));
    });

    it('kill -9 and restart of n2 keeps its subnet, VtepMAC and device, losing at most one ping of a 5/s stream', async () => {
      const n2 = nodes[1]!;
      const { n1: p1, n2: p2 } = pods as Record<'n1' | 'n2', { ns: string; ip: string }>;
      const before = { env: fs.readFileSync(n2.subnetFile, 'utf8'), link: vtep(n2) };
      const stream = spawn('ip', ['netns', 'exec', p1.ns, 'busybox', 'ping', '-i', '0.2', '-c', '40', '-W', '1', p2.ip], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      stream.stdout!.on('data', (d) => (out += d));
      const done = new Promise((r) => stream.on('exit', r));
      await new Promise((r) => setTimeout(r, 1500));
      await n2.daemon!.stop('SIGKILL');
      fs.rmSync(n2.subnetFile); // the restart must find its lease through etcd, not the old file
      n2.daemon = startFlanneld(build.dir, n2.host.ns.name, c.daemonArgs(n2));
      await waitForFile(n2.subnetFile, 20_000, n2.daemon);
      await done;
      const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
      assert.ok(m, out);
      const lost = Number(m[1]) - Number(m[2]);
      figures.push(`pings lost across kill -9 + restart: ${lost} of ${m[1]}`);
      assert.ok(lost <= 1, `lost ${lost}: ${out}`);
      assert.equal(fs.readFileSync(n2.subnetFile, 'utf8'), before.env, 'same subnet.env');
      const after = vtep(n2);
      assert.equal(after.address, before.link.address, 'same VtepMAC');
      assert.equal(after.ifindex, before.link.ifindex, 'flannel.1 reused, not re-created');
      // `ip netns exec` execs the daemon: the child's pid is flanneld's.
      const rss = Number(spawnSync('ps', ['-o', 'rss=', '-p', String(n2.daemon!.proc.pid)]).stdout.toString().trim());
      if (rss) figures.push(`idle daemon RSS ${Math.round(rss / 1024)} MB`);
    });

    it('a second network on host-gw beside the vxlan one: routes via the peer\'s underlay address, and ping between their subnets', async () => {
      const [n1, n2] = nodes as [ClusterNode, ClusterNode];
      const hg: Record<string, string> = {};
      const gwDaemons: Flanneld[] = [];
      try {
        for (const n of [n1, n2]) {
          const file = path.join(n.dir, 'run', 'hostgw.env');
          const d = startFlanneld(build.dir, n.host.ns.name, ['--etcd-prefix=/hostgw/network', `--etcd-endpoints=${c.etcd.endpoint}`, ...c.tlsArgs(), `--subnet-file=${file}`, '--iptables-forward-rules=false']);
          gwDaemons.push(d);
          const env = envOf(await waitForFile(file, 20_000, d));
          assert.equal(env.FLANNEL_MTU, '1500');
          hg[n.name] = env.FLANNEL_SUBNET!.replace(/\.1\/24$/, '.0/24');
          // A stand-in for the node's cni0: a bridge holding the subnet's .1.
          ipIn(n.host.ns.name, ['link', 'add', 'hg0', 'type', 'bridge']);
          ipIn(n.host.ns.name, ['addr', 'add', env.FLANNEL_SUBNET!, 'dev', 'hg0']);
          ipIn(n.host.ns.name, ['link', 'set', 'hg0', 'up']);
        }
        for (const [here, there] of [[n1, n2], [n2, n1]] as const) {
          const r = await eventually(`host-gw route on ${here.name}`, 5000, () => routeTo(here, hg[there.name]!));
          assert.equal(r.gateway, there.host.ip);
          assert.equal(r.dev, 'eth0');
        }
        const src = base(hg.n1!).replace(/\.0$/, '.1');
        const dst = base(hg.n2!).replace(/\.0$/, '.1');
        assert.equal(spawnSync('ip', ['netns', 'exec', n1.host.ns.name, 'busybox', 'ping', '-c', '1', '-W', '2', '-I', src, dst]).status, 0, 'host-gw ping');
        // The vxlan network is untouched by the second daemon.
        assert.ok(ping(pods.n1!.ns, pods.n2!.ip));
      } finally {
        for (const d of gwDaemons) await d.stop('SIGTERM');
      }
    });

    it('start-up errors exit non-zero at once with a precise message: missing config, invalid config, wrong CA', async () => {
      const n3 = nodes[2]!;
      const cases: [string, string[], RegExp][] = [
        ['missing', ['--etcd-prefix=/nothing/here'], /\/nothing\/here\/config/],
        ['invalid', ['--etcd-prefix=/bad/network'], /\/bad\/network\/config.*Network.*10\.9\.0\.0\/33/],
      ];
      etcdctl(['put', '/bad/network/config', '{"Network":"10.9.0.0/33"}']);
      const wrong = makeEtcdTls(['10.0.0.1']);
      for (const [name, extra, re] of cases) {
        const file = path.join(n3.dir, `${name}.env`);
        const d = startFlanneld(build.dir, n3.host.ns.name, [`--etcd-endpoints=${c.etcd.endpoint}`, ...c.tlsArgs(), `--subnet-file=${file}`, ...extra]);
        const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
        await d.stop('SIGKILL');
        assert.equal(code, 1, `${name}: ${d.output()}`);
        assert.match(d.output(), re);
        assert.doesNotMatch(d.output(), /\n\s+at /, 'no stack trace');
        assert.equal(fs.existsSync(file), false);
      }
      const keysBefore = Object.keys(c.leases()).length;
      const file = path.join(n3.dir, 'wrongca.env');
      const d = startFlanneld(build.dir, n3.host.ns.name, [`--etcd-endpoints=${c.etcd.endpoint}`, `--etcd-cafile=${wrong.ca}`, `--etcd-certfile=${c.certs.clientCert}`, `--etcd-keyfile=${c.certs.clientKey}`, `--subnet-file=${file}`]);
      const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
      await d.stop('SIGKILL');
      assert.notEqual(code, 0, d.output());
      assert.notEqual(code, 'still running', d.output());
      assert.match(d.output(), /TLS|certificate/i);
      assert.equal(fs.existsSync(file), false);
      assert.equal(Object.keys(c.leases()).length, keysBefore, 'no lease written');
    });
  });
}

function ping(ns: string, ip: string): boolean {
  return spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '2', ip]).status === 0;
}
