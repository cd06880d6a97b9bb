// The real libcni, for the tier that checks the harness against it: our driver
// (test/libcni-driver/main.go) built at test time against Debian's libcni 1.1.2 sources in
// GOPATH mode (toolchain-facts.md "Real libcni from Debian"), and a runtime-like wrapper that
// sends it one request per call, run inside the node namespace so the plugins act on that node.
// A missing Go toolchain or libcni source is an error that names the packages, never a skip.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RuntimeConf } from './libcni';

/** Where golang-github-appc-cni-dev puts libcni. */
export const DEBIAN_GOCODE = '/usr/share/gocode';
const LIBCNI_SRC = path.join(DEBIAN_GOCODE, 'src/github.com/containernetworking/cni/libcni');
// Compiled to <outDir>/test/helpers: the repository root is three levels up.
const DRIVER_SRC = path.resolve(__dirname, '../../../test/libcni-driver/main.go');
const MISSING = 'install the Debian packages golang-go and golang-github-appc-cni-dev (bash scripts/install-deps.sh does)';

/** Builds the driver into `dir` (GOPATH and build cache under it too); returns the executable. */
export function buildLibcniDriver(dir: string): string {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) throw new Error(`the real-libcni tier needs Go: \`go version\` failed (${go.error?.message ?? go.stderr.trim()}); ${MISSING}`);
  if (!fs.existsSync(path.join(LIBCNI_SRC, 'api.go'))) throw new Error(`the real-libcni tier needs libcni's sources: ${LIBCNI_SRC}/api.go is missing; ${MISSING}`);
  const gopath = path.join(dir, 'gopath');
  const pkg = path.join(gopath, 'src', 'driver');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(DRIVER_SRC, path.join(pkg, 'main.go'));
  const out = path.join(dir, 'libcni-driver');
  // GOPATH mode: the Debian package ships sources for GOPATH, not a module cache; no network.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GO111MODULE: 'off', GOPATH: `${gopath}:${DEBIAN_GOCODE}`, GOCACHE: path.join(dir, 'gocache'), GOFLAGS: '', GOTOOLCHAIN: 'local' };
  const r = spawnSync('go', ['build', '-o', out, '.'], { cwd: pkg, env, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`building the libcni driver failed (exit ${r.status}): ${r.error?.message ?? r.stderr.trim()}`);
  return out;
}

/** A CNI error as the real libcni reported it: its full text and the plugin's code/msg/details. */
export interface DriverFailure {
  text: string;
  code?: number;
  msg?: string;
  details?: string;
}

export interface DriverAnswer {
  /** The list version libcni parsed from the conflist. */
  cniVersion: string;
  result?: any;
  error?: DriverFailure;
}

/** A runtime over the real libcni: the conflist file, CNI_PATH and cache dir it was given. */
export class RealLibcni {
  constructor(
    readonly driver: string,
    readonly confFile: string,
    readonly pluginDirs: string[],
    readonly cacheDir: string,
    /** Run libcni (and so the plugins it executes) via `ip netns exec <nodeNs>`. */
    readonly nodeNs: string,
  ) {}

  call(op: 'load' | 'add' | 'check' | 'del' | 'cached', rt?: RuntimeConf): DriverAnswer {
    const req = {
      op,
      confFile: this.confFile,
      pluginDirs: this.pluginDirs,
      cacheDir: this.cacheDir,
      containerId: rt?.containerId ?? '',
      netns: rt?.netns ?? '',
      ifname: rt?.ifname ?? '',
      args: rt?.cniArgs ?? null,
      capabilityArgs: rt?.capabilityArgs ?? null,
    };
    // libcni hands its own environment to the plugins: PATH only, as a runtime's would be.
    const r = spawnSync('ip', ['netns', 'exec', this.nodeNs, this.driver], {
      input: JSON.stringify(req),
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (r.error || r.status !== 0) throw new Error(`libcni driver ${op} failed (exit ${r.status}): ${r.error?.message ?? r.stderr.trim()}`);
    return JSON.parse(r.stdout) as DriverAnswer;
  }

  /** The list version libcni picks for the conflist. */
  version(): string {
    return this.call('load').cniVersion;
  }

  /** libcni's cache file of an attachment (same layout as the harness: results/<net>-<id>-<if>). */
  cacheFile(network: string, rt: Pick<RuntimeConf, 'containerId' | 'ifname'>): string {
    return path.join(this.cacheDir, 'results', `${network}-${rt.containerId}-${rt.ifname}`);
  }
}

/** One plugin execution as the plugin saw it: its CNI_* environment and its stdin. */
export interface RecordedCall {
  type: string;
  env: Record<string, string>;
  stdin: string;
}

/**
 * A plugin dir of recording wrappers: `<dir>/<type>` saves the CNI_* variables and stdin of the
 * call, then execs the real plugin of `realDir` with the same input. Put first in CNI_PATH, it
 * shows what a runtime sent; the delegates (bridge, host-local) are still found in `realDir`.
 */
export function recordingPluginDir(dir: string, realDir: string, types: string[]): { dir: string; calls(): RecordedCall[] } {
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls');
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(log, { recursive: true });
  for (const t of types) {
    const script = [
      '#!/bin/sh',
      `n=$(ls '${log}' | wc -l)`,
      `f='${log}'/$(printf %04d "$n")-${t}`,
      'env | grep "^CNI_" | sort > "$f.env"',
      'cat > "$f.stdin"',
      `exec '${path.join(realDir, t)}' < "$f.stdin"`,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(bin, t), script, { mode: 0o755 });
  }
  return {
    dir: bin,
    calls(): RecordedCall[] {
      const envs = fs.readdirSync(log).filter((f) => f.endsWith('.env')).sort();
      return envs.map((f) => {
        const base = f.slice(0, -'.env'.length);
        const env = Object.fromEntries(
          fs.readFileSync(path.join(log, f), 'utf8').split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        return { type: base.slice(base.indexOf('-') + 1), env, stdin: fs.readFileSync(path.join(log, `${base}.stdin`), 'utf8') };
      });
    },
  };
}
