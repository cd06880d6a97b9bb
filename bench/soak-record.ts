// What the churn soak records while it runs (pure, no I/O): operation and error counts, the
// first error messages, duplicate addresses among live pods, and latency samples bucketed by
// the minute the operation started in.
import { stats, type Stats } from './stats';

export type Phase = 'ADD' | 'DEL';

export interface SoakError {
  /** Seconds since the soak started. */
  atS: number;
  pod: string;
  what: string;
  message: string;
}

export interface Duplicate {
  atS: number;
  address: string;
  pods: [string, string];
}

export interface MinuteStats {
  minute: number;
  add: Stats | null;
  del: Stats | null;
}

const KEEP_ERRORS = 10;

export class SoakRecord {
  /** Completed pod cycles (ADD, verify, DEL), with or without errors. */
  cycles = 0;
  /** Plugin executions. */
  pluginCalls = 0;
  errorCount = 0;
  readonly firstErrors: SoakError[] = [];
  readonly duplicates: Duplicate[] = [];
  /** Address → the pod holding it, from its ADD result until its DEL finished. */
  private readonly live = new Map<string, string>();
  private readonly addMs: number[][] = [];
  private readonly delMs: number[][] = [];
  private readonly perPlugin = new Map<string, number[]>();

  constructor(
    /** performance.now() at the start. */
    readonly t0: number,
    /** Buckets beyond this index fold into the last one (the run's planned length). */
    readonly minutes: number,
  ) {}

  private secondsAt(now: number): number {
    return Number(((now - this.t0) / 1000).toFixed(1));
  }

  /** The minute bucket of an operation started at `start` (performance.now()). */
  minuteOf(start: number): number {
    return Math.min(this.minutes - 1, Math.max(0, Math.floor((start - this.t0) / 60_000)));
  }

  error(now: number, pod: string, what: string, message: string): void {
    this.errorCount++;
    if (this.firstErrors.length < KEEP_ERRORS) this.firstErrors.push({ atS: this.secondsAt(now), pod, what, message: message.slice(0, 2000) });
  }

  pluginCall(label: string, ms: number): void {
    this.pluginCalls++;
    let a = this.perPlugin.get(label);
    if (!a) this.perPlugin.set(label, (a = []));
    a.push(ms);
  }

  latency(phase: Phase, start: number, ms: number): void {
    const buckets = phase === 'ADD' ? this.addMs : this.delMs;
    (buckets[this.minuteOf(start)] ??= []).push(ms);
  }

  /** An ADD handed `address` to `pod`; returns false (and records it) when a live pod holds it. */
  addressUp(now: number, address: string, pod: string): boolean {
    const holder = this.live.get(address);
    if (holder !== undefined && holder !== pod) {
      this.duplicates.push({ atS: this.secondsAt(now), address, pods: [holder, pod] });
      return false;
    }
    this.live.set(address, pod);
    return true;
  }

  /** `pod`'s DEL finished: its address is free again (a duplicate's first holder keeps it). */
  addressDown(address: string, pod: string): void {
    if (this.live.get(address) === pod) this.live.delete(address);
  }

  liveCount(): number {
    return this.live.size;
  }

  perMinute(): MinuteStats[] {
    const n = Math.max(this.addMs.length, this.delMs.length);
    const out: MinuteStats[] = [];
    for (let m = 0; m < n; m++) {
      const a = this.addMs[m];
      const d = this.delMs[m];
      out.push({ minute: m + 1, add: a?.length ? stats(a) : null, del: d?.length ? stats(d) : null });
    }
    return out;
  }

  overall(phase: Phase): Stats | null {
    const all = (phase === 'ADD' ? this.addMs : this.delMs).flatMap((b) => b ?? []);
    return all.length ? stats(all) : null;
  }

  plugins(): Record<string, Stats> {
    return Object.fromEntries([...this.perPlugin].map(([k, v]) => [k, stats(v)]));
  }
}

/**
 * ADD median of the last minute with samples over the first one; null with fewer than two
 * such minutes (a 1-minute run compares nothing).
 */
export function endStartRatio(minutes: MinuteStats[]): number | null {
  const withAdd = minutes.filter((m) => m.add !== null);
  if (withAdd.length < 2) return null;
  const first = withAdd[0]!.add!.median;
  const last = withAdd[withAdd.length - 1]!.add!.median;
  return first > 0 ? Number((last / first).toFixed(3)) : null;
}

export interface Verdict {
  pass: boolean;
  reasons: string[];
}

export const MAX_END_START_RATIO = 1.2;

export function verdict(v: { errors: number; duplicates: number; residue: string[]; ratio: number | null; cycles: number; interrupted: boolean }): Verdict {
  const reasons: string[] = [];
  if (v.interrupted) reasons.push('interrupted before the planned end');
  if (v.cycles === 0) reasons.push('no pod cycle completed');
  if (v.errors > 0) reasons.push(`${v.errors} error(s)`);
  if (v.duplicates > 0) reasons.push(`${v.duplicates} duplicate address(es)`);
  if (v.residue.length > 0) reasons.push(`residue in the node namespace or state dirs (${v.residue.length} line(s))`);
  if (v.ratio !== null && v.ratio > MAX_END_START_RATIO) reasons.push(`ADD median last/first minute ${v.ratio} > ${MAX_END_START_RATIO}`);
  return { pass: reasons.length === 0, reasons };
}

/** Lines of `after` not in `before` (+) and of `before` not in `after` (-), per `## section`. */
export function snapshotDiff(before: string, after: string): string[] {
  const split = (s: string): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    let cur = '';
    for (const l of s.split('\n')) {
      if (l.startsWith('## ')) m.set((cur = l.slice(3)), []);
      else if (l !== '') m.get(cur)?.push(l);
    }
    return m;
  };
  const a = split(before);
  const b = split(after);
  const out: string[] = [];
  for (const sec of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(sec) ?? [];
    const y = b.get(sec) ?? [];
    const count = (ls: string[]): Map<string, number> => ls.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
    const cx = count(x);
    const cy = count(y);
    for (const [l, n] of cy) for (let i = cx.get(l) ?? 0; i < n; i++) out.push(`${sec}: + ${l}`);
    for (const [l, n] of cx) for (let i = cy.get(l) ?? 0; i < n; i++) out.push(`${sec}: - ${l}`);
  }
  return out;
}
