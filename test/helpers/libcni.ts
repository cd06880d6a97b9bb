// A runtime harness that follows libcni (cni-reference-behaviour.md §1.4, §1.8): it loads a
// conflist, derives each plugin's request (name, cniVersion, runtimeConfig from declared
// capabilities, prevResult), runs ADD in order and DEL in reverse with the cached result,
// CHECK, GC (synthesised DEL for stale cached attachments, then GC with the valid list) and
// STATUS, and caches results in cniCacheV1 files like libcni.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPlugin, type Run } from './plugins';

export interface ConfList {
  cniVersion?: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean | string;
  disableGC?: boolean | string;
  plugins: Array<Record<string, any> & { type: string }>;
}

export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifname: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
}

export class CniPluginError extends Error {
  constructor(readonly plugin: string, readonly command: string, readonly run: Run) {
    super(
      `plugin type="${plugin}" failed (${command.toLowerCase()}): ${run.json?.msg ?? run.stdout}${run.json?.details ? `: ${run.json.details}` : ''}` +
        (run.stderr.trim() ? ` [stderr: ${run.stderr.trim().slice(0, 2000)}]` : ''),
    );
  }
}

const IMPLEMENTED = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const cmpVer = (a: string, b: string): number => {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
};
const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');

/** The list version libcni negotiates: the highest of cniVersion ∪ cniVersions it implements. */
export function negotiatedVersion(list: ConfList): string {
  const all = [...(list.cniVersions ?? []), ...(list.cniVersion ? [list.cniVersion] : [])];
  for (const v of all) if (!/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`invalid version ${JSON.stringify(v)} in cniVersions`);
  const usable = all.filter((v) => IMPLEMENTED.includes(v)).sort(cmpVer);
  return usable[usable.length - 1] ?? '0.1.0';
}

export class Runtime {
  readonly version: string;
  constructor(
    readonly list: ConfList,
    readonly pluginDir: string,
    readonly cacheDir: string,
    /** Run plugins via `ip netns exec <nodeNs>` so they act on that "node". */
    readonly nodeNs?: string,
    readonly extraEnv: Record<string, string> = {},
  ) {
    if (!list.plugins?.length) throw new Error('no plugin configs found');
    this.version = negotiatedVersion(list);
  }

  private cacheFile(rt: RuntimeConf): string {
    return path.join(this.cacheDir, 'results', `${this.list.name}-${rt.containerId}-${rt.ifname}`);
  }

  private request(plugin: Record<string, any>, rt: RuntimeConf | undefined, prevResult: unknown, extra: Record<string, unknown> = {}): string {
    const conf: Record<string, unknown> = { ...plugin, name: this.list.name, cniVersion: this.version };
    const rc: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(plugin.capabilities ?? {})) {
      if (on && rt?.capabilityArgs && cap in rt.capabilityArgs) rc[cap] = rt.capabilityArgs[cap];
    }
    if (Object.keys(rc).length) conf.runtimeConfig = rc;
    if (prevResult !== undefined) conf.prevResult = prevResult;
    Object.assign(conf, extra);
    return JSON.stringify(conf);
  }

  private exec(command: string, plugin: Record<string, any>, rt: RuntimeConf | undefined, stdin: string): Run {
    const env: Record<string, string> = {
      ...this.extraEnv,
      CNI_COMMAND: command,
      CNI_CONTAINERID: rt?.containerId ?? '',
      CNI_NETNS: rt?.netns ?? '',
      CNI_IFNAME: rt?.ifname ?? '',
      CNI_ARGS: (rt?.cniArgs ?? []).map(([k, v]) => `${k}=${v}`).join(';'),
      CNI_PATH: this.pluginDir,
    };
    const r = runPlugin(this.pluginDir, plugin.type, env, stdin, this.nodeNs);
    if (r.code !== 0) throw new CniPluginError(plugin.type, command, r);
    return r;
  }

  add(rt: RuntimeConf): any {
    let prev: unknown;
    for (const p of this.list.plugins) {
      const r = this.exec('ADD', p, rt, this.request(p, rt, prev));
      prev = r.json;
    }
    fs.mkdirSync(path.dirname(this.cacheFile(rt)), { recursive: true, mode: 0o700 });
    const cache = {
      kind: 'cniCacheV1',
      containerId: rt.containerId,
      config: Buffer.from(JSON.stringify(this.list)).toString('base64'),
      ifName: rt.ifname,
      networkName: this.list.name,
      netns: rt.netns,
      cniArgs: rt.cniArgs ?? [],
      capabilityArgs: rt.capabilityArgs ?? {},
      result: prev,
    };
    fs.writeFileSync(this.cacheFile(rt), JSON.stringify(cache), { mode: 0o600 });
    return prev;
  }

  cached(rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): any | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.cacheDir, 'results', `${this.list.name}-${rt.containerId}-${rt.ifname}`), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** DEL in reverse order; prevResult (the cached final ADD result) only for lists >= 0.4.0. */
  del(rt: RuntimeConf): void {
    const c = this.cached(rt);
    const caps = rt.capabilityArgs ?? c?.capabilityArgs;
    const withPrev = cmpVer(this.version, '0.4.0') >= 0 ? c?.result : undefined;
    for (const p of [...this.list.plugins].reverse()) this.exec('DEL', p, { ...rt, capabilityArgs: caps }, this.request(p, { ...rt, capabilityArgs: caps }, withPrev));
    fs.rmSync(this.cacheFile(rt), { force: true });
  }

  check(rt: RuntimeConf): void {
    if (truthy(this.list.disableCheck)) return;
    if (cmpVer(this.version, '0.4.0') < 0) throw new Error(`configuration version "${this.version}" does not support the CHECK command`);
    const c = this.cached(rt);
    if (!c) throw new Error('no cached result for CHECK');
    for (const p of this.list.plugins) this.exec('CHECK', p, { ...rt, capabilityArgs: rt.capabilityArgs ?? c.capabilityArgs }, this.request(p, rt, c.result));
  }

  /** libcni GCNetworkList: DEL every cached attachment not valid, then GC with the valid list (>= 1.1.0). */
  gc(valid: Array<{ containerID: string; ifname: string }>): Error[] {
    if (truthy(this.list.disableGC)) return [];
    const errors: Error[] = [];
    const dir = path.join(this.cacheDir, 'results');
    const isValid = (id: string, ifn: string): boolean => valid.some((v) => v.containerID === id && v.ifname === ifn);
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      let c: any;
      try {
        c = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      } catch {
        continue;
      }
      if (c.networkName !== this.list.name || isValid(c.containerId, c.ifName)) continue;
      try {
        this.del({ containerId: c.containerId, ifname: c.ifName, netns: c.netns, cniArgs: c.cniArgs, capabilityArgs: c.capabilityArgs });
      } catch (e) {
        errors.push(e as Error);
      }
    }
    if (cmpVer(this.version, '1.1.0') >= 0) {
      const attachments = valid.map((v) => ({ containerID: v.containerID, ifname: v.ifname }));
      for (const p of this.list.plugins) {
        try {
          this.exec('GC', p, undefined, this.request(p, undefined, undefined, { 'cni.dev/valid-attachments': attachments, 'cni.dev/attachments': attachments }));
        } catch (e) {
          errors.push(e as Error);
        }
      }
    }
    return errors;
  }

  status(): void {
    if (cmpVer(this.version, '1.1.0') < 0) return;
    for (const p of this.list.plugins) this.exec('STATUS', p, undefined, this.request(p, undefined, undefined));
  }
}
