// The daemon's log: one line per event on stderr (journald adds its own timestamp, but a log
// file or `kubectl logs` does not), at a level chosen by --log-level. Repeated identical
// warnings are throttled so an outage cannot fill a disk (flannel #2470 logged 7.7 GB a day).
import * as fs from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFn = (level: LogLevel, msg: string) => void;

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  log: LogFn;
  /** Logs `msg` at most once per `windowMs` for the same `key`; says how many were dropped. */
  throttled(level: LogLevel, key: string, msg: string, windowMs?: number): void;
}

/**
 * The throttle both of the daemon's throttled logs share: a key passes at most once per window;
 * a passing key learns how many were dropped since it last passed. The map is bounded: keys
 * carry error texts, and a daemon meets an unbounded number of distinct ones over its life.
 */
export function throttleGate(now: () => number = Date.now, maxKeys = 1000): (key: string, windowMs: number) => { dropped: number; sinceMs: number } | undefined {
  const last = new Map<string, { at: number; dropped: number }>();
  return (key, windowMs) => {
    const t = now();
    const seen = last.get(key);
    if (seen && t - seen.at < windowMs) {
      seen.dropped++;
      return undefined;
    }
    if (last.size >= maxKeys) last.clear();
    last.set(key, { at: t, dropped: 0 });
    return { dropped: seen?.dropped ?? 0, sinceMs: seen ? t - seen.at : 0 };
  };
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = stderrWrite): Logger {
  const max = RANK[level];
  const gate = throttleGate();
  const log: LogFn = (lvl, msg) => {
    if (RANK[lvl] > max) return;
    write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}\n`);
  };
  return {
    log,
    throttled(lvl, key, msg, windowMs = 30_000) {
      const pass = gate(key, windowMs);
      if (!pass) return;
      const suffix = pass.dropped > 0 ? ` (${pass.dropped} more like it in the last ${Math.round(pass.sinceMs / 1000)} s)` : '';
      log(lvl, msg + suffix);
    },
  };
}

function stderrWrite(line: string): void {
  try {
    fs.writeSync(2, line);
  } catch {
    /* stderr closed (daemon detached): nothing to do */
  }
}
