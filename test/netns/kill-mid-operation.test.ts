// Fault injection by SIGKILL (issue 9, "Kill mid-operation"): the kube-flannel chain (flannel →
// bridge + host-local in-process, then portmap with a hostPort) on throw-away node namespaces,
// each plugin SIGKILLed (with whatever it execs) at a random point of an ADD or a DEL, then the
// runtime's DEL, a fresh ADD, its DEL, and nothing may be left (test/helpers/kill-trials.ts has
// the trial itself).
//
// Timing sweep only, no hook in the plugins: kill delays are spread over chain durations
// measured while the test runs (other work shares the CPUs), and the test asserts that enough
// kills landed while partial state existed, so it cannot pass by always killing too early or too
// late. Independent nodes run in worker threads (WORKERS per build): a trial spends much of its
// time waiting (process start-up, the bridge port coming up), so 3 keep 2 CPUs busy.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KillTrialOptions, KillTrialSummary } from '../helpers/kill-trials';
import { builds, type Build } from '../helpers/plugins';
import { shStatus } from '../helpers/sh';

const ROOT = process.getuid?.() === 0;
const TRIALS: Record<Build['label'], number> = {
  standalone: Number(process.env.CTS_KILL_TRIALS_STANDALONE ?? 150),
  node: Number(process.env.CTS_KILL_TRIALS_NODE ?? 50),
};
const WORKERS = Math.max(1, Number(process.env.CTS_KILL_WORKERS ?? 3));
/** Share of trials that must have killed the chain with partial state present. */
const MIN_MID_WAY = 0.25;
const SEED = Number(process.env.CTS_KILL_SEED ?? Date.now() % 2 ** 31);

function runWorker(opts: KillTrialOptions): Promise<KillTrialSummary> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path.join(__dirname, '../helpers/kill-trials.js'), { workerData: { killTrials: opts } });
    let settled = false;
    w.on('message', (m: { ok: boolean; summary?: KillTrialSummary; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.summary!);
      // The run's seed replays the same delays (the timing around them is the machine's).
      else reject(new Error(`(run with CTS_KILL_SEED=${SEED}) ${m.error}`));
    });
    w.on('error', (e) => {
      settled = true;
      reject(e);
    });
    w.on('exit', (code) => {
      if (!settled) reject(new Error(`kill-trials worker exited with ${code} before reporting`));
    });
  });
}

function merge(xs: KillTrialSummary[]): KillTrialSummary & { spent: string } {
  const m: KillTrialSummary = { trials: 0, killed: 0, midWay: 0, kinds: {}, killedIn: {}, spentMs: {}, addMs: 0, delMs: 0 };
  for (const s of xs) {
    m.trials += s.trials;
    m.killed += s.killed;
    m.midWay += s.midWay;
    for (const [k, v] of Object.entries(s.kinds)) m.kinds[k] = (m.kinds[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.killedIn)) m.killedIn[k] = (m.killedIn[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.spentMs)) m.spentMs[k] = (m.spentMs[k] ?? 0) + v;
    m.addMs += s.addMs / xs.length;
    m.delMs += s.delMs / xs.length;
  }
  const spent = Object.entries(m.spentMs).map(([k, v]) => `${k} ${(v / Math.max(1, m.trials)).toFixed(0)}`).join(', ');
  return { ...m, spent };
}

const list = (r: Record<string, number>): string =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

describe('kill mid-operation: SIGKILL at random points of the flannel chain', { skip: !ROOT && 'needs root' }, () => {
  after(() => {
    // A worker that died without its finally leaves namespaces named after this process.
    const left = shStatus('ip', ['netns', 'list']).out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`cts${process.pid}-k`));
    for (const n of left) shStatus('ip', ['netns', 'del', n]);
  });

  builds().forEach((build, b) => {
    const n = TRIALS[build.label];
    it(`${build.label} build: ${n} trials (kill ADD or DEL, runtime DEL, fresh ADD, DEL → node as before, lock free)`, async () => {
      const started = performance.now();
      const per = Array.from({ length: WORKERS }, (_, w) => Math.floor(n / WORKERS) + (w < n % WORKERS ? 1 : 0));
      // Every worker is waited for, also when one fails: each removes its own node and files.
      const settled = await Promise.allSettled(
        per.map((trials, w) =>
          runWorker({
            buildDir: build.dir,
            tag: `k${build.label[0]}${w}`,
            trials,
            seed: SEED + 7919 * (b * WORKERS + w),
            delEvery: 3,
            coldEvery: 5,
            subnet: 100 + b * WORKERS + w,
          }),
        ),
      );
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
      if (failed) throw failed.reason;
      const s = merge(settled.map((x) => (x as PromiseFulfilledResult<KillTrialSummary>).value));
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `# ${build.label}: ${s.trials} trials on ${WORKERS} nodes in ${secs} s (seed ${SEED}); chain ADD ≈ ${s.addMs.toFixed(0)} ms, DEL ≈ ${s.delMs.toFixed(0)} ms\n` +
          `#   killed ${s.killed} (${list(s.killedIn)}); killed mid-way with partial state ${s.midWay} (${((100 * s.midWay) / s.trials).toFixed(0)}%)\n` +
          `#   partial state seen (trials): ${list(s.kinds)}\n` +
          `#   ms per trial: ${s.spent}`,
      );
      assert.ok(s.midWay >= MIN_MID_WAY * s.trials, `only ${s.midWay} of ${s.trials} trials killed the chain with partial state present`);
    });
  });
});
