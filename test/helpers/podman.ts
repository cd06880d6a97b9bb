// A private podman 4.3 (CNI backend) for the runtimes tier. Its containers.conf and
// storage.conf are selected by env (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF; no system file is
// read or edited), its storage, network config dir and temp dirs live under the test's dir, and
// every podman process runs in a private mount namespace in which /var and /run are overlays
// whose upper dirs are in that dir too. podman 4.3 has no setting for several host paths it
// writes: libcni's result cache (/var/lib/cni/results, fixed in libcni), runc's state
// (/run/runc), the netns bind mounts (/run/netns/netns-<uuid>), the image blob-info cache
// (/var/lib/containers/cache) and TMPDIR=/var/tmp for the plugins; with the overlays they land
// in the test's dir and the host's files never change (hostPath() says where to look).
// The network namespace is the host's, as it is for users: bridges, veths, netfilter rules and
// forwarding the plugins make are real host state, checked and undone by the tests
// (host-state.ts). Cgroups (cgroupfs manager, v1 hierarchies) are under a cgroup parent named
// after the sandbox, removed by stop(). See ../shared/reference/runtimes.md ("podman 4.3.1").
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsUnder } from './mountinfo';

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment podman (and through it conmon and the plugins) gets: a login shell's, no more. */
const BASE_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8' };
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Host dirs overlaid inside the sandbox's mount namespace (see the header). */
const OVERLAID = ['/var', '/run'] as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const toml = (s: string): string => JSON.stringify(s);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function mntNs(pid: number | 'self'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Cgroup dirs `name` (a path relative to each hierarchy root) that exist, v1 controllers and v2. */
export function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  let roots: string[];
  try {
    roots = [CGROUP_ROOT, ...fs.readdirSync(CGROUP_ROOT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(CGROUP_ROOT, e.name))];
  } catch {
    return out;
  }
  for (const r of roots) {
    const d = path.join(r, name);
    if (fs.existsSync(path.join(d, 'cgroup.procs'))) out.push(d);
  }
  return out;
}

/** rmdir of a cgroup tree, children first (cgroup dirs hold only kernel files). */
function removeCgroupTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  fs.rmdirSync(dir);
}


export class PodmanSandbox {
  /** podman's network_config_dir: one conflist per network. */
  readonly netConfDir: string;
  readonly storageConf: string;
  /** `--cgroup-parent` given to every run/create (cgroupfs: a dir under each hierarchy root). */
  readonly cgroupParent: string;
  /** Every podman call made (args, exit code, wall time), for timing reports. */
  readonly calls: Array<{ args: string[]; code: number; ms: number }> = [];
  private holder: ChildProcess | undefined;
  private holderPid = 0;
  private readonly confs: string[] = [];
  private readonly cgroupsBefore: Set<string>;

  private constructor(
    readonly dir: string,
    tag: string,
  ) {
    this.netConfDir = path.join(dir, 'net.d');
    this.storageConf = path.join(dir, 'storage.conf');
    this.cgroupParent = `/${tag}`;
    this.cgroupsBefore = new Set(cgroupDirs(this.cgroupParent));
  }

  /**
   * Creates the dirs and storage.conf under `dir`, then the mount namespace (held by a `cat`
   * that ends when this process closes its stdin or dies) with the /var and /run overlays.
   * `tag` names the cgroup parent; it must not exist yet.
   */
  static async start(dir: string, tag: string): Promise<PodmanSandbox> {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(tag)) throw new Error(`invalid sandbox tag ${tag}`);
    for (const tool of ['podman', 'runc', 'conmon', 'nsenter', 'unshare']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`], { env: BASE_ENV }).status !== 0) {
        throw new Error(`${tool} not found: apt-get install -y --no-install-recommends podman runc catatonit (scripts/test-runtimes.sh does)`);
      }
    }
    const s = new PodmanSandbox(dir, tag);
    if (s.cgroupsBefore.size > 0) throw new Error(`cgroups ${[...s.cgroupsBefore].join(', ')} exist already`);
    for (const d of ['net.d', 'storage/graph', 'storage/run', 'tmp', 'ov/var/upper', 'ov/var/work', 'ov/run/upper', 'ov/run/work']) {
      fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
    }
    fs.writeFileSync(
      s.storageConf,
      ['[storage]', 'driver = "overlay"', `runroot = ${toml(path.join(dir, 'storage/run'))}`, `graphroot = ${toml(path.join(dir, 'storage/graph'))}`, ''].join('\n'),
    );
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'cat'], { stdio: ['pipe', 'ignore', 'pipe'] });
    holder.on('error', () => undefined);
    let holderErr = '';
    holder.stderr!.on('data', (d) => (holderErr += d));
    s.holder = holder;
    s.holderPid = holder.pid ?? 0;
    const own = mntNs('self');
    for (let i = 0; ; i++) {
      const ns = s.holderPid ? mntNs(s.holderPid) : undefined;
      if (ns && ns !== own) break;
      if (i > 250 || holder.exitCode !== null) {
        await s.stop();
        throw new Error(`unshare --mount did not start a mount namespace: ${holderErr.trim() || 'no error output'}`);
      }
      await sleep(20);
    }
    for (const target of OVERLAID) {
      const ov = path.join(dir, 'ov', path.basename(target));
      const r = s.inNs(['mount', '-t', 'overlay', `cts-${path.basename(target)}`, '-o', `lowerdir=${target},upperdir=${ov}/upper,workdir=${ov}/work`, target]);
      if (r.status !== 0) {
        await s.stop();
        throw new Error(`overlay on ${target} in the sandbox's mount namespace failed: ${r.stderr.trim()}`);
      }
    }
    return s;
  }

  private inNs(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): { status: number | null; stdout: string; stderr: string; error?: Error } {
    const r = spawnSync('nsenter', ['--target', String(this.holderPid), '--mount', '--', ...argv], {
      env: opts.env ?? BASE_ENV,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 << 20,
    });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
  }

  /** PID of the process holding the mount namespace (for nsenter). */
  get nsPid(): number {
    return this.holderPid;
  }

  /** Where a file that the sandbox's processes write at `p` (under /var or /run) is seen from the host. */
  hostPath(p: string): string {
    for (const t of OVERLAID) {
      if (p === t || p.startsWith(t + '/')) return path.join(this.dir, 'ov', path.basename(t), 'upper', path.relative(t, p));
    }
    throw new Error(`${p} is not under an overlaid dir (${OVERLAID.join(', ')})`);
  }

  /** libcni's result cache dir (/var/lib/cni/results in the sandbox) as seen from the host. */
  get cniResultsDir(): string {
    return this.hostPath('/var/lib/cni/results');
  }

  /**
   * Writes a containers.conf that uses `pluginDirs` as cni_plugin_dirs (the CNI backend, our
   * network dir, runc, cgroupfs, file events, temp dirs under the sandbox); returns its path,
   * which podman() takes to select it.
   */
  writeContainersConf(name: string, pluginDirs: string[], defaultNetwork: string): string {
    const file = path.join(this.dir, `containers-${name}.conf`);
    fs.writeFileSync(
      file,
      [
        '[containers]',
        // root here lacks CAP_SYS_RESOURCE: podman's default ulimits (1048576) cannot be set.
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = [${pluginDirs.map(toml).join(', ')}]`,
        `network_config_dir = ${toml(this.netConfDir)}`,
        `default_network = ${toml(defaultNetwork)}`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${toml(path.join(this.dir, 'events.log'))}`,
        // crun refuses this machine's hybrid cgroup layout; runc works.
        'runtime = "runc"',
        `tmp_dir = ${toml(path.join(this.dir, 'tmp'))}`,
        '',
      ].join('\n'),
    );
    this.confs.push(file);
    return file;
  }

  /** Writes `<netConfDir>/<name>.conflist`; returns its path. */
  writeNetwork(list: { name: string } & Record<string, unknown>): string {
    const file = path.join(this.netConfDir, `${list.name}.conflist`);
    fs.writeFileSync(file, JSON.stringify(list, null, 2) + '\n');
    return file;
  }

  /**
   * `podman <args>` in the sandbox with containers.conf `conf`. `run` and `create` get
   * `--cgroup-parent` (podman 4.3's containers.conf has no key for it).
   */
  podman(conf: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): PodmanResult {
    const argv = args[0] === 'run' || args[0] === 'create' ? [args[0], `--cgroup-parent=${this.cgroupParent}`, ...args.slice(1)] : args;
    const env = { ...BASE_ENV, ...(opts.env ?? {}), CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: this.storageConf };
    const t0 = Date.now();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const r = this.inNs(['podman', ...argv], { env, timeoutMs });
    const ms = Date.now() - t0;
    this.calls.push({ args, code: r.status ?? -1, ms });
    if (r.error) {
      const why = (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${timeoutMs} ms` : r.error.message;
      return { code: -1, stdout: r.stdout, stderr: `${r.stderr}\n[podman ${args.join(' ')}: ${why}]`, ms };
    }
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms };
  }

  /** podman() that must succeed; returns stdout trimmed, throws with stderr otherwise. */
  podmanOk(conf: string, args: string[], opts: { timeoutMs?: number } = {}): string {
    const r = this.podman(conf, args, opts);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout.trim();
  }

  /** PIDs of processes in the sandbox's mount namespace other than its holder (conmon, containers, podman). */
  processes(): number[] {
    const ns = mntNs(this.holderPid);
    if (!ns) return [];
    const out: number[] = [];
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e) || Number(e) === this.holderPid) continue;
      if (mntNs(Number(e)) === ns && alive(Number(e))) out.push(Number(e));
    }
    return out;
  }

  /**
   * Removes every container (DEL for each attachment, via the plugins), kills what survived in
   * the namespace, unmounts everything under the dir, ends the namespace and removes the cgroup
   * parent. Never throws; returns the problems (empty when nothing was left behind).
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    if (this.holderPid && alive(this.holderPid)) {
      if (this.confs.length > 0) {
        const r = this.podman(this.confs[0]!, ['rm', '--all', '--force', '--time', '0'], { timeoutMs: 60_000 });
        if (r.code !== 0) problems.push(`podman rm -af: exit ${r.code}: ${r.stderr.trim()}`);
      }
      for (let round = 0; round < 30; round++) {
        const left = this.processes();
        if (left.length === 0) break;
        if (round === 10) {
          problems.push(`processes left in the sandbox: ${left.map((p) => `${p} ${fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`).join('; ')}`);
          for (const p of left) {
            try {
              process.kill(p, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
        }
        await sleep(100);
      }
      for (const m of mountsUnder(this.dir, this.holderPid)) {
        const r = this.inNs(['umount', m]);
        if (r.status !== 0) {
          const l = this.inNs(['umount', '-l', m]);
          if (l.status !== 0) problems.push(`umount ${m} in the sandbox: ${(r.stderr + l.stderr).trim()}`);
        }
      }
    }
    if (this.holder && this.holder.exitCode === null && this.holder.signalCode === null) {
      this.holder.stdin?.end();
      for (let i = 0; i < 50 && alive(this.holderPid); i++) await sleep(20);
      if (alive(this.holderPid)) this.holder.kill('SIGKILL');
      for (let i = 0; i < 50 && alive(this.holderPid); i++) await sleep(20);
      if (alive(this.holderPid)) problems.push(`namespace holder ${this.holderPid} did not exit`);
    }
    for (const m of mountsUnder(this.dir)) problems.push(`mounted on the host: ${m}`);
    for (const d of cgroupDirs(this.cgroupParent)) {
      if (this.cgroupsBefore.has(d)) continue;
      let err: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          removeCgroupTree(d);
          err = undefined;
          break;
        } catch (e) {
          err = e;
          await sleep(50);
        }
      }
      if (err) problems.push(`removing cgroup ${d}: ${(err as Error).message}`);
    }
    return problems;
  }
}

/** portmap's top-level nat chains: created on first use and, like the reference, never removed. */
export const PORTMAP_TOP_CHAINS = ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'] as const;

const SAVE = { v4: 'iptables-save', v6: 'ip6tables-save' } as const;
const RESTORE = { v4: 'iptables-restore', v6: 'ip6tables-restore' } as const;

/** The `*nat` section of `<family>-save` (chain declarations and rules); [] when the table is absent. */
export function natSection(fam: 'v4' | 'v6'): string[] {
  // Plain iptables-save: `-t nat` would print an empty table that does not exist.
  const r = spawnSync(SAVE[fam], [], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  const lines = r.stdout.split('\n');
  const start = lines.indexOf('*nat');
  if (start === -1) return [];
  const end = lines.indexOf('COMMIT', start);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** Chain names in each family's nat table. */
export function natChains(): Record<'v4' | 'v6', Set<string>> {
  const chains = (fam: 'v4' | 'v6'): Set<string> => new Set(natSection(fam).filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!));
  return { v4: chains('v4'), v6: chains('v6') };
}

/**
 * Removes portmap's top-level chains that did not exist in `before` (natChains()), with the
 * rules in other chains that jump to them, in one iptables-restore batch per family. Refuses
 * (a problem, nothing removed) while CNI-HOSTPORT-DNAT still holds a mapping's entry rule.
 */
export function removeNewPortmapChains(before: Record<'v4' | 'v6', Set<string>>): { removed: string[]; problems: string[] } {
  const removed: string[] = [];
  const problems: string[] = [];
  for (const fam of ['v4', 'v6'] as const) {
    const nat = natSection(fam);
    const now = new Set(nat.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!));
    const ours = PORTMAP_TOP_CHAINS.filter((c) => now.has(c) && !before[fam].has(c)) as string[];
    if (ours.length === 0) continue;
    const mappings = nat.filter((l) => l.startsWith('-A CNI-HOSTPORT-DNAT '));
    if (ours.includes('CNI-HOSTPORT-DNAT') && mappings.length > 0) {
      problems.push(`${fam} CNI-HOSTPORT-DNAT still holds mappings, left in place: ${mappings.join(' | ')}`);
      continue;
    }
    const jumps = nat.filter((l) => {
      const m = /^-A (\S+) .*-j (\S+)$/.exec(l);
      return !!m && !ours.includes(m[1]!) && ours.includes(m[2]!);
    });
    const batch = ['*nat', ...jumps.map((l) => `-D ${l.slice(3)}`), ...ours.map((c) => `-F ${c}`), ...ours.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    const r = spawnSync(RESTORE[fam], ['--noflush'], { input: batch, encoding: 'utf8' });
    if (r.status !== 0) problems.push(`${RESTORE[fam]} --noflush failed: ${r.stderr.trim()}\n${batch}`);
    else removed.push(...jumps.map((l) => `${fam} ${l}`), ...ours.map((c) => `${fam} chain ${c}`));
  }
  return { removed, problems };
}

/**
 * Deletes, in each family's nat table, the chains named in `chains` and every rule that jumps
 * to them or mentions one of `needles` (container IDs, network names in comments): what a DEL
 * that failed to clean up leaves. Returns what it removed (each one a leak to report).
 */
export function purgeNat(chains: string[], needles: string[]): { removed: string[]; problems: string[] } {
  const removed: string[] = [];
  const problems: string[] = [];
  for (const fam of ['v4', 'v6'] as const) {
    const nat = natSection(fam);
    const declared = new Set(nat.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!));
    const ours = chains.filter((c) => declared.has(c));
    const rules = nat.filter((l) => {
      const m = /^-A (\S+) (.*)$/.exec(l);
      if (!m || ours.includes(m[1]!)) return false;
      return ours.some((c) => m[2]!.endsWith(`-j ${c}`)) || needles.some((x) => m[2]!.includes(x));
    });
    if (ours.length === 0 && rules.length === 0) continue;
    const batch = ['*nat', ...rules.map((l) => `-D ${l.slice(3)}`), ...ours.map((c) => `-F ${c}`), ...ours.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
    const r = spawnSync(RESTORE[fam], ['--noflush'], { input: batch, encoding: 'utf8' });
    if (r.status !== 0) problems.push(`${RESTORE[fam]} --noflush failed: ${r.stderr.trim()}\n${batch}`);
    else removed.push(...rules.map((l) => `${fam} ${l}`), ...ours.map((c) => `${fam} chain ${c}`));
  }
  return { removed, problems };
}
