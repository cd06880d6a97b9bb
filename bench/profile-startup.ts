// `npm run profile`: where the time of one plugin process goes, measured inside the real
// compiled executable. Builds an instrumented copy of the standalone build (same Bun flags;
// every module's evaluation and every package require timed, see profile-instrument.ts), runs
// VERSION, host-local ADD/DEL, bridge ADD/DEL, portmap ADD/DEL and a flannel chain ADD/DEL
// (CNI_TS_TIMING=1 adds stdin, config, validate, addon, stdout, netfilter, delegate phases), and
// writes the medians to bench/results/profile.md. Needs root (throw-away namespaces).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLONE_NEWNET, native } from '../shared/native/addon';
import { PLUGIN_BUN_FLAGS, PLUGIN_BUN_FLAGS_TEXT } from './bun-flags';
import { instrumentModule, median, runPhases, summarise, timingLineOf, type ProfileRecord, type RunPhases } from './profile-instrument';

const ROOT = path.resolve(__dirname, '../..');
const N = Number(process.env.PROFILE_N ?? 25);
const BUN = path.join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');
const PROF_OUT = path.join(ROOT, 'out-prof');
const PROF_DIST = path.join(ROOT, 'dist-prof');
const TAG = `ctsp${process.pid % 10000}`;
const PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'];
const now = (): number => performance.timeOrigin + performance.now();

/** Copies out/ (shared, plugins, package.json) instrumented, and compiles it with build.sh's flags. */
function buildInstrumented(): string {
  fs.rmSync(PROF_OUT, { recursive: true, force: true });
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, 'out', rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.js')) {
        const src = fs.readFileSync(path.join(ROOT, 'out', r), 'utf8');
        fs.mkdirSync(path.dirname(path.join(PROF_OUT, r)), { recursive: true });
        fs.writeFileSync(path.join(PROF_OUT, r), instrumentModule(src, r.replace(/\.js$/, ''), r === 'plugins/multicall.js'));
      }
    }
  };
  walk('shared');
  walk('plugins');
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(PROF_OUT, 'package.json'));
  // shared/native/addon.ts loads ../../build/Release/cni_native.node (as in out/, build.sh).
  fs.mkdirSync(path.join(PROF_OUT, 'build/Release'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'build/Release/cni_native.node'), path.join(PROF_OUT, 'build/Release/cni_native.node'));
  fs.mkdirSync(path.join(PROF_DIST, 'bin'), { recursive: true });
  const exe = path.join(PROF_DIST, 'cni-ts-suite');
  execFileSync(BUN, ['build', ...PLUGIN_BUN_FLAGS, path.join(PROF_OUT, 'plugins/multicall.js'), '--outfile', exe], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const p of PLUGINS) {
    fs.rmSync(path.join(PROF_DIST, 'bin', p), { force: true });
    fs.linkSync(exe, path.join(PROF_DIST, 'bin', p));
  }
  return path.join(PROF_DIST, 'bin');
}

/** The empty program compiled with the build's flags: the floor of any Bun process. */
function buildEmpty(): string {
  const src = path.join(PROF_DIST, 'empty.js');
  fs.writeFileSync(src, '');
  const exe = path.join(PROF_DIST, 'empty');
  execFileSync(BUN, ['build', ...PLUGIN_BUN_FLAGS, src, '--outfile', exe], { stdio: ['ignore', 'ignore', 'inherit'] });
  return exe;
}

interface Call {
  file: string;
  env: Record<string, string>;
  input: string;
}

function runProfiled(c: Call): { phases: RunPhases; stdout: string } {
  const outFile = path.join(PROF_DIST, `rec-${process.pid}.json`);
  fs.rmSync(outFile, { force: true });
  const t = now();
  const r = spawnSync(c.file, [], { env: { PATH: process.env.PATH!, ...c.env, CNI_TS_TIMING: '1', CNI_TS_PROFILE_OUT: outFile }, input: c.input });
  const end = now();
  if (r.status !== 0) throw new Error(`${path.basename(c.file)} ${c.env.CNI_COMMAND} failed (${r.status}): ${r.stdout}${r.stderr}`);
  const rec = JSON.parse(fs.readFileSync(outFile, 'utf8')) as ProfileRecord;
  return { phases: runPhases(t, end, rec, timingLineOf(String(r.stderr))), stdout: String(r.stdout) };
}

function wallOnly(file: string, env: Record<string, string>): number {
  const t = now();
  const r = spawnSync(file, [], { env, input: '' });
  const ms = now() - t;
  if (r.status !== 0) throw new Error(`${file} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });

/** Runs `fn` with this thread (and so the children it spawns) in netns `name`. */
function inNetns<T>(name: string, fn: () => T): T {
  const home = fs.openSync('/proc/thread-self/ns/net', 'r');
  const there = fs.openSync(`/run/netns/${name}`, 'r');
  try {
    native().setns(there, CLONE_NEWNET);
    try {
      return fn();
    } finally {
      native().setns(home, CLONE_NEWNET);
    }
  } finally {
    fs.closeSync(there);
    fs.closeSync(home);
  }
}

type Samples = Record<string, RunPhases[]>;

function profile(bin: string, tmp: string): Samples {
  const s: Samples = {};
  const push = (k: string, r: RunPhases): void => void (s[k] ??= []).push(r);
  const base = { CNI_IFNAME: 'eth0', CNI_PATH: bin };
  const hlConf = JSON.stringify({ cniVersion: '1.0.0', name: 'profhl', type: 'host-local', ipam: { type: 'host-local', subnet: '10.251.0.0/16', dataDir: path.join(tmp, 'hl') } });
  const brConf = { cniVersion: '1.0.0', name: 'profbr', type: 'bridge', bridge: 'cbrp0', isGateway: true, ipMasq: true, hairpinMode: true, mtu: 1450, ipam: { type: 'host-local', subnet: '10.252.0.0/16', dataDir: path.join(tmp, 'br') } };
  const pmConf = { cniVersion: '1.0.0', name: 'profbr', type: 'portmap', capabilities: { portMappings: true } };
  fs.writeFileSync(path.join(tmp, 'subnet.env'), 'FLANNEL_NETWORK=10.253.0.0/16\nFLANNEL_SUBNET=10.253.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  const flConf = JSON.stringify({ cniVersion: '1.0.0', name: 'proffl', type: 'flannel', subnetFile: path.join(tmp, 'subnet.env'), dataDir: path.join(tmp, 'fl'), ipam: { dataDir: path.join(tmp, 'flnet') }, delegate: { hairpinMode: true, isDefaultGateway: true } });
  const node = `${TAG}-node`;
  sh('ip', ['netns', 'add', node]);
  try {
    sh('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    for (let i = 0; i < N; i++) {
      push('VERSION (bridge)', runProfiled({ file: path.join(bin, 'bridge'), env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' }).phases);
      const hlEnv = { ...base, CNI_CONTAINERID: `${TAG}hl${i}`, CNI_NETNS: '/x' };
      push('host-local ADD', runProfiled({ file: path.join(bin, 'host-local'), env: { ...hlEnv, CNI_COMMAND: 'ADD' }, input: hlConf }).phases);
      push('host-local DEL', runProfiled({ file: path.join(bin, 'host-local'), env: { ...hlEnv, CNI_COMMAND: 'DEL' }, input: hlConf }).phases);
      const pod = `${TAG}-p${i}`;
      sh('ip', ['netns', 'add', pod]);
      try {
        inNetns(node, () => {
          const env = { ...base, CNI_CONTAINERID: `${TAG}br${i}`, CNI_NETNS: `/run/netns/${pod}` };
          const add = runProfiled({ file: path.join(bin, 'bridge'), env: { ...env, CNI_COMMAND: 'ADD' }, input: JSON.stringify(brConf) });
          push('bridge ADD (→ host-local in-process, ipMasq)', add.phases);
          const prevResult = JSON.parse(add.stdout) as unknown;
          const pm = JSON.stringify({ ...pmConf, prevResult, runtimeConfig: { portMappings: [{ hostPort: 21000 + i, containerPort: 80, protocol: 'tcp' }] } });
          push('portmap ADD (1 mapping)', runProfiled({ file: path.join(bin, 'portmap'), env: { ...env, CNI_COMMAND: 'ADD' }, input: pm }).phases);
          push('portmap DEL', runProfiled({ file: path.join(bin, 'portmap'), env: { ...env, CNI_COMMAND: 'DEL' }, input: pm }).phases);
          push('bridge DEL', runProfiled({ file: path.join(bin, 'bridge'), env: { ...env, CNI_COMMAND: 'DEL' }, input: JSON.stringify({ ...brConf, prevResult }) }).phases);
          const fenv = { ...base, CNI_CONTAINERID: `${TAG}fl${i}`, CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth1' };
          push('flannel ADD (→ bridge → host-local in-process)', runProfiled({ file: path.join(bin, 'flannel'), env: { ...fenv, CNI_COMMAND: 'ADD' }, input: flConf }).phases);
          push('flannel DEL', runProfiled({ file: path.join(bin, 'flannel'), env: { ...fenv, CNI_COMMAND: 'DEL' }, input: flConf }).phases);
        });
      } finally {
        spawnSync('ip', ['netns', 'del', pod]);
      }
    }
  } finally {
    spawnSync('ip', ['netns', 'del', node]);
  }
  return s;
}

function floors(empty: string): Record<string, number> {
  const w: Record<string, number[]> = { '/bin/true': [], 'empty Bun program (same flags)': [], 'Go VERSION (bridge)': [] };
  const goBridge = '/usr/lib/cni/bridge';
  for (let i = 0; i < N; i++) {
    w['/bin/true']!.push(wallOnly('/bin/true', {}));
    w['empty Bun program (same flags)']!.push(wallOnly(empty, {}));
    if (fs.existsSync(goBridge)) w['Go VERSION (bridge)']!.push(wallOnly(goBridge, { CNI_COMMAND: 'VERSION' }));
  }
  return Object.fromEntries(Object.entries(w).filter(([, v]) => v.length).map(([k, v]) => [k, median(v)]));
}

const f = (x: number): string => x.toFixed(2);

export function profileMarkdown(fl: Record<string, number>, s: Samples): string {
  const md = [
    `# Start-up profile (${new Date().toISOString()}, ${N} runs each, medians in ms)`,
    '',
    `Instrumented copy of the standalone build (\`${PLUGIN_BUN_FLAGS_TEXT}\`), run by \`npm run profile\`.`,
    'It is bundled from the per-module CommonJS of out/ so that each module can be timed; the product bundles the TypeScript sources scope-hoisted, where the per-module wrappers cost nothing (about 2 ms less per host-local call), so its walls are lower than these.',
    '`exec`: fork+exec until the runtime time origin; `runtime init`: until our entry module\'s first statement;',
    '`js`: our code until `process.exit`; `exit`: from `process.exit` until the parent\'s wait returns.',
    'Module rows are evaluation self times (nested loads subtracted); `pkg:` rows are packages and builtins.',
    'Phase rows are CNI_TS_TIMING phases (they may contain module loads done lazily inside them).',
    '',
    '## Floors (uninstrumented, wall)',
    '',
    '| program | median |',
    '|---|---|',
    ...Object.entries(fl).map(([k, v]) => `| ${k} | ${f(v)} |`),
    '',
  ];
  for (const [name, runs] of Object.entries(s)) {
    const sum = summarise(runs);
    const modTotal = median(runs.map((r) => Object.values(r.modules).reduce((a, b) => a + b, 0)));
    md.push(`## ${name}`, '', `wall ${f(sum.fixed.wall!)} = exec ${f(sum.fixed.exec!)} + runtime init ${f(sum.fixed.runtimeInit!)} + js ${f(sum.fixed.js!)} + exit ${f(sum.fixed.exit!)}; module evaluation in all: ${f(modTotal)}`, '');
    md.push('| phase | median |', '|---|---|');
    for (const [k, v] of sum.phases) md.push(`| ${k} | ${f(v)} |`);
    const shown = sum.modules.filter(([, v]) => v >= 0.05);
    const rest = sum.modules.filter(([, v]) => v < 0.05);
    md.push('', '| module (self) | median |', '|---|---|');
    for (const [k, v] of shown) md.push(`| ${k} | ${f(v)} |`);
    md.push(`| (${rest.length} more modules under 0.05 each) | ${f(rest.reduce((a, [, v]) => a + v, 0))} |`, '');
  }
  return md.join('\n') + '\n';
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('profile: run as root (it makes throw-away network namespaces)');
  if (!fs.existsSync(path.join(ROOT, 'out/plugins/multicall.js'))) throw new Error('profile: build first (npm run build)');
  const bin = buildInstrumented();
  const empty = buildEmpty();
  const tmp = fs.mkdtempSync('/tmp/cts-prof-');
  try {
    const fl = floors(empty);
    const s = profile(bin, tmp);
    const md = profileMarkdown(fl, s);
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/profile.md'), md);
    process.stdout.write(md);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) main();
