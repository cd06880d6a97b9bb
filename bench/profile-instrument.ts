// Pure part of the start-up profile (bench/profile-startup.ts): the source rewrite that turns a
// copy of the compiled tree into an instrumented build, and the per-run summary.
// Bun bundles our CommonJS output module by module (each evaluated when first required), so
// marking the first and last statement of every module, and wrapping each package require,
// times every module's evaluation inside the real compiled executable.

/** The global the instrumented modules call; defined by PRELUDE in the entry module. */
export const HOOK = '__cniProf';

/**
 * Defines the hook: a stack of open module evaluations (self time = own time minus nested
 * loads), wall-clock stamps (performance.timeOrigin + now, comparable with the parent's clock)
 * and an exit patch that stamps the exit call and writes the record to $CNI_TS_PROFILE_OUT.
 */
export const PRELUDE = `globalThis.${HOOK}=(()=>{const o=performance.timeOrigin,n=()=>performance.now(),s=[],m={},P={origin:o,entry:o+n(),mods:m};
const b=(id)=>{s.push({id,t:n(),c:0})};
const e=(id)=>{const f=s.pop();if(!f)return;const d=n()-f.t;const r=m[f.id]||(m[f.id]={total:0,self:0,depth:s.length});r.total+=d;r.self+=d-f.c;if(s.length)s[s.length-1].c+=d;};
P.b=b;P.e=e;P.r=(id,fn)=>{b("pkg:"+id);try{return fn()}finally{e("pkg:"+id)}};
const x=process.exit;process.exit=function(c){P.exitCall=o+n();try{const p=process.env.CNI_TS_PROFILE_OUT;if(p)require("fs").writeFileSync(p,JSON.stringify({origin:P.origin,entry:P.entry,exitCall:P.exitCall,mods:m}))}catch{}return x.call(process,c)};
return P})();
`;

const USE_STRICT = /^"use strict";\n/;
// tsc emits package and builtin imports as require("name"); relative ones are our modules,
// which are instrumented themselves.
const PKG_REQUIRE = /\brequire\("([^".][^"]*)"\)/g;

/**
 * Instruments one compiled module; `id` names it in the report (its path under out/). The entry
 * module gets the prelude but no marks: it starts the command synchronously (runMain runs until
 * its first await inside the module's evaluation), which is handler time, not load time.
 */
export function instrumentModule(src: string, id: string, isEntry: boolean): string {
  const q = JSON.stringify(id);
  const strict = USE_STRICT.test(src) ? '"use strict";\n' : '';
  const body = src.replace(USE_STRICT, '').replace(PKG_REQUIRE, (_m, name: string) => {
    const n = JSON.stringify(name);
    return `${HOOK}.r(${n},()=>require(${n}))`;
  });
  if (isEntry) return `${strict}${PRELUDE}${body}\n`;
  return `${strict}${HOOK}.b(${q});\n${body}\n${HOOK}.e(${q});\n`;
}

/** What one instrumented process reports (wall-clock ms since the epoch, durations in ms). */
export interface ProfileRecord {
  origin: number;
  entry: number;
  exitCall: number;
  mods: Record<string, { total: number; self: number; depth: number }>;
}

/** One run, as phases in ms, measured by the parent (spawn, end) and the child (the rest). */
export interface RunPhases {
  /** fork+exec until the runtime's time origin. */
  exec: number;
  /** Runtime time origin until the first statement of our entry module. */
  runtimeInit: number;
  /** First statement until process.exit is called. */
  js: number;
  /** Module evaluations (self time, nested loads subtracted), keyed by module. */
  modules: Record<string, number>;
  /** CNI_TS_TIMING phases (stdin, config, addon, stdout, netfilter, delegates…). */
  phases: Record<string, number>;
  /** process.exit call until the parent's wait returned. */
  exit: number;
  wall: number;
}

export function runPhases(spawnAt: number, endAt: number, rec: ProfileRecord, timingLine: string | undefined): RunPhases {
  const modules: Record<string, number> = {};
  for (const [id, m] of Object.entries(rec.mods)) modules[id] = m.self;
  let phases: Record<string, number> = {};
  if (timingLine) phases = (JSON.parse(timingLine) as { phases: Record<string, number> }).phases;
  return {
    exec: rec.origin - spawnAt,
    runtimeInit: rec.entry - rec.origin,
    js: rec.exitCall - rec.entry,
    modules,
    phases,
    exit: endAt - rec.exitCall,
    wall: endAt - spawnAt,
  };
}

/** The line CNI_TS_TIMING=1 prints on stderr, without its prefix. */
export function timingLineOf(stderr: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('CNI_TS_TIMING '));
  return line?.slice('CNI_TS_TIMING '.length);
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Medians per phase over the runs of one scenario; a module absent from a run counts 0 there. */
export function summarise(runs: RunPhases[]): { fixed: Record<string, number>; modules: [string, number][]; phases: [string, number][] } {
  const fixed: Record<string, number> = {};
  for (const k of ['wall', 'exec', 'runtimeInit', 'js', 'exit'] as const) fixed[k] = median(runs.map((r) => r[k]));
  const keys = (pick: (r: RunPhases) => Record<string, number>): [string, number][] => {
    const all = new Set(runs.flatMap((r) => Object.keys(pick(r))));
    return [...all].map((k): [string, number] => [k, median(runs.map((r) => pick(r)[k] ?? 0))]).sort((a, b) => b[1] - a[1]);
  };
  return { fixed, modules: keys((r) => r.modules), phases: keys((r) => r.phases) };
}
