// The scale measurement shared by test/e2e/flanneld-scale.test.ts and bench/flanneld-scale.ts: a
// second flannel network (/scale/network, 10.128.0.0/9, vxlan VNI 2) on one node of a
// FlannelCluster, synthetic peer leases written through etcd's JSON gateway, and readers of what
// the daemon programmed (routes of proto 127, permanent ARP entries and FDB remotes on
// flannel.2), of its /metrics, of its RSS, and of join-to-route latency seen by `ip monitor`.
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatewayPut, type GatewayPut } from './etcd-gateway';
import type { ClusterNode, FlannelCluster } from './flannel-cluster';
import { startFlanneld, waitForFile, type Flanneld } from './flanneld-proc';
import { bridgeJson, ipJson } from './netns';

export const SCALE_PREFIX = '/scale/network';
// SubnetMin keeps the daemon's own subnet away from the synthetic ones (10.129.0.0 upwards).
export const SCALE_CONFIG = { Network: '10.128.0.0/9', SubnetLen: 24, SubnetMin: '10.200.0.0', Backend: { Type: 'vxlan', VNI: 2 } };

import { sleep } from '../../shared/base/sleep';

export { sleep };
const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** Synthetic peer i (0 ≤ i < 30000) of the scale network: its subnet and flannel's key/value. */
export function scalePeer(i: number): GatewayPut & { subnet: string } {
  const k = 256 + i;
  const subnet = `10.${128 + (k >> 8)}.${k & 255}.0/24`;
  const value = JSON.stringify({
    PublicIP: `198.18.${i >> 7}.${(i & 127) + 1}`, PublicIPv6: null, BackendType: 'vxlan',
    BackendData: { VNI: 2, VtepMAC: `0e:00:${hex(i >> 16)}:00:${hex((i >> 8) & 255)}:${hex(i & 255)}` },
  });
  return { subnet, key: `${SCALE_PREFIX}/subnets/${subnet.replace('/', '-')}`, value };
}

/** Peers [from, from + count). */
export const scalePeers = (from: number, count: number): ReturnType<typeof scalePeer>[] =>
  Array.from({ length: count }, (_, i) => scalePeer(from + i));

/** The p-th percentile (nearest rank) of sorted values. */
export const percentile = (sorted: number[], p: number): number =>
  sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;

export interface ScaleCounts {
  routes: number;
  neigh: number;
  fdb: number;
}

export interface JoinLatency {
  p50: number;
  p99: number;
  max: number;
  all: number[];
}

/** The scale network's daemon on one node, and the readers around it. */
export class ScaleRig {
  daemon?: Flanneld;
  readonly subnetFile: string;

  constructor(readonly c: FlannelCluster, readonly node: ClusterNode, readonly binDir: string, readonly healthzPort = 19_771) {
    this.subnetFile = path.join(node.dir, 'run', 'scale.env');
  }

  get ns(): string {
    return this.node.host.ns.name;
  }

  /** Starts the scale network's daemon (health server on the node's loopback) and waits for its subnet file. */
  async start(): Promise<Flanneld> {
    const d = startFlanneld(this.binDir, this.ns, [
      `--etcd-prefix=${SCALE_PREFIX}`, `--etcd-endpoints=${this.c.etcd.endpoint}`, ...this.c.tlsArgs(), `--subnet-file=${this.subnetFile}`,
      '--iptables-forward-rules=false', '--healthz-ip=127.0.0.1', `--healthz-port=${this.healthzPort}`,
    ]);
    this.daemon = d;
    await waitForFile(this.subnetFile, 20_000, d);
    return d;
  }

  /** Our programmed entries on flannel.2 (all 0 while the device is absent). */
  counts(): ScaleCounts {
    try {
      return {
        routes: ipJson(this.ns, ['route', 'show', 'proto', '127', 'dev', 'flannel.2']).length,
        neigh: ipJson(this.ns, ['neigh', 'show', 'dev', 'flannel.2', 'nud', 'permanent']).length,
        fdb: bridgeJson(this.ns, ['fdb', 'show', 'dev', 'flannel.2']).filter((x: any) => x.dst && x.mac.startsWith('0e:00:')).length,
      };
    } catch {
      return { routes: 0, neigh: 0, fdb: 0 };
    }
  }

  /** Polls until `n` routes, ARP and FDB entries are there; the ms it took from `t0`. */
  async waitProgrammed(n: number, t0: number, ms: number): Promise<number> {
    let last = this.counts();
    for (;;) {
      if (last.routes === n && last.neigh === n && last.fdb === n) return Date.now() - t0;
      if (Date.now() - t0 > ms) {
        throw new Error(`${n} peers not programmed within ${ms} ms; last counts ${JSON.stringify(last)}; flanneld output:\n${this.daemon?.output().slice(-2000)}`);
      }
      await sleep(100);
      last = this.counts();
    }
  }

  /**
   * The daemon's /metrics, summed over labels. Asynchronous: a synchronous curl would stop this
   * process from draining the daemon's output pipe, and a daemon blocked on a full pipe cannot
   * answer (a deadlock until curl times out).
   */
  metrics(): Promise<Record<string, number>> {
    return new Promise((resolve, reject) =>
      execFile('ip', ['netns', 'exec', this.ns, 'curl', '-sS', '--max-time', '5', `http://127.0.0.1:${this.healthzPort}/metrics`], (e, text, err) => {
        if (e) return reject(new Error(`GET /metrics: ${err || e.message}`));
        const out: Record<string, number> = {};
        for (const line of text.split('\n')) {
          const m = /^(flanneld_[a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
          if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
        }
        resolve(out);
      }));
  }

  /** etcd RPCs the daemon issues around one etcd restart: down 1 s, back, re-listed, 2 s to settle. */
  async relistRpcs(): Promise<number> {
    const before = await this.metrics();
    await this.c.etcd.kill();
    await sleep(1000);
    await this.c.etcd.restart();
    for (const t0 = Date.now(); ; await sleep(200)) {
      const m = await this.metrics().catch(() => ({} as Record<string, number>));
      if (m.flanneld_lease_lists_total! > before.flanneld_lease_lists_total! && m.flanneld_etcd_up === 1) break;
      if (Date.now() - t0 > 30_000) throw new Error(`no re-list within 30 s of the etcd restart; metrics ${JSON.stringify(m)}`);
    }
    await sleep(2000);
    return (await this.metrics()).flanneld_etcd_rpcs_total! - before.flanneld_etcd_rpcs_total!;
  }

  /** Writes the joins one by one (`gapMs` apart) and times each put → its route seen by `ip monitor`. */
  async joinLatency(joins: ReturnType<typeof scalePeer>[], gapMs = 100): Promise<JoinLatency> {
    const seen = new Map<string, number>();
    const mon = spawn('ip', ['-n', this.ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let buf = '';
      mon.stdout!.on('data', (d: Buffer) => {
        const now = Date.now();
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          const m = /^(\d+\.\d+\.\d+\.\d+\/24) .*dev flannel\.2/.exec(l);
          if (m && !seen.has(m[1]!)) seen.set(m[1]!, now);
        }
      });
      await sleep(300); // subscribed
      const w = await gatewayPut(this.c.etcd, joins, { concurrency: 1, gapMs });
      for (const t0 = Date.now(); !joins.every((j) => seen.has(j.subnet)); await sleep(50)) {
        if (Date.now() - t0 > 10_000) throw new Error(`joins not routed within 10 s: ${joins.filter((j) => !seen.has(j.subnet)).map((j) => j.subnet).join(' ')}`);
      }
      const all = joins.map((j, i) => seen.get(j.subnet)! - w.sentAt[i]!).sort((a, b) => a - b);
      return { p50: percentile(all, 50), p99: percentile(all, 99), max: all[all.length - 1]!, all };
    } finally {
      mon.kill();
    }
  }
}

/** VmRSS of a process in KiB, with its name (to check the pid is what we think). */
export function rssOf(pid: number): { kib: number; name: string } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { kib: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]), name: /^Name:\s+(\S+)/m.exec(status)![1]! };
}
