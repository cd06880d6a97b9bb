// Network configuration loading as libcni does it (containernetworking/cni libcni/conf.go,
// pkg/version): conflist parsing with `cniVersions` negotiation and bool-or-string flags, the
// `<dir>/<network>/*.conf` plugin files, single-plugin `.conf` files turned into lists, the
// search of a conf dir by network name, and the runtimes' "first file of the dir" default.
// Pure apart from reading the given files and dirs; errors carry libcni's texts.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A conflist as written by a user (the harness's input shape). */
export interface ConfList {
  cniVersion?: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean | string;
  disableGC?: boolean | string;
  loadOnlyInlinedPlugins?: boolean | string;
  plugins: Array<Record<string, any> & { type: string }>;
  [key: string]: unknown;
}

/** One plugin object of a list, exactly as configured (libcni keeps its bytes). */
export type PluginConf = Record<string, any> & { type: string };

/** libcni's NetworkConfigList: the parsed list plus the bytes it came from. */
export interface NetworkConfigList {
  name: string;
  /** The negotiated version ('' when the list names none: plugins read that as 0.1.0). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConf[];
  /** The list's bytes (cached by ADD as `config`). */
  bytes: Buffer;
  /** The file it was loaded from, if any. */
  file?: string;
}

/** The spec version this harness implements (libcni's version.Current()). */
export const CURRENT_VERSION = '1.1.0';

/** Go's type names in libcni's messages, for JSON values. */
export function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  switch (typeof v) {
    case 'string': return 'string';
    case 'number': return 'float64';
    case 'boolean': return 'bool';
    default: return 'map[string]interface {}';
  }
}

const goQuote = (s: string): string => JSON.stringify(s);

/** pkg/version ParseVersion: "X[.Y[.Z]]" with Go's strconv.Atoi parts; "" is an error. */
export function parseVersion(v: string): [number, number, number] {
  if (v === '') throw new Error(`invalid version ${goQuote(v)}: the version is empty`);
  const parts = v.split('.');
  if (parts.length >= 4) throw new Error(`invalid version ${goQuote(v)}: too many parts`);
  const names = ['major', 'minor', 'micro'];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((p, i) => {
    if (!/^[+-]?\d+$/.test(p)) throw new Error(`failed to convert ${names[i]} version part ${goQuote(p)}: strconv.Atoi: parsing ${goQuote(p)}: invalid syntax`);
    out[i] = Number(p);
  });
  return out;
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** version.GreaterThanOrEqualTo (throws on an unparsable version, e.g. ''). */
export const versionAtLeast = (v: string, min: string): boolean => compareVersions(v, min) >= 0;

/** The same check where libcni ignores the parse error (`gt, _ :=`): unparsable → false. */
export function versionAtLeastLax(v: string, min: string): boolean {
  try {
    return versionAtLeast(v, min);
  } catch {
    return false;
  }
}

const LIST_ERR = 'error parsing configuration list';

/**
 * The list version libcni picks: without `cniVersions`, `cniVersion` as given (even '' or a
 * version it does not know); with it, the highest of `cniVersions` ∪ {cniVersion} that is not
 * greater than 1.1.0 (an unparsable entry is an error).
 */
export function negotiateVersion(raw: Record<string, unknown>): string {
  let cniVersion = '';
  if ('cniVersion' in raw) {
    if (typeof raw.cniVersion !== 'string') throw new Error(`${LIST_ERR}: invalid cniVersion type ${goType(raw.cniVersion)}`);
    cniVersion = raw.cniVersion;
  }
  if (!('cniVersions' in raw)) return cniVersion;
  const rvs = raw.cniVersions;
  if (!Array.isArray(rvs)) throw new Error(`${LIST_ERR}: invalid type for cniVersions: ${goType(rvs)}`);
  const vs: string[] = [];
  rvs.forEach((rv, i) => {
    if (typeof rv !== 'string') throw new Error(`${LIST_ERR}: invalid type for cniVersions index ${i}: ${goType(rv)}`);
    let gt: boolean;
    try {
      gt = compareVersions(rv, CURRENT_VERSION) > 0;
    } catch (e) {
      throw new Error(`${LIST_ERR}: invalid cniVersions entry ${rv} at index ${i}: ${(e as Error).message}`);
    }
    if (!gt) vs.push(rv);
  });
  if (cniVersion !== '') {
    let gt: boolean;
    try {
      gt = compareVersions(cniVersion, CURRENT_VERSION) > 0;
    } catch (e) {
      throw new Error(`${LIST_ERR}: invalid cniVersion ${cniVersion}: ${(e as Error).message}`);
    }
    if (!gt) vs.push(cniVersion);
  }
  vs.sort(compareVersions);
  return vs.length > 0 ? vs[vs.length - 1]! : cniVersion;
}

/** libcni's readBool: absent → false; a bool; or the strings "true"/"false" in any case. */
export function readBool(raw: Record<string, unknown>, key: string): boolean {
  if (!(key in raw)) return false;
  const v = raw[key];
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') throw new Error(`${LIST_ERR}: invalid type ${goType(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new Error(`${LIST_ERR}: invalid value ${goQuote(s)} for ${key}`);
}

/** NetworkPluginConfFromBytes: a JSON object with a non-empty `type`. */
export function pluginConfFromBytes(bytes: Buffer | string): PluginConf {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString());
  } catch (e) {
    throw new Error(`error parsing configuration: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`error parsing configuration: not a JSON object`);
  const conf = v as PluginConf;
  if (typeof conf.type !== 'string' || conf.type === '') throw new Error(`error parsing configuration: missing 'type'`);
  return conf;
}

/** NetworkConfFromBytes (ConfListFromBytes): the list, without the plugin files of its dir. */
export function confListFromBytes(bytes: Buffer | string): NetworkConfigList {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString());
  } catch (e) {
    throw new Error(`${LIST_ERR}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${LIST_ERR}: not a JSON object`);
  const r = raw as Record<string, unknown>;
  if (!('name' in r)) throw new Error(`${LIST_ERR}: no name`);
  if (typeof r.name !== 'string') throw new Error(`${LIST_ERR}: invalid name type ${goType(r.name)}`);
  const list: NetworkConfigList = {
    name: r.name,
    cniVersion: negotiateVersion(r),
    disableCheck: readBool(r, 'disableCheck'),
    disableGC: readBool(r, 'disableGC'),
    loadOnlyInlinedPlugins: readBool(r, 'loadOnlyInlinedPlugins'),
    plugins: [],
    bytes: buf,
  };
  if (!('plugins' in r)) {
    if (list.loadOnlyInlinedPlugins) throw new Error(`${LIST_ERR}: \`loadOnlyInlinedPlugins\` is true, and no 'plugins' key`);
    return list;
  }
  if (!Array.isArray(r.plugins)) throw new Error(`${LIST_ERR}: invalid 'plugins' type ${goType(r.plugins)}`);
  if (r.plugins.length === 0) throw new Error(`${LIST_ERR}: no plugins in list`);
  r.plugins.forEach((p, i) => {
    try {
      list.plugins.push(pluginConfFromBytes(JSON.stringify(p)));
    } catch (e) {
      throw new Error(`failed to parse plugin config ${i}: ${(e as Error).message}`);
    }
  });
  return list;
}

/** ConfFiles: regular entries of `dir` whose extension is one of `exts`, by name; missing dir → []. */
export function confFiles(dir: string, exts: readonly string[]): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => !e.isDirectory() && exts.includes(path.extname(e.name)))
    .map((e) => e.name)
    .sort()
    .map((n) => path.join(dir, n));
}

/** NetworkPluginConfsFromFiles: `<confDir>/<network>/*.conf`, one plugin object each. */
export function pluginConfsFromFiles(confDir: string, network: string): PluginConf[] {
  const dir = path.join(confDir, network);
  let files: string[];
  try {
    files = confFiles(dir, ['.conf']);
  } catch (e) {
    throw new Error(`failed to read plugin config files in ${dir}: ${(e as Error).message}`);
  }
  return files.map((f) => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(f);
    } catch (e) {
      throw new Error(`error reading ${f}: ${(e as Error).message}`);
    }
    return pluginConfFromBytes(bytes);
  });
}

/** NetworkConfFromFile (ConfListFromFile): the list plus its dir's plugin files. */
export function confListFromFile(file: string): NetworkConfigList {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`error reading ${file}: ${(e as Error).message}`);
  }
  const list = { ...confListFromBytes(bytes), file };
  if (!list.loadOnlyInlinedPlugins) list.plugins = [...list.plugins, ...pluginConfsFromFiles(path.dirname(file), list.name)];
  if (list.plugins.length === 0) throw new Error('no plugin configs found');
  return list;
}

/** ConfListFromConf: a single-plugin config (deprecated `.conf`/`.json`) as a one-entry list. */
export function confListFromConf(bytes: Buffer | string, file?: string): NetworkConfigList {
  const conf = pluginConfFromBytes(bytes);
  const name = typeof conf.name === 'string' ? conf.name : '';
  const cniVersion = typeof conf.cniVersion === 'string' ? conf.cniVersion : '';
  const list = confListFromBytes(JSON.stringify({ name, cniVersion, plugins: [conf] }));
  return file ? { ...list, file } : list;
}

/**
 * LoadNetworkConf (LoadConfList): the first `*.conflist` of `dir` (by name) whose name is
 * `name`, else the first single-plugin `*.conf`/`*.json` of that name, turned into a list. As in
 * libcni, a file that does not parse stops the search with its error.
 */
export function loadConfList(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, ['.conflist']);
  for (const f of lists) {
    const l = confListFromFile(f);
    if (l.name === name) return l;
  }
  const singles = confFiles(dir, ['.conf', '.json']);
  if (singles.length === 0) {
    throw new Error(lists.length > 0 ? `no net configuration with name "${name}" in ${dir}` : `no net configurations found in ${dir}`);
  }
  for (const f of singles) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(f);
    } catch (e) {
      throw new Error(`error reading ${f}: ${(e as Error).message}`);
    }
    const conf = pluginConfFromBytes(bytes);
    if (conf.name === name) return confListFromConf(bytes, f);
  }
  throw new Error(`no net configuration with name "${name}" in ${dir}`);
}

/**
 * The network a runtime uses by default (containerd's go-cni, CRI-O's ocicni): every `*.conf`,
 * `*.conflist` and `*.json` of `dir` sorted by file name; the first one, a `.conflist` read as
 * a list and the others as single-plugin configs turned into lists.
 */
export function loadDefaultConfList(dir: string): NetworkConfigList {
  const files = confFiles(dir, ['.conf', '.conflist', '.json']);
  if (files.length === 0) throw new Error(`no net configurations found in ${dir}`);
  const f = files[0]!;
  if (f.endsWith('.conflist')) return confListFromFile(f);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(f);
  } catch (e) {
    throw new Error(`error reading ${f}: ${(e as Error).message}`);
  }
  return confListFromConf(bytes, f);
}

/** A user-shaped ConfList parsed the way libcni parses its bytes. */
export function confListFromObject(list: ConfList): NetworkConfigList {
  return confListFromBytes(JSON.stringify(list));
}

/** The list version libcni negotiates for a user-shaped ConfList. */
export function negotiatedVersion(list: Pick<ConfList, 'cniVersion' | 'cniVersions'>): string {
  return negotiateVersion(list as Record<string, unknown>);
}
