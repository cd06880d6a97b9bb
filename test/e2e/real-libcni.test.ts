// The kube-flannel conflists driven through the real libcni (Debian's 1.1.2, the library inside
// containerd 1.6/1.7 and podman 4) and, on a twin node, through the libcni-faithful harness
// (test/helpers/libcni.ts, which follows libcni >= 1.2), with the same calls: ADD, CHECK (healthy
// and broken), DEL, DEL again. Asserted: the version each picks for the example conflists
// (conf-examples/10-flannel-1.1.conflist names 1.0.0 plus cniVersions [1.0.0, 1.1.0], so old
// libcni stays on 1.0.0 and new libcni goes to 1.1.0), the same ADD result, the same cache entry,
// the same per-pod resources on the node, the same plugin errors, nothing left after DEL, and
// (recorded by wrapper plugins first in CNI_PATH) the same plugin calls: order, CNI_* variables,
// config with runtimeConfig and prevResult.
// Also that a plain 1.1.0 conflist fails ADD under libcni 1.1.2, the reason for cniVersions.
// Go or libcni's sources missing is a failure naming the Debian packages, never a skip.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FlannelNode, ipOf, makeFlannelNode, NOTHING, podResources } from '../helpers/flannel-node';
import { CniPluginError, LibcniError, Runtime, type RuntimeConf } from '../helpers/libcni';
import { cleanupAllNetns, ipIn, makeNetns, type TestNetns } from '../helpers/netns';
import { builds, tempDir } from '../helpers/plugins';
import { buildLibcniDriver, type DriverAnswer, RealLibcni, type RecordedCall, recordingPluginDir } from '../helpers/real-libcni';
import { ping } from '../helpers/sh';

// Compiled to <outDir>/test/e2e: the repository root is three levels up.
const EXAMPLES = path.resolve(__dirname, '../../../conf-examples');

const driverDir = tempDir('libcni-driver');
let driverPath: string | undefined;
/** The driver, built once for the file (a build failure fails every test that needs it). */
const driver = (): string => (driverPath ??= buildLibcniDriver(driverDir.path));
after(() => driverDir.cleanup());

/** An example conflist with flannel's state paths (subnet.env, scratch dir, host-local dir) in the node's temp dir. */
function exampleFor(node: FlannelNode, file: string, edit: (l: any) => void = () => {}): string {
  const list = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'));
  const flannel = list.plugins.find((p: { type: string }) => p.type === 'flannel');
  Object.assign(flannel, { subnetFile: node.subnetFile, dataDir: node.flannelDir, ipam: { ...flannel.ipam, dataDir: node.networksDir } });
  edit(list);
  return JSON.stringify(list, null, 2);
}

/**
 * A result with what differs between two nodes by construction blanked: MACs, host-side veth
 * names, the pod netns path; `dns: {}` dropped (Go marshals the empty struct, our plugins omit it).
 */
function comparable(r: any): any {
  const out = structuredClone(r);
  delete out.cniVersion;
  if (out.dns && Object.keys(out.dns).length === 0) delete out.dns;
  for (const i of out.interfaces ?? []) {
    if (i.mac) i.mac = '<mac>';
    if (/^veth/.test(i.name)) i.name = '<veth>';
    if (i.sandbox) i.sandbox = '<pod netns>';
  }
  return out;
}

/** A cache file with the node's temp dir in the cached conflist and the result made comparable. */
function comparableCache(file: string, node: FlannelNode): any {
  const c = JSON.parse(fs.readFileSync(file, 'utf8'));
  c.config = Buffer.from(c.config, 'base64').toString().replaceAll(node.dir, '<node>');
  c.result = comparable(c.result);
  return c;
}

/**
 * A recorded plugin call with the node's temp dir, the pod's netns path and the list version
 * blanked, and its prevResult made comparable: what must be equal between the two runtimes.
 */
function comparableCall(c: RecordedCall, node: FlannelNode, pod: TestNetns, version: string): any {
  const conf = JSON.parse(c.stdin.replaceAll(node.dir, '<node>'));
  assert.equal(conf.cniVersion, version, `${c.type} ${c.env.CNI_COMMAND} gets the list version`);
  delete conf.cniVersion;
  if (conf.prevResult) conf.prevResult = comparable(conf.prevResult);
  const env: Record<string, string> = { ...c.env, CNI_PATH: c.env.CNI_PATH!.replaceAll(node.dir, '<node>') };
  if (env.CNI_NETNS === pod.path) env.CNI_NETNS = '<pod netns>';
  return { type: c.type, env, conf };
}

const ok = (a: DriverAnswer): DriverAnswer => {
  assert.equal(a.error, undefined, `libcni: ${a.error?.text}`);
  return a;
};

/** Example file, the version libcni 1.1.2 picks, the version the harness (libcni >= 1.2) picks. */
const CASES = [
  ['10-flannel.conflist', '0.3.1', '0.3.1'],
  ['10-flannel-1.1.conflist', '1.0.0', '1.1.0'],
] as const;

for (const build of builds()) {
  for (const [file, oldVersion, newVersion] of CASES) {
    describe(`${file} through the real libcni 1.1.2 and the harness, the same calls (${build.label} build)`, () => {
      const tmp = tempDir(`rl-${build.label}`);
      const tag = `rl${build.label[0]}${oldVersion[0]}`;
      let nodeL: FlannelNode; // driven by the real libcni
      let nodeH: FlannelNode; // driven by the harness
      let lib: RealLibcni;
      let rt: Runtime;
      let podL: TestNetns;
      let podH: TestNetns;
      // The same container ID on both nodes: chain names and rule comments derive from it.
      const cid = `rl${process.pid}${build.label[0]}${oldVersion[0]}`;
      const rc = (pod: TestNetns): RuntimeConf => ({
        containerId: cid,
        netns: pod.path,
        ifname: 'eth0',
        cniArgs: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'pod-a']],
        capabilityArgs: { portMappings: [{ hostPort: 18090, containerPort: 8080, protocol: 'tcp' }] },
      });
      let resultL: any;
      let resultH: any;
      let recL: ReturnType<typeof recordingPluginDir>;
      let recH: ReturnType<typeof recordingPluginDir>;

      before(() => {
        nodeL = makeFlannelNode(build, path.join(tmp.path, 'libcni'), `${tag}l`, { subnet: 9 });
        nodeH = makeFlannelNode(build, path.join(tmp.path, 'harness'), `${tag}h`, { subnet: 9 });
        fs.writeFileSync(nodeL.confFile, exampleFor(nodeL, file));
        fs.writeFileSync(nodeH.confFile, exampleFor(nodeH, file));
        // Recording wrappers first in CNI_PATH: what each runtime sent, call by call.
        recL = recordingPluginDir(path.join(nodeL.dir, 'rec'), build.dir, ['flannel', 'portmap']);
        recH = recordingPluginDir(path.join(nodeH.dir, 'rec'), build.dir, ['flannel', 'portmap']);
        lib = new RealLibcni(driver(), nodeL.confFile, [recL.dir, build.dir], nodeL.cacheDir, nodeL.ns.name);
        rt = Runtime.fromConfDir(nodeH.confDir, 'cbr0', `${recH.dir}:${build.dir}`, nodeH.cacheDir, nodeH.ns.name);
        podL = makeNetns(`${tag}pl`);
        podH = makeNetns(`${tag}ph`);
      });

      after(() => {
        try {
          cleanupAllNetns();
        } finally {
          tmp.cleanup();
        }
      });

      it(`libcni 1.1.2 runs the list at ${oldVersion}, the harness (libcni >= 1.2) at ${newVersion}`, () => {
        assert.equal(lib.version(), oldVersion);
        assert.equal(rt.version, newVersion);
      });

      it('ADD: the same result (but its version), the same cache entry, the same resources on the node', () => {
        resultL = ok(lib.call('add', rc(podL))).result;
        resultH = rt.add(rc(podH));
        assert.equal(resultL.cniVersion, oldVersion);
        assert.equal(resultH.cniVersion, newVersion);
        assert.match(resultL.ips[0].address, /^10\.244\.9\.\d+\/24$/);
        assert.deepEqual(comparable(resultL), comparable(resultH));
        assert.deepEqual(ok(lib.call('cached', rc(podL))).result, resultL, 'libcni reads back what it cached');

        const cacheL = comparableCache(lib.cacheFile('cbr0', rc(podL)), nodeL);
        const cacheH = comparableCache(rt.cacheFile(rc(podH)), nodeH);
        // libcni 1.2 added the netns to the cache entry (for GC's synthesised DEL); 1.1.2 has none.
        assert.equal(cacheH.netns, podH.path);
        assert.equal('netns' in cacheL, false);
        delete cacheH.netns;
        assert.deepEqual(cacheL, cacheH);
        assert.deepEqual(Object.keys(cacheL).sort(), ['capabilityArgs', 'cniArgs', 'config', 'containerId', 'ifName', 'kind', 'networkName', 'result']);

        const resL = podResources(nodeL, cid, [ipOf(resultL)]);
        assert.deepEqual(resL, podResources(nodeH, cid, [ipOf(resultH)]));
        assert.equal(resL.addressFiles.length, 1);
        assert.equal(resL.scratchFile, true);
        assert.equal(resL.masqChains.length, 1, resL.natLines.join('\n'));
        assert.equal(resL.dnatChains.length, 1, resL.natLines.join('\n'));
        assert.ok(ping(podL.name, nodeL.gateway), 'the pod added through libcni 1.1.2 reaches its gateway');
      });

      if (oldVersion === '0.3.1') {
        it('CHECK: both refuse it at 0.3.1 with the same text, before running any plugin', () => {
          const n = rt.calls.length;
          const l = lib.call('check', rc(podL));
          assert.equal(l.error?.text, 'configuration version "0.3.1" does not support the CHECK command');
          assert.throws(() => rt.check(rc(podH)), (e: unknown) => e instanceof LibcniError && e.message === l.error?.text);
          assert.equal(rt.calls.length, n);
        });
      } else {
        it('CHECK: both pass on the healthy pod', () => {
          ok(lib.call('check', rc(podL)));
          rt.check(rc(podH));
        });

        it('CHECK once the pod\'s address is gone: the same plugin error (code, message) from both', () => {
          ipIn(podL.name, ['addr', 'del', resultL.ips[0].address, 'dev', 'eth0']);
          ipIn(podH.name, ['addr', 'del', resultH.ips[0].address, 'dev', 'eth0']);
          const l = lib.call('check', rc(podL));
          assert.ok(l.error, 'libcni reports the failure');
          assert.throws(
            () => rt.check(rc(podH)),
            (e: unknown) => {
              assert.ok(e instanceof CniPluginError, String(e));
              assert.deepEqual({ code: l.error!.code, msg: l.error!.msg }, { code: e.code, msg: e.msg });
              assert.equal(e.msg, `failed to delegate check: Failed to match addr ${resultH.ips[0].address} on interface eth0`);
              return true;
            },
          );
        });
      }

      it('DEL: both succeed and leave nothing of the pod; a second DEL succeeds too', () => {
        ok(lib.call('del', rc(podL)));
        rt.del(rc(podH));
        assert.deepEqual(podResources(nodeL, cid, [ipOf(resultL)]), NOTHING);
        assert.deepEqual(podResources(nodeH, cid, [ipOf(resultH)]), NOTHING);
        for (const node of [nodeL, nodeH]) {
          assert.deepEqual(fs.readdirSync(node.flannelDir), []);
          assert.deepEqual(fs.readdirSync(path.join(node.cacheDir, 'results')), []);
        }
        ok(lib.call('del', rc(podL)));
        rt.del(rc(podH));
      });

      it('every plugin call of the above: the same order, CNI_* variables and config (runtimeConfig, prevResult)', () => {
        const l = recL.calls();
        const h = recH.calls();
        const expected = oldVersion === '0.3.1'
          ? ['ADD flannel', 'ADD portmap', 'DEL portmap', 'DEL flannel', 'DEL portmap', 'DEL flannel']
          : ['ADD flannel', 'ADD portmap', 'CHECK flannel', 'CHECK portmap', 'CHECK flannel', 'DEL portmap', 'DEL flannel', 'DEL portmap', 'DEL flannel'];
        assert.deepEqual(l.map((c) => `${c.env.CNI_COMMAND} ${c.type}`), expected);
        assert.deepEqual(h.map((c) => `${c.env.CNI_COMMAND} ${c.type}`), expected);
        l.forEach((c, i) => {
          assert.deepEqual(comparableCall(c, nodeL, podL, oldVersion), comparableCall(h[i]!, nodeH, podH, newVersion), `call ${i}: ${expected[i]}`);
        });
        // The DEL after ADD carried the pod's port mappings and (from 0.4.0 on) the cached result;
        // the second DEL had no cache to send.
        const del = JSON.parse(l[expected.indexOf('DEL portmap')]!.stdin);
        assert.deepEqual(del.runtimeConfig, { portMappings: rc(podL).capabilityArgs!.portMappings });
        assert.equal(del.prevResult !== undefined, oldVersion !== '0.3.1', 'DEL sends the cached result from 0.4.0 on');
        assert.equal(JSON.parse(l[expected.lastIndexOf('DEL portmap')]!.stdin).prevResult, undefined, 'the second DEL has no cache to send');
      });
    });
  }

  describe(`a conflist at plain 1.1.0 breaks ADD under libcni 1.1.2: the reason for cniVersions (${build.label} build)`, () => {
    const tmp = tempDir(`rl11-${build.label}`);
    const tag = `rl${build.label[0]}x`;
    let node: FlannelNode;
    let pod: TestNetns;
    after(() => {
      try {
        cleanupAllNetns();
      } finally {
        tmp.cleanup();
      }
    });

    it('ADD fails with libcni\'s "unsupported CNI result version"; DEL removes what the plugins made', () => {
      node = makeFlannelNode(build, tmp.path, tag, { subnet: 10 });
      fs.writeFileSync(
        node.confFile,
        exampleFor(node, '10-flannel-1.1.conflist', (l) => {
          l.cniVersion = '1.1.0';
          delete l.cniVersions;
        }),
      );
      pod = makeNetns(`${tag}p`);
      const lib = new RealLibcni(driver(), node.confFile, [build.dir], node.cacheDir, node.ns.name);
      const r: RuntimeConf = { containerId: `rl${process.pid}${build.label[0]}x`, netns: pod.path, ifname: 'eth0' };
      assert.equal(lib.version(), '1.1.0');
      const add = lib.call('add', r);
      assert.match(add.error?.text ?? '', /^plugin type="flannel" failed \(add\): unsupported CNI result version "1\.1\.0"$/);
      assert.equal(fs.existsSync(lib.cacheFile('cbr0', r)), false, 'nothing cached');
      ok(lib.call('del', r));
      const left = fs.readdirSync(node.netDir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
      assert.deepEqual(left, []);
      assert.deepEqual(fs.readdirSync(node.flannelDir), []);
    });
  });
}
