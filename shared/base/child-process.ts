// Running a program to completion with its output captured: the netfilter tools and delegates
// that are not ours. Under Bun (the standalone build) Bun.spawnSync is used: node:child_process
// costs ~0.6 ms to load and its spawnSync ~1.4 ms more per run than Bun's own (measured in a
// compiled executable: a spawn of /bin/true 7.6 vs 6.2 ms wall), and bridge and portmap ADDs
// run a netfilter tool on every call. Under Node, `node:child_process` is loaded on first use;
// most calls never spawn anything (a flannel ADD that delegates in-process runs no program).
import type * as ChildProcess from 'node:child_process';

let mod: typeof ChildProcess | undefined;

function childProcess(): typeof ChildProcess {
  mod ??= require('node:child_process') as typeof ChildProcess;
  return mod;
}

/** What a finished program left: raw bytes (a delegate's output is relayed as it came). */
interface CapturedBytes {
  /** Exit status; null when a signal ended it or it never started. */
  status: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Set when the program could not be started; message as Node's (`spawnSync <file> ENOENT`),
   *  `code` the errno name (ETXTBSY, ENOENT, EACCES). */
  error?: NodeJS.ErrnoException;
}

export interface CapturedRun extends Omit<CapturedBytes, 'stdout' | 'stderr'> {
  stdout: string;
  stderr: string;
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

/**
 * Runs `file` with `args` (never a shell), `input` on stdin, and waits for it. `maxBuffer`
 * bounds each captured stream under Node (Bun's spawnSync has no such bound).
 */
export function runCapturedBytes(
  file: string,
  args: readonly string[],
  input: string | Uint8Array,
  env: Record<string, string | undefined>,
  maxBuffer = 256 * 1024 * 1024,
): CapturedBytes {
  const b = bun();
  if (!b) {
    const r = childProcess().spawnSync(file, args as string[], { input, maxBuffer, env });
    return { status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr ?? Buffer.alloc(0), ...(r.error ? { error: r.error } : {}) };
  }
  try {
    const r = b.spawnSync({ cmd: [file, ...args], stdin: typeof input === 'string' ? Buffer.from(input) : input, stdout: 'pipe', stderr: 'pipe', env });
    return { status: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    const empty = Buffer.alloc(0);
    return { status: null, stdout: empty, stderr: empty, error: Object.assign(new Error(`spawnSync ${file} ${code}`), { code }) };
  }
}

/** runCapturedBytes with the output as UTF-8 text. */
export function runCaptured(file: string, args: readonly string[], input: string, env: Record<string, string | undefined>): CapturedRun {
  const r = runCapturedBytes(file, args, input, env);
  return { ...r, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}
