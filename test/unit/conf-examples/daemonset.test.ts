// conf-examples/kube-flannel-ds.yaml against the rest of the repository: the embedded conflist
// and net-conf are the example files, the plugin types and the installed names are our plugins,
// the install commands write where the hostPath volumes put them, flanneld writes subnet.env
// where the flannel plugin reads it. The init scripts are also run, in a sandbox that holds only
// what the container would see (its volume mounts and the image's /cni-ts-suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { NetConf } from '../../../shared/cni/types';
import { DEFAULT_SUBNET_FILE, parseFlannelConf } from '../../../plugins/flannel/config';
import { parsePortMapConf } from '../../../plugins/portmap/config';

// Compiled to <outDir>/test/unit/conf-examples: the repository root is four levels up.
const ROOT = path.resolve(__dirname, '../../../..');
const EXAMPLES = path.join(ROOT, 'conf-examples');
const MANIFEST = path.join(EXAMPLES, 'kube-flannel-ds.yaml');

/** Where the runtimes look (containerd/CRI-O defaults, kube-flannel's hostPaths). */
const CNI_BIN_DIR = '/opt/cni/bin';
const CNI_CONF_DIR = '/etc/cni/net.d';
const CONFLIST_NAME = '10-flannel.conflist';
/** What the plugin image is documented to contain. */
const IMAGE_EXECUTABLE = '/cni-ts-suite';

type Obj = Record<string, any>;

interface Mount {
  name: string;
  mountPath: string;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  volumeMounts?: Mount[];
}

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

function loadManifest(file = MANIFEST): Obj[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  assert.ok(Array.isArray(docs), 'the manifest parses as YAML documents');
  for (const d of docs) assert.deepEqual(d.errors, [], 'no YAML errors');
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

function only(docs: Obj[], kind: string, name?: string): Obj {
  const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''}`);
  return found[0]!;
}

/** A word list: `PLUGINS=(a b c)` in a bash script. */
function bashArray(file: string, variable: string): string[] {
  const m = new RegExp(`^${variable}=\\(([^)]*)\\)`, 'm').exec(fs.readFileSync(path.join(ROOT, file), 'utf8'));
  assert.ok(m, `${file} defines ${variable}=(...)`);
  return m[1]!.trim().split(/\s+/);
}

/** The keys of the LOADERS object in plugins/multicall.ts (the standalone's registry). */
function multicallPlugins(): string[] {
  const src = fs.readFileSync(path.join(ROOT, 'plugins/multicall.ts'), 'utf8');
  const body = /const LOADERS[^=]*=\s*\{([\s\S]*?)\n\};/.exec(src);
  assert.ok(body, 'plugins/multicall.ts has a LOADERS object');
  return [...body[1]!.matchAll(/^\s*'?([a-z-]+)'?\s*:/gm)].map((m) => m[1]!);
}

/** Our plugin names, the same in the build, the installer and the standalone's registry. */
function ourPlugins(): string[] {
  const build = bashArray('scripts/build.sh', 'PLUGINS');
  assert.deepEqual(bashArray('scripts/install.sh', 'PLUGINS'), build, 'install.sh and build.sh agree');
  assert.deepEqual([...multicallPlugins()].sort(), [...build].sort(), 'multicall.ts registers the built plugins');
  for (const p of build) assert.ok(fs.existsSync(path.join(ROOT, 'plugins', p, 'main.ts')), `plugins/${p}/main.ts`);
  return build;
}

interface Parts {
  docs: Obj[];
  configMap: Obj;
  ds: Obj;
  pod: Obj;
  init(name: string): Container;
  main(name: string): Container;
}

function parts(docs = loadManifest()): Parts {
  const ds = only(docs, 'DaemonSet', 'kube-flannel-ds');
  const pod = ds.spec.template.spec as Obj;
  const byName = (list: Container[] | undefined, name: string): Container => {
    const c = (list ?? []).filter((x) => x.name === name);
    assert.equal(c.length, 1, `one container ${name}`);
    return c[0]!;
  };
  return {
    docs,
    configMap: only(docs, 'ConfigMap', 'kube-flannel-cfg'),
    ds,
    pod,
    init: (name) => byName(pod.initContainers, name),
    main: (name) => byName(pod.containers, name),
  };
}

/** The volume a container mounts at `mountPath`. */
function volumeAt(pod: Obj, c: Container, mountPath: string): Obj {
  const norm = (p: string): string => p.replace(/\/+$/, '');
  const m = (c.volumeMounts ?? []).filter((v) => norm(v.mountPath) === norm(mountPath));
  assert.equal(m.length, 1, `${c.name} mounts one volume at ${mountPath}`);
  const vols = (pod.volumes as Obj[]).filter((v) => v.name === m[0]!.name);
  assert.equal(vols.length, 1, `volume ${m[0]!.name} is defined once`);
  return vols[0]!;
}

function assertHostPathMount(pod: Obj, c: Container, mountPath: string, hostPath: string): void {
  const v = volumeAt(pod, c, mountPath);
  assert.equal(v.hostPath?.path, hostPath, `${c.name}: ${mountPath} is hostPath ${hostPath}`);
}

/** The shell script of an init container (`/bin/sh -c <script>`). */
function scriptOf(c: Container): string {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  assert.deepEqual(argv.slice(0, 2), ['/bin/sh', '-c'], `${c.name} runs a /bin/sh -c script`);
  assert.equal(argv.length, 3, `${c.name}: one script`);
  // Kubernetes expands $(VAR) and turns $$ into $ in command/args before the shell sees them.
  for (const s of argv) {
    assert.doesNotMatch(s, /\$\$|\$\(/, `${c.name}: no "$$" or "$(" (Kubernetes would rewrite them)`);
  }
  return argv[2]!;
}

/** The words of the script's `for p in ...; do` loop. */
function loopWords(script: string): string[] {
  const m = /\bfor\s+\w+\s+in\s+([^;\n]+)[;\n]/.exec(script);
  assert.ok(m, 'the script loops over the plugin names');
  return m[1]!.trim().split(/\s+/);
}

/**
 * Runs a container's script with every absolute path rebased onto `root`, a directory that
 * holds only the container's mounts (prepared by the caller) and the image files: a path the
 * container would not have makes the script fail here too.
 */
function runInSandbox(shell: string[], script: string, root: string): { status: number | null; stderr: string } {
  const rebased = script.replace(/(^|[\s="'])\/(?=[A-Za-z0-9._-])/gm, (_m, pre: string) => `${pre}${root}/`);
  const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', rebased], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

function sandbox(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-daemonset-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** /bin/sh, and busybox's sh when the host has it (the image is documented as busybox-based). */
function shells(): string[][] {
  const out = [['/bin/sh']];
  const bb = spawnSync('busybox', ['sh', '-c', 'true']);
  if (!bb.error && bb.status === 0) out.push(['busybox', 'sh']);
  return out;
}

/** What libcni hands the plugin for one conflist entry: the list's name and cniVersion injected. */
function entryConf(list: Obj, type: string): NetConf {
  const e = (list.plugins as Obj[]).find((p) => p.type === type);
  assert.ok(e, `the conflist has a ${type} entry`);
  return { ...e, name: list.name, cniVersion: list.cniVersion } as NetConf;
}

// ---------------------------------------------------------------------------------------------

test('the manifest has the kube-flannel objects, wired to one another', () => {
  const p = parts();
  only(p.docs, 'Namespace', 'kube-flannel');
  const sa = only(p.docs, 'ServiceAccount');
  assert.equal(sa.metadata.namespace, 'kube-flannel');
  const role = only(p.docs, 'ClusterRole');
  const binding = only(p.docs, 'ClusterRoleBinding');
  assert.equal(binding.roleRef.name, role.metadata.name);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'kube-flannel' }]);
  // flanneld --kube-subnet-mgr: reads its node (podCIDR), patches its status and annotations.
  const can = (res: string, verb: string): boolean =>
    (role.rules as Obj[]).some((r) => r.apiGroups.includes('') && r.resources.includes(res) && r.verbs.includes(verb));
  for (const [res, verb] of [['nodes', 'list'], ['nodes', 'watch'], ['nodes/status', 'patch'], ['pods', 'get']]) {
    assert.ok(can(res!, verb!), `ClusterRole allows ${verb} ${res}`);
  }
  assert.equal(p.configMap.metadata.namespace, 'kube-flannel');
  assert.equal(p.ds.metadata.namespace, 'kube-flannel');
  assert.equal(p.pod.serviceAccountName, sa.metadata.name);
  assert.equal(p.pod.hostNetwork, true);
  assert.equal(p.pod.priorityClassName, 'system-node-critical');
  assert.ok((p.pod.tolerations as Obj[]).some((t) => t.operator === 'Exists' && t.effect === 'NoSchedule'), 'tolerates NoSchedule taints');
  const sel = p.ds.spec.selector.matchLabels as Record<string, string>;
  for (const [k, v] of Object.entries(sel)) assert.equal(p.ds.spec.template.metadata.labels[k], v, `selector ${k} matches the pod`);
  const cfgVolumes = (p.pod.volumes as Obj[]).filter((v) => v.configMap);
  assert.deepEqual(cfgVolumes.map((v) => v.configMap.name), [p.configMap.metadata.name]);
});

test('cni-conf.json is conf-examples/10-flannel.conflist and names only our plugins', () => {
  const { configMap } = parts();
  const embedded = JSON.parse(configMap.data['cni-conf.json']) as Obj;
  assert.deepEqual(embedded, readJson(path.join(EXAMPLES, CONFLIST_NAME)));
  const names = ourPlugins();
  for (const pl of embedded.plugins as Obj[]) assert.ok(names.includes(pl.type), `plugin type ${pl.type} is one of ours (${names.join(', ')})`);
  assert.deepEqual((embedded.plugins as Obj[]).find((pl) => pl.type === 'portmap')?.capabilities, { portMappings: true });
});

test('the embedded conflist passes our flannel and portmap config validation', () => {
  const list = JSON.parse(parts().configMap.data['cni-conf.json']) as Obj;
  const flannel = parseFlannelConf(entryConf(list, 'flannel'));
  assert.equal(flannel.name, 'cbr0');
  assert.equal(flannel.subnetFile, DEFAULT_SUBNET_FILE, 'reads the subnet.env flanneld writes');
  assert.deepEqual(flannel.delegate, { hairpinMode: true, isDefaultGateway: true });
  const probe = { iptables: () => true, nftables: () => false };
  const portmap = parsePortMapConf(entryConf(list, 'portmap'), 'eth0', probe);
  assert.equal(portmap.name, 'cbr0');
  assert.deepEqual(portmap.mappings, []);
});

test('net-conf.json is conf-examples/net-conf.json; flanneld reads it from its ConfigMap mount', () => {
  const p = parts();
  assert.deepEqual(JSON.parse(p.configMap.data['net-conf.json']), readJson(path.join(EXAMPLES, 'net-conf.json')));
  const flanneld = p.main('kube-flannel');
  const cfg = volumeAt(p.pod, flanneld, '/etc/kube-flannel');
  assert.equal(cfg.configMap?.name, 'kube-flannel-cfg');
  const args = [...(flanneld.command ?? []), ...(flanneld.args ?? [])];
  // flanneld's default --net-config-path is /etc/kube-flannel/net-conf.json.
  const netConfArg = args.find((a) => a.startsWith('--net-config-path'));
  if (netConfArg) assert.equal(netConfArg.split('=')[1], '/etc/kube-flannel/net-conf.json');
  assert.ok(args.includes('--kube-subnet-mgr'));
});

test('flanneld writes subnet.env into hostPath /run/flannel, where the flannel plugin reads it', () => {
  const p = parts();
  const flanneld = p.main('kube-flannel');
  const dir = path.posix.dirname(DEFAULT_SUBNET_FILE);
  assert.equal(dir, '/run/flannel');
  assertHostPathMount(p.pod, flanneld, dir, dir);
  const args = [...(flanneld.command ?? []), ...(flanneld.args ?? [])];
  const subnetArg = args.find((a) => a.startsWith('--subnet-file'));
  if (subnetArg) assert.equal(subnetArg.split('=')[1], DEFAULT_SUBNET_FILE);
  assert.ok(!flanneld.image.includes('example'), 'flanneld is the upstream image');
});

test('install-cni-plugin: mounts hostPath /opt/cni/bin and installs exactly our four plugins', () => {
  const p = parts();
  const c = p.init('install-cni-plugin');
  assertHostPathMount(p.pod, c, CNI_BIN_DIR, CNI_BIN_DIR);
  const script = scriptOf(c);
  assert.deepEqual(loopWords(script), ourPlugins());
  assert.ok(script.includes(IMAGE_EXECUTABLE), `copies ${IMAGE_EXECUTABLE} from the image`);
  assert.ok(script.includes(CNI_BIN_DIR), `writes into ${CNI_BIN_DIR}`);
});

test('install-cni-plugin, run: one executable, hard-linked under each plugin name, no temp files', (t) => {
  const p = parts();
  const c = p.init('install-cni-plugin');
  const script = scriptOf(c);
  for (const sh of shells()) {
    const root = sandbox(t);
    fs.writeFileSync(path.join(root, IMAGE_EXECUTABLE), '#!/bin/sh\necho fake\n', { mode: 0o644 });
    for (const m of c.volumeMounts ?? []) fs.mkdirSync(path.join(root, m.mountPath), { recursive: true });
    const bin = path.join(root, CNI_BIN_DIR);
    fs.writeFileSync(path.join(bin, 'flannel'), 'the Go flannel'); // replaced, not written through
    const goIno = fs.statSync(path.join(bin, 'flannel')).ino;
    fs.writeFileSync(path.join(bin, 'loopback'), 'another plugin'); // left alone

    for (let round = 1; round <= 2; round++) {
      const r = runInSandbox(sh, script, root);
      assert.equal(r.status, 0, `${sh.join(' ')} round ${round}: ${r.stderr}`);
      assert.deepEqual(fs.readdirSync(bin).sort(), ['bridge', 'cni-ts-suite', 'flannel', 'host-local', 'loopback', 'portmap']);
      const exe = fs.statSync(path.join(bin, 'cni-ts-suite'));
      assert.equal(exe.mode & 0o777, 0o755);
      assert.equal(exe.nlink, 5, 'the executable plus four links');
      for (const name of ourPlugins()) {
        assert.equal(fs.statSync(path.join(bin, name)).ino, exe.ino, `${name} is a hard link of cni-ts-suite`);
      }
      assert.equal(fs.readFileSync(path.join(bin, 'flannel'), 'utf8'), '#!/bin/sh\necho fake\n');
      // (round 2 may be handed the freed inode of the Go file)
      if (round === 1) assert.notEqual(exe.ino, goIno, 'the Go file was replaced by rename');
      assert.equal(fs.readFileSync(path.join(bin, 'loopback'), 'utf8'), 'another plugin');
    }
  }
});

test('install-cni: mounts hostPath /etc/cni/net.d and writes 10-flannel.conflist there', (t) => {
  const p = parts();
  const c = p.init('install-cni');
  assertHostPathMount(p.pod, c, CNI_CONF_DIR, CNI_CONF_DIR);
  const cfg = volumeAt(p.pod, c, '/etc/kube-flannel');
  assert.equal(cfg.configMap?.name, p.configMap.metadata.name);
  const script = scriptOf(c);
  assert.ok(script.includes(`${CNI_CONF_DIR}/${CONFLIST_NAME}`), `names ${CNI_CONF_DIR}/${CONFLIST_NAME}`);

  for (const sh of shells()) {
    const root = sandbox(t);
    for (const m of c.volumeMounts ?? []) fs.mkdirSync(path.join(root, m.mountPath), { recursive: true });
    // The ConfigMap volume: one file per data key.
    for (const [k, v] of Object.entries(p.configMap.data as Record<string, string>)) {
      fs.writeFileSync(path.join(root, '/etc/kube-flannel', k), v);
    }
    const r = runInSandbox(sh, script, root);
    assert.equal(r.status, 0, `${sh.join(' ')}: ${r.stderr}`);
    const confDir = path.join(root, CNI_CONF_DIR);
    assert.deepEqual(fs.readdirSync(confDir), [CONFLIST_NAME], 'only the conflist, no temp file');
    assert.deepEqual(readJson(path.join(confDir, CONFLIST_NAME)), readJson(path.join(EXAMPLES, CONFLIST_NAME)));
  }
});

test('the init containers come before the runtime can use the network: plugins, then the conflist', () => {
  const names = (parts().pod.initContainers as Container[]).map((c) => c.name);
  assert.deepEqual(names, ['install-cni-plugin', 'install-cni']);
});

test('the checks catch a wrong path or plugin list (mutated manifests)', (t) => {
  const text = fs.readFileSync(MANIFEST, 'utf8');
  const mutate = (from: string, to: string): Parts => {
    assert.ok(text.includes(from), `the manifest contains ${JSON.stringify(from)}`);
    const f = path.join(sandbox(t), 'm.yaml');
    fs.writeFileSync(f, text.replace(from, () => to)); // a function: `to` may hold "$$"
    return parts(loadManifest(f));
  };
  // A typo in the hostPath of the plugin dir.
  let p = mutate('path: /opt/cni/bin', 'path: /opt/cni/bn');
  assert.throws(() => assertHostPathMount(p.pod, p.init('install-cni-plugin'), CNI_BIN_DIR, CNI_BIN_DIR));
  // A plugin missing from the install loop.
  p = mutate('for p in flannel bridge host-local portmap', 'for p in flannel bridge portmap');
  assert.notDeepEqual(loopWords(scriptOf(p.init('install-cni-plugin'))), ourPlugins());
  // The conflist written to a path the container does not mount: the sandbox run fails.
  p = mutate('mv -f /etc/cni/net.d/.10-flannel.conflist.install-tmp /etc/cni/net.d/', 'mv -f /etc/cni/net.d/.10-flannel.conflist.install-tmp /etc/cni/net/');
  const c = p.init('install-cni');
  const root = sandbox(t);
  for (const m of c.volumeMounts ?? []) fs.mkdirSync(path.join(root, m.mountPath), { recursive: true });
  fs.writeFileSync(path.join(root, '/etc/kube-flannel/cni-conf.json'), '{}');
  assert.notEqual(runInSandbox(['/bin/sh'], scriptOf(c), root).status, 0);
  // "$$" in a script (Kubernetes would turn it into "$").
  p = mutate('"$dest/.cni-ts-suite.install-tmp"', '"$dest/.cni-ts-suite.$$"');
  assert.throws(() => scriptOf(p.init('install-cni-plugin')), /Kubernetes would rewrite/);
  // A conflist that differs from the example.
  p = mutate('"isDefaultGateway": true', '"isDefaultGateway": false');
  assert.notDeepEqual(JSON.parse(p.configMap.data['cni-conf.json']), readJson(path.join(EXAMPLES, CONFLIST_NAME)));
  // flanneld's run dir mounted elsewhere.
  p = mutate('path: /run/flannel', 'path: /var/run/flannel-x');
  assert.throws(() => assertHostPathMount(p.pod, p.main('kube-flannel'), '/run/flannel', '/run/flannel'));
});
