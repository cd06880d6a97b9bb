// Pod-level benchmarks, ours vs the reference Go plugins, interleaved in one run.
// Ours: the kube-flannel chain (flannel → bridge → host-local in one process, then portmap).
// Go: bridge + portmap from Debian's containernetworking-plugins (Debian ships no Go flannel).
// Each implementation gets its own throw-away "node" namespace, bridge and subnet.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ratio, stats, type Stats } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const OURS_DIR = process.env.BENCH_OURS_DIR ?? path.join(ROOT, 'dist/standalone/bin');
const GO_DIR = '/usr/lib/cni';
const TAG = `ctsb${process.pid % 10000}`;

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

export type Impl = 'ours' | 'go' | 'oursbr';

interface PluginConf { type: string; [k: string]: unknown }

export class Node {
  readonly ns: string;
  readonly tmp: string;
  readonly plugins: PluginConf[];
  readonly netName: string;
  private podSeq = 0;

  constructor(readonly impl: Impl, readonly subnetIdx: number) {
    this.ns = `${TAG}-${impl}`;
    this.tmp = fs.mkdtempSync(`/tmp/cts-bench-${impl}-`);
    sh('ip', ['netns', 'add', this.ns]);
    sh('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    this.netName = impl === 'ours' ? 'cbr0' : impl === 'go' ? 'gonet' : 'brnet';
    const subnet = `10.${200 + subnetIdx}.0.0/16`;
    if (impl === 'ours') {
      fs.writeFileSync(path.join(this.tmp, 'subnet.env'), `FLANNEL_NETWORK=10.${200 + subnetIdx}.0.0/8\nFLANNEL_SUBNET=${subnet.replace('.0.0/16', '.0.1/16')}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
      this.plugins = [
        { type: 'flannel', subnetFile: path.join(this.tmp, 'subnet.env'), dataDir: path.join(this.tmp, 'flannel'), ipam: { dataDir: path.join(this.tmp, 'networks') }, delegate: { hairpinMode: true, isDefaultGateway: true } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ];
    } else {
      this.plugins = [
        { type: 'bridge', bridge: 'cni0', isGateway: true, isDefaultGateway: true, ipMasq: true, hairpinMode: true, mtu: 1450, ipam: { type: 'host-local', dataDir: path.join(this.tmp, 'networks'), ranges: [[{ subnet }]], routes: [{ dst: '10.0.0.0/8' }] } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ];
    }
  }

  get dir(): string {
    return this.impl === 'go' ? GO_DIR : OURS_DIR;
  }

  newPod(): Pod {
    const id = `${TAG}${this.impl}${this.podSeq++}`;
    const ns = `${TAG}-${this.impl}p${this.podSeq}`;
    sh('ip', ['netns', 'add', ns]);
    return { id, ns, hostPort: 20000 + this.podSeq };
  }

  private exec(command: string, p: PluginConf, pod: Pod, prev?: unknown, extraEnv: Record<string, string> = {}): Promise<{ ms: number; out: string; code: number; stderr: string }> {
    const conf: Record<string, unknown> = { ...p, name: this.netName, cniVersion: '1.0.0' };
    if (p.capabilities) conf.runtimeConfig = { portMappings: [{ hostPort: pod.hostPort, containerPort: 80, protocol: 'tcp' }] };
    if (prev !== undefined) conf.prevResult = prev;
    const env = { PATH: process.env.PATH!, CNI_COMMAND: command, CNI_CONTAINERID: pod.id, CNI_NETNS: `/run/netns/${pod.ns}`, CNI_IFNAME: 'eth0', CNI_PATH: this.dir, ...extraEnv };
    return new Promise((resolve, reject) => {
      const t = process.hrtime.bigint();
      const c = spawn('nsenter', [`--net=/run/netns/${this.ns}`, path.join(this.dir, p.type)], { env });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      c.on('error', reject);
      c.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, out, code: code ?? -1, stderr: err }));
      c.stdin.end(JSON.stringify(conf));
    });
  }

  /** Runs the chain's ADD; returns per-plugin ms and the result. */
  async add(pod: Pod, extraEnv?: Record<string, string>): Promise<{ perPlugin: number[]; total: number; result: any; stderr: string }> {
    let prev: unknown;
    const perPlugin: number[] = [];
    let stderr = '';
    for (const p of this.plugins) {
      const r = await this.exec('ADD', p, pod, prev, extraEnv);
      if (r.code !== 0) throw new Error(`${this.impl} ${p.type} ADD failed: ${r.out} ${r.stderr}`);
      prev = JSON.parse(r.out);
      perPlugin.push(r.ms);
      stderr += r.stderr;
    }
    pod.result = prev;
    return { perPlugin, total: perPlugin.reduce((a, b) => a + b, 0), result: prev, stderr };
  }

  async del(pod: Pod): Promise<{ perPlugin: number[]; total: number }> {
    const perPlugin: number[] = [];
    for (const p of [...this.plugins].reverse()) {
      const r = await this.exec('DEL', p, pod, pod.result);
      if (r.code !== 0) throw new Error(`${this.impl} ${p.type} DEL failed: ${r.out} ${r.stderr}`);
      perPlugin.unshift(r.ms);
    }
    return { perPlugin, total: perPlugin.reduce((a, b) => a + b, 0) };
  }

  natRuleCount(): number {
    return sh('ip', ['netns', 'exec', this.ns, 'iptables-save', '-t', 'nat']).split('\n').filter((l) => l.startsWith('-A')).length;
  }

  destroyPod(pod: Pod): void {
    spawnSync('ip', ['netns', 'del', pod.ns]);
  }

  destroy(): void {
    spawnSync('ip', ['netns', 'del', this.ns]);
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

export interface Pod {
  id: string;
  ns: string;
  hostPort: number;
  result?: unknown;
}

export interface Row {
  name: string;
  ours: Stats;
  go: Stats;
}

export function rowMarkdown(r: Row): string {
  return `| ${r.name} | ${r.ours.min} | ${r.ours.median} | ${r.ours.p95} | ${r.ours.max} | ${r.go.min} | ${r.go.median} | ${r.go.p95} | ${r.go.max} | ${ratio(r.ours.median, r.go.median)} |`;
}

/** Sequential single-pod ADD/DEL, N times, interleaved. */
export async function benchSequential(nodes: Record<Impl, Node>, n: number): Promise<Row[]> {
  const s: Record<string, number[]> = {};
  const push = (k: string, v: number): void => void (s[k] ??= []).push(v);
  for (let i = 0; i < n; i++) {
    for (const impl of ['ours', 'go', 'oursbr'] as const) {
      const node = nodes[impl];
      const pod = node.newPod();
      const a = await node.add(pod);
      push(`${impl}:podAdd`, a.total);
      push(`${impl}:mainAdd`, a.perPlugin[0]!);
      push(`${impl}:portmapAdd`, a.perPlugin[1]!);
      const d = await node.del(pod);
      push(`${impl}:podDel`, d.total);
      push(`${impl}:mainDel`, d.perPlugin[0]!);
      push(`${impl}:portmapDel`, d.perPlugin[1]!);
      node.destroyPod(pod);
    }
  }
  const row = (name: string, k: string): Row => ({ name, ours: stats(s[`ours:${k}`]!), go: stats(s[`go:${k}`]!) });
  return [
    row('pod ADD (ours flannel+portmap / Go bridge+portmap)', 'podAdd'),
    row('pod DEL', 'podDel'),
    row('main plugin ADD (ours flannel→bridge→host-local / Go bridge→host-local)', 'mainAdd'),
    row('main plugin DEL', 'mainDel'),
    row('portmap ADD (1 mapping)', 'portmapAdd'),
    row('portmap DEL', 'portmapDel'),
    { name: 'pod ADD like for like (ours bridge+portmap / Go bridge+portmap)', ours: stats(s['oursbr:podAdd']!), go: stats(s['go:podAdd']!) },
    { name: 'pod DEL like for like', ours: stats(s['oursbr:podDel']!), go: stats(s['go:podDel']!) },
    { name: 'bridge ADD alone (ours bridge→host-local / Go bridge→host-local)', ours: stats(s['oursbr:mainAdd']!), go: stats(s['go:mainAdd']!) },
    { name: 'bridge DEL alone', ours: stats(s['oursbr:mainDel']!), go: stats(s['go:mainDel']!) },
  ];
}

/** host-local alone, ADD then DEL, no kernel work. */
export function benchHostLocal(n: number): Row[] {
  const tmp = fs.mkdtempSync('/tmp/cts-bench-hl-');
  const s: Record<string, number[]> = { 'ours:add': [], 'ours:del': [], 'go:add': [], 'go:del': [], 'ours:adddel': [], 'go:adddel': [] };
  try {
    for (let i = 0; i < n; i++) {
      for (const [impl, dir] of [['ours', OURS_DIR], ['go', GO_DIR]] as const) {
        const conf = JSON.stringify({ cniVersion: '1.0.0', name: `hl${impl}`, type: 'host-local', ipam: { type: 'host-local', subnet: '10.250.0.0/16', dataDir: tmp } });
        let both = 0;
        for (const cmd of ['ADD', 'DEL']) {
          const t = process.hrtime.bigint();
          const r = spawnSync(path.join(dir, 'host-local'), [], { input: conf, env: { CNI_COMMAND: cmd, CNI_CONTAINERID: `hl${i}`, CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: dir } });
          const ms = Number(process.hrtime.bigint() - t) / 1e6;
          if (r.status !== 0) throw new Error(`${impl} host-local ${cmd}: ${r.stdout}`);
          s[`${impl}:${cmd.toLowerCase()}`]!.push(ms);
          both += ms;
        }
        s[`${impl}:adddel`]!.push(both);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return [
    { name: 'host-local ADD', ours: stats(s['ours:add']!), go: stats(s['go:add']!) },
    { name: 'host-local DEL', ours: stats(s['ours:del']!), go: stats(s['go:del']!) },
    { name: 'host-local ADD+DEL', ours: stats(s['ours:adddel']!), go: stats(s['go:adddel']!) },
  ];
}

export interface ScaleResult {
  windows: { label: string; oursAdd: Stats; goAdd: Stats; oursDel: Stats; goDel: Stats; oursPmAdd: Stats; goPmAdd: Stats; oursPmDel: Stats; goPmDel: Stats }[];
  rulesAt200: { ours: number; go: number };
}

/** 200 pods created one after another (each with a hostPort), then deleted. */
export async function benchScale(nodes: Record<'ours' | 'go', Node>, count: number): Promise<ScaleResult> {
  const pods: Record<'ours' | 'go', Pod[]> = { ours: [], go: [] };
  const addMs: Record<'ours' | 'go', number[]> = { ours: [], go: [] };
  const delMs: Record<'ours' | 'go', number[]> = { ours: [], go: [] };
  const pmAdd: Record<'ours' | 'go', number[]> = { ours: [], go: [] };
  const pmDel: Record<'ours' | 'go', number[]> = { ours: [], go: [] };
  for (let i = 0; i < count; i++) {
    for (const impl of ['ours', 'go'] as const) {
      const pod = nodes[impl].newPod();
      const a = await nodes[impl].add(pod);
      addMs[impl].push(a.total);
      pmAdd[impl].push(a.perPlugin[1]!);
      pods[impl].push(pod);
    }
  }
  const rulesAt200 = { ours: nodes.ours.natRuleCount(), go: nodes.go.natRuleCount() };
  for (let i = 0; i < count; i++) {
    for (const impl of ['ours', 'go'] as const) {
      const pod = pods[impl][i]!;
      const d = await nodes[impl].del(pod);
      delMs[impl].push(d.total);
      pmDel[impl].push(d.perPlugin[1]!);
      nodes[impl].destroyPod(pod);
    }
  }
  const win = (a: number[], from: number, to: number): Stats => stats(a.slice(from - 1, to));
  const windows = [
    [1, 10],
    [Math.floor(count / 2), Math.floor(count / 2) + 10],
    [count - 10, count],
  ].map(([f, t]) => ({
    label: `${f}–${t}`,
    oursAdd: win(addMs.ours, f!, t!),
    goAdd: win(addMs.go, f!, t!),
    oursDel: win(delMs.ours, f!, t!),
    goDel: win(delMs.go, f!, t!),
    oursPmAdd: win(pmAdd.ours, f!, t!),
    goPmAdd: win(pmAdd.go, f!, t!),
    oursPmDel: win(pmDel.ours, f!, t!),
    goPmDel: win(pmDel.go, f!, t!),
  }));
  return { windows, rulesAt200 };
}

export interface ConcurrencyResult {
  impl: Impl;
  addWallMs: number;
  delWallMs: number;
  addCall: Stats;
  delCall: Stats;
  failures: number;
  duplicates: number;
}

/** 20 pod ADDs at once, then 20 DELs at once. */
export async function benchConcurrency(node: Node, n: number): Promise<ConcurrencyResult> {
  const pods = Array.from({ length: n }, () => node.newPod());
  let failures = 0;
  const t0 = process.hrtime.bigint();
  const adds = await Promise.all(pods.map((p) => node.add(p).catch(() => (failures++, undefined))));
  const addWallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const ips = adds.filter((a) => a).map((a) => a!.result.ips[0].address);
  const duplicates = ips.length - new Set(ips).size;
  const t1 = process.hrtime.bigint();
  const dels = await Promise.all(pods.map((p) => node.del(p).catch(() => (failures++, undefined))));
  const delWallMs = Number(process.hrtime.bigint() - t1) / 1e6;
  for (const p of pods) node.destroyPod(p);
  return {
    impl: node.impl,
    addWallMs: Number(addWallMs.toFixed(1)),
    delWallMs: Number(delWallMs.toFixed(1)),
    addCall: stats(adds.filter((a) => a).map((a) => a!.total)),
    delCall: stats(dels.filter((d) => d).map((d) => d!.total)),
    failures,
    duplicates,
  };
}

/** Peak RSS (KiB) of each plugin call of one pod ADD, via GNU time. */
export async function peakRss(node: Node): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const pod = node.newPod();
  let prev: unknown;
  try {
    for (const p of node.plugins) {
      const conf: Record<string, unknown> = { ...p, name: node.netName, cniVersion: '1.0.0' };
      if (p.capabilities) conf.runtimeConfig = { portMappings: [{ hostPort: pod.hostPort, containerPort: 80, protocol: 'tcp' }] };
      if (prev !== undefined) conf.prevResult = prev;
      const r = spawnSync('/usr/bin/time', ['-f', 'RSS %M', 'nsenter', `--net=/run/netns/${node.ns}`, path.join(node.dir, p.type)], {
        input: JSON.stringify(conf),
        env: { PATH: process.env.PATH!, CNI_COMMAND: 'ADD', CNI_CONTAINERID: pod.id, CNI_NETNS: `/run/netns/${pod.ns}`, CNI_IFNAME: 'eth0', CNI_PATH: node.dir },
      });
      if (r.status !== 0) throw new Error(`${node.impl} ${p.type} ADD under time failed: ${r.stdout} ${r.stderr}`);
      const m = /RSS (\d+)/.exec(r.stderr.toString());
      out[p.type] = m ? Number(m[1]) : NaN;
      prev = JSON.parse(r.stdout.toString());
    }
    pod.result = prev;
    await node.del(pod);
  } finally {
    node.destroyPod(pod);
  }
  return out;
}

/** Where the time of one of our pod ADDs goes, from the code's own timing hooks (CNI_TS_TIMING=1). */
/**
 * CNI_TS_TIMING lines of one pod ADD: of `runs` pods added one after another, the one whose
 * chain (sum of the calls' totalMs) took the median time, so one slow outlier is not reported.
 */
export async function timingBreakdown(node: Node, runs = 9): Promise<unknown[]> {
  const samples: { total: number; lines: { totalMs: number }[] }[] = [];
  for (let i = 0; i < runs; i++) {
    const pod = node.newPod();
    try {
      const a = await node.add(pod, { CNI_TS_TIMING: '1' });
      const lines = a.stderr
        .split('\n')
        .filter((l) => l.startsWith('CNI_TS_TIMING '))
        .map((l) => JSON.parse(l.slice('CNI_TS_TIMING '.length)) as { totalMs: number });
      samples.push({ total: lines.reduce((t, l) => t + l.totalMs, 0), lines });
      await node.del(pod);
    } finally {
      node.destroyPod(pod);
    }
  }
  samples.sort((x, y) => x.total - y.total);
  return samples[Math.floor(samples.length / 2)]!.lines;
}
