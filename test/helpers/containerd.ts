// A private containerd daemon for runtime tests, everything under the test's temp dir (root,
// state, sockets, opt dir, runc root, FIFOs), and `ctr` driven inside a private mount namespace
// whose /etc/cni/net.d and /opt/cni/bin are read-only mounts of the test's conflist dir and
// plugin dir, and whose /var/lib/cni (libcni's result cache, written on every ADD) is a dir of
// the test's: ctr has no flag or env for CNI paths (it reads the first conflist in
// /etc/cni/net.d, searches /opt/cni/bin:/usr/lib/cni, caches in /var/lib/cni/results), and the
// host's must never change.
// stop() leaves nothing: tasks killed and removed, daemon and shims gone, mounts under the dir
// unmounted, the cgroups of the namespace and the shim socket dir (/run/containerd/s, fixed in
// containerd 1.6) removed when this daemon created them.
// See ../shared/reference/runtimes.md ("containerd 1.6.20: ctr run --cni").
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsUnder } from './mountinfo';
export { mountsUnder };

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** What ctr should see as /etc/cni/net.d and /opt/cni/bin (and /var/lib/cni: default the daemon's cniCacheDir). */
export interface CniView {
  confDir: string;
  pluginDir: string;
  cacheDir?: string;
}

export interface CtrOptions {
  cni?: CniView;
  /** Extra environment for ctr (and so for the plugins it execs: libcni passes its env on). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** The shim socket root of containerd 1.6 (runtime/v2/shim: defaults.DefaultStateDir + "/s"). */
const SHIM_SOCKET_ROOT = '/run/containerd';
const CGROUP_ROOT = '/sys/fs/cgroup';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (not yet reaped) counts as gone.
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** PIDs of processes whose command line contains `needle`. */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`).toString().replace(/\0/g, ' ').includes(needle)) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** PIDs of containerd daemons and shims (any instance: executable name starts with `containerd`). */
export function containerdProcesses(): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv0 = fs.readFileSync(`/proc/${e}/cmdline`).toString().split('\0')[0] ?? '';
      if (path.basename(argv0).startsWith('containerd')) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}


/** Cgroup dirs named `name` directly under each hierarchy's root (v1 controllers and v2). */
function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  const roots = [CGROUP_ROOT];
  try {
    for (const e of fs.readdirSync(CGROUP_ROOT, { withFileTypes: true })) if (e.isDirectory()) roots.push(path.join(CGROUP_ROOT, e.name));
  } catch {
    return out;
  }
  for (const r of roots) {
    const d = path.join(r, name);
    try {
      if (fs.statSync(d).isDirectory() && fs.existsSync(path.join(d, 'cgroup.procs'))) out.push(d);
    } catch {
      /* not there */
    }
  }
  return out;
}

/** Processes in the cgroup tree `dir` (all levels). */
function cgroupProcs(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    try {
      for (const l of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim()) out.push(Number(l));
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    } catch {
      /* removed meanwhile */
    }
  };
  walk(dir);
  return out;
}

/** rmdir of a cgroup tree, children first (cgroup dirs hold only kernel files, removed by rmdir). */
function removeCgroupTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class ContainerdDaemon {
  readonly address: string;
  readonly logFile: string;
  readonly runcRoot: string;
  readonly fifoDir: string;
  /** What ctr sees as /var/lib/cni unless a CniView names another dir. */
  readonly cniCacheDir: string;
  private pid = 0;
  private readonly shimRootExisted = fs.existsSync(SHIM_SOCKET_ROOT);
  private readonly cgroupsBefore: Set<string>;

  private constructor(
    readonly dir: string,
    readonly namespace: string,
  ) {
    this.address = path.join(dir, 'containerd.sock');
    this.logFile = path.join(dir, 'containerd.log');
    this.runcRoot = path.join(dir, 'runc');
    this.fifoDir = path.join(dir, 'fifo');
    this.cniCacheDir = path.join(dir, 'cni-cache');
    this.cgroupsBefore = new Set(cgroupDirs(namespace));
  }

  /**
   * Writes a config v2 (root, state, grpc/ttrpc/debug sockets, opt dir all under `dir`; CRI
   * disabled), starts containerd in its own session (spawn `detached` = setsid) and waits until
   * it answers. `namespace` is the containerd namespace every ctr call uses.
   */
  static async start(dir: string, namespace: string, timeoutMs = 20_000): Promise<ContainerdDaemon> {
    if (!/^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/.test(namespace)) throw new Error(`invalid containerd namespace ${namespace}`);
    const d = new ContainerdDaemon(dir, namespace);
    if (d.cgroupsBefore.size > 0) throw new Error(`cgroups named after namespace ${namespace} exist already: ${[...d.cgroupsBefore].join(', ')}`);
    for (const sub of ['root', 'state', 'opt', 'runc', 'fifo', 'cni-cache']) fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    const toml = (s: string): string => JSON.stringify(s);
    const config = path.join(dir, 'containerd.toml');
    fs.writeFileSync(
      config,
      [
        'version = 2',
        `root = ${toml(path.join(dir, 'root'))}`,
        `state = ${toml(path.join(dir, 'state'))}`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = ${toml(d.address)}`,
        '[ttrpc]',
        `  address = ${toml(d.address + '.ttrpc')}`,
        '[debug]',
        `  address = ${toml(path.join(dir, 'debug.sock'))}`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = ${toml(path.join(dir, 'opt'))}`,
        '',
      ].join('\n'),
    );
    const log = fs.openSync(d.logFile, 'a');
    try {
      const child = spawn('containerd', ['--config', config], { detached: true, stdio: ['ignore', log, log] });
      child.on('error', () => undefined);
      child.unref();
      if (!child.pid) throw new Error('containerd did not start (is it installed? apt-get install containerd)');
      d.pid = child.pid;
    } finally {
      fs.closeSync(log);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = d.ctr(['version'], { timeoutMs: 5000 });
      if (r.code === 0 && /Server:/.test(r.stdout)) break;
      if (!alive(d.pid) || Date.now() > deadline) {
        const tail = fs.existsSync(d.logFile) ? fs.readFileSync(d.logFile, 'utf8').slice(-3000) : '';
        await d.stop().catch(() => undefined);
        throw new Error(`containerd did not come up (pid ${d.pid}, ctr version: ${r.stderr.trim()}); log tail:\n${tail}`);
      }
      await sleep(100);
    }
    return d;
  }

  /** The socket containerd 1.6 gives the shim of container `id` (runtime/v2/shim SocketAddress). */
  shimSocket(id: string): string {
    const h = createHash('sha256').update(path.join(this.address, this.namespace, id)).digest('hex');
    return path.join(SHIM_SOCKET_ROOT, 's', h);
  }

  get daemonPid(): number {
    return this.pid;
  }

  /**
   * Runs `ctr -a <socket> -n <namespace> <args>`. With `cni`, inside `unshare -m --propagation
   * private` with cni.confDir on /etc/cni/net.d and cni.pluginDir on /opt/cni/bin (read-only),
   * and cni.cacheDir (default cniCacheDir) on /var/lib/cni.
   */
  ctr(args: string[], opts: CtrOptions = {}): CtrResult {
    const { cmd, argv, env } = this.ctrCommand(args, opts);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const t0 = Date.now();
    const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 });
    const ms = Date.now() - t0;
    if (r.error) {
      const why = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${timeoutMs} ms` : r.error.message;
      return { code: -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}\n[ctr ${args.join(' ')}: ${why}]`, ms };
    }
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms };
  }

  /** ctr() without blocking, for watching the host while ctr runs (e.g. a `run --rm`). */
  ctrAsync(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    const { cmd, argv, env } = this.ctrCommand(args, opts);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const t0 = Date.now();
    return new Promise((resolve) => {
      const p = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        p.kill('SIGKILL');
      }, timeoutMs);
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('error', (e) => {
        clearTimeout(timer);
        resolve({ code: -1, stdout: out, stderr: `${err}\n[ctr ${args.join(' ')}: ${e.message}]`, ms: Date.now() - t0 });
      });
      p.on('close', (code) => {
        clearTimeout(timer);
        const note = timedOut ? `\n[ctr ${args.join(' ')}: timed out after ${timeoutMs} ms]` : '';
        resolve({ code: code ?? -1, stdout: out, stderr: err + note, ms: Date.now() - t0 });
      });
    });
  }

  private ctrCommand(args: string[], opts: CtrOptions): { cmd: string; argv: string[]; env: NodeJS.ProcessEnv } {
    const base = ['-a', this.address, '-n', this.namespace, ...args];
    const env = { ...process.env, ...(opts.env ?? {}) };
    if (!opts.cni) return { cmd: 'ctr', argv: base, env };
    const script = [
      'set -e',
      ...this.bindLines(opts.cni.confDir, '/etc/cni/net.d', 'ro'),
      ...this.bindLines(opts.cni.pluginDir, '/opt/cni/bin', 'ro'),
      ...this.bindLines(opts.cni.cacheDir ?? this.cniCacheDir, '/var/lib/cni', 'rw'),
      'exec ctr "$@"',
    ].join('\n');
    return { cmd: 'unshare', argv: ['-m', '--propagation', 'private', 'sh', '-c', script, 'ctr-cni', ...base], env };
  }

  /** ctr that must succeed; throws with its output otherwise. */
  ctrOk(args: string[], opts: CtrOptions = {}): string {
    const r = this.ctr(args, opts);
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /**
   * Shell lines bind-mounting `src` on `target` (read-only or not) in the private mount
   * namespace; a missing `target` is provided by a read-only overlay of its nearest existing
   * parent (the host's dirs are never created).
   */
  private bindLines(src: string, target: string, mode: 'ro' | 'rw'): string[] {
    const lines: string[] = [];
    if (!fs.existsSync(target)) {
      let parent = path.dirname(target);
      while (!fs.existsSync(parent)) parent = path.dirname(parent);
      // A read-only overlay (two lower layers, no upper) adds the missing dirs on top of parent.
      const skel = path.join(this.dir, 'skel', parent.replace(/\//g, '_') || 'root');
      fs.mkdirSync(path.join(skel, path.relative(parent, target)), { recursive: true });
      lines.push(`mount -t overlay -o ro,lowerdir=${shq(skel)}:${shq(parent)} cts-skel ${shq(parent)}`);
    }
    lines.push(`mount --bind ${shq(src)} ${shq(target)}`);
    if (mode === 'ro') lines.push(`mount -o remount,bind,ro ${shq(target)}`);
    return lines;
  }

  /** Task PIDs of the namespace (`ctr task ls`), 0 for stopped ones omitted. */
  taskPids(): Map<string, number> {
    const m = new Map<string, number>();
    const r = this.ctr(['task', 'ls'], { timeoutMs: 10_000 });
    for (const l of r.stdout.split('\n').slice(1)) {
      const [id, pid] = l.trim().split(/\s+/);
      if (id && pid && Number(pid) > 0) m.set(id, Number(pid));
    }
    return m;
  }

  /** Kills and removes every task and container of the namespace (no CNI: no DEL is sent). */
  removeAll(): string[] {
    const problems: string[] = [];
    const ids = (sub: string): string[] =>
      this.ctr([sub, 'ls', '-q'], { timeoutMs: 10_000 })
        .stdout.split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
    for (const id of ids('task')) {
      this.ctr(['task', 'kill', '-s', 'SIGKILL', id], { timeoutMs: 10_000 });
      const r = this.ctr(['task', 'rm', '-f', id], { timeoutMs: 15_000 });
      if (r.code !== 0 && !/not found/i.test(r.stderr)) problems.push(`task rm ${id}: ${r.stderr.trim()}`);
    }
    for (const id of ids('container')) {
      const r = this.ctr(['container', 'rm', id], { timeoutMs: 15_000 });
      if (r.code !== 0 && !/not found/i.test(r.stderr)) problems.push(`container rm ${id}: ${r.stderr.trim()}`);
    }
    return problems;
  }

  /**
   * Stops everything this daemon started and removes what it left outside its dir. Never
   * throws; returns the problems found (empty when the machine is back as it was).
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const note = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    if (this.pid && alive(this.pid)) {
      note('removing tasks and containers', () => problems.push(...this.removeAll()));
      note('stopping containerd', () => process.kill(this.pid, 'SIGTERM'));
      for (let i = 0; i < 100 && alive(this.pid); i++) await sleep(100);
      if (alive(this.pid)) {
        problems.push(`containerd ${this.pid} ignored SIGTERM for 10 s; killed`);
        note('killing containerd', () => process.kill(this.pid, 'SIGKILL'));
      }
    }
    // Container processes (cgroup /<namespace>/<id>) and shims (their args name our socket).
    for (let round = 0; round < 20; round++) {
      const pids = new Set<number>([...pidsMentioning(this.dir), ...cgroupDirs(this.namespace).flatMap(cgroupProcs)]);
      pids.delete(process.pid);
      if (pids.size === 0) break;
      if (round === 0) problems.push(`processes survived the daemon: ${[...pids].join(' ')}`);
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(100);
    }
    for (const p of pidsMentioning(this.dir)) if (alive(p)) problems.push(`process ${p} still running: ${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    for (const m of mountsUnder(this.dir)) {
      const r = spawnSync('umount', [m], { encoding: 'utf8' });
      if (r.status !== 0) {
        const l = spawnSync('umount', ['-l', m], { encoding: 'utf8' });
        if (l.status !== 0) problems.push(`umount ${m}: ${(r.stderr + l.stderr).trim()}`);
      }
    }
    for (const m of mountsUnder(this.dir)) problems.push(`still mounted: ${m}`);
    for (const d of cgroupDirs(this.namespace)) {
      if (!this.cgroupsBefore.has(d)) note(`removing cgroup ${d}`, () => removeCgroupTree(d));
    }
    // The shim socket dir is at a fixed path. Only empty dirs go, and only when this daemon made
    // them or no other containerd is left to own them (an instance started while another test's
    // daemon had made it would otherwise leave it behind).
    const otherDaemons = containerdProcesses();
    if (fs.existsSync(SHIM_SOCKET_ROOT) && (!this.shimRootExisted || otherDaemons.length === 0)) {
      for (const d of [path.join(SHIM_SOCKET_ROOT, 's'), SHIM_SOCKET_ROOT]) {
        try {
          fs.rmdirSync(d);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && otherDaemons.length === 0) problems.push(`${d} not removed: ${code}: ${fs.readdirSync(d).join(' ')}`);
        }
      }
    }
    return problems;
  }
}
