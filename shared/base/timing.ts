// Where the time of one call goes: phases marked by the code, printed as one JSON line on
// stderr at exit when CNI_TS_TIMING=1 (the benchmark and bench/profile-startup.ts read it).
import { nodeFs } from './node-fs';

const enabled = process.env.CNI_TS_TIMING === '1';
const t0 = performance.now();
const phases: Record<string, number> = {};
let printed = false;

/** Adds the time spent in `fn` to `phase` (no-op wrapper when timing is off). */
export function timed<T>(phase: string, fn: () => T): T {
  if (!enabled) return fn();
  const s = performance.now();
  try {
    return fn();
  } finally {
    phases[phase] = (phases[phase] ?? 0) + (performance.now() - s);
  }
}

export async function timedAsync<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const s = performance.now();
  try {
    return await fn();
  } finally {
    phases[phase] = (phases[phase] ?? 0) + (performance.now() - s);
  }
}

export function printTimings(label: string): void {
  if (!enabled || printed) return;
  printed = true;
  // performance.timeOrigin is process start; t0 is when this module loaded.
  const startup = t0;
  const total = performance.now();
  const rounded = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(3))]));
  // fs.writeSync, not process.stderr: Bun builds the Node-compatible stream on first touch (ms).
  // node:fs is loaded only here, when timing is on (its load is itself start-up cost).
  try {
    nodeFs().writeSync(2, `CNI_TS_TIMING ${JSON.stringify({ label, startupMs: Number(startup.toFixed(3)), totalMs: Number(total.toFixed(3)), phases: rounded })}\n`);
  } catch {
    /* stderr closed */
  }
}
