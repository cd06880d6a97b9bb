// Throw-away single-member etcd for tests: on 127.0.0.1 of the test's own namespace (high ports
// chosen by the caller) or inside a network namespace (`ip netns exec`). Optional client-certificate
// TLS with certificates made here by openssl, plus broken variants (other CA, other IP, expired).
// Every server and temp dir is registered with onCleanup, so cleanupAllNetns removes it even when a
// test failed half-way.
import { spawn, execFileSync, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { makeNetns, onCleanup, type TestNetns } from './netns';

export interface EtcdTls {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd, input: opts.input });
  } catch (e) {
    const err = e as { stderr?: string; status?: number; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.status ?? '?'}): ${(err.stderr ?? '').trim() || err.message}`);
  }
}

const tempDirs: string[] = [];
function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `cts${process.pid}-${tag}-`));
  tempDirs.push(d);
  onCleanup(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA (self-signed) in `dir`: `<name>.pem`, `<name>.key`. */
export function makeCA(dir: string, name = 'ca'): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  run('openssl', ['req', '-x509', ...EC, '-days', '2', '-subj', `/CN=cts-test-${name}`, '-keyout', key, '-out', cert]);
  return { cert, key };
}

/**
 * A leaf certificate signed by `ca`. `sans` like ['IP:127.0.0.1','DNS:localhost'].
 * `expired`: validity 2020-01-01..2020-01-02 (openssl 3.0's `x509 -req` has no -not_before, so
 * this goes through `openssl ca` with -startdate/-enddate).
 */
export function makeLeaf(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  o: { sans?: string[]; eku: string; expired?: boolean },
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  run('openssl', ['req', ...EC, '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  const ext = join(dir, `${name}.ext`);
  const lines = [`extendedKeyUsage=${o.eku}`];
  if (o.sans?.length) lines.unshift(`subjectAltName=${o.sans.join(',')}`);
  writeFileSync(ext, lines.join('\n') + '\n');
  if (!o.expired) {
    run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
    return { cert, key };
  }
  const cadir = join(dir, `${name}-ca`);
  run('mkdir', ['-p', cadir]);
  writeFileSync(join(cadir, 'index.txt'), '');
  writeFileSync(join(cadir, 'serial'), '1000\n');
  const cnf = join(cadir, 'ca.cnf');
  writeFileSync(
    cnf,
    [
      '[ca]', 'default_ca = d', '[d]', `dir = ${cadir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir',
      'serial = $dir/serial', 'default_md = sha256', 'policy = p', 'copy_extensions = none', 'unique_subject = no',
      '[p]', 'commonName = supplied', '[x]', ...lines, '',
    ].join('\n'),
  );
  run('openssl', ['ca', '-batch', '-config', cnf, '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', cert,
    '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'x', '-notext']);
  return { cert, key };
}

/** CA + server certificate (the given IP SANs, serverAuth+clientAuth for etcd's gateway) + client. */
export function makeEtcdTls(ips: string[], o: { expiredServer?: boolean } = {}): EtcdTls {
  const dir = tempDir('etcd-tls');
  const ca = makeCA(dir);
  const server = makeLeaf(dir, ca, 'server', { sans: [...ips.map((i) => `IP:${i}`), 'DNS:localhost'], eku: 'serverAuth,clientAuth', expired: o.expiredServer });
  const client = makeLeaf(dir, ca, 'client', { eku: 'clientAuth' });
  return { dir, ca: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}

export interface EtcdServer {
  endpoint: string;
  clientPort: number;
  netns?: string;
  tls?: EtcdTls;
  dataDir: string;
  /** etcdctl with the right endpoint and TLS flags (inside the netns when there is one). */
  etcdctl(args: string[], input?: string): string;
  stop(): Promise<void>;
  /** Kills etcd without removing the data dir (for restart tests). */
  kill(): Promise<void>;
  /** Starts it again on the same data dir and ports. */
  restart(): Promise<void>;
  /** The etcd process's pid (`ip netns exec` execs etcd, so the child is etcd itself); undefined when not running. */
  pid(): number | undefined;
  /** SIGSTOP: the kernel still accepts connections, etcd answers nothing (a hung etcd). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

export interface StartEtcdOptions {
  /** Run inside this existing network namespace. */
  netns?: string;
  /** Run inside a new namespace of its own (made and removed here); ignored when netns is given. */
  ownNetns?: boolean;
  host?: string;
  clientPort?: number;
  peerPort?: number;
  /** Serve client TLS with these certificates and require client certificates. */
  tls?: EtcdTls;
  extraArgs?: string[];
  /** Health-check with etcdctl --insecure-skip-tls-verify (for servers given a broken certificate on purpose). */
  insecureHealth?: boolean;
  /** Member of a multi-member cluster: its name, the whole --initial-cluster and the cluster token. */
  member?: { name: string; initialCluster: string; token: string };
  /** Do not wait for `endpoint health` at start (a cluster member cannot be healthy before quorum). */
  noHealthWait?: boolean;
}

const live = new Set<ChildProcess>();
onCleanupOnce();
function onCleanupOnce(): void {
  process.on('exit', () => {
    for (const p of live) try { p.kill('SIGKILL'); } catch { /* already gone */ }
  });
}

function waitExit(p: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    p.once('exit', () => res());
  });
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  const o = { ...opts };
  let ownNs: TestNetns | null = null;
  if (!o.netns && o.ownNetns) {
    ownNs = makeNetns('etcd');
    o.netns = ownNs.name;
  }
  // etcd on 127.0.0.1 inside a namespace needs that namespace's loopback up.
  if (o.netns && (o.host ?? '127.0.0.1') === '127.0.0.1') run('ip', ['-n', o.netns, 'link', 'set', 'lo', 'up']);
  const host = o.host ?? '127.0.0.1';
  const clientPort = o.clientPort ?? 23790;
  const peerPort = o.peerPort ?? 23800;
  const scheme = o.tls ? 'https' : 'http';
  const endpoint = `${scheme}://${host}:${clientPort}`;
  const dataDir = tempDir('etcd-data');
  const name = o.member?.name ?? `n${process.pid}`;
  const args = [
    '--name', name, '--data-dir', join(dataDir, 'd'), '--logger', 'zap', '--log-level', 'warn', '--unsafe-no-fsync',
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://${host}:${peerPort}`, '--initial-advertise-peer-urls', `http://${host}:${peerPort}`,
    '--initial-cluster', o.member?.initialCluster ?? `${name}=http://${host}:${peerPort}`, '--initial-cluster-state', 'new',
    '--initial-cluster-token', o.member?.token ?? `cts-${process.pid}-${clientPort}`,
    ...(o.tls ? ['--cert-file', o.tls.serverCert, '--key-file', o.tls.serverKey, '--client-cert-auth', '--trusted-ca-file', o.tls.ca] : []),
    ...(o.extraArgs ?? []),
  ];
  let proc: ChildProcess | null = null;
  let stderr = '';
  const tlsFlags = o.tls ? ['--cacert', o.tls.ca, '--cert', o.tls.clientCert, '--key', o.tls.clientKey] : [];
  const etcdctl = (a: string[], input?: string): string => {
    const full = ['--endpoints', endpoint, '--dial-timeout', '2s', '--command-timeout', '5s', ...tlsFlags, ...a];
    return o.netns ? run('ip', ['netns', 'exec', o.netns, 'etcdctl', ...full], { input }) : run('etcdctl', full, { input });
  };
  const launch = async (wait = true): Promise<void> => {
    stderr = '';
    proc = o.netns ? spawn('ip', ['netns', 'exec', o.netns, 'etcd', ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const p = proc;
    live.add(p);
    p.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    p.once('exit', () => live.delete(p));
    if (!wait) return;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`etcd exited (${p.exitCode}) at start: ${stderr}`);
      try {
        etcdctl(o.insecureHealth ? ['--insecure-skip-tls-verify', 'endpoint', 'health'] : ['endpoint', 'health']);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`etcd at ${endpoint} not healthy after 15 s: ${(e as Error).message}; etcd stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    if (!p) return;
    proc = null;
    p.kill('SIGKILL');
    await waitExit(p);
  };
  onCleanup(() => { if (proc) { proc.kill('SIGCONT'); proc.kill('SIGKILL'); } });
  await launch(!o.noHealthWait);
  const pidOf = (): number | undefined => (proc as ChildProcess | null)?.pid;
  return {
    endpoint,
    clientPort,
    netns: o.netns,
    tls: o.tls,
    dataDir,
    etcdctl,
    kill,
    restart: () => launch(!o.member),
    pid: pidOf,
    pause: () => { process.kill(pidOf()!, 'SIGSTOP'); },
    resume: () => { process.kill(pidOf()!, 'SIGCONT'); },
    async stop() {
      await kill();
      rmSync(dataDir, { recursive: true, force: true });
      ownNs?.cleanup();
    },
  };
}

export interface EtcdCluster {
  /** The members' client URLs, comma-separated (as --etcd-endpoints takes them). */
  endpoint: string;
  members: EtcdServer[];
  /** etcdctl against all members. */
  etcdctl(args: string[], input?: string): string;
  /** Index in `members` of the current leader (asked of the running members). */
  leader(): number;
  stop(): Promise<void>;
}

/**
 * A `size`-member etcd in one namespace on one address, member i on client port base+2i and
 * peer port base+2i+1, all with the same TLS. Resolves when the cluster answers through all
 * endpoints.
 */
export async function startEtcdCluster(o: { netns: string; host: string; basePort: number; size: number; tls?: EtcdTls }): Promise<EtcdCluster> {
  const names = Array.from({ length: o.size }, (_, i) => `m${i}-${process.pid}`);
  const port = (i: number, peer: boolean): number => o.basePort + 2 * i + (peer ? 1 : 0);
  const initialCluster = names.map((n, i) => `${n}=http://${o.host}:${port(i, true)}`).join(',');
  const token = `cts-${process.pid}-${o.basePort}-cluster`;
  const members: EtcdServer[] = [];
  for (let i = 0; i < o.size; i++) {
    members.push(await startEtcd({
      netns: o.netns, host: o.host, clientPort: port(i, false), peerPort: port(i, true), tls: o.tls,
      member: { name: names[i]!, initialCluster, token }, noHealthWait: true,
    }));
  }
  const endpoint = members.map((m) => m.endpoint).join(',');
  const tlsFlags = o.tls ? ['--cacert', o.tls.ca, '--cert', o.tls.clientCert, '--key', o.tls.clientKey] : [];
  const etcdctl = (a: string[], input?: string): string =>
    run('ip', ['netns', 'exec', o.netns, 'etcdctl', '--endpoints', endpoint, '--dial-timeout', '2s', '--command-timeout', '5s', ...tlsFlags, ...a], { input });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      etcdctl(['endpoint', 'health', '--cluster']);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd cluster at ${endpoint} not healthy after 20 s: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    endpoint,
    members,
    etcdctl,
    leader() {
      for (let i = 0; i < members.length; i++) {
        if (!members[i]!.pid()) continue;
        try {
          // Member IDs are uint64: keep them as strings (a double would round them).
          const raw = members[i]!.etcdctl(['endpoint', 'status', '-w', 'json']).replace(/"(leader|member_id)":(\d+)/g, '"$1":"$2"');
          const st = JSON.parse(raw)[0].Status;
          if (String(st.leader) === String(st.header.member_id)) return i;
        } catch { /* a member down or without leader */ }
      }
      throw new Error('no member reports itself leader');
    },
    async stop() {
      for (const m of members) await m.stop();
    },
  };
}

/** A client port unlikely to clash with other test processes on loopback. */
export function uniquePorts(slot = 0): { clientPort: number; peerPort: number } {
  const base = 30000 + ((process.pid * 7 + slot * 2) % 20000);
  return { clientPort: base, peerPort: base + 1 };
}
