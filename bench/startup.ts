// Start-up cost: CNI_COMMAND=VERSION of each plugin, standalone and Node builds vs the Go
// reference, interleaved in one run so machine noise hits all alike.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ratio, stats, type Stats } from './stats';
import { PLUGIN_BUN_FLAGS, PLUGIN_BUN_FLAGS_TEXT } from './bun-flags';

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

const BUN = path.join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');

export interface Floors {
  binTrue: Stats;
  emptyBun: Stats;
  /** Our standalone bridge, CNI_COMMAND=VERSION, measured interleaved with the floors. */
  version: Stats;
  emptyBunRssKiB: number;
}

/**
 * The floors any process of ours stands on: /bin/true (fork+exec+wait) and an empty program
 * compiled with the build's own Bun and flags; our VERSION is measured in the same loop.
 */
export function benchFloors(): Floors {
  const dir = fs.mkdtempSync('/tmp/cts-bench-floor-');
  try {
    fs.writeFileSync(path.join(dir, 'empty.js'), '');
    const empty = path.join(dir, 'empty');
    const b = spawnSync(BUN, ['build', ...PLUGIN_BUN_FLAGS, path.join(dir, 'empty.js'), '--outfile', empty]);
    if (b.status !== 0) throw new Error(`bun build of the empty program failed: ${b.stderr}`);
    const ours = path.join(ROOT, 'dist/standalone/bin/bridge');
    const s: Record<'t' | 'e' | 'v', number[]> = { t: [], e: [], v: [] };
    for (let i = 0; i < 3; i++) timeOnce(empty);
    for (let i = 0; i < N; i++) {
      s.t.push(timeOnce('/bin/true'));
      s.e.push(timeOnce(empty));
      s.v.push(timeOnce(ours));
    }
    const r = spawnSync('/usr/bin/time', ['-f', 'RSS %M', empty]);
    const m = /RSS (\d+)/.exec(String(r.stderr));
    return { binTrue: stats(s.t), emptyBun: stats(s.e), version: stats(s.v), emptyBunRssKiB: m ? Number(m[1]) : NaN };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function floorsMarkdown(f: Floors): string {
  return [
    '## Floors (ms, fork+exec+wait, interleaved)',
    '',
    '| program | median | p95 |',
    '|---|---|---|',
    `| /bin/true | ${f.binTrue.median} | ${f.binTrue.p95} |`,
    `| empty program, compiled like ours (\`${PLUGIN_BUN_FLAGS_TEXT}\`) | ${f.emptyBun.median} | ${f.emptyBun.p95} |`,
    `| our standalone \`CNI_COMMAND=VERSION bridge\` | ${f.version.median} | ${f.version.p95} |`,
    '',
    `VERSION / empty Bun program: ${ratio(f.version.median, f.emptyBun.median)}. Peak RSS of the empty Bun program: ${f.emptyBunRssKiB} KiB.`,
    '',
  ].join('\n');
}

if (require.main === module) {
  const rows = benchStartup();
  process.stdout.write(startupMarkdown(rows));
}
