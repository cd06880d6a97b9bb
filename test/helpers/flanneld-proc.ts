// A flanneld process under test: started inside a node namespace (`ip netns exec`), its output
// kept for assertions and failure messages, killed by cleanup even when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onCleanup } from './netns';

export interface Flanneld {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once it has exited. */
  exited: Promise<number | string>;
  /** Sends a signal; resolves once it has exited. */
  stop(sig?: NodeJS.Signals): Promise<number | string>;
  /** Resolves when `pred(output)` holds; rejects with the output after `ms`. */
  waitForOutput(pred: (out: string) => boolean, ms?: number): Promise<void>;
}

export function startFlanneld(binDir: string, ns: string, args: string[], env: Record<string, string> = {}): Flanneld {
  const bin = path.join(binDir, 'flanneld');
  const proc = spawn('ip', ['netns', 'exec', ns, bin, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  let done = false;
  void exited.then(() => (done = true));
  const stop = (sig: NodeJS.Signals = 'SIGTERM'): Promise<number | string> => {
    if (!done) proc.kill(sig);
    return exited;
  };
  onCleanup(() => {
    if (!done) proc.kill('SIGKILL');
  });
  return {
    proc,
    output: () => out,
    exited,
    stop,
    async waitForOutput(pred, ms = 20_000) {
      const t0 = Date.now();
      while (!pred(out)) {
        if (done && !pred(out)) throw new Error(`flanneld exited before the expected output:\n${out}`);
        if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for flanneld output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Polls until `file` exists (and is non-empty); returns its content. */
export async function waitForFile(file: string, ms: number, d?: Flanneld): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    try {
      const s = fs.readFileSync(file, 'utf8');
      if (s.length > 0) return s;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > ms) throw new Error(`${file} did not appear within ${ms} ms${d ? `; flanneld output:\n${d.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `ms`. */
export async function eventually<T>(what: string, ms: number, fn: () => T | undefined | false): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > ms) throw new Error(`${what}: not true within ${ms} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
