// The whole kube-flannel chain (flannel → bridge + host-local, then portmap; cniVersion 1.1.0)
// driven through the libcni harness on one throw-away "node", over a pod's life: STATUS before
// and after flanneld's lease, ADD, CHECK (healthy and broken), GC of pods that were never
// deleted (their netns gone; once with their cache file — libcni's synthesised DEL — and once
// without — the plugins' own GC with cni.dev/valid-attachments), disableCheck / disableGC, and
// the final DEL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backdate, type FlannelNode, ipOf, makeFlannelNode, natRules, NOTHING, podResources } from '../helpers/flannel-node';
import { hostSnapshot } from '../helpers/host-snapshot';
import { CniPluginError, type Runtime, type RuntimeConf } from '../helpers/libcni';
import { cleanupAllNetns, ipIn, ipJson, makeNetns, type TestNetns } from '../helpers/netns';
import { sleepSync } from '../../shared/base/sleep';
import { builds, tempDir } from '../helpers/plugins';
import { inNs, ping, tcpFetch, tcpServer, waitReady } from '../helpers/sh';

/** Older than flannel's GC grace for scratch files (SCRATCH_GC_GRACE_MS, 60 s). */
const LONG_AGO_MS = 10 * 60_000;

for (const build of builds()) {
  describe(`flannel chain lifecycle through the libcni harness (${build.label} build)`, () => {
    const tmp = tempDir(`fcl-${build.label}`);
    let node: FlannelNode;
    let rt: Runtime;
    const pods: Record<'a' | 'b' | 'c', { ns: TestNetns; rc: RuntimeConf; result?: any; hostPort: number }> = {} as never;
    const servers: ReturnType<typeof tcpServer>[] = [];
    const valid = (): { containerID: string; ifname: string }[] => [{ containerID: pods.a.rc.containerId, ifname: 'eth0' }];
    const res = (p: 'a' | 'b' | 'c') => podResources(node, pods[p].rc.containerId, [ipOf(pods[p].result)]);
    /** The node's state and state dirs (for "nothing changed" comparisons). */
    const snapshot = (): string => hostSnapshot(node.ns.name, [node.flannelDir, node.networksDir, node.cacheDir]);

    before(() => {
      node = makeFlannelNode(build, tmp.path, `fcl${build.label[0]}`, { subnet: 5, subnetEnv: false });
      rt = node.rt;
      (['a', 'b', 'c'] as const).forEach((p, i) => {
        const ns = makeNetns(`fcl${build.label[0]}${p}`);
        const hostPort = 18080 + i;
        pods[p] = {
          ns,
          hostPort,
          rc: {
            containerId: `fcl${process.pid}${build.label[0]}${p}`,
            netns: ns.path,
            ifname: 'eth0',
            cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', `pod-${p}`]],
            capabilityArgs: { portMappings: [{ hostPort, containerPort: 8080, protocol: 'tcp' }] },
          },
        };
      });
    });

    after(() => {
      for (const s of servers) s.kill('SIGKILL');
      try {
        cleanupAllNetns();
      } finally {
        tmp.cleanup();
      }
    });

    it('STATUS: not ready (flannel, code 50) while subnet.env is missing; ready once flanneld wrote it', () => {
      assert.equal(rt.version, '1.1.0');
      const before = rt.calls.length;
      assert.throws(
        () => rt.status(),
        (e: unknown) => {
          assert.ok(e instanceof CniPluginError, String(e));
          assert.equal(e.plugin, 'flannel');
          assert.equal(e.command, 'STATUS');
          assert.equal(e.code, 50);
          assert.match(e.msg, new RegExp(`^flannel is not ready: .*${node.subnetFile.replace(/[.]/g, '\\.')}`));
          return true;
        },
      );
      assert.deepEqual(rt.calls.slice(before).map((c) => `${c.command} ${c.type}`), ['STATUS flannel'], 'libcni stops at the first failing plugin');
      // Below 1.1.0 libcni does not ask at all.
      rt.withList({ ...rt.list, cniVersion: '1.0.0' }).status();
      node.writeSubnetEnv();
      const n = rt.calls.length;
      rt.status();
      assert.deepEqual(rt.calls.slice(n).map((c) => `${c.command} ${c.type} ${c.code}`), ['STATUS flannel 0', 'STATUS portmap 0']);
    });

    it('ADD of three pods: addresses from the node\'s /24, every per-pod resource present, results cached', () => {
      const seen = new Set<string>();
      for (const p of ['a', 'b', 'c'] as const) {
        const r = rt.add(pods[p].rc);
        pods[p].result = r;
        assert.equal(r.cniVersion, '1.1.0');
        assert.match(r.ips[0].address, /^10\.244\.5\.\d+\/24$/);
        assert.equal(r.ips[0].gateway, node.gateway);
        assert.ok(!seen.has(ipOf(r)), 'addresses are distinct');
        seen.add(ipOf(r));
        const got = res(p);
        assert.deepEqual(got.addressFiles, [ipOf(r)]);
        assert.equal(got.scratchFile, true);
        assert.equal(got.masqChains.length, 1, `one ipMasq chain\n${got.natLines.join('\n')}`);
        assert.equal(got.dnatChains.length, 1, `one portmap chain\n${got.natLines.join('\n')}`);
        assert.equal(got.cacheFile, true);
        const c = rt.cached(pods[p].rc);
        assert.equal(c.kind, 'cniCacheV1');
        assert.equal(Buffer.from(c.config, 'base64').toString(), fs.readFileSync(node.confFile, 'utf8'), 'the conflist file\'s bytes');
        assert.deepEqual(c.result, r);
        assert.deepEqual(c.capabilityArgs, pods[p].rc.capabilityArgs);
        assert.deepEqual(c.cniArgs, pods[p].rc.cniArgs);
        assert.equal(c.netns, pods[p].ns.path);
      }
    });

    it('CHECK passes for every healthy pod', () => {
      for (const p of ['a', 'b', 'c'] as const) rt.check(pods[p].rc);
    });

    it('CHECK fails (flannel → bridge) once a pod\'s address is gone from its netns', () => {
      const cidr = pods.b.result.ips[0].address;
      ipIn(pods.b.ns.name, ['addr', 'del', cidr, 'dev', 'eth0']);
      assert.throws(
        () => rt.check(pods.b.rc),
        (e: unknown) => {
          assert.ok(e instanceof CniPluginError, String(e));
          assert.equal(e.plugin, 'flannel');
          assert.equal(e.code, 999);
          assert.equal(e.msg, `failed to delegate check: Failed to match addr ${cidr} on interface eth0`);
          return true;
        },
      );
      rt.check(pods.a.rc);
    });

    it('CHECK fails (portmap) once a pod\'s DNAT rule is deleted', () => {
      const chain = res('c').dnatChains[0]!;
      const rule = natRules(node.ns.name).split('\n').find((l) => l.startsWith(`-A ${chain} `) && l.includes('-j DNAT'));
      assert.ok(rule, `a DNAT rule in ${chain}`);
      inNs(node.ns.name, 'iptables', ['-t', 'nat', '-D', ...rule.slice(3).split(' ')]);
      assert.throws(
        () => rt.check(pods.c.rc),
        (e: unknown) => {
          assert.ok(e instanceof CniPluginError, String(e));
          assert.equal(e.plugin, 'portmap');
          assert.match(e.msg, new RegExp(`^could not check ipv4 dnat: rule .*${pods.c.hostPort}.* in chain ${chain} not found in table nat$`));
          return true;
        },
      );
      rt.check(pods.a.rc);
    });

    it('disableCheck (as the string "true") skips CHECK: the broken pods pass, nothing runs', () => {
      const off = rt.withList({ ...rt.list, disableCheck: 'true' });
      off.check(pods.b.rc);
      off.check(pods.c.rc);
      assert.deepEqual(off.calls, []);
    });

    it('the pods B and C "die" without DEL: their netns go, C\'s cache file too', () => {
      for (const p of ['b', 'c'] as const) {
        pods[p].ns.cleanup();
        // Their scratch files and address reservations date from long before the GC (flannel and
        // host-local leave younger ones alone: an ADD may be in flight).
        backdate(path.join(node.flannelDir, pods[p].rc.containerId), LONG_AGO_MS);
        for (const f of res(p).addressFiles) backdate(path.join(node.netDir, f), LONG_AGO_MS);
      }
      fs.rmSync(rt.cacheFile(pods.c.rc));
      // The kernel dismantles a deleted netns (and so the host ends of its veths) asynchronously.
      const veths = (): number => ipJson(node.ns.name, ['-d', 'link', 'show']).filter((l: any) => l.linkinfo?.info_kind === 'veth').length;
      for (const until = Date.now() + 10_000; veths() > 1 && Date.now() < until; ) sleepSync(20);
      assert.equal(veths(), 1, "only A's veth is left on the node");
      assert.equal(res('b').cacheFile, true);
      assert.equal(res('c').cacheFile, false);
    });

    it('disableGC: GC changes nothing and runs nothing', () => {
      const snap = snapshot();
      const off = rt.withList({ ...rt.list, disableGC: true });
      assert.deepEqual(off.gc(valid()), []);
      assert.deepEqual(off.calls, []);
      assert.equal(snapshot(), snap);
    });

    it('GC at 1.0.0: the cached dead pod (B) is DELeted from its cache; the uncached one (C) is out of its reach', () => {
      const b0 = res('b');
      const c0 = res('c');
      for (const [p, r] of [['B', b0], ['C', c0]] as const) {
        assert.equal(r.addressFiles.length, 1, `${p} still holds its address`);
        assert.equal(r.scratchFile, true, `${p}'s scratch file`);
        assert.equal(r.masqChains.length + r.dnatChains.length, 2, `${p}'s ipMasq and portmap chains`);
      }
      const old = rt.withList({ ...rt.list, cniVersion: '1.0.0' });
      assert.deepEqual(old.gc(valid()), []);
      assert.deepEqual(old.calls.map((c) => `${c.command} ${c.type} ${c.env.CNI_CONTAINERID}`), [
        `DEL portmap ${pods.b.rc.containerId}`,
        `DEL flannel ${pods.b.rc.containerId}`,
      ]);
      // the synthesised DEL carried B's cached netns, args and port mappings
      const del = old.calls[0]!;
      assert.equal(del.env.CNI_NETNS, pods.b.ns.path);
      assert.equal(del.env.CNI_ARGS, `IgnoreUnknown=1;K8S_POD_NAME=pod-b`);
      assert.deepEqual(JSON.parse(del.stdin).runtimeConfig, pods.b.rc.capabilityArgs);
      assert.deepEqual(res('b'), NOTHING);
      assert.deepEqual(res('c'), c0, 'C untouched: no cache, and no plugin GC below 1.1.0');
    });

    it('GC at 1.1.0 with only A valid: the plugins\' GC reclaims C (address, scratch file, ipMasq and portmap rules)', () => {
      const n = rt.calls.length;
      assert.deepEqual(rt.gc(valid()), []);
      const calls = rt.calls.slice(n);
      assert.deepEqual(calls.map((c) => `${c.command} ${c.type}`), ['GC flannel', 'GC portmap'], 'no stale cache: no DEL');
      for (const c of calls) {
        assert.deepEqual(JSON.parse(c.stdin)['cni.dev/valid-attachments'], valid());
        assert.equal(c.env.CNI_CONTAINERID, '');
      }
      assert.deepEqual(res('c'), NOTHING);
    });

    it('the live pod A keeps everything: resources, CHECK, gateway, hostPort', async () => {
      const got = res('a');
      assert.deepEqual(got.addressFiles, [ipOf(pods.a.result)]);
      assert.equal(got.scratchFile, true);
      assert.equal(got.masqChains.length, 1);
      assert.equal(got.dnatChains.length, 1);
      assert.ok(natRules(node.ns.name).includes(`--dport ${pods.a.hostPort} -j DNAT --to-destination ${ipOf(pods.a.result)}:8080`), 'A\'s hostPort rule');
      rt.check(pods.a.rc);
      assert.ok(ping(pods.a.ns.name, node.gateway), 'A → gateway');
      const srv = tcpServer(pods.a.ns.name, 8080, 'hello from A');
      servers.push(srv);
      await waitReady(srv);
      assert.equal(tcpFetch(node.ns.name, node.gateway, pods.a.hostPort), 'hello from A', 'node → hostPort → A');
    });

    it('DEL of A leaves no per-pod state, and an empty cache', () => {
      rt.del(pods.a.rc);
      assert.deepEqual(res('a'), NOTHING);
      assert.deepEqual(fs.readdirSync(node.flannelDir), []);
      assert.deepEqual(fs.readdirSync(node.netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')), []);
      assert.deepEqual(fs.readdirSync(path.join(node.cacheDir, 'results')), []);
      assert.doesNotMatch(natRules(node.ns.name), /CNI-DN-|-j CNI-[0-9a-f]/);
    });
  });
}
