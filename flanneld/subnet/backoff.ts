// Retry pacing and log throttling shared by the manager's loops (pure apart from the clock).
import { throttleGate } from '../log';

/** Next delay: doubled, capped, then jittered down to [50 %, 100 %] so nodes do not retry in step. */
export function nextBackoff(prevMs: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = prevMs <= 0 ? minMs : Math.min(maxMs, prevMs * 2);
  return Math.max(minMs, Math.round(base * (0.5 + random() / 2)));
}

/** A logger that prints each distinct message at most once per `windowMs` (field theme 3). */
export function throttled(
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void,
  windowMs = 30_000,
  now: () => number = Date.now,
): (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void {
  const gate = throttleGate(now);
  return (level, msg) => {
    if (gate(msg, windowMs)) log(level, msg);
  };
}
