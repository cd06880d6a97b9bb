// The bad-input corpus (test/corpus/<plugin>/*.json): loading, checking the files' shape, and
// turning a case into the environment and stdin bytes of one plugin call.
//
// A corpus file holds one case or an array of cases:
//   name         unique, says what is wrong
//   plugin       flannel | bridge | host-local | portmap (the directory it lives in)
//   CNI_COMMAND  ADD | DEL | CHECK | GC | STATUS, or any other string (an invalid command)
//   env          overrides of the default CNI_* variables; null removes one
//   stdin        a string (raw bytes as UTF-8; may hold \u0000), a JSON value (serialised), or a
//                generator: {"generate":"huge","bytes":N} (a valid config padded to N bytes),
//                {"generate":"truncated","json":<value>,"bytes":N} (the first N bytes of it),
//                {"generate":"base64","data":"..."} (arbitrary bytes, e.g. invalid UTF-8)
//   subnetEnv    flannel only: the content of the subnet.env the config's {{SUBNET_ENV}} names
//   code         the CNI error code expected
//   msg          a regular expression the error's `msg` (+ " | " + `details` when present) must
//                match; it names the offending field and value
// Placeholders {{STATE}} {{NETNS}} {{NODE_NETNS}} {{CNI_PATH}} {{FILE}} {{SUBNET_ENV}} {{PID}}
// are replaced in env values and in string/JSON stdin (generators' JSON too).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CORPUS_PLUGINS = ['flannel', 'bridge', 'host-local', 'portmap'] as const;
export type CorpusPlugin = (typeof CORPUS_PLUGINS)[number];

export type Generator =
  | { generate: 'huge'; bytes: number }
  | { generate: 'truncated'; json: unknown; bytes: number }
  | { generate: 'base64'; data: string };

export interface CorpusCase {
  name: string;
  plugin: CorpusPlugin;
  CNI_COMMAND: string;
  env?: Record<string, string | null>;
  stdin: unknown;
  subnetEnv?: string;
  code: number;
  msg: string;
  /** test/corpus/<plugin>/<file>, for messages. */
  file: string;
}

/** test/corpus in the source tree (the JSON files are not compiled into the out dir). */
export function corpusDir(): string {
  // out-*/test/helpers → repo root; also works when run from the source tree.
  for (const up of ['../../..', '../..']) {
    const d = path.resolve(__dirname, up, 'test/corpus');
    if (fs.existsSync(d)) return d;
  }
  throw new Error(`test/corpus not found above ${__dirname}`);
}

const KEYS = new Set(['name', 'plugin', 'CNI_COMMAND', 'env', 'stdin', 'subnetEnv', 'code', 'msg']);

function isGenerator(v: unknown): v is Generator {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'generate' in v;
}

/** Throws naming the file and case when a case is malformed. */
export function checkCase(c: Record<string, unknown>, file: string, dirPlugin: string): CorpusCase {
  const where = `${file}: case ${JSON.stringify(c.name)}`;
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}`);
  };
  for (const k of Object.keys(c)) if (!KEYS.has(k)) fail(`unknown key ${JSON.stringify(k)}`);
  if (typeof c.name !== 'string' || c.name === '') fail('name must be a non-empty string');
  if (c.plugin !== dirPlugin) fail(`plugin must be ${JSON.stringify(dirPlugin)} (the directory it is in)`);
  if (typeof c.CNI_COMMAND !== 'string') fail('CNI_COMMAND must be a string');
  if (c.env !== undefined) {
    if (typeof c.env !== 'object' || c.env === null || Array.isArray(c.env)) fail('env must be an object');
    for (const [k, v] of Object.entries(c.env as object)) if (v !== null && typeof v !== 'string') fail(`env.${k} must be a string or null`);
  }
  if (!('stdin' in c)) fail('stdin is required');
  if (isGenerator(c.stdin)) {
    const g = c.stdin as Record<string, unknown>;
    if (g.generate === 'huge' || g.generate === 'truncated') {
      if (!Number.isInteger(g.bytes) || (g.bytes as number) < 0) fail('generator bytes must be a non-negative integer');
    } else if (g.generate === 'base64') {
      if (typeof g.data !== 'string') fail('base64 generator needs data');
    } else fail(`unknown generator ${JSON.stringify(g.generate)}`);
  }
  if (c.subnetEnv !== undefined && (typeof c.subnetEnv !== 'string' || dirPlugin !== 'flannel')) fail('subnetEnv is a string, for flannel cases');
  if (!Number.isInteger(c.code) || (c.code as number) <= 0) fail('code must be a positive integer');
  if (typeof c.msg !== 'string' || c.msg === '') fail('msg must be a non-empty regular expression');
  try {
    new RegExp(c.msg as string);
  } catch (e) {
    fail(`msg is not a regular expression: ${(e as Error).message}`);
  }
  return { ...(c as unknown as CorpusCase), file };
}

/** Every case of the corpus, per plugin directory, files and cases in order. */
export function loadCorpus(dir = corpusDir()): CorpusCase[] {
  const out: CorpusCase[] = [];
  const names = new Set<string>();
  for (const plugin of CORPUS_PLUGINS) {
    const pdir = path.join(dir, plugin);
    if (!fs.existsSync(pdir)) continue;
    for (const f of fs.readdirSync(pdir).filter((n) => n.endsWith('.json')).sort()) {
      const file = `${plugin}/${f}`;
      let data: unknown;
      try {
        data = JSON.parse(fs.readFileSync(path.join(pdir, f), 'utf8'));
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
      for (const raw of Array.isArray(data) ? data : [data]) {
        const c = checkCase(raw as Record<string, unknown>, file, plugin);
        const key = `${plugin}: ${c.name}`;
        if (names.has(key)) throw new Error(`${file}: duplicate case name ${JSON.stringify(c.name)}`);
        names.add(key);
        out.push(c);
      }
    }
  }
  return out;
}

export type Vars = Record<string, string>;

/** Replaces every {{NAME}}; an unknown placeholder is an error (a typo must not pass silently). */
export function substitute(s: string, vars: Vars): string {
  return s.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`unknown placeholder {{${k}}}`);
    return vars[k]!;
  });
}

/** The stdin bytes of a case. */
export function stdinBytes(c: Pick<CorpusCase, 'stdin' | 'plugin'>, vars: Vars): Buffer {
  const s = c.stdin;
  if (typeof s === 'string') return Buffer.from(substitute(s, vars), 'utf8');
  if (isGenerator(s)) {
    switch (s.generate) {
      case 'huge': {
        // A well-formed config: only its size is wrong.
        const head = `{"cniVersion":"1.0.0","name":"huge","type":${JSON.stringify(c.plugin)},"pad":"`;
        const tail = '"}';
        const pad = Math.max(0, s.bytes - head.length - tail.length);
        return Buffer.concat([Buffer.from(head), Buffer.alloc(pad, 0x61), Buffer.from(tail)]);
      }
      case 'truncated':
        return Buffer.from(substitute(JSON.stringify(s.json), vars), 'utf8').subarray(0, s.bytes);
      case 'base64':
        return Buffer.from(s.data, 'base64');
    }
  }
  return Buffer.from(substitute(JSON.stringify(s), vars), 'utf8');
}

/** The defaults of a well-formed call, then the case's overrides (null deletes). */
export function caseEnv(c: Pick<CorpusCase, 'CNI_COMMAND' | 'env'>, vars: Vars): Record<string, string> {
  const env: Record<string, string> = {
    CNI_COMMAND: substitute(c.CNI_COMMAND, vars),
    CNI_CONTAINERID: 'corpus-ctr',
    CNI_NETNS: vars.NETNS!,
    CNI_IFNAME: 'eth0',
    CNI_PATH: vars.CNI_PATH!,
  };
  if (c.CNI_COMMAND === 'GC' || c.CNI_COMMAND === 'STATUS') {
    delete env.CNI_CONTAINERID;
    delete env.CNI_NETNS;
    delete env.CNI_IFNAME;
  }
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (v === null) delete env[k];
    else env[k] = substitute(v, vars);
  }
  return env;
}

/** What the assertion matches `msg` against. */
export const errorText = (e: { msg?: unknown; details?: unknown }): string =>
  `${String(e.msg)}${typeof e.details === 'string' && e.details !== '' ? ` | ${e.details}` : ''}`;
