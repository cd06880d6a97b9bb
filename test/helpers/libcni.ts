// A runtime harness that follows libcni (cni-reference-behaviour.md §1.4, §1.8; libcni/api.go):
// it loads a conflist (libcni-conf.ts), derives each plugin's request (name, cniVersion,
// runtimeConfig from declared capabilities, prevResult; libcni-request.ts), runs ADD in order
// and DEL in reverse with the cached result, CHECK, GC (synthesised DEL for stale cached
// attachments, then GC with the valid list) and STATUS, and caches results in cniCacheV1 files
// under `<cacheDir>/results/` like libcni. Plugins run as separate processes, optionally inside
// a "node" namespace (`ip netns exec`), with only PATH, the CNI variables and `extraEnv`.
//
// Where a runtime, not libcni, decides (which args DEL and CHECK get), it behaves like
// containerd/CRI-O: arguments the caller leaves out are restored from the cache
// (GetNetworkListCachedConfig).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertResult } from '../../shared/cni/convert';
import type { AnyResult } from '../../shared/cni/types';
import {
  type ConfList,
  confListFromBytes,
  confListFromObject,
  loadConfList,
  loadDefaultConfList,
  type NetworkConfigList,
  type PluginConf,
  versionAtLeast,
  versionAtLeastLax,
} from './libcni-conf';
import {
  buildGCRequest,
  buildPluginRequest,
  buildStatusRequest,
  failureText,
  findInPath,
  type GCAttachment,
  LibcniError,
  parseAddOutput,
  parsePluginError,
  pluginDescription,
  pluginEnv,
  type PluginFailure,
  type RuntimeConf,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from './libcni-request';
import { runPlugin, type Run } from './plugins';

export * from './libcni-conf';
export * from './libcni-request';

const COMMAND_WORD: Record<string, string> = { ADD: 'add', DEL: 'delete', CHECK: 'check', GC: 'gc', STATUS: 'status', VERSION: 'version' };

/** A plugin exited non-zero: its CNI error (code, msg, details) as libcni parses it, and the run. */
export class CniPluginError extends Error {
  readonly failure: PluginFailure;
  constructor(readonly plugin: string, readonly command: string, readonly run: Run, description = `type=${JSON.stringify(plugin)}`) {
    const failure = parsePluginError(run.code, run.stdout, run.stderr);
    super(
      `plugin ${description} failed (${COMMAND_WORD[command] ?? command.toLowerCase()}): ${failureText(failure)}` +
        (run.stderr.trim() ? ` [stderr: ${run.stderr.trim().slice(0, 2000)}]` : ''),
    );
    this.failure = failure;
  }
  /** The CNI error code (undefined when the plugin printed no error JSON). */
  get code(): number | undefined {
    return this.failure.code;
  }
  get msg(): string {
    return this.failure.msg;
  }
  get details(): string | undefined {
    return this.failure.details;
  }
}

/** One cniCacheV1 file (libcni cachedInfo). */
export interface CacheEntry {
  kind: 'cniCacheV1';
  containerId: string;
  /** base64 of the conflist bytes */
  config?: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/** A cached attachment (libcni NetworkAttachment). */
export interface CachedAttachment {
  containerId: string;
  network: string;
  ifname: string;
  config?: Buffer;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  file: string;
}

/** One plugin execution, as sent. */
export interface PluginCall {
  command: string;
  type: string;
  env: Record<string, string>;
  stdin: string;
  code: number;
}

const TEXT_FILE_BUSY_RETRIES = 5;
const sleepSync = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

function isLoaded(l: ConfList | NetworkConfigList): l is NetworkConfigList {
  return Buffer.isBuffer((l as NetworkConfigList).bytes);
}

export class Runtime {
  /** The list as libcni parsed it (negotiated version, flags, plugins, bytes). */
  readonly conf: NetworkConfigList;
  /** The list in the user's shape (for a loaded file: its JSON with the plugins libcni found). */
  readonly list: ConfList;
  /** The negotiated list version every plugin gets as `cniVersion`. */
  readonly version: string;
  /** CNI_PATH: `pluginDir` split on ':'. */
  readonly path: string[];
  /** Every plugin execution of this runtime, in order. */
  readonly calls: PluginCall[] = [];

  constructor(
    list: ConfList | NetworkConfigList,
    readonly pluginDir: string,
    readonly cacheDir: string,
    /** Run plugins via `ip netns exec <nodeNs>` so they act on that "node". */
    readonly nodeNs?: string,
    readonly extraEnv: Record<string, string> = {},
  ) {
    this.conf = isLoaded(list) ? list : confListFromObject(list);
    this.list = isLoaded(list) ? { ...JSON.parse(list.bytes.toString()), plugins: list.plugins } : list;
    if (this.conf.plugins.length === 0) throw new Error('no plugin configs found');
    this.version = this.conf.cniVersion;
    this.path = pluginDir.split(':').filter((d) => d !== '');
  }

  /** libcni LoadConfList(confDir, name). */
  static fromConfDir(confDir: string, name: string, pluginDir: string, cacheDir: string, nodeNs?: string, extraEnv?: Record<string, string>): Runtime {
    return new Runtime(loadConfList(confDir, name), pluginDir, cacheDir, nodeNs, extraEnv);
  }

  /** The runtimes' default network: the first of confDir's *.conf, *.conflist, *.json. */
  static fromDefaultConf(confDir: string, pluginDir: string, cacheDir: string, nodeNs?: string, extraEnv?: Record<string, string>): Runtime {
    return new Runtime(loadDefaultConfList(confDir), pluginDir, cacheDir, nodeNs, extraEnv);
  }

  /** This runtime with another list (same plugin dir, cache dir, node and env). */
  withList(list: ConfList | NetworkConfigList | string): Runtime {
    const l = typeof list === 'string' ? confListFromBytes(list) : list;
    return new Runtime(l, this.pluginDir, this.cacheDir, this.nodeNs, this.extraEnv);
  }

  get name(): string {
    return this.conf.name;
  }

  // ------------------------------------------------------------------ cache

  /** `<cacheDir>/results/<network>-<containerID>-<ifname>` */
  cacheFile(rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): string {
    if (this.name === '' || rt.containerId === '' || rt.ifname === '') {
      throw new Error(`cache file path requires network name (${JSON.stringify(this.name)}), container ID (${JSON.stringify(rt.containerId)}), and interface name (${JSON.stringify(rt.ifname)})`);
    }
    return path.join(this.cacheDir, 'results', `${this.name}-${rt.containerId}-${rt.ifname}`);
  }

  private cacheAdd(result: Record<string, unknown>, rt: RuntimeConf): void {
    const entry: CacheEntry = {
      kind: 'cniCacheV1',
      containerId: rt.containerId,
      config: this.conf.bytes.toString('base64'),
      ifName: rt.ifname,
      networkName: this.name,
    };
    // Go's omitempty
    if (rt.netns) entry.netns = rt.netns;
    if (rt.cniArgs?.length) entry.cniArgs = rt.cniArgs;
    if (rt.capabilityArgs && Object.keys(rt.capabilityArgs).length) entry.capabilityArgs = rt.capabilityArgs;
    entry.result = result;
    const file = this.cacheFile(rt);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(entry), { mode: 0o600 });
  }

  private cacheDel(rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): void {
    let file: string;
    try {
      file = this.cacheFile(rt);
    } catch {
      return;
    }
    fs.rmSync(file, { force: true });
  }

  /** The raw cache file of an attachment (undefined when absent or unreadable). */
  cached(rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): any | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.cacheFile(rt), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /**
   * getCachedResult: the cached ADD result converted to the list's version; undefined when
   * there is no cache file. A file that is not cniCacheV1 is read as a bare result (legacy).
   */
  cachedResult(rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): Record<string, unknown> | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.cacheFile(rt), 'utf8');
    } catch {
      return undefined;
    }
    let raw: unknown;
    let v1 = false;
    try {
      const c = JSON.parse(text) as CacheEntry;
      v1 = c?.kind === 'cniCacheV1';
      raw = v1 ? c.result : c;
    } catch {
      raw = undefined;
    }
    if (!v1) {
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new Error(`failed to parse cached result: ${(e as Error).message}`);
      }
    }
    if (!raw || typeof raw !== 'object') throw new Error('cached result is not a JSON object');
    try {
      return convertResult(raw as AnyResult, this.version) as unknown as Record<string, unknown>;
    } catch (e) {
      throw new Error(`failed to convert cached result to config version ${JSON.stringify(this.version)}: ${(e as Error).message}`);
    }
  }

  /** GetCachedAttachments: every cniCacheV1 file (all networks), by file name; throws when the dir cannot be read. */
  cachedAttachments(containerId = ''): CachedAttachment[] {
    const dir = path.join(this.cacheDir, 'results');
    const names = fs.readdirSync(dir).sort();
    const out: CachedAttachment[] = [];
    for (const f of names) {
      if (containerId !== '') {
        const part = `-${containerId}-`;
        const pos = f.indexOf(part);
        if (pos <= 0 || pos + part.length >= f.length) continue;
      }
      let c: CacheEntry;
      try {
        c = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      } catch {
        continue;
      }
      if (c?.kind !== 'cniCacheV1') continue;
      if (containerId !== '' && c.containerId !== containerId) continue;
      if (!c.ifName || !c.networkName) continue;
      out.push({
        containerId: c.containerId,
        network: c.networkName,
        ifname: c.ifName,
        config: c.config ? Buffer.from(c.config, 'base64') : undefined,
        netns: c.netns,
        cniArgs: c.cniArgs,
        capabilityArgs: c.capabilityArgs,
        file: path.join(dir, f),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------ exec

  private exec(command: string, plugin: PluginConf, rt: Partial<RuntimeConf> | undefined, conf: PluginConf): Run {
    const file = findInPath(plugin.type, this.path);
    const env = { ...this.extraEnv, ...pluginEnv(command, rt, this.path.join(':')) };
    const stdin = JSON.stringify(conf);
    let r = runPlugin(path.dirname(file), path.basename(file), env, stdin, this.nodeNs);
    // invoke: retry an exec that met ETXTBSY (a plugin binary still being written)
    for (let i = 0; i < TEXT_FILE_BUSY_RETRIES && r.code !== 0 && r.stdout === '' && /text file busy/i.test(r.stderr); i++) {
      sleepSync(1000);
      r = runPlugin(path.dirname(file), path.basename(file), env, stdin, this.nodeNs);
    }
    this.calls.push({ command, type: plugin.type, env, stdin, code: r.code });
    if (r.code !== 0) throw new CniPluginError(plugin.type, command, r, pluginDescription(plugin));
    return r;
  }

  /** The args DEL/CHECK use: the caller's, else those cached at ADD. */
  private withCachedArgs(rt: RuntimeConf): RuntimeConf {
    const c = this.cached(rt) as CacheEntry | undefined;
    return { ...rt, cniArgs: rt.cniArgs ?? c?.cniArgs, capabilityArgs: rt.capabilityArgs ?? c?.capabilityArgs };
  }

  // ------------------------------------------------------------------ commands

  /** AddNetworkList: each plugin in order with the previous result; the final result is cached. */
  add(rt: RuntimeConf): any {
    let result: Record<string, unknown> | undefined;
    for (const p of this.conf.plugins) {
      findInPath(p.type, this.path);
      validateContainerId(rt.containerId);
      validateNetworkName(this.name);
      validateInterfaceName(rt.ifname);
      const r = this.exec('ADD', p, rt, buildPluginRequest(this.name, this.version, p, result, rt));
      result = parseAddOutput(r.stdout, this.version);
    }
    try {
      this.cacheAdd(result!, rt);
    } catch (e) {
      throw new LibcniError(`failed to set network ${JSON.stringify(this.name)} cached result: ${(e as Error).message}`);
    }
    return result;
  }

  /**
   * DelNetworkList: plugins in reverse order, each with the cached result as prevResult (lists
   * >= 0.4.0; an unreadable cache is dropped and DEL goes on without it); the cache file is
   * removed afterwards. Stops at the first failing plugin (the cache then stays).
   */
  del(rt: RuntimeConf): void {
    const eff = this.withCachedArgs(rt);
    let prev: Record<string, unknown> | undefined;
    if (versionAtLeast(this.version, '0.4.0')) {
      try {
        prev = this.cachedResult(rt);
      } catch {
        this.cacheDel(rt);
        prev = undefined;
      }
    }
    for (const p of [...this.conf.plugins].reverse()) {
      this.exec('DEL', p, eff, buildPluginRequest(this.name, this.version, p, prev, eff));
    }
    this.cacheDel(rt);
  }

  /**
   * CheckNetworkList: refused below 0.4.0 (checked first, as libcni does, so even with
   * disableCheck), a no-op with disableCheck, else each plugin in order with the cached result
   * (none when there is no cache file: the plugins then see no prevResult).
   */
  check(rt: RuntimeConf): void {
    if (!versionAtLeast(this.version, '0.4.0')) {
      throw new LibcniError(`configuration version ${JSON.stringify(this.version)} does not support the CHECK command`);
    }
    if (this.conf.disableCheck) return;
    let prev: Record<string, unknown> | undefined;
    try {
      prev = this.cachedResult(rt);
    } catch (e) {
      throw new LibcniError(`failed to get network ${JSON.stringify(this.name)} cached result: ${(e as Error).message}`);
    }
    const eff = this.withCachedArgs(rt);
    for (const p of this.conf.plugins) this.exec('CHECK', p, eff, buildPluginRequest(this.name, this.version, p, prev, eff));
  }

  /**
   * GCNetworkList. Skipped with disableGC. Every cached attachment of this network that is not
   * in `valid` gets a DEL (built from its cache: netns, args); with `valid` undefined (cnitool's
   * gc) that is every cached attachment. Then, for lists >= 1.1.0, every plugin gets GC with
   * `cni.dev/valid-attachments` (and `cni.dev/attachments`). Goes on after errors and returns
   * them all (libcni joins them). As in libcni, when `<cacheDir>/results` cannot be read at all
   * nothing is done: not even the plugins' GC runs.
   */
  gc(valid?: GCAttachment[]): Error[] {
    if (this.conf.disableGC) return [];
    let cached: CachedAttachment[];
    try {
      cached = this.cachedAttachments();
    } catch {
      return [];
    }
    const isValid = (id: string, ifn: string): boolean => (valid ?? []).some((v) => v.containerID === id && v.ifname === ifn);
    const errors: Error[] = [];
    for (const c of cached) {
      if (c.network !== this.name || isValid(c.containerId, c.ifname)) continue;
      try {
        this.del({ containerId: c.containerId, ifname: c.ifname, netns: c.netns ?? '', cniArgs: c.cniArgs, capabilityArgs: c.capabilityArgs });
      } catch (e) {
        errors.push(new Error(`failed to delete stale attachment ${c.containerId} ${c.ifname}: ${(e as Error).message}`, { cause: e }));
      }
    }
    if (versionAtLeastLax(this.version, '1.1.0')) {
      for (const p of this.conf.plugins) {
        try {
          this.exec('GC', p, undefined, buildGCRequest(this.name, this.version, p, valid));
        } catch (e) {
          errors.push(new Error(`failed to GC plugin ${p.type}: ${(e as Error).message}`, { cause: e }));
        }
      }
    }
    return errors;
  }

  /** GetStatusNetworkList: a no-op below 1.1.0; else each plugin in order, the first error thrown as is. */
  status(): void {
    if (!versionAtLeastLax(this.version, '1.1.0')) return;
    for (const p of this.conf.plugins) this.exec('STATUS', p, undefined, buildStatusRequest(this.name, this.version, p));
  }

  /**
   * ValidateNetworkList: every plugin exists and lists the list's version (''→0.1.0) among its
   * VERSION answer's supportedVersions; returns the enabled capabilities of all plugins.
   */
  validate(): string[] {
    const want = this.version === '' ? '0.1.0' : this.version;
    const errors: string[] = [];
    const caps = new Set<string>();
    for (const p of this.conf.plugins) {
      try {
        const file = findInPath(p.type, this.path);
        const r = runPlugin(path.dirname(file), path.basename(file), { ...this.extraEnv, CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.1.0' }), this.nodeNs);
        this.calls.push({ command: 'VERSION', type: p.type, env: { CNI_COMMAND: 'VERSION' }, stdin: '', code: r.code });
        if (r.code !== 0) throw new CniPluginError(p.type, 'VERSION', r, pluginDescription(p));
        const supported: unknown = r.json?.supportedVersions;
        if (!Array.isArray(supported) || !supported.includes(want)) throw new Error(`plugin ${p.type} does not support config version ${JSON.stringify(want)}`);
      } catch (e) {
        errors.push((e as Error).message);
      }
      for (const [c, on] of Object.entries((p.capabilities ?? {}) as Record<string, unknown>)) if (on === true) caps.add(c);
    }
    if (errors.length) throw new Error(`[${errors.join(' ')}]`);
    return [...caps];
  }
}

