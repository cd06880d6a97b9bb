// A flannel cluster for daemon tests: an L2 underlay (10.0.0.0/24), an etcd with client-certificate
// TLS on its own host (10.0.0.1:2379), and nodes (10.0.0.11, .12, …) with a temp dir each, on
// which flanneld processes of one build are started; plus readers of what etcd and the kernel
// hold (leases, flannel.1, routes, subnet.env). Everything is removed by `destroy()`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeEtcdTls, startEtcd, startEtcdCluster, type EtcdCluster, type EtcdServer, type EtcdTls } from './etcd';
import { eventually, startFlanneld, waitForFile, type Flanneld } from './flanneld-proc';
import { cleanupAllNetns, ipJson } from './netns';
import { tempDir, type Build } from './plugins';
import { Underlay, type UnderlayHost } from './underlay';

export interface ClusterNode {
  name: string;
  host: UnderlayHost;
  /** the node's temp dir */
  dir: string;
  /** `<dir>/run/subnet.env` */
  subnetFile: string;
  daemon?: Flanneld;
}

export interface LeaseRecord {
  value: any;
  /** etcd lease ID, decimal ('0' = none) */
  lease: string;
}

export class FlannelCluster {
  readonly nodes: ClusterNode[] = [];
  underlay!: Underlay;
  /** The one etcd; with `etcdMembers` > 1, member 0 with the cluster's endpoints, etcdctl and stop. */
  etcd!: EtcdServer;
  /** Set when created with `etcdMembers` > 1: members on 10.0.0.1 ports 2379/2380, 2381/2382, … */
  etcdCluster?: EtcdCluster;
  certs!: EtcdTls;
  readonly tmp: { path: string; cleanup(): void };

  private constructor(readonly build: Build, readonly tag: string) {
    this.tmp = tempDir(`${tag}-${build.label}`);
  }

  /**
   * Underlay, TLS etcd and `nodeCount` nodes; `configs` are written as `<prefix>/config`.
   * `o.v6`: the underlay is dual-stack (fd00::<octet>/64, etcd's host fd00::1);
   * `o.etcdMembers`: that many etcd members on 10.0.0.1 (client ports 2379, 2381, …).
   */
  static async create(build: Build, tag: string, nodeCount: number, configs: Record<string, unknown>, o: { v6?: boolean; etcdMembers?: number } = {}): Promise<FlannelCluster> {
    const c = new FlannelCluster(build, tag);
    c.underlay = new Underlay(tag, undefined, undefined, o.v6 ? 'fd00::' : undefined);
    const etcdHost = c.underlay.addHost('etcd', 1);
    for (let i = 1; i <= nodeCount; i++) c.addNode();
    c.certs = makeEtcdTls(['10.0.0.1']);
    if ((o.etcdMembers ?? 1) > 1) {
      const cl = await startEtcdCluster({ netns: etcdHost.ns.name, host: '10.0.0.1', basePort: 2379, size: o.etcdMembers!, tls: c.certs });
      c.etcdCluster = cl;
      c.etcd = { ...cl.members[0]!, endpoint: cl.endpoint, etcdctl: cl.etcdctl, stop: () => cl.stop() };
    } else {
      c.etcd = await startEtcd({ netns: etcdHost.ns.name, host: '10.0.0.1', clientPort: 2379, peerPort: 2380, tls: c.certs });
    }
    for (const [prefix, conf] of Object.entries(configs)) c.etcd.etcdctl(['put', `${prefix}/config`, typeof conf === 'string' ? conf : JSON.stringify(conf)]);
    return c;
  }

  addNode(): ClusterNode {
    const i = this.nodes.length + 1;
    const dir = path.join(this.tmp.path, `n${i}`);
    fs.mkdirSync(dir);
    const n: ClusterNode = { name: `n${i}`, host: this.underlay.addHost(`n${i}`, 10 + i), dir, subnetFile: path.join(dir, 'run', 'subnet.env') };
    this.nodes.push(n);
    return n;
  }

  /** The TLS flags as the deployment notes write them (mixed dash and value styles). */
  tlsArgs(certs: EtcdTls = this.certs): string[] {
    return [`-etcd-cafile=${certs.ca}`, '--etcd-certfile', certs.clientCert, `--etcd-keyfile=${certs.clientKey}`];
  }

  /** The notes' options: --ip-masq, the endpoint, TLS, and this node's subnet file. */
  daemonArgs(n: ClusterNode, extra: string[] = []): string[] {
    return ['--ip-masq', `--etcd-endpoints=${this.etcd.endpoint}`, ...this.tlsArgs(), '-subnet-file', n.subnetFile, ...extra];
  }

  /** Starts flanneld on `n` (this build unless `binDir` says otherwise) and waits for its subnet.env. */
  async start(n: ClusterNode, o: { extra?: string[]; env?: Record<string, string>; binDir?: string; waitMs?: number } = {}): Promise<{ ms: number }> {
    const t0 = Date.now();
    n.daemon = startFlanneld(o.binDir ?? this.build.dir, n.host.ns.name, this.daemonArgs(n, o.extra), o.env);
    await waitForFile(n.subnetFile, o.waitMs ?? 20_000, n.daemon);
    return { ms: Date.now() - t0 };
  }

  /** Starts flanneld on every node and waits until each has the routes to all the others. */
  async startAll(): Promise<void> {
    for (const n of this.nodes) await this.start(n);
    await eventually('every node has the routes of the others', 10_000, () =>
      this.nodes.every((a) => this.nodes.every((b) => a === b || routeTo(a, leaseSubnet(b)))));
  }

  /** Every key below `<prefix>/subnets/` with its parsed value and etcd lease ID. */
  leases(prefix = '/coreos.com/network'): Record<string, LeaseRecord> {
    // Lease IDs are int64: keep them as strings (JSON.parse would round them to a double).
    const raw = this.etcd.etcdctl(['get', '--prefix', `${prefix}/subnets/`, '-w', 'json']).replace(/"lease":(\d+)/g, '"lease":"$1"');
    const res: Record<string, LeaseRecord> = {};
    for (const kv of JSON.parse(raw).kvs ?? []) {
      res[Buffer.from(kv.key, 'base64').toString()] = { value: JSON.parse(Buffer.from(kv.value, 'base64').toString()), lease: String(kv.lease ?? 0) };
    }
    return res;
  }

  async destroy(): Promise<void> {
    for (const n of this.nodes) await n.daemon?.stop('SIGKILL');
    await this.etcd?.stop();
    cleanupAllNetns();
    this.tmp.cleanup();
  }
}

/** subnet.env as key → value. */
export const envOf = (text: string): Record<string, string> =>
  Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

/** The node's lease subnet (`10.2.41.0/24`) from its subnet.env. */
export const leaseSubnet = (n: ClusterNode): string => envOf(fs.readFileSync(n.subnetFile, 'utf8')).FLANNEL_SUBNET!.replace(/\.1\/(\d+)$/, '.0/$1');

export const addressOf = (cidr: string): string => cidr.split('/')[0]!;

/** `ip -d link show <dev>` of the node (undefined when absent). */
export const linkOf = (n: ClusterNode, dev = 'flannel.1'): any => {
  try {
    return ipJson(n.host.ns.name, ['-d', 'link', 'show', dev])[0];
  } catch {
    return undefined;
  }
};

/** The node's route to exactly `cidr` (undefined when absent). */
export const routeTo = (n: ClusterNode, cidr: string): any => ipJson(n.host.ns.name, ['route', 'show', cidr]).find((r: any) => r.dst === cidr);
