// What libcni sends a plugin (libcni/api.go buildOneConfig, injectRuntimeConfig, InjectConf;
// pkg/invoke Args.AsEnv, FindInPath; pkg/utils validation) and how it reads a failed plugin's
// output (pkg/invoke RawExec.pluginErr). Pure: no exec, no file writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PluginConf } from './libcni-conf';

/** libcni's RuntimeConf. */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs, in order. */
  cniArgs?: [string, string][];
  /** Capability arguments; only those a plugin declares in `capabilities` reach it. */
  capabilityArgs?: Record<string, unknown>;
}

/** types.GCAttachment */
export interface GCAttachment {
  containerID: string;
  ifname: string;
}

/** An error of libcni itself (not of a plugin), with the CNI code where libcni gives one. */
export class LibcniError extends Error {
  constructor(message: string, readonly code?: number, readonly details?: string) {
    super(details ? `${message}; ${details}` : message);
  }
}

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** utils.ValidateContainerID */
export function validateContainerId(id: string): void {
  if (id === '') throw new LibcniError('missing containerID', 3);
  if (!ID_RE.test(id)) throw new LibcniError('invalid characters in containerID', 4, id);
}

/** utils.ValidateNetworkName */
export function validateNetworkName(name: string): void {
  if (name === '') throw new LibcniError('missing network name:', 7);
  if (!ID_RE.test(name)) throw new LibcniError('invalid characters found in network name', 7, name);
}

/** utils.ValidateInterfaceName */
export function validateInterfaceName(ifname: string): void {
  if (ifname === '') throw new LibcniError('interface name is empty', 4);
  if (ifname.length > 15) throw new LibcniError('interface name is too long', 4, 'interface name should be less than 16 characters');
  if (ifname === '.' || ifname === '..') throw new LibcniError('interface name is . or ..', 4);
  if (/[/:\s]/.test(ifname)) throw new LibcniError('interface name contains / or : or whitespace characters', 4);
}

/** InjectConf: `values` set as top-level keys (overwriting); empty keys and null values refused. */
export function injectConf(plugin: PluginConf, values: Record<string, unknown>): PluginConf {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(plugin));
  for (const [k, v] of Object.entries(values)) {
    if (k === '') throw new Error('keys cannot be empty');
    if (v === null || v === undefined) throw new Error(`key '${k}' value must not be nil`);
    out[k] = v;
  }
  return out as PluginConf;
}

/** injectRuntimeConfig: `runtimeConfig` = the capability args the plugin declares (true), if any. */
export function runtimeConfigFor(plugin: PluginConf, capabilityArgs: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const rc: Record<string, unknown> = {};
  const caps = plugin.capabilities;
  if (caps && typeof caps === 'object') {
    for (const [cap, supported] of Object.entries(caps as Record<string, unknown>)) {
      if (supported !== true) continue;
      if (capabilityArgs && Object.prototype.hasOwnProperty.call(capabilityArgs, cap)) rc[cap] = capabilityArgs[cap];
    }
  }
  return Object.keys(rc).length > 0 ? rc : undefined;
}

/**
 * buildOneConfig: the request of one plugin of a list for ADD, CHECK and DEL: the plugin object
 * with the list's `name` and `cniVersion`, `prevResult` when there is one, and `runtimeConfig`
 * from the declared capabilities (which replaces a configured `runtimeConfig` only when some
 * capability applies). `capabilities` itself stays, as in libcni.
 */
export function buildPluginRequest(name: string, cniVersion: string, plugin: PluginConf, prevResult: unknown, rt: RuntimeConf | undefined): PluginConf {
  const inject: Record<string, unknown> = { name, cniVersion };
  if (prevResult !== undefined && prevResult !== null) inject.prevResult = prevResult;
  let conf = injectConf(plugin, inject);
  if (rt) {
    const rc = runtimeConfigFor(conf, rt.capabilityArgs);
    if (rc) conf = injectConf(conf, { runtimeConfig: rc });
  }
  return conf;
}

/**
 * GCNetworkList's request: `name`, `cniVersion` and, when the runtime gave a list (even an empty
 * one), `cni.dev/valid-attachments` plus the same list as `cni.dev/attachments` (the key some
 * plugins read, cni#1101). No runtimeConfig and no prevResult.
 */
export function buildGCRequest(name: string, cniVersion: string, plugin: PluginConf, valid: readonly GCAttachment[] | undefined): PluginConf {
  const inject: Record<string, unknown> = { name, cniVersion };
  if (valid) {
    const list = valid.map((v) => ({ containerID: v.containerID, ifname: v.ifname }));
    inject['cni.dev/valid-attachments'] = list;
    inject['cni.dev/attachments'] = list;
  }
  return injectConf(plugin, inject);
}

/** GetStatusNetworkList's request: the plugin object with `name` and `cniVersion`. */
export function buildStatusRequest(name: string, cniVersion: string, plugin: PluginConf): PluginConf {
  return injectConf(plugin, { name, cniVersion });
}

/** Args.AsEnv without the inherited environment: the six CNI variables (GC/STATUS: empty ids). */
export function pluginEnv(command: string, rt: Partial<RuntimeConf> | undefined, cniPath: string): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt?.containerId ?? '',
    CNI_NETNS: rt?.netns ?? '',
    CNI_ARGS: (rt?.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_IFNAME: rt?.ifname ?? '',
    CNI_PATH: cniPath,
  };
}

/** invoke.FindInPath: the first regular file (symlinks followed) named `type` in the dirs. */
export function findInPath(type: string, dirs: readonly string[]): string {
  if (type === '') throw new Error('no plugin name provided');
  if (type.includes('/')) throw new Error(`invalid plugin name: ${type}`);
  if (dirs.length === 0) throw new Error('no paths provided');
  for (const d of dirs) {
    const full = path.join(d, type);
    try {
      if (fs.statSync(full).isFile()) return full;
    } catch {
      /* next dir */
    }
  }
  throw new Error(`failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

/** A failed plugin's error as libcni reads it (types.Error: code, msg, details). */
export interface PluginFailure {
  code?: number;
  msg: string;
  details?: string;
}

/** RawExec.pluginErr: stdout's error JSON, else a message built from stderr / the exit status. */
export function parsePluginError(exitCode: number, stdout: string, stderr: string): PluginFailure {
  if (stdout.length === 0) {
    if (stderr.length === 0) return { msg: `netplugin failed with no error message: exit status ${exitCode}` };
    return { msg: `netplugin failed: ${JSON.stringify(stderr)}` };
  }
  try {
    const e = JSON.parse(stdout) as Record<string, unknown>;
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new Error('not a JSON object');
    return {
      code: typeof e.code === 'number' ? e.code : undefined,
      msg: typeof e.msg === 'string' ? e.msg : '',
      details: typeof e.details === 'string' && e.details !== '' ? e.details : undefined,
    };
  } catch (err) {
    return { msg: `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(err as Error).message}` };
  }
}

/** types.Error.Error(): `msg` or `msg; details`. */
export const failureText = (f: PluginFailure): string => (f.details ? `${f.msg}; ${f.details}` : f.msg);

/**
 * A plugin's ADD output as libcni parses it (ExecPluginWithResult): JSON, with the config's
 * version injected when the plugin left `cniVersion` out (cni#895).
 */
export function parseAddOutput(stdout: string, confVersion: string): Record<string, unknown> {
  let r: unknown;
  try {
    r = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`failed to parse plugin result ${JSON.stringify(stdout.slice(0, 200))}: ${(e as Error).message}`);
  }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error(`plugin result is not a JSON object: ${stdout.slice(0, 200)}`);
  const out = r as Record<string, unknown>;
  if (out.cniVersion === undefined || out.cniVersion === '') out.cniVersion = confVersion;
  return out;
}

/** pluginDescription: `type="x"` plus ` name="y"` when the plugin object has its own name. */
export function pluginDescription(plugin: PluginConf): string {
  return `type=${JSON.stringify(plugin.type)}${typeof plugin.name === 'string' && plugin.name !== '' ? ` name=${JSON.stringify(plugin.name)}` : ''}`;
}
