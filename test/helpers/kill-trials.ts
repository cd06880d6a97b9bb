// SIGKILL fault-injection trials of the kube-flannel chain on one throw-away node (used by
// test/netns/kill-mid-operation.test.ts, which runs several of these nodes in worker threads).
//
// One trial: start an ADD chain (or, every DEL_EVERY-th trial, a DEL chain after a good ADD)
// the way libcni runs it (flannel → portmap for ADD, reversed for DEL), each plugin via
// `ip netns exec <node>` in its own process group, and SIGKILL the running plugin's group (it
// may be inside iptables-restore or nft) a random delay after the chain started, spread over the
// measured duration of that chain. Then what a runtime does (runtimes.md: a failed ADD is
// followed by a DEL without prevResult, a failed DEL by a retried DEL with the cached result):
// DEL, which must succeed and remove the attachment; a fresh ADD with a new container ID and a
// new pod netns, which must succeed; its DEL; then the node must equal its warm baseline
// (hostSnapshot) and the host-local lock must be free.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LOCK_EX, LOCK_NB, LOCK_UN, native } from '../../shared/native/addon';
import { hostSnapshot } from './host-snapshot';
import { flannelConflist } from './flannel-node';
import { cleanupAllNetns, ipIn, makeNetns, type TestNetns } from './netns';
import { tempDir } from './plugins';
import { shStatus } from './sh';

export interface KillTrialOptions {
  /** Plugin dir of the build under test. */
  buildDir: string;
  /** Distinguishes this node's namespaces, container IDs and temp dir from other workers'. */
  tag: string;
  trials: number;
  seed: number;
  /** Every delEvery-th trial kills a DEL chain (after a good ADD) instead of an ADD chain. */
  delEvery: number;
  /** Every coldEvery-th trial starts without cni0 (the first pod after a node reboot). */
  coldEvery: number;
  /** The node's pod subnet is 10.244.<subnet>.0/24. */
  subnet: number;
}

export interface KillTrialSummary {
  trials: number;
  /** Trials whose chain was killed by the signal (not finished before it). */
  killed: number;
  /** Killed trials with partial state present right after the kill. */
  midWay: number;
  /** Partial-state kind → number of mid-way trials it was seen in. */
  kinds: Record<string, number>;
  /** "ADD flannel" etc. → number of kills that landed in that plugin. */
  killedIn: Record<string, number>;
  /** Phase → total ms spent. */
  spentMs: Record<string, number>;
  /** Median ADD / DEL chain durations measured at the start. */
  addMs: number;
  delMs: number;
}

const HOST_PORT = 18080;
/** What the probe finds of an attached pod. */
const FULL = ['address file', 'container interface', 'host veth', 'ipMasq rule', 'portmap rule', 'scratch file'];
const CAPS = { portMappings: [{ hostPort: HOST_PORT, containerPort: 8080, protocol: 'tcp' }] };

/** mulberry32: a seeded PRNG, so a failing run can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Median of the last `n` samples: robust against a chain slowed by unrelated load. */
class Estimate {
  private readonly xs: number[] = [];
  constructor(private readonly n = 9) {}
  add(ms: number): void {
    this.xs.push(ms);
    if (this.xs.length > this.n) this.xs.shift();
  }
  get ms(): number {
    const s = [...this.xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] ?? 0;
  }
}

/** True when someone holds an flock on `file` (a non-blocking try from this process). */
export function lockHeld(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  const fd = fs.openSync(file, fs.constants.O_RDWR);
  try {
    native().flock(fd, LOCK_EX | LOCK_NB);
    native().flock(fd, LOCK_UN);
    return false;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') return true;
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

interface Attachment {
  containerId: string;
  pod: TestNetns;
  ifname: string;
}

interface StageOutcome {
  plugin: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ChainOutcome {
  /** The plugin whose process group the kill hit. */
  killed?: string;
  /** The final ADD result of a completed ADD chain. */
  result?: unknown;
  ms: number;
}

/**
 * The node's snapshot without what legitimately changes from pod to pod: the round-robin hint's
 * content, packet counters, and what the kernel derives or updates on its own for cni0 (which
 * cold trials recreate): its ifindex, its MAC-derived IPv6 link-local address and FDB entry, its
 * carrier state (NO-CARRIER/linkdown settle asynchronously after the last port left). Sections
 * other than nft are compared as sorted sets of lines, since masking reorders them.
 */
export function normalizedSnapshot(ns: string, stateDirs: string[]): string {
  return hostSnapshot(ns, stateDirs)
    .split(/^(?=## )/m)
    .map((sec) => {
      const [head, ...body] = sec.split('\n');
      const ls = body
        .filter((l) => l !== '' && !/ fe80::[0-9a-f:]+(\/64)? /.test(l))
        .map((l) =>
          l
            .replace(/^(\S*\/last_reserved_ip\.\d+) \S*$/, '$1 <ip>')
            .replace(/counter packets \d+ bytes \d+/, 'counter')
            .replace(/^[0-9a-f:]{17} (dev cni0 master cni0 permanent)$/, '<mac> $1')
            .replace(/^\d+: /, '')
            .replace(/ linkdown\b/, '')
            .replace(/^(cni0 kind=bridge .*flags=)(\S+)$/, (_m, p: string, f: string) =>
              p + f.split(',').filter((x) => x !== 'NO-CARRIER' && x !== 'LOWER_UP').join(',')),
        );
      return [head, ...(head!.startsWith('## nft') ? ls : ls.sort())].join('\n');
    })
    .join('\n');
}

/**
 * Lines a warm node (after pods came and went) may have beyond an empty one: cni0 with its
 * gateway address and routes, portmap's shared CNI-HOSTPORT-* chains and jumps (iptables-nft
 * shows them in `table ip nat` too), the state dirs with host-local's lock and round-robin hint.
 * The reference keeps all of these as well.
 */
const NODE_LEVEL =
  /cni0|CNI-HOSTPORT-|^\/\S+\/$|\/cbr0\/lock $|\/last_reserved_ip\.0 <ip>$|^:(PREROUTING|INPUT|OUTPUT|POSTROUTING) ACCEPT $|^\*nat$|^COMMIT$|^table ip nat \{$|^\s*chain [A-Z]+ \{$|^\s*type nat hook \w+ priority [\w-]+; policy accept;$|^\s*\}$|^\s*(counter )?meta mark (& 0x00002000 == 0x00002000 counter masquerade|set mark or 0x2000)$/;

export async function runKillTrials(o: KillTrialOptions): Promise<KillTrialSummary> {
  const tmp = tempDir(`kill-${o.tag}`);
  const flannelDir = path.join(tmp.path, 'flannel');
  const networksDir = path.join(tmp.path, 'networks');
  const netDir = path.join(networksDir, 'cbr0');
  const lockFile = path.join(netDir, 'lock');
  const stateDirs = [flannelDir, networksDir];
  const subnetFile = path.join(tmp.path, 'subnet.env');
  const list = flannelConflist('1.0.0', { subnetFile, flannelDir, networksDir });
  const addEst = new Estimate();
  const delEst = new Estimate();
  let seq = 0;
  let node: TestNetns | undefined;

  const newAttachment = (): Attachment => ({
    pod: makeNetns(`${o.tag}p`),
    containerId: `kill${process.pid}${o.tag}${++seq}`,
    ifname: 'eth0',
  });

  /** libcni's request for `plugin`: the list's name and version, declared capabilities, prevResult. */
  const request = (plugin: Record<string, any>, prevResult: unknown): string => {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    if (plugin.capabilities?.portMappings) conf.runtimeConfig = { portMappings: CAPS.portMappings };
    if (prevResult !== undefined) conf.prevResult = prevResult;
    return JSON.stringify(conf);
  };

  /** Runs one plugin in the node in a process group of its own; SIGKILLs the group at `deadline`. */
  const runStage = (command: string, plugin: string, a: Attachment, stdin: string, deadline: number): Promise<StageOutcome> =>
    new Promise((resolve, reject) => {
      const env = {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: a.containerId,
        CNI_NETNS: a.pod.path,
        CNI_IFNAME: a.ifname,
        CNI_ARGS: '',
        CNI_PATH: o.buildDir,
      };
      // `ip netns exec` execs the plugin (no fork): the group is the plugin and what it execs.
      const p = spawn('ip', ['netns', 'exec', node!.name, path.join(o.buildDir, plugin)], { env, detached: true });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.stdin.on('error', () => undefined); // EPIPE when killed before it read stdin
      const timer =
        deadline === Infinity
          ? undefined
          : setTimeout(() => {
              try {
                process.kill(-p.pid!, 'SIGKILL');
              } catch {
                /* it exited just now */
              }
            }, Math.max(0, deadline - performance.now()));
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ plugin, code, signal, stdout, stderr });
      });
      p.stdin.end(stdin);
    });

  /** The chain as libcni runs it (ADD in order, DEL reversed); killed `delayMs` after it started. */
  const chain = async (command: 'ADD' | 'DEL', a: Attachment, prevResult: unknown, delayMs = Infinity): Promise<ChainOutcome> => {
    const t0 = performance.now();
    const plugins = command === 'ADD' ? list.plugins : [...list.plugins].reverse();
    let prev = command === 'ADD' ? undefined : prevResult;
    for (const plugin of plugins) {
      const s = await runStage(command, plugin.type, a, request(plugin, prev), t0 + delayMs);
      if (s.signal) return { killed: s.plugin, ms: performance.now() - t0 };
      assert.equal(s.code, 0, `${command} ${s.plugin} failed: ${s.stdout.trim()} [stderr: ${s.stderr.trim().slice(0, 2000)}]`);
      if (command === 'ADD') prev = JSON.parse(s.stdout);
    }
    return { result: command === 'ADD' ? prev : undefined, ms: performance.now() - t0 };
  };

  /** What of attachment `a` is on disk (cheap, no processes). */
  const filesOf = (a: Attachment): string[] => {
    const kinds: string[] = [];
    for (const f of fs.existsSync(flannelDir) ? fs.readdirSync(flannelDir) : []) {
      if (f === a.containerId) kinds.push('scratch file');
      else if (f.startsWith(`${a.containerId}.tmp-`)) kinds.push('scratch temp file');
    }
    for (const f of fs.existsSync(netDir) ? fs.readdirSync(netDir) : []) {
      if (f.includes('.tmp-')) kinds.push('host-local temp file');
      if (!/^[0-9.]+$/.test(f)) continue;
      const content = fs.readFileSync(path.join(netDir, f), 'utf8');
      if (content === '') kinds.push('empty address file');
      else if (content.startsWith(`${a.containerId}\r\n`)) kinds.push('address file');
    }
    return kinds;
  };

  /** What of attachment `a` exists: files, veths, its interface, its rules (two processes). */
  const partialState = (a: Attachment): string[] => {
    const kinds = filesOf(a);
    const r = shStatus('ip', ['netns', 'exec', node!.name, 'sh', '-c', 'ip -o link show type veth; echo ---; iptables-save -t nat']);
    const [veths = '', nat = ''] = r.out.split(/^---$/m);
    if (veths.trim() !== '') kinds.push('host veth');
    if (shStatus('ip', ['-n', a.pod.name, 'link', 'show', a.ifname]).code === 0) kinds.push('container interface');
    for (const l of nat.split('\n')) {
      if (!l.includes(`id: \\"${a.containerId}\\"`)) continue;
      kinds.push(l.includes('dnat name') || l.includes('CNI-DN-') ? 'portmap rule' : 'ipMasq rule');
    }
    return [...new Set(kinds)].sort();
  };

  const summary: KillTrialSummary = { trials: o.trials, killed: 0, midWay: 0, kinds: {}, killedIn: {}, spentMs: {}, addMs: 0, delMs: 0 };
  const bump = (m: Record<string, number>, k: string, by = 1): void => {
    m[k] = (m[k] ?? 0) + by;
  };
  try {
    node = makeNetns(`${o.tag}n`);
    ipIn(node.name, ['link', 'set', 'lo', 'up']);
    // IPMASQ=false: flanneld does not masquerade, so the bridge delegate gets ipMasq=true and a
    // pod has bridge rules as well as portmap rules to leave behind.
    fs.writeFileSync(subnetFile, `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.${o.subnet}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);

    // Baseline: uninterrupted chains, measured the way trials run them (the first warms the node).
    const empty = normalizedSnapshot(node.name, stateDirs);
    for (let i = 0; i < 4; i++) {
      const a = newAttachment();
      const add = await chain('ADD', a, undefined);
      // The probe must see all of a pod, or "partial" below would mean nothing.
      assert.deepEqual(partialState(a), FULL, 'the probe does not see every part of an attached pod');
      const del = await chain('DEL', a, add.result);
      assert.deepEqual(partialState(a), [], 'the probe sees parts of a deleted pod');
      if (i > 0) {
        addEst.add(add.ms);
        delEst.add(del.ms);
      }
      a.pod.cleanup();
    }
    summary.addMs = addEst.ms;
    summary.delMs = delEst.ms;
    const warm = normalizedSnapshot(node.name, stateDirs);
    const emptyLines = new Set(empty.split('\n'));
    const added = warm.split('\n').filter((l) => !emptyLines.has(l) && !l.startsWith('## '));
    assert.deepEqual(
      added.filter((l) => !NODE_LEVEL.test(l)),
      [],
      `a warm node after ADD+DEL differs from the empty node by more than node-level state:\n${added.join('\n')}`,
    );

    const rand = prng(o.seed);
    for (let trial = 0; trial < o.trials; trial++) {
      const killDel = trial % o.delEvery === o.delEvery - 1;
      const cold = trial % o.coldEvery === o.coldEvery - 2;
      const a = newAttachment();
      const fresh = newAttachment();
      let phase = 'setup';
      let info = '';
      let key = 'setup';
      let mark = performance.now();
      /** Enters a phase (named in failures) and books the time of the previous one. */
      const enter = (k: string, detail = k): void => {
        const now = performance.now();
        bump(summary.spentMs, key, now - mark);
        mark = now;
        key = k;
        phase = detail;
      };
      try {
        if (cold) ipIn(node.name, ['link', 'del', 'cni0']);
        let prevResult: unknown;
        if (killDel) {
          enter('good ADD');
          prevResult = (await chain('ADD', a, undefined)).result;
        }
        const est = killDel ? delEst.ms : addEst.ms;
        const delay = rand() * est;
        const what = killDel ? 'DEL' : 'ADD';
        enter('killed chain', `${what}${cold ? ' (cold node)' : ''} killed ${delay.toFixed(1)} ms after its start (chain ≈ ${est.toFixed(0)} ms)`);
        const k = await chain(what, a, prevResult, delay);
        enter('probe', phase);
        const kinds = partialState(a);
        info = `killed in ${k.killed ?? '-'}, partial state [${kinds.join(', ')}]`;
        assert.ok(!lockHeld(lockFile), 'the host-local lock is still held after the kill');
        let delPrev: unknown;
        if (k.killed) {
          summary.killed++;
          bump(summary.killedIn, `${what} ${k.killed}`);
          // Mid-way: something of the attachment exists and, for DEL, not all of it any more.
          const all = killDel && FULL.every((x) => kinds.includes(x));
          if (kinds.length > 0 && !all) {
            summary.midWay++;
            for (const x of kinds) bump(summary.kinds, x);
          }
          // A failed ADD has no result: DEL without prevResult. A failed DEL is retried with
          // the result cached at ADD.
          delPrev = killDel ? prevResult : undefined;
        } else {
          // ADD succeeded: the runtime's later DEL carries its result. DEL succeeded: libcni
          // dropped the cache, so a repeated DEL comes without.
          delPrev = killDel ? undefined : k.result;
        }

        enter('runtime DEL after the kill');
        await chain('DEL', a, delPrev);
        assert.deepEqual(filesOf(a), [], 'the DEL left files of the attachment behind');
        a.pod.cleanup();

        enter('fresh ADD');
        const add = await chain('ADD', fresh, undefined);
        addEst.add(add.ms);
        const r = add.result as { ips?: Array<{ address: string }> };
        assert.match(r.ips?.[0]?.address ?? '', new RegExp(`^10\\.244\\.${o.subnet}\\.\\d+/24$`));
        enter('fresh DEL');
        const del = await chain('DEL', fresh, add.result);
        delEst.add(del.ms);
        fresh.pod.cleanup();

        enter('final state');
        assert.ok(!lockHeld(lockFile), 'the host-local lock is held after the final DEL');
        assert.equal(normalizedSnapshot(node.name, stateDirs), warm);
      } catch (e) {
        (e as Error).message = `node ${o.tag}, trial ${trial} (seed ${o.seed}; ${phase}; ${info}): ${(e as Error).message}`;
        throw e;
      } finally {
        enter('cleanup');
        a.pod.cleanup();
        fresh.pod.cleanup();
        enter('setup');
      }
    }
    return summary;
  } finally {
    try {
      cleanupAllNetns();
    } finally {
      tmp.cleanup();
    }
  }
}

// As a worker thread: run the trials of workerData and post the summary or the failure.
if (!isMainThread && (workerData as { killTrials?: KillTrialOptions } | null)?.killTrials) {
  runKillTrials((workerData as { killTrials: KillTrialOptions }).killTrials).then(
    (summary) => parentPort!.postMessage({ ok: true, summary }),
    (e: unknown) => parentPort!.postMessage({ ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
  );
}
