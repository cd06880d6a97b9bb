// `npm run soak` / `bash bench/soak.sh [--minutes N] [--build standalone|node] [--workers N]
// [--ping-every K]`: the churn soak (not a timed test; run on demand). Workers add and delete
// pods with hostPorts on one flannel network for N minutes, through the real plugin binaries
// running in a throw-away node namespace; then the node must be as it was after setup.
// Writes bench/results/soak.{md,json}; exits 1 on errors, duplicate addresses, residue or an
// ADD latency that grew more than 1.2× from the first minute to the last (130 if interrupted).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callMessage, SoakNode, type ChainOutcome, type Pod } from './soak-node';
import { endStartRatio, snapshotDiff, SoakRecord, verdict } from './soak-record';
import { soakMarkdown, type SoakReport } from './soak-report';

export interface SoakOptions {
  minutes: number;
  build: 'standalone' | 'node';
  workers: number;
  pingEvery: number;
}

const USAGE = 'usage: soak [--minutes N (10; env SOAK_MINUTES)] [--build standalone|node (standalone; env SOAK_BUILD)] [--workers N (8)] [--ping-every K (10)]';

export function parseSoakArgs(argv: string[], env: NodeJS.ProcessEnv): SoakOptions {
  const o: SoakOptions = {
    minutes: Number(env.SOAK_MINUTES ?? 10),
    build: (env.SOAK_BUILD ?? 'standalone') as SoakOptions['build'],
    workers: Number(env.SOAK_WORKERS ?? 8),
    pingEvery: Number(env.SOAK_PING_EVERY ?? 10),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--minutes') o.minutes = Number(value());
    else if (flag === '--build') o.build = value() as SoakOptions['build'];
    else if (flag === '--workers') o.workers = Number(value());
    else if (flag === '--ping-every') o.pingEvery = Number(value());
    else if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  if (!(o.minutes > 0)) throw new Error(`--minutes must be a positive number (got ${o.minutes})`);
  if (o.build !== 'standalone' && o.build !== 'node') throw new Error(`--build must be standalone or node (got ${JSON.stringify(o.build)})`);
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64) throw new Error(`--workers must be an integer 1..64 (got ${o.workers})`);
  if (!Number.isInteger(o.pingEvery) || o.pingEvery < 0) throw new Error(`--ping-every must be an integer >= 0 (0: never; got ${o.pingEvery})`);
  return o;
}

/** The repository root: the nearest directory above this (compiled) file holding bench/soak.sh. */
function repoRoot(): string {
  for (let d = __dirname; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'bench/soak.sh'))) return d;
    if (path.dirname(d) === d) throw new Error(`no bench/soak.sh above ${__dirname}`);
  }
}

const log = (s: string): void => void process.stderr.write(`soak: ${s}\n`);

interface Ctx {
  node: SoakNode;
  rec: SoakRecord;
  opts: SoakOptions;
  /** Pods whose namespace exists (for the hard-abort cleanup). */
  pods: Set<Pod>;
  nextPort(): number;
}

function recordCalls(ctx: Ctx, o: ChainOutcome): void {
  for (const c of o.calls) ctx.rec.pluginCall(`${c.plugin} ${c.command}`, c.ms);
}

/** One pod's life: netns, ADD (flannel, portmap), verify, DEL (portmap, flannel), netns gone. */
async function cycle(ctx: Ctx, pod: Pod, ping: boolean): Promise<void> {
  const { node, rec } = ctx;
  try {
    await node.addPodNs(pod);
  } catch (e) {
    rec.error(performance.now(), pod.id, 'netns add', (e as Error).message);
    await new Promise((r) => setTimeout(r, 1000)); // not a tight loop of failures
    return;
  }
  ctx.pods.add(pod);
  let address: string | undefined;
  try {
    const addStart = performance.now();
    const add = await node.add(pod);
    recordCalls(ctx, add);
    if (add.failed) {
      rec.error(performance.now(), pod.id, 'ADD', callMessage(add.failed));
    } else {
      rec.latency('ADD', addStart, add.ms);
      const chk = node.checkResult(add.result);
      address = chk.address;
      for (const p of chk.problems) rec.error(performance.now(), pod.id, 'verify result', p);
      if (address !== undefined) rec.addressUp(performance.now(), address, pod.id);
      if (ping) {
        const bad = await node.pingGateway(pod);
        if (bad) rec.error(performance.now(), pod.id, 'verify ping', bad);
      }
    }
    const delStart = performance.now();
    const del = await node.del(pod);
    recordCalls(ctx, del);
    if (del.failed) rec.error(performance.now(), pod.id, 'DEL', callMessage(del.failed));
    else if (!add.failed) rec.latency('DEL', delStart, del.ms);
    const left = await node.podLinks(pod);
    if (left.length) rec.error(performance.now(), pod.id, 'verify DEL', `links left in the pod namespace after DEL: ${left.join(', ')}`);
  } finally {
    if (address !== undefined) rec.addressDown(address, pod.id);
    try {
      await node.delPodNs(pod);
      ctx.pods.delete(pod);
    } catch (e) {
      rec.error(performance.now(), pod.id, 'netns del', (e as Error).message);
    }
    rec.cycles++;
  }
}

async function worker(ctx: Ctx, w: number, running: () => boolean): Promise<void> {
  for (let i = 0; running(); i++) {
    const ping = ctx.opts.pingEvery > 0 && i % ctx.opts.pingEvery === ctx.opts.pingEvery - 1;
    await cycle(ctx, ctx.node.pod(`w${w}-${i}`, ctx.nextPort()), ping);
  }
}

/** The cycle before the baseline: creates what stays for the node's life (cni0, portmap's chains, state dirs). */
async function warmUp(node: SoakNode): Promise<void> {
  const pod = node.pod('warmup', 19999);
  await node.addPodNs(pod);
  try {
    const add = await node.add(pod);
    const del = await node.del(pod);
    const bad = add.failed ?? del.failed;
    if (bad) throw new Error(`warm-up pod failed: ${callMessage(bad)}`);
  } finally {
    await node.delPodNs(pod);
  }
}

async function main(): Promise<number> {
  const opts = parseSoakArgs(process.argv.slice(2), process.env);
  const root = repoRoot();
  const pluginDir = path.resolve(root, process.env.CNI_TS_DIST ?? 'dist', opts.build, 'bin');
  for (const p of ['flannel', 'bridge', 'host-local', 'portmap']) {
    if (!fs.existsSync(path.join(pluginDir, p))) throw new Error(`${opts.build} build not found: no ${p} in ${pluginDir} (run npm run build)`);
  }
  const node = new SoakNode(`ctsk${process.pid % 100000}`, pluginDir);
  const pods = new Set<Pod>();
  let stopping = false;
  let interrupted = false;
  const abort = (): void => {
    log('aborting: removing every namespace and the temp dir');
    for (const p of pods) spawnSync('ip', ['netns', 'del', p.ns]);
    node.destroy();
    process.exit(130);
  };
  const onSignal = (sig: string): void => {
    if (stopping && interrupted) return abort();
    stopping = interrupted = true;
    log(`${sig}: finishing the cycles in flight, then the residue check and the report (again to abort at once)`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const loadAvgStart = os.loadavg().map((x) => Number(x.toFixed(2)));
    log(`setup: node namespace ${node.ns}, state in ${node.tmp.path}, plugins from ${pluginDir}`);
    node.setup();
    await warmUp(node);
    const baseline = await node.settledSnapshot();
    if (stopping) throw new Error('interrupted during setup');

    const t0 = performance.now();
    const deadline = t0 + opts.minutes * 60_000;
    const rec = new SoakRecord(t0, Math.ceil(opts.minutes));
    let port = 0;
    const ctx: Ctx = { node, rec, opts, pods, nextPort: () => 20000 + (port++ % 20000) };
    log(`${opts.workers} workers for ${opts.minutes} min (${opts.build} build)`);
    const progress = setInterval(() => {
      const m = rec.perMinute();
      const cur = m[m.length - 1];
      log(`${((performance.now() - t0) / 60_000).toFixed(1)} min: ${rec.cycles} cycles, ${rec.errorCount} errors, ${rec.duplicates.length} duplicates, this minute ADD median ${cur?.add?.median ?? '–'} ms, DEL median ${cur?.del?.median ?? '–'} ms`);
    }, 30_000);
    const running = (): boolean => !stopping && performance.now() < deadline;
    try {
      await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(ctx, w, running)));
    } finally {
      clearInterval(progress);
    }
    const ranSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));

    log('residue check');
    const residue = [...snapshotDiff(baseline, await node.settledSnapshot()), ...node.leftoverPodNs().map((n) => `netns: + ${n} (pod namespace left)`)];
    const perMinute = rec.perMinute();
    const ratio = endStartRatio(perMinute);
    const report: SoakReport = {
      date: new Date().toISOString(),
      build: opts.build,
      pluginDir: path.relative(root, pluginDir),
      workers: opts.workers,
      plannedMinutes: opts.minutes,
      ranSeconds,
      pingEvery: opts.pingEvery,
      interrupted,
      machine: { kernel: os.release(), cores: os.cpus().length, loadAvgStart, loadAvgEnd: os.loadavg().map((x) => Number(x.toFixed(2))) },
      chain: 'flannel (→ bridge → host-local, FLANNEL_IPMASQ=false so bridge masquerades) then portmap, one hostPort per pod; cniVersion 1.0.0',
      cycles: rec.cycles,
      cyclesPerSecond: Number((rec.cycles / Math.max(ranSeconds, 0.001)).toFixed(2)),
      pluginCalls: rec.pluginCalls,
      errors: rec.errorCount,
      firstErrors: rec.firstErrors,
      duplicates: rec.duplicates,
      addOverall: rec.overall('ADD'),
      delOverall: rec.overall('DEL'),
      perMinute,
      perPlugin: rec.plugins(),
      addEndStartRatio: ratio,
      residue,
      verdict: verdict({ errors: rec.errorCount, duplicates: rec.duplicates.length, residue, ratio, cycles: rec.cycles, interrupted }),
    };
    const out = path.join(root, 'bench/results');
    fs.mkdirSync(out, { recursive: true });
    const md = soakMarkdown(report);
    fs.writeFileSync(path.join(out, 'soak.md'), md);
    fs.writeFileSync(path.join(out, 'soak.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(md);
    log(`report: ${path.join(out, 'soak.md')}, ${path.join(out, 'soak.json')}`);
    return interrupted ? 130 : report.verdict.pass ? 0 : 1;
  } finally {
    node.destroy();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`soak failed: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
