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

/** The peer's address as a server sees it (IPv4-mapped IPv6 shown as plain IPv4). */
const PEER = `a=>String(a).replace(/^::ffff:/,'')`;

/** A TCP server in `ns` answering every connection with `<tag> <- <client address>`; kill() it when done. */
export function tcpWhoServer(ns: string, port: number, tag: string): ChildProcess {
  const code = `const p=${PEER};require('net').createServer(s=>s.end(${JSON.stringify(tag)}+' <- '+p(s.remoteAddress))).listen(${port},'::',()=>console.log('ready'))`;
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** A UDP server in `ns` answering each datagram with `<tag> <- <addr>:<port>: <datagram>`; kill() it when done. */
export function udpEchoServer(ns: string, port: number, tag: string): ChildProcess {
  const code = `const p=${PEER};const s=require('dgram').createSocket('udp6');s.on('message',(m,r)=>s.send(${JSON.stringify(tag)}+' <- '+p(r.address)+':'+r.port+': '+m,r.port,r.address));s.bind(${port},'::',()=>console.log('ready'))`;
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * Sends `msg` from `ns` to host:port over UDP (from source port `srcPort` when given, so
 * repeated calls are one conntrack flow), resending every 500 ms, and returns the first
 * reply ('' when none came within `timeoutMs`).
 */
export function udpExchange(ns: string, host: string, port: number, msg: string, opts: { srcPort?: number; timeoutMs?: number } = {}): string {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const code = `const s=require('dgram').createSocket({type:'${type}',reuseAddr:true});
s.on('message',m=>{process.stdout.write(String(m));process.exit(0)});s.on('error',e=>{process.stderr.write(e.message);process.exit(1)});
const send=()=>s.send(${JSON.stringify(msg)},${port},${JSON.stringify(host)});
s.bind(${opts.srcPort ?? 0},()=>{send();setInterval(send,500)});setTimeout(()=>process.exit(2),${opts.timeoutMs ?? 2000})`;
  const r = shStatus('ip', ['netns', 'exec', ns, process.execPath, '-e', code]);
  return r.code === 0 ? r.out : '';
}
