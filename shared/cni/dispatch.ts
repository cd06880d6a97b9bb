// The dispatcher every plugin runs through (the reference's pkg/skel): environment and config
// validation, version reconciliation and gates, result conversion, error reporting.
import { sysfs, type SysStats, writeAllSync } from '../native/sysfs';
import { convertResult } from './convert';
import { readCniEnv, ID_RE, isCommand } from './env';
import { CniError, ErrorCode, toCniError } from './errors';
import { log } from '../base/log';
import type { CmdArgs, Command, Env, Plugin } from './plugin';
import type { AnyResult, NetConf } from './types';
import { CURRENT_VERSION, normaliseVersion, SUPPORTED_VERSIONS, versionAtLeast, versionText } from './version';
import { readStdin } from './stdin';
import { printTimings, timed } from '../base/timing';
import { SUITE_VERSION } from './build-marker';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

type Outcome =
  | { kind: 'about'; text: string }
  | { kind: 'version'; text: string }
  | { kind: 'result'; result: AnyResult }
  | { kind: 'ok' }
  | { kind: 'error'; error: CniError; cniVersion?: string };

function parseConfig(stdin: Buffer): NetConf {
  let conf: unknown;
  try {
    conf = JSON.parse(stdin.toString('utf8'));
  } catch (e) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (!conf || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new CniError(ErrorCode.DecodingFailure, 'error unmarshall network config: the config is not a JSON object');
  }
  const c = conf as Record<string, unknown>;
  if (c.cniVersion !== undefined && typeof c.cniVersion !== 'string') {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: cniVersion must be a string (got ${JSON.stringify(c.cniVersion)})`);
  }
  if (c.name === undefined || c.name === '') throw new CniError(ErrorCode.InvalidNetworkConfig, 'missing network name');
  if (typeof c.name !== 'string' || !ID_RE.test(c.name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid characters found in network name', String(c.name));
  }
  c.cniVersion = normaliseVersion(c.cniVersion);
  return c as NetConf;
}

function reconcileVersion(v: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      'incompatible CNI versions',
      `config is "${v}", plugin supports [${SUPPORTED_VERSIONS.map((x) => `"${x}"`).join(' ')}]`,
    );
  }
}

const GATES: Partial<Record<string, string>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

/** CNI_NETNS naming our own netns would configure the node itself (skel's code 8). */
function refuseOwnNetns(netns: string, env: Env): void {
  if (env.CNI_NETNS_OVERRIDE === '1' || env.CNI_NETNS_OVERRIDE === 'true') return;
  let theirs: SysStats;
  try {
    theirs = fs.statSync(netns);
  } catch {
    return; // the plugin reports a missing netns with its own message
  }
  const ours = fs.statSync('/proc/self/ns/net');
  if (theirs.dev === ours.dev && theirs.ino === ours.ino) {
    throw new CniError(ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

/**
 * The ADD result in the config's version. When it cannot be expressed there (an L2 result for a
 * 0.2.0 config), the runtime gets an error and no result naming what ADD made, so undo it now
 * rather than leave an attachment nobody knows of; the runtime's DEL later is then a no-op.
 */
async function convertOrUndo(plugin: Plugin, args: CmdArgs, result: AnyResult): Promise<AnyResult> {
  try {
    return convertResult(result, args.conf.cniVersion);
  } catch (e) {
    try {
      await plugin.del(args);
    } catch (delErr) {
      log.warn(`${plugin.name}: undoing the ADD whose result could not be converted failed: ${toCniError(delErr).message}`);
    }
    throw e;
  }
}

/**
 * The checks every call of `command` passes before its handler runs (environment, config
 * decoding, version reconciliation and gates, the netns refusal), and the handler's arguments.
 * `onVersion` learns the config's version once it is known to be one we speak.
 */
export function prepareCall(command: Exclude<Command, 'VERSION'>, env: Env, readInput: () => Buffer, onVersion?: (v: string) => void): CmdArgs {
  const cni = readCniEnv(command, env);
  const stdin = timed('stdin', readInput);
  const conf = timed('config', () => parseConfig(stdin));
  reconcileVersion(conf.cniVersion);
  // Errors speak the config's version only when it is one we speak ("1.0", "9.9.9" are not).
  onVersion?.(conf.cniVersion);
  const gate = GATES[command];
  if (gate && !versionAtLeast(conf.cniVersion, gate)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version does not allow ${command}`);
  }
  if (command === 'ADD' || command === 'CHECK') refuseOwnNetns(cni.netns, env);
  return { ...cni, stdin, conf, env };
}

/**
 * Runs one CNI call: `env` is the call's environment, `readInput` yields the config bytes
 * (not called for VERSION). Never throws: every failure becomes an error outcome.
 */
export async function runCommand(plugin: Plugin, env: Env, readInput: () => Buffer): Promise<Outcome> {
  let cniVersion: string | undefined;
  try {
    const command = env.CNI_COMMAND;
    if (command === undefined || command === '') {
      return { kind: 'about', text: `${plugin.about}\ncni-ts-suite v${SUITE_VERSION}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n` };
    }
    if (!isCommand(command)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
    if (command === 'VERSION') return { kind: 'version', text: versionText() };
    const args = prepareCall(command, env, readInput, (v) => (cniVersion = v));
    switch (command) {
      case 'ADD': {
        const result = await plugin.add(args);
        return { kind: 'result', result: await convertOrUndo(plugin, args, result) };
      }
      case 'DEL':
        await plugin.del(args);
        return { kind: 'ok' };
      case 'CHECK':
        await plugin.check(args);
        return { kind: 'ok' };
      case 'GC':
        if (plugin.gc) await plugin.gc(args);
        return { kind: 'ok' };
      case 'STATUS':
        if (plugin.status) await plugin.status(args);
        return { kind: 'ok' };
    }
  } catch (e) {
    return { kind: 'error', error: toCniError(e), cniVersion };
  }
}

interface Printed {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** What the process prints: results/errors 4-space indented like the reference. */
export function formatOutcome(o: Outcome): Printed {
  switch (o.kind) {
    case 'about':
      return { stdout: '', stderr: o.text, exitCode: 0 };
    case 'version':
      return { stdout: o.text + '\n', stderr: '', exitCode: 0 };
    case 'result':
      return { stdout: JSON.stringify(o.result, null, 4), stderr: '', exitCode: 0 };
    case 'ok':
      return { stdout: '', stderr: '', exitCode: 0 };
    case 'error':
      return { stdout: JSON.stringify(o.error.toJSON(o.cniVersion ?? CURRENT_VERSION), null, 4), stderr: '', exitCode: 1 };
  }
}

function writeAll(fd: number, s: string): void {
  try {
    writeAllSync(fs, fd, s);
  } catch {
    /* reader gone: nothing useful left to do */
  }
}

/**
 * Runs the plugin for this process's environment and exits (main.ts calls it for every command
 * but a plain VERSION). The plugin is loaded only when needed.
 */
export async function runMain(name: string, load: () => Plugin): Promise<never> {
  const fail = (e: unknown): never => {
    // Last resort: an exception that escaped a handler still becomes CNI error JSON.
    const err = toCniError(e);
    writeAll(1, JSON.stringify(err.toJSON(CURRENT_VERSION), null, 4));
    if (e instanceof Error && e.stack) writeAll(2, `${e.stack}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // Runtimes pass no arguments: only a person typing `<plugin> --version` loads the usage text.
  if (process.argv.slice(2).some((a) => a.startsWith('-'))) {
    const usage = require('./usage') as typeof import('./usage');
    if (usage.cliFlag(process.argv.slice(2), name)) usage.printUsage(name);
  }
  const outcome =
    process.env.CNI_COMMAND === 'VERSION'
      ? ({ kind: 'version', text: versionText() } as const)
      : await runCommand(load(), process.env, () => readStdin());
  const printed = formatOutcome(outcome);
  timed('stdout', () => writeAll(1, printed.stdout));
  writeAll(2, printed.stderr);
  printTimings(`${name} ${process.env.CNI_COMMAND ?? ''}`);
  process.exit(printed.exitCode);
}
