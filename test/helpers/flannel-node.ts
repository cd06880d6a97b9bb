// A single flannel "node" for runtime-level e2e tests: a throw-away namespace the plugins run in,
// a conf dir holding the kube-flannel conflist (flannel → bridge + host-local, then portmap)
// with every path in a temp dir, and the libcni harness over it. Plus an inventory, read with
// independent tools, of what one pod left on the node: host-local address files, the flannel
// scratch file, the ipMasq and portmap chains and jumps naming it, its cache file, and UDP
// conntrack entries towards its address.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Runtime } from './libcni';
import { makeNetns, type TestNetns } from './netns';
import type { Build } from './plugins';
import { sh, shStatus } from './sh';

export interface FlannelNode {
  ns: TestNetns;
  /** The temp dir everything lives in. */
  dir: string;
  confDir: string;
  confFile: string;
  subnetFile: string;
  flannelDir: string;
  networksDir: string;
  /** host-local's dir of this network */
  netDir: string;
  cacheDir: string;
  /** `10.244.<n>` */
  prefix: string;
  gateway: string;
  rt: Runtime;
  writeSubnetEnv(): void;
}

export interface FlannelNodeOptions {
  /** third octet of the node's /24 */
  subnet: number;
  cniVersion?: string;
  /** FLANNEL_IPMASQ; false (default) makes the bridge delegate masquerade, so pods have ipMasq rules */
  flannelIpMasq?: boolean;
  /** write subnet.env now (default true) */
  subnetEnv?: boolean;
}

/** The kube-flannel conflist (network cbr0: flannel, then portmap) with its state in the given paths. */
export function flannelConflist(
  cniVersion: string,
  p: { subnetFile: string; flannelDir: string; networksDir: string },
): { name: string; cniVersion: string; plugins: Array<Record<string, any> & { type: string }> } {
  return {
    name: 'cbr0',
    cniVersion,
    plugins: [
      {
        type: 'flannel',
        subnetFile: p.subnetFile,
        dataDir: p.flannelDir,
        ipam: { dataDir: p.networksDir },
        delegate: { hairpinMode: true, isDefaultGateway: true },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export function makeFlannelNode(build: Build, dir: string, tag: string, o: FlannelNodeOptions): FlannelNode {
  const ns = makeNetns(tag);
  sh('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
  const prefix = `10.244.${o.subnet}`;
  const confDir = path.join(dir, 'net.d');
  const subnetFile = path.join(dir, 'run', 'subnet.env');
  const flannelDir = path.join(dir, 'flannel');
  const networksDir = path.join(dir, 'networks');
  const cacheDir = path.join(dir, 'cache');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(path.dirname(subnetFile), { recursive: true });
  const conf = flannelConflist(o.cniVersion ?? '1.1.0', { subnetFile, flannelDir, networksDir });
  const confFile = path.join(confDir, '10-flannel.conflist');
  fs.writeFileSync(confFile, JSON.stringify(conf, null, 2));
  const node: FlannelNode = {
    ns,
    dir,
    confDir,
    confFile,
    subnetFile,
    flannelDir,
    networksDir,
    netDir: path.join(networksDir, 'cbr0'),
    cacheDir,
    prefix,
    gateway: `${prefix}.1`,
    rt: Runtime.fromConfDir(confDir, 'cbr0', build.dir, cacheDir, ns.name),
    writeSubnetEnv() {
      fs.writeFileSync(subnetFile, `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${prefix}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=${o.flannelIpMasq ?? false}\n`);
    },
  };
  if (o.subnetEnv ?? true) node.writeSubnetEnv();
  return node;
}

/** `iptables-save -t nat` of the node (throws when it cannot be read). */
export function natRules(ns: string): string {
  const r = shStatus('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat']);
  if (r.code !== 0) throw new Error(`iptables-save in ${ns} failed: ${r.err}`);
  return r.out;
}

export interface PodResources {
  /** host-local files naming the container */
  addressFiles: string[];
  scratchFile: boolean;
  /** ipMasq chains (`CNI-<hash>`) jumped to from rules commented with the container ID */
  masqChains: string[];
  /** portmap chains (`CNI-DN-<hash>`) jumped to from rules commented with the container ID */
  dnatChains: string[];
  /** every nat line naming the container ID, or the chains above, or the pod's addresses */
  natLines: string[];
  cacheFile: boolean;
  /** UDP conntrack entries whose reply comes from one of the pod's addresses */
  conntrack: string[];
}

/** What of pod `cid` (with addresses `ips`, plain IPs) exists on the node. */
export function podResources(node: FlannelNode, cid: string, ips: string[]): PodResources {
  const addressFiles: string[] = [];
  for (const f of fs.existsSync(node.netDir) ? fs.readdirSync(node.netDir) : []) {
    if (f === 'lock' || f.startsWith('last_reserved_ip')) continue;
    const content = fs.readFileSync(path.join(node.netDir, f), 'utf8');
    if (content.split('\r\n')[0]!.trim() === cid) addressFiles.push(f);
  }
  const nat = natRules(node.ns.name).split('\n');
  const naming = nat.filter((l) => l.includes(`id: \\"${cid}\\"`));
  const target = (l: string): string | undefined => / -j (CNI-\S+)/.exec(l)?.[1];
  const masqChains = [...new Set(naming.filter((l) => l.startsWith('-A POSTROUTING ')).map(target).filter((c): c is string => !!c))];
  const dnatChains = [...new Set(naming.filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ')).map(target).filter((c): c is string => !!c))];
  const chains = new Set([...masqChains, ...dnatChains]);
  const ipRe = ips.map((ip) => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, '\\.')}([^0-9]|$)`));
  const natLines = nat.filter(
    (l) =>
      l.includes(`id: \\"${cid}\\"`) ||
      [...chains].some((c) => l.startsWith(`:${c} `) || l.startsWith(`-A ${c} `) || l.endsWith(` -j ${c}`)) ||
      (!l.startsWith('#') && ipRe.some((re) => re.test(l))),
  );
  let cacheFile = false;
  try {
    cacheFile = fs.existsSync(node.rt.cacheFile({ containerId: cid, ifname: 'eth0' }));
  } catch {
    cacheFile = false;
  }
  const ct = shStatus('ip', ['netns', 'exec', node.ns.name, 'conntrack', '-L', '-p', 'udp']);
  const conntrack = ct.out
    .split('\n')
    .filter((l) => ips.some((ip) => new RegExp(`src=${ip.replace(/\./g, '\\.')} `).test(l.slice(l.indexOf('src=', l.indexOf('src=') + 1)))));
  return {
    addressFiles,
    scratchFile: fs.existsSync(path.join(node.flannelDir, cid)),
    masqChains,
    dnatChains,
    natLines,
    cacheFile,
    conntrack,
  };
}

/** Everything a fully removed pod must not have left (empty lists, false flags). */
export const NOTHING: PodResources = { addressFiles: [], scratchFile: false, masqChains: [], dnatChains: [], natLines: [], cacheFile: false, conntrack: [] };

/** Backdates a file (e.g. a scratch file written "before the reboot") by `ms`. */
export function backdate(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

/** The plain address of a result's first IP. */
export const ipOf = (r: any): string => String(r.ips[0].address).split('/')[0]!;
