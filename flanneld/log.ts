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

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = stderrWrite): Logger {
  const max = RANK[level];
  const last = new Map<string, { at: number; dropped: number }>();
  const log: LogFn = (lvl, msg) => {
    if (RANK[lvl] > max) return;
    write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}\n`);
  };
  return {
    log,
    throttled(lvl, key, msg, windowMs = 30_000) {
      const now = Date.now();
      const seen = last.get(key);
      if (seen && now - seen.at < windowMs) {
        seen.dropped++;
        return;
      }
      const suffix = seen && seen.dropped > 0 ? ` (${seen.dropped} more like it in the last ${Math.round((now - seen.at) / 1000)} s)` : '';
      last.set(key, { at: now, dropped: 0 });
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
