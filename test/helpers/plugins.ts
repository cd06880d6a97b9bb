// Running the built plugin executables, the way a runtime does: env + config on stdin.
import { spawnSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Build {
  label: 'standalone' | 'node';
  dir: string;
}

/** Both builds' plugin dirs (set by scripts/test.sh); a missing one fails loudly, never skips. */
export function builds(): Build[] {
  const out: Build[] = [];
  for (const [label, v] of [['standalone', 'CNI_TS_STANDALONE_DIR'], ['node', 'CNI_TS_NODE_DIR']] as const) {
    const dir = process.env[v] ?? path.resolve(__dirname, '../../../dist', label, 'bin');
    if (!fs.existsSync(path.join(dir, 'bridge'))) throw new Error(`${label} build not found in ${dir}: run npm run build`);
    out.push({ label, dir });
  }
  return out;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

export function parseRun(status: number | null, stdout: string, stderr: string): Run {
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: status ?? -1, stdout, stderr, json };
}

/** Runs `plugin` from `dir` with exactly `env` (plus PATH) and `stdin`. `netnsExec` runs it via `ip netns exec`. */
export function runPlugin(dir: string, plugin: string, env: Record<string, string>, stdin: string | Buffer = '', netnsExec?: string): Run {
  const file = path.join(dir, plugin);
  const cmd = netnsExec ? 'ip' : file;
  const args = netnsExec ? ['netns', 'exec', netnsExec, file] : [];
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, input: stdin, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return parseRun(r.status, r.stdout.toString(), r.stderr.toString());
}

/** Async variant, for concurrency tests. */
export function runPluginAsync(dir: string, plugin: string, env: Record<string, string>, stdin: string, netnsExec?: string): Promise<Run> {
  const file = path.join(dir, plugin);
  const cmd = netnsExec ? 'ip' : file;
  const args = netnsExec ? ['netns', 'exec', netnsExec, file] : [];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => resolve(parseRun(code, out, err)));
    p.stdin.end(stdin);
  });
}

/** A temp dir under /tmp/cts-* (the residue check looks for leftovers there). */
export function tempDir(tag: string): { path: string; cleanup(): void } {
  const p = fs.mkdtempSync(path.join(os.tmpdir(), `cts-${tag}-`));
  return { path: p, cleanup: () => fs.rmSync(p, { recursive: true, force: true }) };
}
