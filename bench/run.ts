// `npm run bench` / `bash bench/run.sh`: every scenario of the benchmark suite, ours vs the
// reference Go plugins in the same run; writes bench/results/report.{md,json}.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchFloors, benchStartup, floorsMarkdown, startupMarkdown } from './startup';
import { benchConcurrency, benchHostLocal, benchScale, benchSequential, Node, peakRss, rowMarkdown, timingBreakdown, type Row } from './pod';
import { ratio } from './stats';

const N = Number(process.env.BENCH_N ?? 50);
const SCALE = Number(process.env.BENCH_PODS ?? 200);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 20);
const OUT = path.resolve(__dirname, '../../bench/results');

interface Target {
  measure: string;
  value: number;
  target: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const report: Record<string, unknown> = { date: new Date().toISOString(), n: N, pods: SCALE, concurrency: CONC };
  const md: string[] = [`# Benchmark report (${report.date})`, '', `Ours: standalone build. Go: Debian containernetworking-plugins in /usr/lib/cni. Medians and p95 in ms; ratio = ours/Go median.`, ''];
  const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

  log('floors');
  const floors = benchFloors();
  report.floors = floors;
  md.push(floorsMarkdown(floors));

  log('start-up');
  const startup = benchStartup();
  report.startup = startup;
  md.push(startupMarkdown(startup));
  const targets: Target[] = [];
  targets.push({ measure: 'standalone VERSION / empty Bun program', value: floors.version.median / floors.emptyBun.median, target: 1.5 });

  log('host-local alone');
  const hl = benchHostLocal(N);
  let nodes: Record<'ours' | 'go' | 'oursbr', Node> | undefined;
  try {
    nodes = { ours: new Node('ours', 1), go: new Node('go', 2), oursbr: new Node('oursbr', 3) };
    log(`sequential pods x${N}`);
    const seq = await benchSequential(nodes, N);
    const rows: Row[] = [...seq, ...hl];
    report.sequential = rows;
    const r = (name: string): number => {
      const row = rows.find((x) => x.name === name);
      if (!row) throw new Error(`bench: no row ${name}`);
      return row.ours.median / row.go.median;
    };
    targets.push(
      { measure: 'host-local ADD / Go', value: r('host-local ADD'), target: 2.2 },
      { measure: 'host-local ADD+DEL / Go', value: r('host-local ADD+DEL'), target: 2.2 },
      { measure: 'pod ADD (flannel+portmap / Go bridge+portmap)', value: r('pod ADD (ours flannel+portmap / Go bridge+portmap)'), target: 0.6 },
      { measure: 'pod ADD like for like (bridge+portmap / Go)', value: r('pod ADD like for like (ours bridge+portmap / Go bridge+portmap)'), target: 0.6 },
      { measure: 'pod DEL (flannel+portmap / Go)', value: r('pod DEL'), target: 0.45 },
      { measure: 'pod DEL like for like', value: r('pod DEL like for like'), target: 0.45 },
    );
    md.push('## Single pod, sequential', '', '| what | ours min | median | p95 | max | Go min | median | p95 | max | ours/Go median |', '|---|---|---|---|---|---|---|---|---|---|', ...rows.map(rowMarkdown), '');

    log('where the time goes');
    const breakdown = await timingBreakdown(nodes.ours);
    report.breakdown = breakdown;
    md.push('## Where the time of one of our pod ADDs goes (CNI_TS_TIMING=1; the median of 9 pods)', '', '```json', ...breakdown.map((b) => JSON.stringify(b)), '```', '');

    log('peak RSS');
    const rss = { ours: await peakRss(nodes.ours), go: await peakRss(nodes.go) };
    report.peakRssKiB = rss;
    md.push('## Peak RSS per plugin call (KiB, GNU time)', '', '| plugin call | ours | Go |', '|---|---|---|');
    md.push(`| main plugin (ours flannel / Go bridge) | ${rss.ours.flannel} | ${rss.go.bridge} |`, `| portmap | ${rss.ours.portmap} | ${rss.go.portmap} |`, `| empty Bun program | ${floors.emptyBunRssKiB} | |`, '');
    targets.push({ measure: 'peak RSS of a portmap ADD / empty Bun program', value: rss.ours.portmap! / floors.emptyBunRssKiB, target: 1.3 });

    log(`scale to ${SCALE} pods`);
    nodes.oursbr.destroy();
    const scale = await benchScale({ ours: nodes.ours, go: nodes.go }, SCALE);
    report.scale = scale;
    md.push(`## Scale: ${SCALE} pods one after another, each with a hostPort`, '', '| window | ours ADD | Go ADD | ratio | ours DEL | Go DEL | ratio |', '|---|---|---|---|---|---|---|');
    for (const w of scale.windows) {
      md.push(`| ${w.label} | ${w.oursAdd.median} | ${w.goAdd.median} | ${ratio(w.oursAdd.median, w.goAdd.median)} | ${w.oursDel.median} | ${w.goDel.median} | ${ratio(w.oursDel.median, w.goDel.median)} |`);
    }
    const first = scale.windows[0]!;
    const last = scale.windows[scale.windows.length - 1]!;
    md.push('', '| window | ours portmap ADD | Go portmap ADD | ratio | ours portmap DEL | Go portmap DEL | ratio |', '|---|---|---|---|---|---|---|');
    for (const w of scale.windows) {
      md.push(`| ${w.label} | ${w.oursPmAdd.median} | ${w.goPmAdd.median} | ${ratio(w.oursPmAdd.median, w.goPmAdd.median)} | ${w.oursPmDel.median} | ${w.goPmDel.median} | ${ratio(w.oursPmDel.median, w.goPmDel.median)} |`);
    }
    md.push('', `Flatness (ADD at the last window / first window): ours ${ratio(last.oursAdd.median, first.oursAdd.median)}, Go ${ratio(last.goAdd.median, first.goAdd.median)}.`);
    targets.push({ measure: `pod ADD at pods ${last.label} / at ${first.label} (ours)`, value: last.oursAdd.median / first.oursAdd.median, target: 1.2 });
    md.push(`nat rules at ${SCALE} pods: ours ${scale.rulesAt200.ours}, Go ${scale.rulesAt200.go}.`, '');

    log(`${CONC} concurrent pods`);
    const conc = [await benchConcurrency(nodes.ours, CONC), await benchConcurrency(nodes.go, CONC)];
    report.concurrency = conc;
    md.push(`## Concurrency: ${CONC} pod ADDs at once, then ${CONC} DELs at once`, '', '| impl | ADD wall ms | per-call median | p95 | DEL wall ms | per-call median | failures | duplicate IPs |', '|---|---|---|---|---|---|---|---|');
    for (const c of conc) md.push(`| ${c.impl} | ${c.addWallMs} | ${c.addCall.median} | ${c.addCall.p95} | ${c.delWallMs} | ${c.delCall.median} | ${c.failures} | ${c.duplicates} |`);
    md.push('', `20-concurrent ADD wall time ratio ours/Go: ${ratio(conc[0]!.addWallMs, conc[1]!.addWallMs)}; DEL: ${ratio(conc[0]!.delWallMs, conc[1]!.delWallMs)}.`, '');
    targets.push({ measure: `${CONC} concurrent pod ADDs, wall / Go`, value: conc[0]!.addWallMs / conc[1]!.addWallMs, target: 0.6 });
  } finally {
    nodes?.ours.destroy();
    nodes?.go.destroy();
    nodes?.oursbr.destroy();
  }
  const nodeVersion = startup.find((x) => x.plugin === 'bridge')?.node.median;
  md.push('## Targets (issue 16)', '', '| measure | value | target | met |', '|---|---|---|---|');
  for (const t of targets) md.push(`| ${t.measure} | ${t.value.toFixed(2)}× | ≤ ${t.target}× | ${t.value <= t.target ? 'yes' : 'no'} |`);
  md.push(`| Node build VERSION (bridge) | ${nodeVersion} ms | report | – |`, '');
  report.targets = targets;
  md.push(`Run took ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'report.md'), md.join('\n') + '\n');
  fs.writeFileSync(path.join(OUT, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(md.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
