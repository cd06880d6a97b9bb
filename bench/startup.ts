// Start-up cost: CNI_COMMAND=VERSION of each plugin, standalone and Node builds vs the Go
// reference, interleaved in one run so machine noise hits all alike.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ratio, stats, type Stats } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const GO_DIR = '/usr/lib/cni';
const N = Number(process.env.BENCH_N ?? 50);
const PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'];

function timeOnce(file: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(file, [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${file} VERSION failed: ${r.stdout}${r.stderr}`);
  return ms;
}

export interface StartupRow {
  plugin: string;
  standalone: Stats;
  node: Stats;
  go?: Stats;
}

export function benchStartup(): StartupRow[] {
  const rows: StartupRow[] = [];
  for (const p of PLUGINS) {
    const files = {
      standalone: path.join(ROOT, 'dist/standalone/bin', p),
      node: path.join(ROOT, 'dist/node/bin', p),
      go: path.join(GO_DIR, p),
    };
    const hasGo = fs.existsSync(files.go);
    const samples: Record<string, number[]> = { standalone: [], node: [], go: [] };
    for (let i = 0; i < 3; i++) timeOnce(files.standalone); // warm the page cache
    for (let i = 0; i < N; i++) {
      samples.standalone!.push(timeOnce(files.standalone));
      samples.node!.push(timeOnce(files.node));
      if (hasGo) samples.go!.push(timeOnce(files.go));
    }
    const row: StartupRow = { plugin: p, standalone: stats(samples.standalone!), node: stats(samples.node!) };
    if (hasGo) row.go = stats(samples.go!);
    rows.push(row);
  }
  return rows;
}

export function startupMarkdown(rows: StartupRow[]): string {
  const lines = [
    '## Start-up: `CNI_COMMAND=VERSION` (ms, fork+exec+wait)',
    '',
    '| plugin | standalone median | p95 | node median | p95 | Go median | standalone/Go | node/Go |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const go = r.go ? String(r.go.median) : '(no Go binary: Debian ships none for flannel)';
    lines.push(
      `| ${r.plugin} | ${r.standalone.median} | ${r.standalone.p95} | ${r.node.median} | ${r.node.p95} | ${go} | ${r.go ? ratio(r.standalone.median, r.go.median) : '–'} | ${r.go ? ratio(r.node.median, r.go.median) : '–'} |`,
    );
  }
  return lines.join('\n') + '\n';
}

if (require.main === module) {
  const rows = benchStartup();
  process.stdout.write(startupMarkdown(rows));
}
