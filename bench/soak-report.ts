// The churn soak's report: one JSON object, and the same as Markdown (pure).
import type { Stats } from './stats';
import type { Duplicate, MinuteStats, SoakError, Verdict } from './soak-record';

export interface SoakReport {
  date: string;
  build: string;
  pluginDir: string;
  workers: number;
  plannedMinutes: number;
  ranSeconds: number;
  pingEvery: number;
  interrupted: boolean;
  machine: { kernel: string; cores: number; loadAvgStart: number[]; loadAvgEnd: number[] };
  chain: string;
  cycles: number;
  cyclesPerSecond: number;
  pluginCalls: number;
  errors: number;
  firstErrors: SoakError[];
  duplicates: Duplicate[];
  addOverall: Stats | null;
  delOverall: Stats | null;
  perMinute: MinuteStats[];
  perPlugin: Record<string, Stats>;
  addEndStartRatio: number | null;
  residue: string[];
  verdict: Verdict;
}

const cell = (s: Stats | null, k: keyof Stats): string => (s ? String(s[k]) : '–');

export function soakMarkdown(r: SoakReport): string {
  const md: string[] = [
    `# Churn soak (${r.date})`,
    '',
    `${r.workers} workers adding and deleting pods for ${r.plannedMinutes} min (ran ${r.ranSeconds} s${r.interrupted ? ', interrupted' : ''}) on one flannel network.`,
    `Chain: ${r.chain}. Build: ${r.build} (${r.pluginDir}). Gateway ping: ${r.pingEvery > 0 ? `every ${r.pingEvery}th cycle of a worker` : 'off'}.`,
    `Machine: kernel ${r.machine.kernel}, ${r.machine.cores} cores, load average at start ${r.machine.loadAvgStart.join(' ')}, at end ${r.machine.loadAvgEnd.join(' ')}.`,
    '',
    `## Verdict: ${r.verdict.pass ? 'PASS' : 'FAIL'}`,
    '',
    ...(r.verdict.pass ? [] : [...r.verdict.reasons.map((x) => `- ${x}`), '']),
    '| measure | value |',
    '|---|---|',
    `| pod cycles (netns, ADD, verify, DEL) | ${r.cycles} (${r.cyclesPerSecond}/s) |`,
    `| plugin calls | ${r.pluginCalls} |`,
    `| errors | ${r.errors} |`,
    `| duplicate addresses | ${r.duplicates.length} |`,
    `| residue in the node namespace / state dirs | ${r.residue.length ? `${r.residue.length} line(s)` : 'none'} |`,
    `| pod ADD median, last minute / first minute | ${r.addEndStartRatio ?? 'n/a (one minute)'} |`,
    `| pod ADD ms median / p95 (all) | ${cell(r.addOverall, 'median')} / ${cell(r.addOverall, 'p95')} |`,
    `| pod DEL ms median / p95 (all) | ${cell(r.delOverall, 'median')} / ${cell(r.delOverall, 'p95')} |`,
    '',
    '## Latency per minute (ms; pod ADD = flannel ADD + portmap ADD, pod DEL = portmap DEL + flannel DEL)',
    '',
    '| minute | ADDs | ADD median | ADD p95 | DELs | DEL median | DEL p95 |',
    '|---|---|---|---|---|---|---|',
    ...r.perMinute.map((m) => `| ${m.minute} | ${m.add?.n ?? 0} | ${cell(m.add, 'median')} | ${cell(m.add, 'p95')} | ${m.del?.n ?? 0} | ${cell(m.del, 'median')} | ${cell(m.del, 'p95')} |`),
    '',
    '## Per plugin call (ms, whole run)',
    '',
    '| call | n | min | median | p95 | max |',
    '|---|---|---|---|---|---|',
    ...Object.entries(r.perPlugin).map(([k, s]) => `| ${k} | ${s.n} | ${s.min} | ${s.median} | ${s.p95} | ${s.max} |`),
    '',
  ];
  if (r.errors) {
    md.push(`## Errors (first ${r.firstErrors.length} of ${r.errors})`, '', ...r.firstErrors.map((e) => `- ${e.atS} s, ${e.pod}, ${e.what}: \`${e.message.replace(/`/g, "'").replace(/\n/g, ' ')}\``), '');
  }
  if (r.duplicates.length) {
    md.push('## Duplicate addresses', '', ...r.duplicates.map((d) => `- ${d.atS} s: ${d.address} held by ${d.pods[0]} when given to ${d.pods[1]}`), '');
  }
  if (r.residue.length) {
    md.push('## Residue (vs the baseline taken after setup)', '', '```', ...r.residue, '```', '');
  }
  return md.join('\n') + '\n';
}
