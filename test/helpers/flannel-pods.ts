// What the daemon tests watch on a FlannelCluster: pods attached by our flannel conflist (as the
// kubelet would), a continuous ping between two of them whose every lost sequence number is
// counted, and HTTP requests made from inside a node's namespace (the health server binds there).
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { ClusterNode, FlannelCluster } from './flannel-cluster';
import { flannelConflist } from './flannel-node';
import { Runtime } from './libcni';
import { makeNetns, onCleanup } from './netns';

export interface Pod {
  ns: string;
  ip: string;
  node: ClusterNode;
}

/** A pod on `n` in a netns of its own, attached with the node's subnet.env through our plugins. */
export function attachPod(c: FlannelCluster, n: ClusterNode, tag: string): Pod {
  const conf = flannelConflist('1.0.0', { subnetFile: n.subnetFile, flannelDir: path.join(n.dir, 'flannel'), networksDir: path.join(n.dir, 'networks') });
  const rt = new Runtime(conf, c.build.dir, path.join(n.dir, 'cache'), n.host.ns.name);
  const pns = makeNetns(`${tag}-p${n.name}`);
  const r = rt.add({ containerId: `${tag}-${n.name}-pod`, netns: pns.path, ifname: 'eth0' });
  return { ns: pns.name, ip: String(r.ips[0].address).split('/')[0]!, node: n };
}

export interface PingResult {
  transmitted: number;
  /** Sequence numbers without a reply, the last one sent excluded (its reply may be in flight at the stop). */
  lost: number[];
  output: string;
}

export interface PingStream {
  /** Stops (SIGINT) and counts. */
  stop(): Promise<PingResult>;
}

/** busybox ping every `intervalS` from `ns` to `ip` until stopped. */
export function pingStream(ns: string, ip: string, intervalS = 0.1): PingStream {
  const p = spawn('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-i', String(intervalS), '-W', '1', ip], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  let done = false;
  void exited.then(() => (done = true));
  onCleanup(() => { if (!done) p.kill('SIGKILL'); });
  return {
    async stop() {
      if (!done) p.kill('SIGINT');
      await exited;
      const m = /(\d+) packets transmitted/.exec(out);
      if (!m) throw new Error(`ping ${ip} from ${ns}: no summary:\n${out}`);
      const transmitted = Number(m[1]);
      const got = new Set([...out.matchAll(/seq=(\d+)/g)].map((x) => Number(x[1])));
      const lost: number[] = [];
      for (let s = 0; s < transmitted - 1; s++) if (!got.has(s)) lost.push(s);
      return { transmitted, lost, output: out };
    },
  };
}

/** An HTTP GET made by a node process inside `ns` (optionally from a given source address). */
export function httpIn(ns: string, url: string, o: { localAddress?: string } = {}): { status: number; body: string } {
  const script = `
const http = require('http');
const req = http.get(process.argv[1], { timeout: 3000, ${o.localAddress ? `localAddress: ${JSON.stringify(o.localAddress)}` : ''} }, (res) => {
  let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body: b })));
});
req.on('timeout', () => { req.destroy(new Error('timeout')); });
req.on('error', (e) => console.log(JSON.stringify({ status: 0, body: e.code || e.message })));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script, url], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`GET ${url} in ${ns}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim());
}
