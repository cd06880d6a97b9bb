// The etcd v3 client (npm etcd3 over grpc-js): gRPC keepalives so a dead TCP path is noticed
// (etcd3 #153 "RST_STREAM … ETIMEDOUT" after hours), a 5 s deadline on every non-stream call,
// and TLS with per-endpoint identity checks (see tls.ts).
import { readFileSync } from 'fs';
import * as grpc from '@grpc/grpc-js';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { Etcd3, castGrpcError, type IOptions } from 'etcd3';
import { channelFor, diagnoseTls, type TlsMaterial } from './tls';
import { EtcdOptionError, EtcdTlsError, EtcdUnavailableError } from './errors';

interface EtcdClientOptions {
  endpoints: string[];
  cafile?: string;
  certfile?: string;
  keyfile?: string;
  username?: string;
  password?: string;
  dialTimeoutMs?: number;
}

const CALL_DEADLINE_MS = 5000;

interface Endpoint {
  url: string;
  secure: boolean;
  host: string;
  port: number;
}

function parseEndpoint(url: string): Endpoint {
  const m = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d+))?\/?$/.exec(url.trim());
  if (!m) throw new EtcdOptionError(`etcd endpoint ${JSON.stringify(url)} is not scheme://host:port`);
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : 2379;
  if (port < 1 || port > 65535) throw new EtcdOptionError(`etcd endpoint ${url}: port ${port} is out of range`);
  return { url, secure: m[1] === 'https', host, port };
}

function readPem(flag: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new EtcdOptionError(`cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The material and endpoints a client was made from, for error diagnosis. */
interface EtcdClientInfo {
  endpoints: Endpoint[];
  tls: TlsMaterial | null;
}

const infos = new WeakMap<Etcd3, EtcdClientInfo>();

export function createEtcdClient(o: EtcdClientOptions): Etcd3 {
  if (o.endpoints.length === 0) throw new EtcdOptionError('no etcd endpoints given');
  const endpoints = o.endpoints.map(parseEndpoint);
  if ((o.certfile === undefined) !== (o.keyfile === undefined)) {
    throw new EtcdOptionError('--etcd-certfile and --etcd-keyfile must be given together');
  }
  const useTls = endpoints.some((e) => e.secure) || o.cafile !== undefined || o.certfile !== undefined;
  const material: TlsMaterial | null = useTls
    ? { ca: readPem('--etcd-cafile', o.cafile), cert: readPem('--etcd-certfile', o.certfile), key: readPem('--etcd-keyfile', o.keyfile), cafile: o.cafile }
    : null;
  const hostFor = (e: Endpoint): string => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);
  const opts: IOptions = {
    hosts: endpoints.map(hostFor),
    dialTimeout: o.dialTimeoutMs ?? 5000,
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // grpc-js backs reconnects off up to 120 s: after a 30 s outage the next attempt could
      // come a minute after etcd is back. Cap it so the daemon is ready again within seconds.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 3000,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    // Watch-stream reconnects: jittered exponential 100 ms → 5 s as flannel does (etcd3's default
    // grows to 30 s, during which no lease change is seen).
    // (etcd3 1.1.2's typing predates cockatiel 3's factory/backoff split; at run time it calls
    // `.next()` on the factory, which is what cockatiel 3's ExponentialBackoff provides.)
    faultHandling: { watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5000 }) as unknown as IBackoff<unknown> },
    ...(o.username !== undefined ? { auth: { username: o.username, password: o.password ?? '' } } : {}),
  };
  const client = new Etcd3(opts);
  if (material) installTls(client, endpoints, material, opts.grpcOptions as Record<string, unknown>);
  infos.set(client, { endpoints, tls: material });
  return client;
}

// The seam: etcd3 1.1.2 (pinned) builds one set of credentials with the three-argument
// createSsl for all hosts. Each Host object builds its gRPC service clients lazily from its own
// `channelCredentials`/`channelOptions`, and the authenticator dials hosts by address with its
// own `credentials`; replace both right after construction, before any call is made.
function installTls(client: Etcd3, endpoints: Endpoint[], m: TlsMaterial, base: Record<string, unknown>): void {
  const pool = (client as unknown as { pool: { hosts: { host: string; channelCredentials: unknown; channelOptions: unknown; getServiceClient(n: string): unknown }[]; authenticator: Record<string, unknown> } }).pool;
  if (!pool || !Array.isArray(pool.hosts) || pool.hosts.length !== endpoints.length) {
    throw new Error('etcd3 internals changed: cannot install per-endpoint TLS verification');
  }
  pool.hosts.forEach((h, i) => {
    const ch = channelFor(endpoints[i]!.host, m);
    h.channelCredentials = ch.credentials;
    h.channelOptions = { ...base, ...ch.options };
  });
  // Authentication calls are made by etcd3 with a bare service client (shared credentials, no
  // channel options, so no target-name override): make them through the host's own Auth service
  // client instead, which carries this endpoint's TLS material and checks.
  const auth = pool.authenticator;
  if (typeof auth.getCredentialsFromHost !== 'function') throw new Error('etcd3 internals changed: cannot install TLS on authentication');
  auth.getCredentialsFromHost = (addr: string, name: string, password: string, callOptions: unknown): Promise<string> => {
    const h = pool.hosts.find((x) => x.host === addr);
    if (!h) return Promise.reject(new Error(`etcd authentication: unknown endpoint ${addr}`));
    const svc = h.getServiceClient('Auth') as unknown as {
      authenticate(req: unknown, md: grpc.Metadata, o: unknown, cb: (err: Error | null, res?: { token: string }) => void): void;
    };
    return new Promise((resolve, reject) =>
      svc.authenticate({ name, password }, new grpc.Metadata(), callOptions ?? {}, (err, res) => (err ? reject(castGrpcError(err)) : resolve(res!.token))),
    );
  };
}

/** True for an error that means "could not talk to etcd" rather than "etcd said no". */
export function isConnectionError(e: unknown): boolean {
  const err = e as { name?: string; message?: string; code?: number } | null;
  if (!err) return false;
  if (err instanceof EtcdUnavailableError || err instanceof EtcdTlsError) return true;
  return (
    /GRPCConnectFailedError|GRPCUnavailableError|GRPCDeadlineExceededError|BrokenCircuitError|ClientClosedError/.test(err.name ?? '') ||
    /No connection established|UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Connection dropped|Failed to connect|circuit/i.test(err.message ?? '')
  );
}

/**
 * Maps a failed call to a typed error: EtcdTlsError when a TLS check of an endpoint is what fails,
 * EtcdUnavailableError for any other connection failure, the error itself otherwise.
 */
export async function explainEtcdError(client: Etcd3, e: unknown): Promise<Error> {
  const err = e instanceof Error ? e : new Error(String(e));
  if (err instanceof EtcdTlsError || err instanceof EtcdUnavailableError) return err;
  if (!isConnectionError(err)) return err;
  const info = infos.get(client);
  if (!info) return err;
  if (info.tls) {
    for (const ep of info.endpoints) {
      const t = await diagnoseTls(ep.host, ep.port, info.tls);
      if (t) return t;
    }
  }
  return new EtcdUnavailableError(info.endpoints.map((x) => x.url), err.message.split('\n')[0]!);
}
