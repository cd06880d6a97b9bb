// Running the netfilter tools: one process per batch, argument arrays only (never a shell),
// errors that carry the tool's own stderr. Binaries are found on PATH (plus the sbin
// directories a runtime's PATH sometimes lacks) and can be overridden per tool with
// CNI_TS_<TOOL> (e.g. CNI_TS_IPTABLES_RESTORE=/usr/sbin/iptables-legacy-restore).
import { runCaptured } from '../base/child-process';
import { sysfs } from '../native/sysfs';
import * as path from 'node:path';
import { timed } from '../base/timing';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

type IPFamily = 4 | 6;

/** Every tool the plugins run (each overridable by its CNI_TS_<TOOL> variable). */
export const TOOLS = ['iptables-restore', 'ip6tables-restore', 'iptables-save', 'ip6tables-save', 'nft', 'conntrack'] as const;
type Tool = (typeof TOOLS)[number];

/** A failed tool run; `line` is the batch line the tool reported, when it named one. */
export class NetfilterError extends Error {
  constructor(
    message: string,
    readonly tool: string,
    readonly status: number | null,
    readonly stderr: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'NetfilterError';
  }
}

/** Where a tool is looked for after PATH (a runtime's PATH sometimes lacks the sbin dirs). */
export const FALLBACK_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin', '/usr/bin', '/bin'];
const resolved = new Map<Tool, string | null>();

/** The variable overriding a tool's path: CNI_TS_IPTABLES_RESTORE for iptables-restore. */
export const toolEnvName = (t: Tool): string => 'CNI_TS_' + t.toUpperCase().replace(/-/g, '_');

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of a tool, or null when the host lacks it. Cached per process. */
function findTool(t: Tool): string | null {
  const cached = resolved.get(t);
  if (cached !== undefined) return cached;
  let found: string | null = null;
  const override = process.env[toolEnvName(t)];
  if (override) {
    found = isExecutable(override) ? override : null;
  } else {
    const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '');
    for (const d of [...dirs, ...FALLBACK_DIRS]) {
      const p = path.join(d, t);
      if (isExecutable(p)) { found = p; break; }
    }
  }
  resolved.set(t, found);
  return found;
}

interface ToolOutput {
  status: number | null;
  stdout: string;
  stderr: string;
}

const LINE_RE = /line:? (\d+)/;

function describe(t: Tool, args: readonly string[]): string {
  return [t, ...args].join(' ');
}

/** Runs a tool with `input` on stdin; never throws for a non-zero exit (the caller decides). */
export function runTool(t: Tool, args: readonly string[], input?: string): ToolOutput {
  const bin = findTool(t);
  if (!bin) {
    throw new NetfilterError(`${t} not found (PATH=${process.env.PATH ?? ''}; set ${toolEnvName(t)} to override)`, t, null, '');
  }
  const r = timed(`netfilter:${t}`, () => runCaptured(bin, args, input ?? '', { ...process.env, LC_ALL: 'C' }));
  if (r.error) {
    throw new NetfilterError(`failed to run ${describe(t, args)}: ${r.error.message}`, t, null, '');
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function failure(t: Tool, args: readonly string[], out: ToolOutput, batch?: string): NetfilterError {
  const stderr = out.stderr.trim();
  const m = LINE_RE.exec(stderr);
  const line = m ? Number(m[1]) : undefined;
  let msg = `${describe(t, args)} failed (exit ${out.status ?? 'signal'}): ${stderr || '(no output)'}`;
  if (batch !== undefined && line !== undefined) {
    const text = batch.split('\n')[line - 1];
    if (text !== undefined && !stderr.includes(text)) msg += ` [line ${line}: ${text}]`;
  }
  return new NetfilterError(msg, t, out.status, stderr, line);
}

const restoreTool = (f: IPFamily): Tool => (f === 4 ? 'iptables-restore' : 'ip6tables-restore');
const saveTool = (f: IPFamily): Tool => (f === 4 ? 'iptables-save' : 'ip6tables-save');

/**
 * Applies one iptables-restore batch without flushing the tables it names. The kernel
 * commits the whole batch or nothing (one transaction for iptables-nft, one table
 * replacement for legacy), so a failing line leaves every rule as it was.
 */
export function iptablesRestore(family: IPFamily, batch: string): void {
  const t = restoreTool(family);
  const args = ['--noflush', '--wait'];
  const out = runTool(t, args, batch);
  if (out.status !== 0) throw failure(t, args, out, batch);
}

/** `iptables-save -t <table>`: only for slow paths (first pod, fallbacks, GC). */
export function iptablesSave(family: IPFamily, table = 'nat'): string {
  const t = saveTool(family);
  const args = ['-t', table];
  const out = runTool(t, args);
  if (out.status !== 0) throw failure(t, args, out);
  return out.stdout;
}

/** Applies one nft batch (`nft -f -`): atomic like a restore batch. */
export function nftApply(batch: string): void {
  const args = ['-f', '-'];
  const out = runTool('nft', args, batch);
  if (out.status !== 0) throw failure('nft', args, out, batch);
}

/**
 * `nft -j -a list <what...>` parsed; undefined when the listed object does not exist
 * (nft: "No such file or directory"), so callers treat a missing table as empty.
 */
export function nftListJson(what: readonly string[]): unknown | undefined {
  const args = ['-j', '-a', 'list', ...what];
  const out = runTool('nft', args);
  if (out.status !== 0) {
    if (/No such file or directory/.test(out.stderr)) return undefined;
    throw failure('nft', args, out);
  }
  try {
    return JSON.parse(out.stdout);
  } catch (e) {
    throw new NetfilterError(`${describe('nft', args)}: unparsable JSON output: ${(e as Error).message}`, 'nft', 0, '');
  }
}

/**
 * iptables is usable when its restore tool exists for that family. Deliberately no probe
 * process: a missing kernel module or capability shows up as the batch's own precise error.
 */
export function iptablesUsable(family: IPFamily = 4): boolean {
  return findTool(restoreTool(family)) !== null && findTool(saveTool(family)) !== null;
}

/** iptables can hold rules in at least one family (a backend that is not usable holds none). */
export function iptablesUsableAny(): boolean {
  return iptablesUsable(4) || iptablesUsable(6);
}

/** nftables is usable when the nft tool exists (same reasoning as iptablesUsable). */
export function nftablesUsable(): boolean {
  return findTool('nft') !== null;
}
