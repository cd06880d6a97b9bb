// Small wrappers for the test oracle and topology commands (ip, bridge, iptables-save, …).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function sh(cmd: string, args: string[], opts: { input?: string } = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Like sh() but returns the exit status instead of throwing. */
export function shStatus(cmd: string, args: string[]): { code: number; out: string; err: string } {
  try {
    return { code: 0, out: sh(cmd, args), err: '' };
  } catch (e) {
    const x = e as { status?: number; stdout?: string; stderr?: string };
    return { code: x.status ?? -1, out: String(x.stdout ?? ''), err: String(x.stderr ?? '') };
  }
}

export const inNs = (ns: string, cmd: string, args: string[]): string => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

export function ipJ(ns: string, args: string[]): any {
  return JSON.parse(sh('ip', ['-n', ns, '-j', ...args]) || '[]');
}

/** One ICMP echo from `ns` to `ip` (busybox ping: the image has no iputils). */
export function ping(ns: string, ip: string): boolean {
  return shStatus('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', '1', '-W', '2', ip]).code === 0;
}

/** A TCP server in `ns` answering every connection with `reply`; kill() it when done. */
export function tcpServer(ns: string, port: number, reply: string): ChildProcess {
  const code = `require('net').createServer(s=>s.end(${JSON.stringify(reply)})).listen(${port},'::',()=>console.log('ready'))`;
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

export async function waitReady(p: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 5000);
    p.stdout!.once('data', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Connects from `ns` to host:port and returns what the server sent ('' on failure). */
export function tcpFetch(ns: string, host: string, port: number): string {
  const code = `const s=require('net').connect(${port},${JSON.stringify(host)});let b='';s.on('data',d=>b+=d);s.on('end',()=>{process.stdout.write(b);process.exit(0)});s.on('error',e=>{process.stderr.write(e.message);process.exit(1)});setTimeout(()=>process.exit(2),3000)`;
  const r = shStatus('ip', ['netns', 'exec', ns, process.execPath, '-e', code]);
  return r.code === 0 ? r.out : '';
}
