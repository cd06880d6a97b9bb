// Fast lease writes for scale tests through etcd's JSON gateway (`POST /v3/lease/grant`, then
// `POST /v3/kv/put` with base64 key/value and the lease ID): one short node process inside the
// etcd host's namespace, keep-alive HTTPS with the test's client certificate, a few requests in
// flight. etcdctl would cost one process per key (≈ 50 ms each). Each key gets its own etcd
// lease, as flanneld writes them. The gateway needs the server certificate to carry clientAuth
// (it dials its own gRPC server with it), which makeEtcdTls gives.
import { spawn } from 'node:child_process';
import type { EtcdServer } from './etcd';

export interface GatewayPut {
  key: string;
  value: string;
}

export interface GatewayResult {
  /** etcd lease ID per key (decimal string), in input order. */
  leases: string[];
  /** Date.now() just before each put was sent, in input order. */
  sentAt: number[];
  /** Wall time of the whole run inside the writer, ms. */
  ms: number;
}

// Runs inside the namespace: reads {endpoint, ca, cert, key, ttl, puts, concurrency, gapMs} from
// stdin, prints a GatewayResult as JSON.
const WRITER = `
const https = require('https'); const fs = require('fs');
const o = JSON.parse(fs.readFileSync(0, 'utf8'));
const u = new URL(o.endpoint);
const agent = new https.Agent({ keepAlive: true, maxSockets: o.concurrency, ca: fs.readFileSync(o.ca), cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) });
const post = (path, body) => new Promise((res, rej) => {
  const data = JSON.stringify(body);
  const req = https.request({ host: u.hostname, port: u.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (r) => {
    let b = ''; r.on('data', (d) => b += d); r.on('end', () => {
      if (r.statusCode !== 200) return rej(new Error(path + ' -> HTTP ' + r.statusCode + ': ' + b));
      try { res(JSON.parse(b)); } catch (e) { rej(new Error(path + ': bad JSON ' + b)); }
    });
  });
  req.setTimeout(10000, () => req.destroy(new Error(path + ': no answer in 10 s')));
  req.on('error', rej); req.end(data);
});
const b64 = (s) => Buffer.from(s).toString('base64');
(async () => {
  const t0 = Date.now();
  const leases = new Array(o.puts.length), sentAt = new Array(o.puts.length);
  let next = 0;
  const worker = async () => {
    while (next < o.puts.length) {
      const i = next++; const p = o.puts[i];
      const g = await post('/v3/lease/grant', { TTL: o.ttl });
      if (!g.ID) throw new Error('lease grant gave no ID: ' + JSON.stringify(g));
      sentAt[i] = Date.now();
      await post('/v3/kv/put', { key: b64(p.key), value: b64(p.value), lease: g.ID });
      leases[i] = String(g.ID);
      if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  process.stdout.write(JSON.stringify({ leases, sentAt, ms: Date.now() - t0 }));
  agent.destroy();
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

/**
 * Writes `puts` through the gateway of `etcd` (TLS required), each under its own etcd lease of
 * `ttl` seconds. `concurrency` requests in flight (1 = one by one); `gapMs` pause after each put.
 * Asynchronous, so the test's own event loop (e.g. an `ip monitor` reader) keeps running.
 */
export function gatewayPut(etcd: EtcdServer, puts: GatewayPut[], o: { ttl?: number; concurrency?: number; gapMs?: number } = {}): Promise<GatewayResult> {
  if (!etcd.tls) throw new Error('gatewayPut: the etcd server has no TLS certificates (makeEtcdTls gives the gateway what it needs)');
  const input = JSON.stringify({
    endpoint: etcd.endpoint, ca: etcd.tls.ca, cert: etcd.tls.clientCert, key: etcd.tls.clientKey,
    ttl: o.ttl ?? 3600, puts, concurrency: Math.max(1, o.concurrency ?? 8), gapMs: o.gapMs ?? 0,
  });
  const [cmd, args] = etcd.netns
    ? ['ip', ['netns', 'exec', etcd.netns, process.execPath, '-e', WRITER]]
    : [process.execPath, ['-e', WRITER]];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`etcd gateway writer failed (exit ${code ?? sig}): ${err}`));
      try {
        resolve(JSON.parse(out) as GatewayResult);
      } catch {
        reject(new Error(`etcd gateway writer printed no result: ${out} ${err}`));
      }
    });
    p.stdin.end(input);
  });
}
