// Calling another plugin (SPEC.md "Delegated plugins"; libcni's invoke package): the delegate
// gets the same environment with CNI_COMMAND overridden and the complete config bytes.
// When the file found in CNI_PATH is our own build, its handler runs in this process through
// the same dispatcher, so validation, version handling and errors are identical to an exec.
import { runCapturedBytes } from '../base/child-process';
import { sysfs, type SysStats } from '../native/sysfs';
import * as path from 'node:path';
import { BUNDLE_HEADER } from './build-marker';
import { prepareCall, runCommand } from './dispatch';
import { CniError, ErrorCode } from './errors';
import type { CmdArgs, Command, Env } from './plugin';
import { inProcessPlugin } from './registry';
import { timed, timedAsync } from '../base/timing';
import type { AnyResult } from './types';
import { log } from '../base/log';
import { sleepSync } from '../base/sleep';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** A plugin type must be a bare file name (libcni): never a path that could leave CNI_PATH. */
export function validatePluginName(type: string): void {
  if (!type) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no plugin name provided');
  if (type.includes('/') || type === '.' || type === '..' || type.includes('\0')) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin name: ${type}`);
  }
}

/** libcni's FindInPath: the type is a bare file name looked up in each CNI_PATH directory. */
export function findInPath(type: string, dirs: readonly string[]): string {
  validatePluginName(type);
  if (dirs.length === 0) throw new CniError(ErrorCode.InvalidEnvironment, 'no paths provided');
  for (const dir of dirs) {
    const candidate = path.join(dir, type);
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not in this directory (or the entry is not a directory): keep looking */
    }
  }
  throw new CniError(ErrorCode.Internal, `failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

let selfStat: SysStats | null | undefined;

/** True when `file` is this very executable (standalone) or a Node bundle of this version. */
function isOwnBuild(file: string): boolean {
  if (selfStat === undefined) {
    // Only a standalone (Bun-compiled) process has itself as execPath; under Node it is node.
    selfStat = process.versions.bun ? fs.statSync(process.execPath) : null;
  }
  const st = fs.statSync(file);
  if (selfStat && st.dev === selfStat.dev && st.ino === selfStat.ino) return true;
  const head = Buffer.alloc(BUNDLE_HEADER.length);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.toString('utf8') === BUNDLE_HEADER;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function delegateEnv(env: Env, command: Command): Env {
  return { ...env, CNI_COMMAND: command };
}

function execPlugin(file: string, env: Env, input: Buffer): { status: number; stdout: Buffer; stderr: string } {
  // "text file busy" happens when a runtime execs a plugin that is still being written;
  // libcni retries, so do we.
  for (let attempt = 0; ; attempt++) {
    const r = runCapturedBytes(file, [], input, env, 64 * 1024 * 1024);
    const code = r.error?.code;
    if (code === 'ETXTBSY' && attempt < 10) {
      sleepSync(200);
      continue;
    }
    if (r.error) throw new CniError(ErrorCode.Internal, `failed to execute plugin ${file}: ${r.error.message}`);
    if (r.stderr.length > 0) {
      try {
        fs.writeSync(2, r.stderr);
      } catch {
        /* stderr closed */
      }
    }
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr.toString('utf8').trim() };
  }
}

function parseExecError(stdout: Buffer, status: number, stderrHint: string): CniError {
  const text = stdout.toString('utf8');
  if (text.trim() === '') {
    return new CniError(ErrorCode.Internal, stderrHint ? `netplugin failed: "${stderrHint}"` : `netplugin failed with no error message: exit status ${status}`);
  }
  try {
    const e = JSON.parse(text) as { code?: unknown; msg?: unknown; details?: unknown };
    const code = typeof e.code === 'number' ? e.code : ErrorCode.Internal;
    return new CniError(code, typeof e.msg === 'string' ? e.msg : text, typeof e.details === 'string' ? e.details : undefined);
  } catch (err) {
    return new CniError(ErrorCode.Internal, `netplugin failed but error parsing its diagnostic message "${text}": ${(err as Error).message}`);
  }
}

function parseExecResult(stdout: Buffer, confVersion: string): AnyResult {
  let r: unknown;
  try {
    r = JSON.parse(stdout.toString('utf8'));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to parse delegate result: ${(e as Error).message}`);
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new CniError(ErrorCode.DecodingFailure, 'delegate result is not a JSON object');
  const res = r as AnyResult;
  // libcni injects the config's version when a result lacks it.
  if (!res.cniVersion) res.cniVersion = confVersion;
  return res;
}

function confVersionOf(conf: Buffer): string {
  try {
    const v = (JSON.parse(conf.toString('utf8')) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v ? v : '0.1.0';
  } catch {
    return '0.1.0';
  }
}

async function invoke(command: Command, type: string, conf: Buffer, a: CmdArgs): Promise<AnyResult | undefined> {
  const file = findInPath(type, a.path);
  const env = delegateEnv(a.env, command);
  const plugin = isOwnBuild(file) ? inProcessPlugin(type) : undefined;
  if (plugin) {
    log.debug(`delegate ${command} ${type}: in-process (${file})`);
    const o = await timedAsync(`delegate:${type}`, () => runCommand(plugin, env, () => conf));
    if (o.kind === 'error') throw o.error;
    if (o.kind === 'result') return o.result;
    if (o.kind === 'ok') return undefined;
    throw new CniError(ErrorCode.Internal, `delegate ${type} returned no outcome for ${command}`);
  }
  log.debug(`delegate ${command} ${type}: exec ${file}`);
  const r = timed(`exec:${type}`, () => execPlugin(file, env, conf));
  if (r.status !== 0) throw parseExecError(r.stdout, r.status, r.stderr);
  return command === 'ADD' ? parseExecResult(r.stdout, confVersionOf(conf)) : undefined;
}

/**
 * What can be known about a delegate ADD before anything is changed: its type names a file in
 * CNI_PATH, and, when that file is our own build whose plugin can check an ADD (checkAdd), that
 * its config is valid. Throws the error the delegate ADD itself would return.
 */
export async function delegateCheckAdd(type: string, conf: Buffer, a: CmdArgs): Promise<void> {
  const file = findInPath(type, a.path);
  const plugin = isOwnBuild(file) ? inProcessPlugin(type) : undefined;
  if (!plugin?.checkAdd) return;
  await timedAsync(`delegate-check:${type}`, () => plugin.checkAdd!(prepareCall('ADD', delegateEnv(a.env, 'ADD'), () => conf)));
}

export async function delegateAdd(type: string, conf: Buffer, a: CmdArgs): Promise<AnyResult> {
  const r = await invoke('ADD', type, conf, a);
  if (!r) throw new CniError(ErrorCode.Internal, `delegate ${type} returned no result`);
  return r;
}

export async function delegateDel(type: string, conf: Buffer, a: CmdArgs): Promise<void> {
  await invoke('DEL', type, conf, a);
}

export async function delegateCheck(type: string, conf: Buffer, a: CmdArgs): Promise<void> {
  await invoke('CHECK', type, conf, a);
}

export async function delegateGC(type: string, conf: Buffer, a: CmdArgs): Promise<void> {
  await invoke('GC', type, conf, a);
}

export async function delegateStatus(type: string, conf: Buffer, a: CmdArgs): Promise<void> {
  await invoke('STATUS', type, conf, a);
}
