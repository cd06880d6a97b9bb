// sd_notify through the addon, received by an independent python3 AF_UNIX/SOCK_DGRAM socket:
// a path socket and an abstract one ('@name', systemd's two $NOTIFY_SOCKET forms).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { notifyReady, notifyStatus, notifyStopping } from '../../../flanneld/notify';

const RECEIVER = `
import socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + name[1:] if name.startswith('@') else name)
s.settimeout(10)
sys.stdout.write('ready\\n'); sys.stdout.flush()
n = int(sys.argv[2])
for _ in range(n):
    sys.stdout.write(repr(s.recv(65536)) + '\\n')
sys.stdout.flush()
`;

/** Starts a receiver for n datagrams; resolves once it is bound, with a promise of its output. */
async function receiver(name: string, n: number): Promise<{ done: Promise<string[]> }> {
  const p = spawn('python3', ['-c', RECEIVER, name, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise<string[]>((resolve, reject) => {
    p.on('exit', (code) => (code === 0 ? resolve(out.split('\n').slice(1).filter(Boolean)) : reject(new Error(`receiver exit ${code}: ${err}`))));
  });
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      if (out.startsWith('ready')) resolve();
    });
    p.on('exit', () => reject(new Error(`receiver ended before binding: ${err}`)));
  });
  // Wrapped: an async function returning a promise would wait for it (the datagrams).
  return { done };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cts-notify-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('flanneld notify (sd_notify)', () => {
  it('sends READY=1, STATUS and STOPPING to a path socket', async () => {
    const sock = path.join(dir, 'notify.sock');
    const { done: got } = await receiver(sock, 3);
    const env = { NOTIFY_SOCKET: sock };
    assert.equal(notifyReady(undefined, env), true);
    assert.equal(notifyStatus('leases: 3\nreconciled', env), true);
    assert.equal(notifyStopping(env), true);
    assert.deepEqual(await got, ["b'READY=1'", "b'STATUS=leases: 3 reconciled'", "b'STOPPING=1'"]);
  });

  it('sends to an abstract socket (@name), READY with a status', async () => {
    const name = `@cts-notify-${process.pid}-${Date.now()}`;
    const { done: got } = await receiver(name, 1);
    assert.equal(notifyReady('subnet 10.5.52.0/24', { NOTIFY_SOCKET: name }), true);
    assert.deepEqual(await got, ["b'READY=1\\nSTATUS=subnet 10.5.52.0/24'"]);
  });

  it('is a no-op without $NOTIFY_SOCKET', () => {
    assert.equal(notifyReady(undefined, {}), false);
    assert.equal(notifyStatus('x', {}), false);
  });

  it('reports a socket nobody listens on with its errno', () => {
    assert.throws(() => notifyReady(undefined, { NOTIFY_SOCKET: path.join(dir, 'absent.sock') }), (e: { code?: string }) => e.code === 'ENOENT');
    assert.throws(() => notifyReady(undefined, { NOTIFY_SOCKET: `@cts-notify-absent-${process.pid}` }), (e: { code?: string }) => e.code === 'ECONNREFUSED');
    assert.throws(() => notifyReady(undefined, { NOTIFY_SOCKET: 'relative.sock' }), TypeError);
  });
});
