// Running a program to completion with its output captured. Under Bun (the standalone build)
// Bun.spawnSync is used: node:child_process costs ~0.6 ms to load and its spawnSync ~1.4 ms
// more per run than Bun's own (measured in a compiled executable: a spawn of /bin/true 7.6 vs
// 6.2 ms wall), and bridge and portmap ADDs run a netfilter tool on every call. Under Node,
// `node:child_process` is loaded on first use; most calls never spawn anything (a flannel ADD
// that delegates in-process runs no program at all).
import type * as ChildProcess from 'node:child_process';

let mod: typeof ChildProcess | undefined;

export function childProcess(): typeof ChildProcess {
  mod ??= require('node:child_process') as typeof ChildProcess;
  return mod;
}

export interface CapturedRun {
  /** Exit status; null when a signal ended it or it never started. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started; message as Node's (`spawnSync <file> ENOENT`). */
  error?: Error;
}

interface BunSpawnSync {
  spawnSync(o: {
    cmd: string[];
    stdin: Uint8Array;
    stdout: 'pipe';
    stderr: 'pipe';
    env: Record<string, string | undefined>;
  }): { exitCode: number | null; stdout: Uint8Array; stderr: Uint8Array };
}

const bun = (): BunSpawnSync | undefined => (globalThis as { Bun?: BunSpawnSync }).Bun;

/** Runs `file` with `args` (never a shell), `input` on stdin, and waits for it. */
export function runCaptured(file: string, args: readonly string[], input: string, env: Record<string, string | undefined>): CapturedRun {
  const b = bun();
  if (!b) {
    const r = childProcess().spawnSync(file, args as string[], { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ...(r.error ? { error: r.error } : {}) };
  }
  try {
    const r = b.spawnSync({ cmd: [file, ...args], stdin: Buffer.from(input), stdout: 'pipe', stderr: 'pipe', env });
    return { status: r.exitCode, stdout: Buffer.from(r.stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    return { status: null, stdout: '', stderr: '', error: Object.assign(new Error(`spawnSync ${file} ${code}`), { code }) };
  }
}
