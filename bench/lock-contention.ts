// Host-local under lock contention with the reference (issue 16): Go host-local processes keep
// the network's lock busy (their waiters block in flock), while ours runs ADD+DEL one after
// another on the same network. Reports our per-call latency next to Go's in the same storm.
// Usage: node out/bench/lock-contention.js [ours-bin-dir ...] (default dist/standalone/bin).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stats } from './stats';

const ROOT = path.resolve(__dirname, '../..');
const GO = '/usr/lib/cni/host-local';
const STREAMS = Number(process.env.LC_STREAMS ?? 6);
// LC_HAMMER=n: instead of Go streams, n processes that take the lock with a blocking flock,
// hold it 5 ms, release and queue again at once (how busy blocking waiters look to a poller).
const HAMMER = Number(process.env.LC_HAMMER ?? 0);
const ADDON = path.join(ROOT, 'build/Release/cni_native.node');

function hammer(lockFile: string): { stop: () => Promise<void> } {
  const script = `const a=require(${JSON.stringify(ADDON)}),fs=require('fs');const fd=fs.openSync(${JSON.stringify(lockFile)},fs.constants.O_RDWR|fs.constants.O_CREAT,0o644);const s=new Int32Array(new SharedArrayBuffer(4));for(;;){a.flock(fd,2);Atomics.wait(s,0,0,5);a.flock(fd,8);}`;
  const c = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  return { stop: () => new Promise((r) => { c.on('exit', () => r()); c.kill('SIGKILL'); }) };
}
const CALLS = Number(process.env.LC_CALLS ?? 40);

function conf(dataDir: string): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'lc', type: 'host-local', ipam: { type: 'host-local', subnet: '10.254.0.0/16', dataDir } });
}

function callEnv(cmd: string, id: string): NodeJS.ProcessEnv {
  return { CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
}

/** One Go stream: ADD then DEL of its own containers, until `stop()`. */
function goStream(n: number, dataDir: string, lat: number[]): { stop: () => Promise<void> } {
  let running = true;
  let i = 0;
  const one = (cmd: string, id: string): Promise<void> =>
    new Promise((resolve) => {
      const t = performance.now();
      const c = spawn(GO, [], { env: callEnv(cmd, id), stdio: ['pipe', 'ignore', 'ignore'] });
      c.on('close', () => {
        lat.push(performance.now() - t);
        resolve();
      });
      c.stdin.end(conf(dataDir));
    });
  const done = (async () => {
    while (running) {
      const id = `go${n}-${i++}`;
      await one('ADD', id);
      await one('DEL', id);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function measure(bin: string): Promise<{ ours: ReturnType<typeof stats>; go: ReturnType<typeof stats>; oursMax: number }> {
  const dataDir = fs.mkdtempSync('/tmp/cts-lockbench-');
  const goLat: number[] = [];
  const ours: number[] = [];
  fs.mkdirSync(path.join(dataDir, 'lc'));
  const streams = HAMMER > 0
    ? Array.from({ length: HAMMER }, () => hammer(path.join(dataDir, 'lc', 'lock')))
    : Array.from({ length: STREAMS }, (_, n) => goStream(n, dataDir, goLat));
  try {
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < CALLS; i++) {
      for (const cmd of ['ADD', 'DEL']) {
        const t = performance.now();
        // spawnSync would block the Go streams' event loop: use spawn and await.
        await new Promise<void>((resolve, reject) => {
          const c = spawn(path.join(bin, 'host-local'), [], { env: callEnv(cmd, `ours-${i}`), stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ours ${cmd} failed: ${out}`))));
          c.stdin.end(conf(dataDir));
        });
        ours.push(performance.now() - t);
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return { ours: stats(ours), go: stats(goLat.length ? goLat : [0]), oursMax: Math.max(...ours) };
}

async function main(): Promise<void> {
  if (!fs.existsSync(GO)) throw new Error(`${GO} missing (Debian containernetworking-plugins)`);
  const bins = process.argv.slice(2);
  if (bins.length === 0) bins.push(path.join(ROOT, 'dist/standalone/bin'));
  const storm = HAMMER > 0 ? `${HAMMER} blocking lock holders (5 ms each, re-queueing at once)` : `${STREAMS} Go host-local streams run ADD/DEL`;
  process.stdout.write(`host-local ADD/DEL latency (ms) while ${storm} on the same network; ${CALLS} of ours each\n\n`);
  process.stdout.write('| ours | ours median | p95 | max | Go median (same storm) | Go p95 |\n|---|---|---|---|---|---|\n');
  for (const b of bins) {
    const r = await measure(b);
    process.stdout.write(`| ${b.startsWith(ROOT) ? path.relative(ROOT, b) : b} | ${r.ours.median} | ${r.ours.p95} | ${r.ours.max} | ${r.go.median} | ${r.go.p95} |\n`);
  }
  spawnSync('true');
}

main().catch((e) => {
  process.stderr.write(`lock-contention: ${(e as Error).stack}\n`);
  process.exit(1);
});
