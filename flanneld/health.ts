// /healthz, /readyz and /metrics on --healthz-ip:--healthz-port (off when the port is 0), and
// /debug/state (desired vs actual kernel objects) answered to loopback clients only, since it
// lists the cluster's node addresses.
import * as http from 'node:http';
import type { LogFn } from './log';

interface HealthSource {
  /** Why the daemon is not ready ([] = ready). */
  notReadyReasons(): string[];
  metricsText(): string;
  stateDump(): unknown;
}

export function startHealthServer(ip: string, port: number, src: HealthSource, log: LogFn): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    switch (url) {
      // Liveness: the event loop answers. Everything that can be wrong while it does (etcd, the
      // rules, the kernel) is readiness, with its reason.
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz': {
        const why = src.notReadyReasons();
        return why.length ? send(503, `not ready: ${why.join('; ')}\n`) : send(200, 'ready\n');
      }
      case '/metrics':
        return send(200, src.metricsText(), 'text/plain; version=0.0.4; charset=utf-8');
      case '/debug/state':
        if (!isLoopback(req.socket.remoteAddress)) return send(403, '/debug/state answers loopback clients only\n');
        return send(200, JSON.stringify(src.stateDump(), null, 2) + '\n', 'application/json');
      default:
        return send(404, 'not found: try /healthz, /readyz, /metrics, /debug/state\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`--healthz-ip ${ip} --healthz-port ${port}: cannot listen: ${(e as Error).message}`)));
    server.listen(port, ip, () => {
      log('info', `health: listening on ${ip.includes(':') ? `[${ip}]` : ip}:${port} (/healthz, /readyz, /metrics, /debug/state)`);
      resolve(server);
    });
  });
}

const isLoopback = (a: string | undefined): boolean => !!a && (a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.'));
