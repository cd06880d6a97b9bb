// The churn soak's "node": a throw-away network namespace the plugins run in (via nsenter, like
// the benchmark), a temp dir with subnet.env and every state dir, and the kube-flannel chain
// (flannel → bridge → host-local, then portmap) driven the way libcni does it: each plugin gets
// name, cniVersion, runtimeConfig from its declared capabilities and the previous result; DEL
// runs in reverse order with the cached final ADD result as prevResult.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CIDR, contains, formatIP, lastAddress, mustParseCIDR, networkOf, parseCIDR, parseIP, ipEquals } from '../shared/ip';
import { hostSnapshot } from '../test/helpers/host-snapshot';
import { tempDir } from '../test/helpers/plugins';

export const NETWORK = '10.244.0.0/16';
export const NODE_SUBNET = '10.244.7.0/24';
export const GATEWAY = '10.244.7.1';
const NET_NAME = 'cbr0';
const CNI_VERSION = '1.0.0';
/** A plugin call that takes longer is killed and counted as an error (a hung lock, say). */
const CALL_TIMEOUT_MS = 60_000;

export interface Pod {
  id: string;
  ns: string;
  nsPath: string;
  hostPort: number;
  /** The chain's final ADD result (libcni's cached result). */
  result?: any;
}

export interface Call {
  plugin: string;
  command: string;
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** One chain command: every call made (in order); `failed` is the first non-zero one. */
export interface ChainOutcome {
  calls: Call[];
  ms: number;
  result?: any;
  failed?: Call;
}

type PluginConf = { type: string } & Record<string, unknown>;

/** A child in its own process group: a Ctrl-C at the terminal reaches only the soak itself. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdin: string, timeoutMs: number): Promise<Omit<Call, 'plugin' | 'command'>> {
  return new Promise((resolve) => {
    const t = performance.now();
    const c = spawn(cmd, args, { env, detached: true });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', (e) => (err += `spawn ${cmd}: ${e.message}`));
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, ms: performance.now() - t, stdout: out, stderr: err, timedOut });
    });
    c.stdin.on('error', () => undefined);
    c.stdin.end(stdin);
  });
}

/** `cmd args` for its exit status and output (never throws). */
export async function tool(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string; err: string }> {
  const r = await run(cmd, args, process.env, '', timeoutMs);
  return { code: r.code, out: r.stdout, err: r.timedOut ? `killed after ${timeoutMs} ms; ${r.stderr}` : r.stderr };
}

/** A CNI error result's message (msg + details), else the raw output. */
export function callMessage(c: Call): string {
  let msg = c.stdout.trim();
  try {
    const j = JSON.parse(c.stdout);
    if (j && typeof j.msg === 'string') msg = `code ${j.code}: ${j.msg}${j.details ? `: ${j.details}` : ''}`;
  } catch {
    /* not JSON */
  }
  const err = c.stderr.trim();
  return `${c.plugin} ${c.command} exit ${c.code}${c.timedOut ? ` (killed after ${CALL_TIMEOUT_MS} ms)` : ''}: ${msg}${err ? ` [stderr: ${err.slice(0, 1000)}]` : ''}`;
}

export class SoakNode {
  readonly ns: string;
  readonly nsPath: string;
  readonly tmp: { path: string; cleanup(): void };
  readonly plugins: PluginConf[];
  readonly stateDirs: string[];
  readonly subnet: CIDR = mustParseCIDR(NODE_SUBNET);
  private made = false;

  constructor(
    readonly tag: string,
    readonly pluginDir: string,
  ) {
    this.ns = `${tag}-node`;
    this.nsPath = `/run/netns/${this.ns}`;
    this.tmp = tempDir('soak');
    const dir = this.tmp.path;
    // FLANNEL_IPMASQ=false: flannel asks bridge for ipMasq, so every pod also adds and removes
    // its own nat chain (more rule churn than the kube-flannel default, where flanneld masquerades).
    fs.writeFileSync(path.join(dir, 'subnet.env'), `FLANNEL_NETWORK=${NETWORK}\nFLANNEL_SUBNET=${GATEWAY}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
    this.stateDirs = [path.join(dir, 'flannel'), path.join(dir, 'networks')];
    this.plugins = [
      { type: 'flannel', subnetFile: path.join(dir, 'subnet.env'), dataDir: this.stateDirs[0], ipam: { dataDir: this.stateDirs[1] }, delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ];
  }

  setup(): void {
    const r = spawnSync('ip', ['netns', 'add', this.ns], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip netns add ${this.ns}: ${r.stderr}`);
    this.made = true;
    const lo = spawnSync('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
    if (lo.status !== 0) throw new Error(`lo up in ${this.ns}: ${lo.stderr}`);
  }

  /** A pod named `<tag>-<label>` (netns) / `soak-<tag>-<label>` (container ID). */
  pod(label: string, hostPort: number): Pod {
    const ns = `${this.tag}-${label}`;
    return { id: `soak-${ns}`, ns, nsPath: `/run/netns/${ns}`, hostPort };
  }

  async addPodNs(pod: Pod): Promise<void> {
    const r = await tool('ip', ['netns', 'add', pod.ns]);
    if (r.code !== 0) throw new Error(`ip netns add ${pod.ns}: exit ${r.code} ${r.err.trim()}`);
  }

  async delPodNs(pod: Pod): Promise<void> {
    const r = await tool('ip', ['netns', 'del', pod.ns]);
    if (r.code !== 0) throw new Error(`ip netns del ${pod.ns}: exit ${r.code} ${r.err.trim()}`);
  }

  /** The request one plugin of the list gets (libcni's buildOneConfig). */
  request(p: PluginConf, pod: Pod, prev: unknown): string {
    const conf: Record<string, unknown> = { ...p, name: NET_NAME, cniVersion: CNI_VERSION };
    const caps = (p.capabilities ?? {}) as Record<string, boolean>;
    if (caps.portMappings) conf.runtimeConfig = { portMappings: [{ hostPort: pod.hostPort, containerPort: 80, protocol: 'tcp' }] };
    if (prev !== undefined) conf.prevResult = prev;
    return JSON.stringify(conf);
  }

  private env(command: string, pod: Pod): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.id,
      CNI_NETNS: pod.nsPath,
      CNI_IFNAME: 'eth0',
      // What containerd passes for a Kubernetes pod.
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=soak;K8S_POD_NAME=${pod.id};K8S_POD_INFRA_CONTAINER_ID=${pod.id};K8S_POD_UID=${pod.id}`,
      CNI_PATH: this.pluginDir,
    };
  }

  private async call(command: string, p: PluginConf, pod: Pod, prev: unknown): Promise<Call> {
    const r = await run('nsenter', [`--net=${this.nsPath}`, path.join(this.pluginDir, p.type)], this.env(command, pod), this.request(p, pod, prev), CALL_TIMEOUT_MS);
    return { plugin: p.type, command, ...r };
  }

  /** ADD in list order, each with the previous result; stops at the first failure. */
  async add(pod: Pod): Promise<ChainOutcome> {
    const calls: Call[] = [];
    let prev: unknown;
    for (const p of this.plugins) {
      const c = await this.call('ADD', p, pod, prev);
      calls.push(c);
      if (c.code !== 0) return { calls, ms: sum(calls), failed: c };
      try {
        prev = JSON.parse(c.stdout);
      } catch {
        return { calls, ms: sum(calls), failed: { ...c, code: -2, stderr: `unparsable result: ${c.stdout.slice(0, 200)}` } };
      }
    }
    pod.result = prev;
    return { calls, ms: sum(calls), result: prev };
  }

  /** DEL in reverse order with the cached result (none after a failed ADD, like libcni); runs every plugin even after a failure. */
  async del(pod: Pod): Promise<ChainOutcome> {
    const calls: Call[] = [];
    for (const p of [...this.plugins].reverse()) calls.push(await this.call('DEL', p, pod, pod.result));
    return { calls, ms: sum(calls), failed: calls.find((c) => c.code !== 0) };
  }

  /** Problems with an ADD result: the first IP must be a host address of the node subnet, via the bridge's gateway. */
  checkResult(result: any): { address?: string; problems: string[] } {
    const problems: string[] = [];
    const ipc = result?.ips?.[0];
    const cidr = typeof ipc?.address === 'string' ? parseCIDR(ipc.address) : null;
    if (!cidr) return { problems: [`no IP in the result: ${JSON.stringify(result?.ips)}`] };
    const ip = cidr.ip;
    const address = formatIP(ip);
    if (!contains(this.subnet, ip)) problems.push(`address ${ipc.address} outside the node subnet ${NODE_SUBNET}`);
    if (ipEquals(ip, networkOf(this.subnet).ip) || ipEquals(ip, lastAddress(this.subnet)) || address === GATEWAY) problems.push(`address ${address} is the network, broadcast or gateway address`);
    if (cidr.prefix !== 24) problems.push(`address ${ipc.address} should be a /24`);
    const gw = typeof ipc.gateway === 'string' ? parseIP(ipc.gateway) : null;
    if (!gw || formatIP(gw) !== GATEWAY) problems.push(`gateway ${ipc.gateway} (expected ${GATEWAY})`);
    return { address, problems };
  }

  /** One ICMP echo from the pod to its gateway (the node's bridge). */
  async pingGateway(pod: Pod): Promise<string | undefined> {
    const r = await tool('nsenter', [`--net=${pod.nsPath}`, 'busybox', 'ping', '-c', '1', '-W', '2', GATEWAY], 10_000);
    return r.code === 0 ? undefined : `ping ${GATEWAY} from ${pod.ns}: exit ${r.code} ${(r.out + r.err).trim().slice(-300)}`;
  }

  /** Links other than lo still in the pod namespace (after DEL there must be none). */
  async podLinks(pod: Pod): Promise<string[]> {
    const r = await tool('ip', ['-n', pod.ns, '-o', 'link', 'show']);
    if (r.code !== 0) return [`<ip -n ${pod.ns} link failed: ${r.err.trim()}>`];
    return r.out
      .split('\n')
      .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined && n !== 'lo');
  }

  /**
   * The node as the residue check compares it: hostSnapshot with what moves by design masked
   * (the host-local round-robin hint's content, nft rule counters). Taken until two reads a
   * second apart agree, so late carrier changes of the bridge (linkwatch) settle first.
   */
  async settledSnapshot(): Promise<string> {
    const mask = (s: string): string =>
      s.replace(/^(\S*\/last_reserved_ip\.\d+) \S*$/gm, '$1 <round-robin hint>').replace(/\bcounter packets \d+ bytes \d+/g, 'counter');
    let prev = mask(hostSnapshot(this.ns, this.stateDirs));
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const cur = mask(hostSnapshot(this.ns, this.stateDirs));
      if (cur === prev) return cur;
      prev = cur;
    }
    return prev;
  }

  /** Namespaces named with this soak's tag, other than the node's (pods not deleted). */
  leftoverPodNs(): string[] {
    const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return (r.stdout ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.tag}-`) && n !== this.ns);
  }

  /** Removes the node namespace and the temp dir (idempotent, never throws). */
  destroy(): void {
    if (this.made) spawnSync('ip', ['netns', 'del', this.ns]);
    this.made = false;
    this.tmp.cleanup();
  }
}

const sum = (calls: Call[]): number => calls.reduce((a, c) => a + c.ms, 0);
