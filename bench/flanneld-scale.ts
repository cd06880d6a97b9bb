// flanneld at 0/100/500/1000 leases (standalone build), the scale e2e's measurement per count on
// a fresh one-node cluster each: start → all peers programmed (route + ARP + FDB on flannel.2),
// idle RSS 5 s later, etcd RPCs of a re-list after an etcd restart, join-to-route p50/p99 of 50
// joins written one by one; plus the RSS of an empty program built with the same Bun flags.
// Run through bench/flanneld-scale.sh. Writes bench/results/flanneld-scale.{md,json}.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gatewayPut } from '../test/helpers/etcd-gateway';
import { FlannelCluster } from '../test/helpers/flannel-cluster';
import { SCALE_CONFIG, SCALE_PREFIX, ScaleRig, rssOf, scalePeers, sleep } from '../test/helpers/flanneld-scale';
import { cleanupAllNetns } from '../test/helpers/netns';
import type { Build } from '../test/helpers/plugins';

const ROOT = path.resolve(__dirname, '../..');
const COUNTS = (process.env.BENCH_SCALE_COUNTS ?? '0 100 500 1000').trim().split(/\s+/).map(Number);
const JOINS = 50;
const IDLE_SETTLE_MS = 5000;

interface Row {
  leases: number;
  writeMs: number;
  startMs: number;
  idleRssMiB: number;
  /** After the etcd restart and the joins. */
  endRssMiB: number;
  relistRpcs: number;
  join: { p50: number; p99: number; max: number };
  reconcileMs: number;
}

async function measure(build: Build, count: number): Promise<Row> {
  const c = await FlannelCluster.create(build, `fsb${count}`, 1, { [SCALE_PREFIX]: SCALE_CONFIG });
  try {
    const rig = new ScaleRig(c, c.nodes[0]!, build.dir);
    const w = count ? await gatewayPut(c.etcd, scalePeers(0, count), { concurrency: 16 }) : { ms: 0 };
    const t0 = Date.now();
    await rig.start();
    const startMs = await rig.waitProgrammed(count, t0, 60_000);
    await sleep(IDLE_SETTLE_MS);
    const rss = rssOf(rig.daemon!.proc.pid!);
    if (rss.name !== 'flanneld') throw new Error(`pid ${rig.daemon!.proc.pid} is ${rss.name}, not flanneld`);
    const reconcileMs = ((await rig.metrics()).flanneld_reconcile_last_duration_seconds ?? 0) * 1000;
    const relistRpcs = await rig.relistRpcs();
    const join = await rig.joinLatency(scalePeers(count, JOINS), 100);
    const end = rssOf(rig.daemon!.proc.pid!);
    await rig.daemon!.stop('SIGTERM');
    return { leases: count, writeMs: w.ms, startMs, idleRssMiB: rss.kib / 1024, endRssMiB: end.kib / 1024, relistRpcs, join: { p50: join.p50, p99: join.p99, max: join.max }, reconcileMs };
  } finally {
    await c.destroy();
  }
}

async function emptyBunRss(): Promise<number | undefined> {
  const bin = process.env.BENCH_EMPTY_BUN;
  if (!bin || !fs.existsSync(bin)) return undefined;
  const p = spawn(bin, [], { stdio: 'ignore' });
  try {
    await sleep(1000);
    return rssOf(p.pid!).kib / 1024;
  } finally {
    p.kill('SIGTERM');
  }
}

function markdown(rows: Row[], emptyMiB: number | undefined, started: Date): string {
  const f = (n: number, d = 0): string => n.toFixed(d);
  const lines = [
    `# flanneld scale bench (${started.toISOString()})`,
    '',
    `Standalone build (Bun executable), one node, a fresh single-member etcd (TLS) per row; synthetic vxlan peers written through etcd's JSON gateway, each under its own etcd lease. ${os.cpus().length} CPUs, Linux ${os.release()}.`,
    '',
    '- **start → programmed**: daemon spawned → all N routes, permanent ARP entries and FDB remotes on flannel.2 (polled every 100 ms).',
    `- **idle RSS**: VmRSS ${IDLE_SETTLE_MS / 1000} s after programming; **end RSS**: after the etcd restart and the joins (N + ${JOINS} leases).`,
    '- **re-list RPCs**: `flanneld_etcd_rpcs_total` increase around an etcd restart (down 1 s, back, re-listed, 2 s to settle); includes the failed attempts while etcd is down and the own-lease check. Independent of N means one range call per re-list.',
    `- **join → route**: ${JOINS} leases written one by one 100 ms apart; put sent → route seen by \`ip monitor route\`.`,
    '',
    '| leases | write (gateway) ms | start → programmed ms | last reconcile ms | idle RSS MiB | end RSS MiB | re-list RPCs | join p50 ms | join p99 ms | join max ms |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.leases} | ${r.leases ? r.writeMs : '–'} | ${r.leases ? r.startMs : '–'} | ${f(r.reconcileMs)} | ${f(r.idleRssMiB, 1)} | ${f(r.endRssMiB, 1)} | ${r.relistRpcs} | ${r.join.p50} | ${r.join.p99} | ${r.join.max} |`),
    '',
    `Empty runtime: ${emptyMiB === undefined ? 'not measured (BENCH_EMPTY_BUN unset)' : `an empty program compiled with the same \`bun build --compile --minify\` flags: **${f(emptyMiB, 1)} MiB** RSS`}.`,
    'Reference: no documented RSS figure for Go flanneld was found (not in the reference material, none measured on this machine), so none is compared here. For scale inside the runtime: `shared/reference/toolchain-facts.md` gives ~73 MB peak RSS for a compiled Bun etcd3 client doing puts and gets over TLS — most of the daemon\'s idle RSS at 0 leases is that client (grpc-js + protobufs).',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = process.env.CNI_TS_STANDALONE_DIR ?? path.join(ROOT, 'dist/standalone/bin');
  if (!fs.existsSync(path.join(dir, 'flanneld'))) throw new Error(`no standalone flanneld in ${dir}: run npm run build`);
  const build: Build = { label: 'standalone', dir };
  const started = new Date();
  const rows: Row[] = [];
  for (const n of COUNTS) {
    process.stderr.write(`flanneld scale: ${n} leases…\n`);
    const r = await measure(build, n);
    process.stderr.write(`  ${JSON.stringify(r)}\n`);
    rows.push(r);
  }
  const empty = await emptyBunRss();
  const out = path.join(ROOT, 'bench/results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'flanneld-scale.md'), markdown(rows, empty, started));
  fs.writeFileSync(path.join(out, 'flanneld-scale.json'), JSON.stringify({ started, rows, emptyBunRssMiB: empty }, null, 2) + '\n');
  process.stdout.write(markdown(rows, empty, started));
}

main().then(
  () => cleanupAllNetns(),
  (e) => {
    cleanupAllNetns();
    console.error(e);
    process.exit(1);
  },
);
