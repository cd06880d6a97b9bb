// Bridge plugin against the real kernel (root). Each test builds a throw-away "node" namespace
// and pod namespaces. The plugin records hostNetns() on first use, so it cannot be driven from
// this test process while the process sits in the real host namespace: each call runs this same
// file as a small driver process under `ip netns exec <node>` (BRIDGE_DRIVER=1), which builds a
// CmdArgs and calls bridgePlugin.add/del/check/gc/status in-process. IPAM is host-local with a
// temp dataDir, found via CNI_PATH: our standalone build's (BRIDGE_TEST_CNI_PATH overrides it,
// e.g. with /usr/lib/cni for the reference Go one). Oracles: ip -j, bridge -j, nft -j, iptables-save.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUNDLE_HEADER } from '../../shared/cni/build-marker';
import { bridgeJson, cleanupAllNetns, execIn, ipIn, ipJson, leakedNetns, makeNetns, type TestNetns } from '../helpers/netns';
import { sleep } from '../../shared/base/sleep';
import { builds } from '../helpers/plugins';
import { GC_GRACE_MS } from '../../shared/state/gc-grace';

const DRIVER = process.env.BRIDGE_DRIVER === '1';

interface Call {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS';
  containerId: string;
  netns: string;
  ifname: string;
  args?: string;
  conf: Record<string, unknown>;
  cniPath: string[];
  /** Run our host-local in-process (CNI_PATH must hold a file marked as our build). */
  ourIpam?: boolean;
}

interface Outcome {
  ok: boolean;
  result?: any;
  code?: number;
  msg?: string;
}

async function driver(): Promise<void> {
  // Loaded only here: the test process itself must not load the addon or record a host netns.
  const { bridgePlugin } = await import('../../plugins/bridge/plugin');
  const call = JSON.parse(fs.readFileSync(0, 'utf8')) as Call;
  if (call.ourIpam) {
    const { registerPlugin } = await import('../../shared/cni/registry');
    const { hostLocalPlugin } = await import('../../plugins/host-local/plugin');
    registerPlugin('host-local', () => hostLocalPlugin);
  }
  const stdin = Buffer.from(JSON.stringify(call.conf));
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_ARGS: call.args ?? '',
    CNI_PATH: call.cniPath.join(':'),
  };
  const conf = JSON.parse(stdin.toString('utf8'));
  if (!conf.cniVersion) conf.cniVersion = '0.1.0';
  const a = {
    command: call.command,
    containerId: call.containerId,
    netns: call.netns,
    ifname: call.ifname,
    args: call.args ?? '',
    path: call.cniPath,
    stdin,
    conf,
    env,
  };
  let out: Outcome;
  try {
    let result: unknown;
    if (call.command === 'ADD') result = await bridgePlugin.add(a);
    else if (call.command === 'DEL') await bridgePlugin.del(a);
    else if (call.command === 'CHECK') await bridgePlugin.check(a);
    else if (call.command === 'GC') await bridgePlugin.gc!(a);
    else await bridgePlugin.status!(a);
    out = { ok: true, result };
  } catch (e) {
    const err = e as { code?: number; message?: string };
    out = { ok: false, code: typeof err.code === 'number' ? err.code : 999, msg: String(err.message ?? e) };
  }
  fs.writeSync(1, JSON.stringify(out));
  process.exit(0);
}

if (DRIVER) void driver();
else tests();

function tests(): void {

  const CNI_PATH = (process.env.BRIDGE_TEST_CNI_PATH ?? builds()[0]!.dir).split(':');
  const tmpDirs: string[] = [];
  // A CNI_PATH whose host-local carries our bundle header, so the delegate runs our host-local
  // in-process (registered by the driver), as flannel's and bridge's own builds do: the GC and
  // STATUS tests exercise that path (BRIDGE_TEST_CNI_PATH may name a host-local of max 1.0.0).
  const OUR_PATH = (() => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-bridge-path-'));
    tmpDirs.push(d);
    fs.writeFileSync(path.join(d, 'host-local'), `${BUNDLE_HEADER}// marker only: runs in-process\n`, { mode: 0o755 });
    return [d];
  })();
  after(() => {
    cleanupAllNetns();
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
    assert.deepEqual(leakedNetns(), []);
  });

  function tmp(tag: string): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `cts-bridge-${tag}-`));
    tmpDirs.push(d);
    return d;
  }

  /** A node namespace (lo up, forwarding off as on a fresh host) with its own IPAM dir. */
  function makeNode(tag: string): { ns: TestNetns; dataDir: string } {
    const ns = makeNetns(`br${tag}`);
    ipIn(ns.name, ['link', 'set', 'lo', 'up']);
    return { ns, dataDir: tmp(tag) };
  }

  function call(node: TestNetns, c: Call): Outcome {
    const r = spawnSync('ip', ['netns', 'exec', node.name, process.execPath, __filename], {
      input: JSON.stringify(c),
      encoding: 'utf8',
      env: { ...process.env, BRIDGE_DRIVER: '1' },
    });
    if (r.status !== 0) throw new Error(`driver failed (exit ${r.status}): ${r.stderr}`);
    try {
      return JSON.parse(r.stdout) as Outcome;
    } catch {
      throw new Error(`driver output unparsable: ${r.stdout} ${r.stderr}`);
    }
  }

  let cidCounter = 0;
  interface Pod {
    ns: TestNetns;
    containerId: string;
    ifname: string;
  }
  function makePod(tag = 'pod'): Pod {
    return { ns: makeNetns(tag), containerId: `ctr-${process.pid}-${++cidCounter}`, ifname: 'eth0' };
  }

  function hostLocal(dataDir: string, ranges: string[][], routes?: unknown[]): Record<string, unknown> {
    const ipam: Record<string, unknown> = { type: 'host-local', dataDir, ranges: ranges.map((set) => set.map((subnet) => ({ subnet }))) };
    if (routes) ipam.routes = routes;
    return ipam;
  }

  function conf(extra: Record<string, unknown>): Record<string, unknown> {
    return { cniVersion: '1.0.0', name: 'testnet', type: 'bridge', ...extra };
  }

  const add = (node: TestNetns, pod: Pod, cf: Record<string, unknown>, args = ''): Outcome =>
    call(node, { command: 'ADD', containerId: pod.containerId, netns: pod.ns.path, ifname: pod.ifname, args, conf: cf, cniPath: CNI_PATH });
  const del = (node: TestNetns, pod: Pod, cf: Record<string, unknown>, netns = pod.ns.path): Outcome =>
    call(node, { command: 'DEL', containerId: pod.containerId, netns, ifname: pod.ifname, conf: cf, cniPath: CNI_PATH });
  const check = (node: TestNetns, pod: Pod, cf: Record<string, unknown>): Outcome =>
    call(node, { command: 'CHECK', containerId: pod.containerId, netns: pod.ns.path, ifname: pod.ifname, conf: cf, cniPath: CNI_PATH });

  function mustAdd(node: TestNetns, pod: Pod, cf: Record<string, unknown>, args = ''): any {
    const o = add(node, pod, cf, args);
    assert.ok(o.ok, `ADD failed: ${o.code} ${o.msg}`);
    return o.result;
  }
  function mustDel(node: TestNetns, pod: Pod, cf: Record<string, unknown>, netns?: string): void {
    const o = del(node, pod, cf, netns);
    assert.ok(o.ok, `DEL failed: ${o.code} ${o.msg}`);
  }

  const link = (ns: string, name: string): any => ipJson(ns, ['-d', 'link', 'show', 'dev', name])[0];
  const linkExists = (ns: string, name: string): boolean => ipJson(ns, ['link', 'show']).some((l: any) => l.ifname === name);
  const addrs = (ns: string, dev: string, family?: 4 | 6): string[] =>
    ipJson(ns, [...(family ? [`-${family}`] : []), 'addr', 'show', 'dev', dev])[0].addr_info
      .filter((a: any) => a.scope === 'global')
      .map((a: any) => `${a.local}/${a.prefixlen}`);
  const routes = (ns: string, family: 4 | 6): any[] => ipJson(ns, [`-${family}`, 'route', 'show']);
  // Retried: a fresh IPv6 gateway address on the bridge is tentative until its DAD completes.
  const ping = (ns: string, ip: string, attempts = 4): boolean => {
    for (let i = 0; i < attempts; i++) {
      if (spawnSync('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '1', ip], { encoding: 'utf8' }).status === 0) return true;
    }
    return false;
  };
  const pingOnce = (ns: string, ip: string): boolean => ping(ns, ip, 1);
  const ipamFiles = (dataDir: string, net = 'testnet'): string[] => {
    const d = path.join(dataDir, net);
    if (!fs.existsSync(d)) return [];
    return fs.readdirSync(d).filter((f) => !f.startsWith('last_reserved_ip') && f !== 'lock');
  };

  /** The assertions the reference makes on every ADD result. */
  function assertResultShape(r: any, pod: Pod, brName: string, ifaceCount = 3): void {
    assert.equal(r.interfaces.length, ifaceCount);
    assert.equal(r.interfaces[0].name, brName);
    assert.match(r.interfaces[1].name, /^veth[0-9a-f]{8}$/);
    assert.equal(r.interfaces[2].name, pod.ifname);
    assert.equal(r.interfaces[2].sandbox, pod.ns.path);
    for (const i of r.interfaces) assert.equal(i.mac.length, 17);
    assert.equal(r.interfaces[0].sandbox, undefined);
    assert.equal(r.interfaces[1].sandbox, undefined);
    for (const ip of r.ips ?? []) assert.equal(ip.interface, 2);
  }

  /** The kernel agrees with the result: MACs, master, container addresses. */
  function assertKernelMatches(node: TestNetns, pod: Pod, r: any): void {
    const br = link(node.name, r.interfaces[0].name);
    assert.equal(br.linkinfo.info_kind, 'bridge');
    assert.equal(br.address, r.interfaces[0].mac);
    const hv = link(node.name, r.interfaces[1].name);
    assert.equal(hv.linkinfo.info_kind, 'veth');
    assert.equal(hv.master, r.interfaces[0].name);
    assert.equal(hv.address, r.interfaces[1].mac);
    assert.equal(hv.operstate, 'UP');
    const cv = link(pod.ns.name, pod.ifname);
    assert.equal(cv.linkinfo.info_kind, 'veth');
    assert.equal(cv.address, r.interfaces[2].mac);
    assert.deepEqual(addrs(pod.ns.name, pod.ifname).sort(), (r.ips ?? []).map((i: any) => i.address).sort());
  }

  // ------------------------------------------------------------------ creation and L3 families

  test('IPv4: creates the bridge, gateway, default route; pod ↔ gateway ↔ node; DEL cleans and is idempotent', () => {
    const { ns: node, dataDir } = makeNode('v4');
    const pod = makePod();
    const cf = conf({ bridge: 'cni0', isDefaultGateway: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const r = mustAdd(node, pod, cf);
    assertResultShape(r, pod, 'cni0');
    assert.deepEqual(r.ips, [{ address: '10.1.2.2/24', gateway: '10.1.2.1', interface: 2 }]);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }]);
    assertKernelMatches(node, pod, r);
    assert.deepEqual(addrs(node.name, 'cni0', 4), ['10.1.2.1/24']);
    assert.equal(link(node.name, 'cni0').linkinfo.info_data.vlan_filtering, 0);
    const def = routes(pod.ns.name, 4).find((x) => x.dst === 'default');
    assert.equal(def.gateway, '10.1.2.1');
    assert.equal(execIn(node.name, 'cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1');
    assert.equal(execIn(pod.ns.name, 'cat', ['/proc/sys/net/ipv4/conf/eth0/arp_notify']).trim(), '1');
    assert.equal(execIn(node.name, 'cat', [`/proc/sys/net/ipv6/conf/${r.interfaces[1].name}/accept_ra`]).trim(), '0');
    assert.ok(ping(pod.ns.name, '10.1.2.1'), 'pod → gateway');
    assert.ok(ping(node.name, '10.1.2.2'), 'node → pod');
    assert.equal(ipamFiles(dataDir).length, 1);

    mustDel(node, pod, cf);
    assert.equal(linkExists(pod.ns.name, 'eth0'), false);
    assert.equal(linkExists(node.name, r.interfaces[1].name), false);
    assert.ok(linkExists(node.name, 'cni0'), 'the bridge is never deleted');
    assert.equal(ipamFiles(dataDir).length, 0);
    mustDel(node, pod, cf); // idempotent
    pod.ns.cleanup();
    mustDel(node, pod, cf); // netns gone
  });

  test('existing bridge is reused (same ifindex); an existing non-bridge is refused', () => {
    const { ns: node, dataDir } = makeNode('reuse');
    ipIn(node.name, ['link', 'add', 'cni0', 'type', 'bridge']);
    const before = link(node.name, 'cni0').ifindex;
    const pod = makePod();
    const cf = conf({ isGateway: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    mustAdd(node, pod, cf);
    assert.equal(link(node.name, 'cni0').ifindex, before);
    mustDel(node, pod, cf);

    ipIn(node.name, ['link', 'add', 'notbr', 'type', 'veth', 'peer', 'name', 'notbrp']);
    const pod2 = makePod();
    const o = add(node, pod2, conf({ bridge: 'notbr' }));
    assert.equal(o.ok, false);
    assert.equal(o.msg, 'failed to create bridge "notbr": "notbr" already exists but is not a bridge');
    assert.equal(ipJson(pod2.ns.name, ['link', 'show']).length, 1, 'nothing created in the pod');
  });

  test('IPv6: address, gateway on bridge, default route, pod → gateway', () => {
    const { ns: node, dataDir } = makeNode('v6');
    const pod = makePod();
    const cf = conf({ isDefaultGateway: true, ipam: hostLocal(dataDir, [['2001:db8::/64']]) });
    const r = mustAdd(node, pod, cf);
    assertResultShape(r, pod, 'cni0');
    assert.deepEqual(r.ips, [{ address: '2001:db8::2/64', gateway: '2001:db8::1', interface: 2 }]);
    assert.deepEqual(r.routes, [{ dst: '::/0', gw: '2001:db8::1' }]);
    assertKernelMatches(node, pod, r);
    assert.deepEqual(addrs(node.name, 'cni0', 6), ['2001:db8::1/64']);
    assert.equal(routes(pod.ns.name, 6).find((x) => x.dst === 'default').gateway, '2001:db8::1');
    assert.equal(execIn(pod.ns.name, 'cat', ['/proc/sys/net/ipv6/conf/eth0/accept_dad']).trim(), '0');
    assert.equal(execIn(pod.ns.name, 'cat', ['/proc/sys/net/ipv6/conf/eth0/keep_addr_on_down']).trim(), '1');
    assert.equal(execIn(node.name, 'cat', ['/proc/sys/net/ipv6/conf/all/forwarding']).trim(), '1');
    assert.ok(ping(pod.ns.name, '2001:db8::1'), 'pod → v6 gateway');
    mustDel(node, pod, cf);
    assert.equal(ipamFiles(dataDir).length, 0);
  });

  test('dual-stack and three subnets (1 v4 + 2 v6): all addresses, per-family default routes, gateways on bridge', () => {
    const { ns: node, dataDir } = makeNode('dual');
    const pod = makePod();
    const cf = conf({ isDefaultGateway: true, ipam: hostLocal(dataDir, [['192.168.0.0/24'], ['fd00::/64']]) });
    const r = mustAdd(node, pod, cf);
    assertResultShape(r, pod, 'cni0');
    assert.deepEqual(r.ips.map((i: any) => i.address), ['192.168.0.2/24', 'fd00::2/64']);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '192.168.0.1' }, { dst: '::/0', gw: 'fd00::1' }]);
    assertKernelMatches(node, pod, r);
    assert.ok(ping(pod.ns.name, '192.168.0.1'));
    assert.ok(ping(pod.ns.name, 'fd00::1'));
    mustDel(node, pod, cf);

    const { ns: node3, dataDir: d3 } = makeNode('three');
    const pod3 = makePod();
    const cf3 = conf({ isDefaultGateway: true, ipam: hostLocal(d3, [['10.1.2.0/24'], ['2001:db8:1::/64'], ['2001:db8:2::/64']]) });
    const r3 = mustAdd(node3, pod3, cf3);
    assert.deepEqual(r3.ips.map((i: any) => i.address), ['10.1.2.2/24', '2001:db8:1::2/64', '2001:db8:2::2/64']);
    assert.deepEqual(addrs(node3.name, 'cni0', 6).sort(), ['2001:db8:1::1/64', '2001:db8:2::1/64']);
    assert.deepEqual(r3.routes, [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '::/0', gw: '2001:db8:1::1' }]);
    assertKernelMatches(node3, pod3, r3);
    mustDel(node3, pod3, cf3);
    assert.equal(ipamFiles(d3).length, 0);
  });

  test('two pods on one bridge reach each other; node reaches both; isDefaultGateway pod reaches the node\'s own address', () => {
    const { ns: node, dataDir } = makeNode('two');
    // The node's own address on an uplink (a veth pair: this kernel has no dummy driver).
    ipIn(node.name, ['link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1']);
    ipIn(node.name, ['addr', 'add', '192.168.100.1/24', 'dev', 'uplink0']);
    ipIn(node.name, ['link', 'set', 'uplink0', 'up']);
    ipIn(node.name, ['link', 'set', 'uplink1', 'up']);
    const cf = conf({ isDefaultGateway: true, ipam: hostLocal(dataDir, [['10.22.0.0/24']]) });
    const p1 = makePod();
    const p2 = makePod();
    const r1 = mustAdd(node, p1, cf);
    const r2 = mustAdd(node, p2, cf);
    assert.equal(r1.ips[0].address, '10.22.0.2/24');
    assert.equal(r2.ips[0].address, '10.22.0.3/24');
    assert.ok(ping(p1.ns.name, '10.22.0.3'), 'pod1 → pod2');
    assert.ok(ping(p2.ns.name, '10.22.0.2'), 'pod2 → pod1');
    assert.ok(ping(node.name, '10.22.0.3'), 'node → pod2');
    assert.ok(ping(p1.ns.name, '192.168.100.1'), 'pod1 → node address outside the pod subnet');
    mustDel(node, p1, cf);
    mustDel(node, p2, cf);
  });

  // ------------------------------------------------------------------ L2, VLANs

  test('L2: no IPs, container up, pods talk over manually set addresses; CHECK works without IPAM', () => {
    const { ns: node } = makeNode('l2');
    const cf = conf({ bridge: 'l2br' });
    const p1 = makePod();
    const p2 = makePod();
    const r1 = mustAdd(node, p1, cf);
    mustAdd(node, p2, cf);
    assertResultShape(r1, p1, 'l2br');
    assert.equal(r1.ips, undefined);
    assert.equal(r1.routes, undefined);
    assert.ok(link(p1.ns.name, 'eth0').flags.includes('UP'));
    ipIn(p1.ns.name, ['addr', 'add', '10.9.0.1/24', 'dev', 'eth0']);
    ipIn(p2.ns.name, ['addr', 'add', '10.9.0.2/24', 'dev', 'eth0']);
    assert.ok(ping(p1.ns.name, '10.9.0.2'));
    const c = check(node, p1, { ...cf, prevResult: r1 });
    assert.ok(c.ok, `CHECK: ${c.msg}`);
    mustDel(node, p1, cf);
    mustDel(node, p2, cf);
  });

  // Some kernels (e.g. this Firecracker one) lack CONFIG_BRIDGE_VLAN_FILTERING.
  const vlanSupport = ((): true | string => {
    const probe = makeNetns('vlanprobe');
    try {
      const r = spawnSync('ip', ['-n', probe.name, 'link', 'add', 'br0', 'type', 'bridge', 'vlan_filtering', '1'], { encoding: 'utf8' });
      return r.status === 0 ? true : `kernel lacks bridge VLAN filtering: ${r.stderr.trim()}`;
    } finally {
      probe.cleanup();
    }
  })();
  const vlanSkip = vlanSupport === true ? {} : { skip: vlanSupport };

  test('VLAN config on a kernel without VLAN filtering fails with a clear error and leaves nothing', { skip: vlanSupport === true ? 'kernel has VLAN filtering' : false }, () => {
    const { ns: node } = makeNode('novlan');
    const pod = makePod();
    const o = add(node, pod, conf({ vlan: 100 }));
    assert.equal(o.ok, false);
    assert.match(o.msg!, /^failed to create bridge "cni0": could not add "cni0": operation not supported \(vlan\/vlanTrunk need bridge VLAN filtering/);
    assert.equal(linkExists(node.name, 'cni0'), false);
    assert.equal(linkExists(pod.ns.name, 'eth0'), false);
  });

  test('L2 at cniVersion 0.2.0 is refused before anything is created; L3 at 0.2.0 works', () => {
    const { ns: node, dataDir } = makeNode('l2old');
    const pod = makePod();
    const o = add(node, pod, conf({ cniVersion: '0.2.0' }));
    assert.equal(o.ok, false);
    assert.match(o.msg!, /^cannot convert: no valid IP addresses/);
    assert.equal(linkExists(node.name, 'cni0'), false);
    assert.equal(linkExists(pod.ns.name, 'eth0'), false);
    const cf = conf({ cniVersion: '0.2.0', isGateway: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const r = mustAdd(node, pod, cf);
    assert.equal(r.ips[0].address, '10.1.2.2/24');
    mustDel(node, pod, cf);
  });

  const portVlans = (node: string, dev: string): any[] => {
    const entry = bridgeJson(node, ['vlan', 'show', 'dev', dev]).find((e: any) => e.ifname === dev);
    return entry ? entry.vlans : [];
  };

  test('VLAN 100 (access port): vlan_filtering on, host port has only VID 100 as PVID untagged', vlanSkip, () => {
    const { ns: node } = makeNode('vlan');
    const pod = makePod();
    const cf = conf({ vlan: 100 });
    const r = mustAdd(node, pod, cf);
    assert.equal(link(node.name, 'cni0').linkinfo.info_data.vlan_filtering, 1);
    const v = portVlans(node.name, r.interfaces[1].name);
    assert.deepEqual(v.map((x: any) => x.vlan), [100]);
    assert.deepEqual(v[0].flags.sort(), ['Egress Untagged', 'PVID']);
    mustDel(node, pod, cf);

    // preserveDefaultVlan keeps VID 1 as well.
    const pod2 = makePod();
    const r2 = mustAdd(node, pod2, conf({ vlan: 100, preserveDefaultVlan: true }));
    assert.deepEqual(portVlans(node.name, r2.interfaces[1].name).map((x: any) => x.vlan).sort((a: number, b: number) => a - b), [1, 100]);
    mustDel(node, pod2, cf);
  });

  test('VLAN trunk 101,200-210: tagged VIDs plus native VLAN 1; vlan 100 + trunk', vlanSkip, () => {
    const { ns: node } = makeNode('trunk');
    const pod = makePod();
    const cf = conf({ vlanTrunk: [{ id: 101 }, { minID: 200, maxID: 210 }] });
    const r = mustAdd(node, pod, cf);
    assert.equal(link(node.name, 'cni0').linkinfo.info_data.vlan_filtering, 1);
    const v = portVlans(node.name, r.interfaces[1].name);
    const vids: number[] = [];
    for (const x of v) {
      if (x.vlanEnd) for (let i = x.vlan; i <= x.vlanEnd; i++) vids.push(i);
      else vids.push(x.vlan);
    }
    assert.deepEqual(vids, [1, 101, ...Array.from({ length: 11 }, (_, i) => 200 + i)]);
    assert.deepEqual(v.find((x: any) => x.vlan === 1).flags.sort(), ['Egress Untagged', 'PVID']);
    assert.equal(v.find((x: any) => x.vlan === 101).flags, undefined);
    mustDel(node, pod, cf);

    const pod2 = makePod();
    const r2 = mustAdd(node, pod2, conf({ vlan: 100, vlanTrunk: [{ id: 101 }] }));
    const v2 = portVlans(node.name, r2.interfaces[1].name);
    assert.deepEqual(v2.map((x: any) => x.vlan), [100, 101]);
    assert.deepEqual(v2[0].flags.sort(), ['Egress Untagged', 'PVID']);
    mustDel(node, pod2, cf);
  });

  test('VLAN 100 with isGateway: gateway on <bridge>.100 (4th interface), pod reaches it through the VLAN', vlanSkip, () => {
    const { ns: node, dataDir } = makeNode('vlangw');
    const pod = makePod();
    const cf = conf({ vlan: 100, isDefaultGateway: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const r = mustAdd(node, pod, cf);
    assertResultShape(r, pod, 'cni0', 4);
    assert.equal(r.interfaces[3].name, 'cni0.100');
    assert.deepEqual(addrs(node.name, 'cni0.100', 4), ['10.1.2.1/24']);
    assert.deepEqual(addrs(node.name, 'cni0', 4), []);
    assert.ok(ping(pod.ns.name, '10.1.2.1'), 'pod → vlan gateway');
    mustDel(node, pod, cf);
    // A second pod reuses the gateway interface.
    const pod2 = makePod();
    const r2 = mustAdd(node, pod2, cf);
    assert.equal(r2.interfaces[3].mac, r.interfaces[3].mac);
    mustDel(node, pod2, cf);
  });

  // ------------------------------------------------------------------ bridge address rules

  test('forceAddress v4: conflicting address → error and IP released; with forceAddress replaced', () => {
    const { ns: node, dataDir } = makeNode('force4');
    ipIn(node.name, ['link', 'add', 'cni0', 'type', 'bridge']);
    ipIn(node.name, ['addr', 'add', '10.0.0.1/8', 'dev', 'cni0']);
    const pod = makePod();
    const cf = conf({ isGateway: true, ipam: hostLocal(dataDir, [['10.1.0.0/16']]) });
    const o = add(node, pod, cf);
    assert.equal(o.ok, false);
    assert.equal(o.msg, 'failed to set bridge addr: "cni0" already has an IP address different from 10.1.0.1/16');
    assert.equal(o.code, 999);
    // Release on error: no IP left allocated, no veth left behind, nothing in the pod.
    assert.equal(ipamFiles(dataDir).length, 0);
    assert.equal(ipJson(node.name, ['link', 'show', 'type', 'veth']).length, 0);
    assert.equal(linkExists(pod.ns.name, 'eth0'), false);

    const cff = { ...cf, forceAddress: true };
    mustAdd(node, pod, cff);
    assert.deepEqual(addrs(node.name, 'cni0', 4), ['10.1.0.1/16']);
    mustDel(node, pod, cff);
  });

  test('forceAddress v6: overlapping replaced, non-overlapping kept', () => {
    const { ns: node, dataDir } = makeNode('force6');
    ipIn(node.name, ['link', 'add', 'cni0', 'type', 'bridge']);
    ipIn(node.name, ['addr', 'add', '2001:db8:1::1/48', 'dev', 'cni0', 'nodad']);
    const pod = makePod();
    const cf = conf({ isGateway: true, forceAddress: true, ipam: hostLocal(dataDir, [['2001:db8:1:2::/64']]) });
    mustAdd(node, pod, cf);
    assert.deepEqual(addrs(node.name, 'cni0', 6), ['2001:db8:1:2::1/64']);
    const pod2 = makePod();
    const cf2 = conf({ name: 'othernet', isGateway: true, ipam: hostLocal(dataDir, [['fd00:1234::/64']]) });
    mustAdd(node, pod2, cf2);
    assert.deepEqual(addrs(node.name, 'cni0', 6).sort(), ['2001:db8:1:2::1/64', 'fd00:1234::1/64']);
    mustDel(node, pod, cf);
    mustDel(node, pod2, cf2);
  });

  // ------------------------------------------------------------------ port and bridge flags

  test('promiscMode on bridge; hairpin ⟂ promisc refused; hairpin set on the port', () => {
    const { ns: node } = makeNode('promisc');
    const pod = makePod();
    const cf = conf({ promiscMode: true });
    mustAdd(node, pod, cf);
    assert.ok(link(node.name, 'cni0').flags.includes('PROMISC'));
    mustDel(node, pod, cf);
    const o = add(node, makePod(), conf({ promiscMode: true, hairpinMode: true }));
    assert.equal(o.ok, false);
    assert.equal(o.msg, 'cannot set hairpin mode and promiscuous mode at the same time');

    const node2 = makeNode('hairpin').ns;
    const pod2 = makePod();
    const r = mustAdd(node2, pod2, conf({ hairpinMode: true }));
    assert.equal(link(node2.name, r.interfaces[1].name).linkinfo.info_slave_data.hairpin, true);
    assert.equal(link(node2.name, 'cni0').flags.includes('PROMISC'), false);
  });

  test('portIsolation on/off is reflected in the bridge port', () => {
    const { ns: node } = makeNode('iso');
    const p1 = makePod();
    const p2 = makePod();
    const r1 = mustAdd(node, p1, conf({ portIsolation: true }));
    const r2 = mustAdd(node, p2, conf({ portIsolation: false }));
    assert.equal(link(node.name, r1.interfaces[1].name).linkinfo.info_slave_data.isolated, true);
    assert.equal(link(node.name, r2.interfaces[1].name).linkinfo.info_slave_data.isolated, false);
  });

  test('disableContainerInterface leaves the container end down; refused together with IPAM', () => {
    const { ns: node, dataDir } = makeNode('dci');
    const pod = makePod();
    const cf = conf({ disableContainerInterface: true });
    const r = mustAdd(node, pod, cf);
    assert.equal(link(pod.ns.name, 'eth0').flags.includes('UP'), false);
    assert.equal(link(node.name, r.interfaces[1].name).master, 'cni0');
    mustDel(node, pod, cf);
    const o = add(node, makePod(), conf({ disableContainerInterface: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) }));
    assert.equal(o.ok, false);
    assert.equal(o.code, 7);
    assert.equal(o.msg, 'cannot use IPAM when DisableContainerInterface flag is set');
    assert.equal(ipamFiles(dataDir).length, 0);
  });

  test('stable bridge MAC (pinned, not a port\'s); MTU applied to a created bridge and the veth pair', () => {
    const { ns: node, dataDir } = makeNode('mac');
    const cf = conf({ isGateway: true, mtu: 1400, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const p1 = makePod();
    const r1 = mustAdd(node, p1, cf);
    const brMac = link(node.name, 'cni0').address;
    assert.equal(r1.interfaces[0].mac, brMac);
    assert.notEqual(brMac, r1.interfaces[1].mac);
    assert.equal(link(node.name, 'cni0').mtu, 1400);
    assert.equal(link(node.name, r1.interfaces[1].name).mtu, 1400);
    assert.equal(link(p1.ns.name, 'eth0').mtu, 1400);
    const p2 = makePod();
    const r2 = mustAdd(node, p2, cf);
    assert.equal(r2.interfaces[0].mac, brMac);
    mustDel(node, p1, cf);
    assert.equal(link(node.name, 'cni0').address, brMac, 'unchanged when ports churn');
    mustDel(node, p2, cf);
  });

  test('container MAC from CNI_ARGS < args.cni.mac < runtimeConfig.mac', () => {
    const { ns: node } = makeNode('cmac');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{}, 'IgnoreUnknown=1;MAC=02:aa:00:00:00:01;K8S_POD_NAME=x', '02:aa:00:00:00:01'],
      [{ args: { cni: { mac: '02:aa:00:00:00:02' } } }, 'MAC=02:aa:00:00:00:01', '02:aa:00:00:00:02'],
      [{ args: { cni: { mac: '02:aa:00:00:00:02' } }, runtimeConfig: { mac: '02:AA:00:00:00:03' } }, 'MAC=02:aa:00:00:00:01', '02:aa:00:00:00:03'],
    ];
    for (const [extra, args, want] of cases) {
      const pod = makePod();
      const cf = conf(extra);
      const r = mustAdd(node, pod, cf, args);
      assert.equal(r.interfaces[2].mac, want);
      assert.equal(link(pod.ns.name, 'eth0').address, want);
      mustDel(node, pod, cf);
    }
  });

  test('container name clash is reported and nothing is left in the node', () => {
    const { ns: node } = makeNode('clash');
    const pod = makePod();
    ipIn(pod.ns.name, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    const o = add(node, pod, conf({}));
    assert.equal(o.ok, false);
    assert.match(o.msg!, /^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/);
    assert.equal(ipJson(node.name, ['link', 'show', 'type', 'veth']).length, 0);
    assert.equal(link(pod.ns.name, 'eth0').linkinfo.info_kind, 'veth', 'the pod\'s own eth0 untouched');
  });

  // ------------------------------------------------------------------ CHECK

  test('CHECK: passes after ADD, fails on a missing address / route / wrong MAC / no prevResult', () => {
    const { ns: node, dataDir } = makeNode('check');
    const pod = makePod();
    const cf = conf({ isDefaultGateway: true, ipam: hostLocal(dataDir, [['10.1.2.0/24'], ['fd00::/64']]) });
    const r = mustAdd(node, pod, cf);
    let c = check(node, pod, { ...cf, prevResult: r });
    assert.ok(c.ok, `CHECK: ${c.msg}`);

    c = check(node, pod, cf);
    assert.equal(c.msg, 'Required prevResult missing');

    const badMac = structuredClone(r);
    badMac.interfaces[2].mac = '02:00:00:00:00:99';
    c = check(node, pod, { ...cf, prevResult: badMac });
    assert.equal(c.msg, `Interface eth0 Mac 02:00:00:00:00:99 doesn't match container Mac: ${r.interfaces[2].mac}`);

    ipIn(pod.ns.name, ['route', 'del', 'default', 'via', '10.1.2.1']);
    c = check(node, pod, { ...cf, prevResult: r });
    assert.equal(c.ok, false);
    assert.match(c.msg!, /^Expected Route .*0\.0\.0\.0\/0.* not found in routing table$/);

    ipIn(pod.ns.name, ['addr', 'del', '10.1.2.2/24', 'dev', 'eth0']);
    c = check(node, pod, { ...cf, prevResult: r });
    assert.equal(c.msg, 'Failed to match addr 10.1.2.2/24 on interface eth0');

    ipIn(node.name, ['link', 'del', r.interfaces[1].name]);
    c = check(node, pod, { ...cf, prevResult: r });
    assert.equal(c.ok, false);
    mustDel(node, pod, cf);
  });

  // ------------------------------------------------------------------ ipMasq

  const iptNat = (ns: string, family: 4 | 6 = 4): string => execIn(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', 'nat']);
  const nftMasqRules = (ns: string): any[] => {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'cni_plugins_masquerade'], { encoding: 'utf8' });
    if (r.status !== 0) return [];
    return JSON.parse(r.stdout).nftables.filter((o: any) => o.rule && o.rule.chain === 'masq_checks').map((o: any) => o.rule);
  };

  for (const backend of ['iptables', 'nftables', undefined] as const) {
    test(`ipMasq backend ${backend ?? '(default)'}: rule per IP after ADD, none after DEL`, () => {
      const { ns: node, dataDir } = makeNode(`masq${backend ?? 'def'}`);
      const pod = makePod();
      const cf = conf({ isGateway: true, ipMasq: true, ...(backend ? { ipMasqBackend: backend } : {}), ipam: hostLocal(dataDir, [['10.1.2.0/24'], ['fd00::/64']]) });
      mustAdd(node, pod, cf);
      if (backend === 'nftables') {
        const rules = nftMasqRules(node.name);
        assert.equal(rules.length, 2);
        assert.ok(rules.every((x: any) => x.comment.includes(`id: ${pod.containerId}`)));
        assert.doesNotMatch(iptNat(node.name), /10\.1\.2\.2/);
      } else {
        assert.match(iptNat(node.name), /-A POSTROUTING -s 10\.1\.2\.2(\/32)? .*-j CNI-/);
        assert.match(iptNat(node.name, 6), /-A POSTROUTING -s fd00::2(\/128)? .*-j CNI-/);
        assert.equal(nftMasqRules(node.name).length, 0);
      }
      mustDel(node, pod, cf);
      assert.doesNotMatch(iptNat(node.name), /10\.1\.2\.2|CNI-/);
      assert.doesNotMatch(iptNat(node.name, 6), /fd00::2|CNI-/);
      assert.equal(nftMasqRules(node.name).length, 0);
    });
  }

  for (const backend of ['iptables', 'nftables'] as const) {
    test(`DEL with an empty CNI_NETNS after an ipMasq ADD leaves no ${backend} rule (with and without prevResult)`, () => {
      const { ns: node, dataDir } = makeNode(`emptyns${backend}`);
      const cf = conf({ isGateway: true, ipMasq: true, ipMasqBackend: backend, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
      const p1 = makePod();
      const r1 = mustAdd(node, p1, cf);
      mustDel(node, p1, { ...cf, prevResult: r1 }, '');
      const p2 = makePod();
      mustAdd(node, p2, cf);
      mustDel(node, p2, cf, '');
      assert.doesNotMatch(iptNat(node.name), /10\.1\.2\.|CNI-/);
      assert.equal(nftMasqRules(node.name).length, 0);
      assert.equal(ipamFiles(dataDir).length, 0, 'IPAM DEL delegated without a netns');
    });
  }

  test('GC removes the rules of an attachment never deleted, keeps the valid one', () => {
    const { ns: node, dataDir } = makeNode('gc');
    const ours = (c: Call): Outcome => call(node, { ...c, cniPath: OUR_PATH, ourIpam: true });
    for (const backend of ['iptables', 'nftables'] as const) {
      const cf = conf({ cniVersion: '1.1.0', isGateway: true, ipMasq: true, ipMasqBackend: backend, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
      const keep = makePod();
      const leak = makePod();
      const addOurs = (p: Pod): any => {
        const o = ours({ command: 'ADD', containerId: p.containerId, netns: p.ns.path, ifname: 'eth0', conf: cf, cniPath: [] });
        assert.ok(o.ok, `ADD: ${o.msg}`);
        return o.result;
      };
      const rk = addOurs(keep);
      const rl = addOurs(leak);
      assert.equal(ipamFiles(dataDir).length, 2);
      // Reserved long ago: host-local keeps reservations younger than the GC grace (an ADD in flight).
      const past = new Date(Date.now() - GC_GRACE_MS - 1000);
      for (const f of ipamFiles(dataDir)) fs.utimesSync(path.join(dataDir, 'testnet', f), past, past);
      const ipKeep = rk.ips[0].address.split('/')[0];
      const ipLeak = rl.ips[0].address.split('/')[0];
      const o = ours({
        command: 'GC', containerId: '', netns: '', ifname: '', cniPath: [],
        conf: { ...cf, 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] },
      });
      assert.ok(o.ok, `GC: ${o.msg}`);
      assert.equal(ipamFiles(dataDir).length, 1, 'IPAM GC delegated: the leaked IP is released');
      if (backend === 'iptables') {
        assert.match(iptNat(node.name), new RegExp(`-s ${ipKeep.replace(/\./g, '\\.')}`));
        assert.doesNotMatch(iptNat(node.name), new RegExp(`-s ${ipLeak.replace(/\./g, '\\.')}`));
      } else {
        const rules = nftMasqRules(node.name);
        assert.equal(rules.length, 1);
        assert.ok(rules[0].comment.includes(`id: ${keep.containerId}`));
      }
      for (const p of [keep, leak]) {
        const d = ours({ command: 'DEL', containerId: p.containerId, netns: p.ns.path, ifname: 'eth0', conf: cf, cniPath: [] });
        assert.ok(d.ok, `DEL: ${d.msg}`);
      }
      assert.equal(ipamFiles(dataDir).length, 0);
    }
  });

  test('STATUS delegates to IPAM and succeeds', () => {
    const { ns: node, dataDir } = makeNode('status');
    const o = call(node, { command: 'STATUS', containerId: '', netns: '', ifname: '', cniPath: OUR_PATH, ourIpam: true, conf: conf({ cniVersion: '1.1.0', ipam: hostLocal(dataDir, [['10.1.2.0/24']]) }) });
    assert.ok(o.ok, `STATUS: ${o.msg}`);
    // An IPAM that cannot be run makes STATUS fail.
    const bad = call(node, { command: 'STATUS', containerId: '', netns: '', ifname: '', cniPath: OUR_PATH, ourIpam: true, conf: conf({ cniVersion: '1.1.0', ipam: { type: 'nonexistent-ipam' } }) });
    assert.equal(bad.ok, false);
    assert.match(bad.msg!, /failed to find plugin "nonexistent-ipam"/);
  });

  // ------------------------------------------------------------------ macspoofchk

  test('macspoofchk: rules after ADD, spoofed source MAC dropped, rules gone after DEL', () => {
    const { ns: node, dataDir } = makeNode('spoof');
    const pod = makePod();
    const cf = conf({ isGateway: true, macspoofchk: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const r = mustAdd(node, pod, cf);
    const listing = JSON.parse(execIn(node.name, 'nft', ['-j', 'list', 'table', 'bridge', 'nat'])).nftables;
    const comment = `macspoofchk-${pod.containerId}-eth0`;
    const rules = listing.filter((o: any) => o.rule && o.rule.comment === comment).map((o: any) => o.rule);
    assert.equal(rules.length, 4);
    assert.ok(rules.some((x: any) => x.chain === 'PREROUTING' && JSON.stringify(x.expr).includes(r.interfaces[1].name)));
    assert.ok(rules.some((x: any) => JSON.stringify(x.expr).includes(r.interfaces[2].mac)));
    assert.ok(ping(pod.ns.name, '10.1.2.1'), 'genuine MAC passes');
    ipIn(pod.ns.name, ['link', 'set', 'eth0', 'address', '02:de:ad:be:ef:01']);
    ipIn(pod.ns.name, ['neigh', 'flush', 'all']);
    assert.equal(pingOnce(pod.ns.name, '10.1.2.1'), false, 'spoofed MAC dropped');
    mustDel(node, pod, cf);
    const after2 = JSON.parse(execIn(node.name, 'nft', ['-j', 'list', 'table', 'bridge', 'nat'])).nftables;
    assert.equal(after2.filter((o: any) => (o.rule && o.rule.comment === comment) || (o.chain && o.chain.name.includes(pod.containerId))).length, 0);
  });

  test('GC removes the spoof-check rules of an attachment never deleted whose veth is gone; keeps valid and live ones', async () => {
    const { ns: node, dataDir } = makeNode('gcspoof');
    const ours = (c: Call): Outcome => call(node, { ...c, cniPath: OUR_PATH, ourIpam: true });
    const cf = conf({ cniVersion: '1.1.0', isGateway: true, macspoofchk: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    // keep: listed as valid. dead: not listed, its pod died without DEL (netns gone, veth with
    // it). other: not listed but its veth is alive, as an attachment of another network would be.
    const [keep, dead, other] = [makePod(), makePod(), makePod()];
    const veth: Record<string, string> = {};
    const must = (c: Omit<Call, 'cniPath'>): any => {
      const o = ours({ ...c, cniPath: [] });
      assert.ok(o.ok, `${c.command}: ${o.msg}`);
      return o.result;
    };
    for (const p of [keep, dead, other]) {
      veth[p.containerId] = must({ command: 'ADD', containerId: p.containerId, netns: p.ns.path, ifname: 'eth0', conf: cf }).interfaces[1].name;
    }
    const spoofObjects = (p: Pod): string[] =>
      JSON.parse(execIn(node.name, 'nft', ['-j', 'list', 'table', 'bridge', 'nat'])).nftables
        .filter((o: any) => (o.rule && o.rule.comment === `macspoofchk-${p.containerId}-eth0`) || (o.chain && o.chain.name.includes(p.containerId)))
        .map((o: any) => JSON.stringify(o));
    for (const p of [keep, dead, other]) assert.equal(spoofObjects(p).length, 6, 'two chains and four rules per attachment');

    dead.ns.cleanup();
    // The kernel dismantles a dead namespace's veth pair asynchronously.
    for (let i = 0; i < 100 && linkExists(node.name, veth[dead.containerId]!); i++) await sleep(50);
    assert.equal(linkExists(node.name, veth[dead.containerId]!), false, 'the dead pod\'s host veth is gone');

    const o = ours({
      command: 'GC', containerId: '', netns: '', ifname: '', cniPath: [],
      conf: { ...cf, 'cni.dev/valid-attachments': [{ containerID: keep.containerId, ifname: 'eth0' }] },
    });
    assert.ok(o.ok, `GC: ${o.msg}`);
    assert.deepEqual(spoofObjects(dead), []);
    assert.equal(spoofObjects(keep).length, 6);
    assert.equal(spoofObjects(other).length, 6, 'a live veth\'s rules stay: they may belong to another network');
    assert.ok(ping(keep.ns.name, '10.1.2.1'), 'the valid pod still passes the spoof check');

    for (const p of [keep, other]) must({ command: 'DEL', containerId: p.containerId, netns: p.ns.path, ifname: 'eth0', conf: cf });
    must({ command: 'DEL', containerId: dead.containerId, netns: '', ifname: 'eth0', conf: cf });
    for (const p of [keep, dead, other]) assert.deepEqual(spoofObjects(p), []);
    assert.equal(ipamFiles(dataDir).length, 0);
  });

  // ------------------------------------------------------------------ rollback

  test('a failed ADD on a node without the bridge leaves none: refused before creating it, or the bridge it created is removed', () => {
    const { ns: node, dataDir } = makeNode('nobr');
    const links = (): string[] => ipJson(node.name, ['link', 'show']).map((l: any) => l.ifname).sort();
    const before = links();
    assert.deepEqual(before, ['lo']);
    const ours = (pod: Pod, cf: Record<string, unknown>): Outcome =>
      call(node, { command: 'ADD', containerId: pod.containerId, netns: pod.ns.path, ifname: pod.ifname, args: '', conf: cf, cniPath: OUR_PATH, ourIpam: true });
    const pod = makePod();
    const outside = { type: 'host-local', dataDir, ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.3.10' }]] };
    // Our in-process host-local: its config is checked before anything is created.
    let o = ours(pod, conf({ isGateway: true, ipMasq: true, ipam: outside }));
    assert.equal(o.ok, false);
    assert.equal(o.code, 7);
    assert.match(o.msg!, /^invalid range set 0: RangeStart 10\.1\.3\.10 not in network 10\.1\.2\.0\/24$/);
    assert.deepEqual(links(), before);
    // The Go host-local (exec'd: nothing to check in advance) refuses the same config after the
    // bridge was made: the bridge this ADD created goes with the rollback.
    o = add(node, pod, conf({ isGateway: true, ipMasq: true, ipam: outside }));
    assert.equal(o.ok, false, 'Go host-local accepted a rangeStart outside its subnet');
    assert.deepEqual(links(), before);
    // A failure late in the ADD (the only address is taken): the same.
    const one = { type: 'host-local', dataDir, ranges: [[{ subnet: '10.1.2.0/30' }]] };
    const first = makePod();
    const full = conf({ bridge: 'brfull0', isGateway: true, ipam: one });
    assert.ok(ours(first, full).ok);
    ipIn(node.name, ['link', 'del', (ipJson(node.name, ['link', 'show', 'master', 'brfull0'])[0] as any).ifname]);
    ipIn(node.name, ['link', 'del', 'brfull0']);
    assert.deepEqual(links(), before);
    o = ours(pod, full);
    assert.equal(o.ok, false);
    assert.match(o.msg!, /no IP addresses available in range set/);
    assert.deepEqual(links(), before);
    assert.deepEqual(iptNat(node.name).match(/CNI-[0-9a-f]+/g) ?? [], []);
    // A bridge that existed before the failed ADD stays.
    ipIn(node.name, ['link', 'add', 'brfull0', 'type', 'bridge']);
    o = ours(pod, full);
    assert.equal(o.ok, false);
    assert.deepEqual(links(), ['brfull0', 'lo']);
  });

  test('a failure after IPAM releases the IP, removes the veth and the spoof-check and masquerade rules', () => {
    const { ns: node, dataDir } = makeNode('rollback');
    ipIn(node.name, ['link', 'add', 'cni0', 'type', 'bridge']);
    ipIn(node.name, ['addr', 'add', '10.99.0.1/16', 'dev', 'cni0']);
    const pod = makePod();
    const cf = conf({ isGateway: true, ipMasq: true, macspoofchk: true, ipam: hostLocal(dataDir, [['10.1.2.0/24']]) });
    const o = add(node, pod, cf);
    assert.equal(o.ok, false);
    assert.match(o.msg!, /^failed to set bridge addr: /);
    assert.equal(ipamFiles(dataDir).length, 0);
    assert.equal(ipJson(node.name, ['link', 'show', 'type', 'veth']).length, 0);
    assert.equal(linkExists(pod.ns.name, 'eth0'), false);
    const nat = spawnSync('ip', ['netns', 'exec', node.name, 'nft', '-j', 'list', 'table', 'bridge', 'nat'], { encoding: 'utf8' });
    if (nat.status === 0) {
      assert.equal(JSON.parse(nat.stdout).nftables.filter((x: any) => x.rule && String(x.rule.comment).includes(pod.containerId)).length, 0);
    }
    assert.doesNotMatch(iptNat(node.name), /CNI-/);
  });
}

