import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CmdArgs, Command } from '../../../shared/cni/plugin';
import type { NetConf, Result } from '../../../shared/cni/types';
import { hostLocalPlugin as hl, lockCniError } from '../../../plugins/host-local/plugin';
import { CniError } from '../../../shared/cni/errors';
import { LockError, LockTimeoutError } from '../../../shared/state/lock';
import { GC_GRACE_MS } from '../../../shared/state/gc-grace';

interface Ctx { dataDir: string; root: string }
function ctx(t: { after(fn: () => void): void }): Ctx {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-plugin-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return { root, dataDir: path.join(root, 'networks') };
}

function call(command: Command, conf: NetConf, o: { id?: string; ifname?: string; args?: string } = {}): CmdArgs {
  return {
    command,
    containerId: o.id ?? 'dummy',
    netns: '/var/run/netns/test',
    ifname: o.ifname ?? 'eth0',
    args: o.args ?? '',
    path: [],
    stdin: Buffer.from(JSON.stringify(conf)),
    conf,
    env: {},
  };
}

const ROUTES = [{ dst: '0.0.0.0/0' }, { dst: '::/0' }, { dst: '192.168.0.0/16', gw: '1.1.1.1' }, { dst: '2001:db8:2::0/64', gw: '2001:db8:3::1' }];

function dualConf(c: Ctx, extra: Record<string, unknown> = {}, ipamExtra: Record<string, unknown> = {}): NetConf {
  const resolv = path.join(c.root, 'resolv.conf');
  fs.writeFileSync(resolv, 'nameserver 192.0.2.3\ndomain example.com\nsearch example.com\noptions ndots:2\n');
  return {
    cniVersion: '1.1.0',
    name: 'mynet',
    type: 'ipvlan',
    master: 'foo0',
    ipam: {
      type: 'host-local',
      dataDir: c.dataDir,
      resolvConf: resolv,
      ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::0/64' }]],
      routes: ROUTES,
      ...ipamExtra,
    },
    ...extra,
  } as NetConf;
}
const v4Conf = (c: Ctx, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): NetConf =>
  ({ cniVersion: '1.1.0', name: 'mynet', type: 'bridge', ipam: { type: 'host-local', subnet: '10.1.2.0/24', dataDir: c.dataDir, ...ipam }, ...extra }) as NetConf;

const files = (c: Ctx): string[] => (fs.existsSync(path.join(c.dataDir, 'mynet')) ? fs.readdirSync(path.join(c.dataDir, 'mynet')).sort() : []);
const read = (c: Ctx, f: string): string => fs.readFileSync(path.join(c.dataDir, 'mynet', f), 'utf8');
const cniErr = (code: number, msg: string | RegExp) => (e: { code?: number; message: string }) =>
  e.code === code && (typeof msg === 'string' ? e.message === msg : msg.test(e.message));

test('ADD/CHECK/DEL with two range sets, routes and resolvConf', async (t) => {
  const c = ctx(t);
  const conf = dualConf(c);
  const r = (await hl.add(call('ADD', conf))) as Result;
  assert.deepEqual(r, {
    cniVersion: '1.1.0',
    ips: [
      { address: '10.1.2.2/24', gateway: '10.1.2.1' },
      { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' },
    ],
    routes: ROUTES,
    dns: { nameservers: ['192.0.2.3'], domain: 'example.com', search: ['example.com'], options: ['ndots:2'] },
  });
  assert.equal(read(c, '10.1.2.2'), 'dummy\r\neth0');
  assert.equal(read(c, '2001:db8:1::2'), 'dummy\r\neth0');
  assert.equal(read(c, 'last_reserved_ip.0'), '10.1.2.2');
  assert.equal(read(c, 'last_reserved_ip.1'), '2001:db8:1::2');
  await hl.check(call('CHECK', { ...conf, prevResult: r }));
  await hl.del(call('DEL', conf));
  assert.deepEqual(files(c), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  await assert.rejects(hl.check(call('CHECK', { ...conf, prevResult: r })), cniErr(999, 'host-local: Failed to find address added by container dummy'));
  await hl.del(call('DEL', conf)); // idempotent
});

test('repeated ADD for the same (id, ifname) fails; another container gets the next IP', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  assert.equal(((await hl.add(call('ADD', conf))) as Result).ips![0]!.address, '10.1.2.2/24');
  await assert.rejects(hl.add(call('ADD', conf)), cniErr(999, 'failed to allocate for range 0: 10.1.2.2 has been allocated to dummy, duplicate allocation is not allowed'));
  assert.equal(((await hl.add(call('ADD', conf, { id: 'dummy1' }))) as Result).ips![0]!.address, '10.1.2.3/24');
  await assert.rejects(hl.add(call('ADD', conf, { id: 'dummy1' })), /10\.1\.2\.3 has been allocated to dummy1/);
  // Same container, other interface: allowed.
  assert.equal(((await hl.add(call('ADD', conf, { ifname: 'net1' }))) as Result).ips![0]!.address, '10.1.2.4/24');
  await hl.del(call('DEL', conf));
  await hl.del(call('DEL', conf, { id: 'dummy1' }));
  assert.deepEqual(files(c), ['10.1.2.4', 'last_reserved_ip.0', 'lock']);
});

test('DEL: unknown id succeeds, legacy id-only files are released, a missing network dir is not created', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  await hl.del(call('DEL', conf, { id: 'nobody' }));
  assert.equal(fs.existsSync(c.dataDir), false);
  fs.mkdirSync(path.join(c.dataDir, 'mynet'), { recursive: true });
  fs.writeFileSync(path.join(c.dataDir, 'mynet', '10.1.2.9'), 'dummy');
  await hl.del(call('DEL', conf, { id: 'nobody' }));
  await hl.del(call('DEL', conf));
  assert.deepEqual(files(c), ['lock']);
  // DEL works even when the ranges became invalid.
  await hl.del(call('DEL', v4Conf(c, {}, { subnet: '10.1.2.1/24' })));
});

test('whitespace in the container ID is trimmed in the file, and DEL finds it', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  await hl.add(call('ADD', conf, { id: '   dummy\n ' }));
  assert.equal(read(c, '10.1.2.2'), 'dummy\r\neth0');
  await hl.del(call('DEL', conf, { id: '   dummy\n ' }));
  assert.deepEqual(files(c), ['last_reserved_ip.0', 'lock']);
});

test('requested IPs: CNI_ARGS, args.cni.ips, runtimeConfig.ips across families', async (t) => {
  const c = ctx(t);
  let r = (await hl.add(call('ADD', v4Conf(c), { args: 'IgnoreUnknown=1;IP=10.1.2.88' }))) as Result;
  assert.equal(r.ips![0]!.address, '10.1.2.88/24');
  const conf = dualConf(c, { args: { cni: { ips: ['10.2.2.50/24'] } }, runtimeConfig: { ips: ['2001:db8:1::50'] } });
  r = (await hl.add(call('ADD', conf, { id: 'multi', args: 'IP=10.1.2.99' }))) as Result;
  assert.deepEqual(r.ips!.map((x) => x.address), ['10.2.2.50/24', '2001:db8:1::50/64']);
  assert.equal(read(c, '10.2.2.50'), 'multi\r\neth0');
  assert.equal(fs.existsSync(path.join(c.dataDir, 'mynet', '10.1.2.99')), false, 'CNI_ARGS ignored when args/runtimeConfig request IPs');
});

test('a requested IP no range set takes → error and nothing stays reserved', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c, { runtimeConfig: { ips: ['10.1.2.10', '10.1.2.11'] } });
  await assert.rejects(hl.add(call('ADD', conf)), cniErr(999, 'failed to allocate all requested IPs: 10.1.2.11'));
  // Refused before any reservation: not even the round-robin hint moved.
  assert.deepEqual(files(c), ['lock']);
});

test('0.2.0 config with two IPv4 range sets is refused', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c, { cniVersion: '0.2.0' }, { ranges: [[{ subnet: '10.2.2.0/24' }]] });
  await assert.rejects(hl.add(call('ADD', conf)), cniErr(7, 'CNI version 0.2.0 does not support more than 1 address per family'));
});

test('CHECK: the prevResult address must still be reserved for this attachment', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c, { cniVersion: '1.0.0' });
  const r = (await hl.add(call('ADD', conf))) as Result;
  await hl.check(call('CHECK', { ...conf, prevResult: r }));
  // An address outside our ranges in prevResult is not our business.
  await hl.check(call('CHECK', { ...conf, prevResult: { ...r, ips: [...r.ips!, { address: '172.16.0.5/16' }] } }));
  fs.renameSync(path.join(c.dataDir, 'mynet', '10.1.2.2'), path.join(c.dataDir, 'mynet', '10.1.2.77'));
  await assert.rejects(hl.check(call('CHECK', { ...conf, prevResult: r })), cniErr(999, 'host-local: address 10.1.2.2 of container dummy is not reserved for it'));
  await assert.rejects(hl.check(call('CHECK', conf, { ifname: 'eth9' })), /Failed to find address added by container dummy/);
});

/** Sets every file of the network dir `ageMs` into the past (mtime), as if reserved back then. */
function age(c: Ctx, ageMs: number): void {
  const when = new Date(Date.now() - ageMs);
  for (const f of files(c)) fs.utimesSync(path.join(c.dataDir, 'mynet', f), when, when);
}

test('GC releases attachments not listed, accepts cni.dev/attachments, empty list releases all', async (t) => {
  const c = ctx(t);
  const conf = dualConf(c);
  await hl.add(call('ADD', conf, { id: 'a' }));
  await hl.add(call('ADD', conf, { id: 'b' }));
  await hl.add(call('ADD', conf, { id: 'c' }));
  fs.writeFileSync(path.join(c.dataDir, 'mynet', '10.2.2.200'), 'b'); // legacy, id b is valid
  age(c, GC_GRACE_MS + 1000); // reserved long ago: past the grace an ADD in flight gets
  await hl.gc!(call('GC', {
    ...conf,
    'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    'cni.dev/attachments': [{ containerID: 'b', ifname: 'eth0' }],
  }, { id: '', ifname: '' }));
  assert.deepEqual(files(c), ['10.1.2.2', '10.1.2.3', '10.2.2.200', '2001:db8:1::2', '2001:db8:1::3', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  await hl.gc!(call('GC', { ...conf, 'cni.dev/valid-attachments': [] }, { id: '', ifname: '' }));
  assert.deepEqual(files(c), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  // The next ADD continues round-robin after the GC.
  assert.equal(((await hl.add(call('ADD', conf, { id: 'd' }))) as Result).ips![0]!.address, '10.1.2.5/24');
});

test('GC vs an ADD in flight: a reservation younger than the grace stays, the same one backdated past it goes', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  // The ADD has reserved (host-local returned) but the runtime does not know the attachment yet:
  // a GC issued now lists nothing.
  await hl.add(call('ADD', conf, { id: 'inflight' }));
  const gcNothingValid = (extra: Record<string, unknown>) => hl.gc!(call('GC', { ...conf, ...extra }, { id: '', ifname: '' }));
  await gcNothingValid({ 'cni.dev/valid-attachments': [] });
  assert.equal(read(c, '10.1.2.2'), 'inflight\r\neth0', 'a GC during the ADD released its address');
  // Another ADD must not be handed the same address.
  assert.equal(((await hl.add(call('ADD', conf, { id: 'other' }))) as Result).ips![0]!.address, '10.1.2.3/24');
  age(c, GC_GRACE_MS - 5000);
  await gcNothingValid({ 'cni.dev/valid-attachments': [] });
  assert.deepEqual(files(c), ['10.1.2.2', '10.1.2.3', 'last_reserved_ip.0', 'lock'], 'still inside the grace');
  age(c, GC_GRACE_MS + 1000);
  // An absent list means the same as an empty one: no attachment is valid.
  await gcNothingValid({});
  assert.deepEqual(files(c), ['last_reserved_ip.0', 'lock']);
});

test('GC: missing network dir is success and creates nothing; bad attachment entries are config errors', async (t) => {
  const c = ctx(t);
  await hl.gc!(call('GC', { ...v4Conf(c), 'cni.dev/valid-attachments': [] }, { id: '', ifname: '' }));
  assert.equal(fs.existsSync(c.dataDir), false);
  await assert.rejects(
    hl.gc!(call('GC', { ...v4Conf(c), 'cni.dev/valid-attachments': [{ containerID: 5 }] } as unknown as NetConf, { id: '', ifname: '' })),
    cniErr(7, /cni\.dev\/valid-attachments\[0\]\.containerID/),
  );
  // Refused before anything is touched: the reservation of a live pod stays.
  await hl.add(call('ADD', v4Conf(c), { id: 'live' }));
  age(c, GC_GRACE_MS + 1000);
  for (const bad of ['all', { containerID: 'live', ifname: 'eth0' }, [{ containerId: 'live', ifname: 'eth0' }]]) {
    await assert.rejects(hl.gc!(call('GC', { ...v4Conf(c), 'cni.dev/attachments': bad } as unknown as NetConf, { id: '', ifname: '' })), cniErr(7, /^invalid config: cni\.dev\/attachments/));
  }
  assert.deepEqual(files(c), ['10.1.2.2', 'last_reserved_ip.0', 'lock']);
});

test('STATUS: ready creates the dir; a path that cannot be a directory → code 50 naming path and errno', async (t) => {
  const c = ctx(t);
  await hl.status!(call('STATUS', v4Conf(c), { id: '', ifname: '' }));
  assert.deepEqual(files(c), ['lock']);
  fs.writeFileSync(path.join(c.root, 'file'), '');
  const bad = v4Conf(c, {}, { dataDir: path.join(c.root, 'file', 'networks') });
  await assert.rejects(hl.status!(call('STATUS', bad, { id: '', ifname: '' })),
    cniErr(50, `host-local: state directory ${path.join(c.root, 'file', 'networks', 'mynet')} is not usable: ENOTDIR: not a directory, mkdir '${path.join(c.root, 'file', 'networks', 'mynet')}'`));
});

test('ADD: an unusable data dir is a 999 error naming the path', async (t) => {
  const c = ctx(t);
  fs.writeFileSync(path.join(c.root, 'file'), '');
  await assert.rejects(hl.add(call('ADD', v4Conf(c, {}, { dataDir: path.join(c.root, 'file') }))), cniErr(999, /^host-local: state directory .*\/file\/mynet: ENOTDIR/));
});

test('parallel in-process ADDs on one network get distinct addresses', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  const rs = (await Promise.all(Array.from({ length: 20 }, (_, i) => hl.add(call('ADD', conf, { id: `c${i}` }))))) as Result[];
  const addrs = new Set(rs.map((r) => r.ips![0]!.address));
  assert.equal(addrs.size, 20);
  assert.equal(files(c).length, 22);
});

test('ADDs from several processes at once: distinct addresses, none lost', async (t) => {
  const c = ctx(t);
  const conf = v4Conf(c);
  const plugin = path.resolve(__dirname, '../../../plugins/host-local/plugin.js');
  const script = (p: number) => `
    const { hostLocalPlugin } = require(${JSON.stringify(plugin)});
    const conf = ${JSON.stringify(conf)};
    (async () => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        const r = await hostLocalPlugin.add({ command: 'ADD', containerId: 'p${p}-' + i, netns: '', ifname: 'eth0', args: '',
          path: [], stdin: Buffer.alloc(0), conf, env: {} });
        out.push(r.ips[0].address);
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String(e)); process.exit(1); });`;
  const runs = Array.from({ length: 6 }, (_, p) => new Promise<string[]>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script(p)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}: ${err}`))));
  }));
  const all = (await Promise.all(runs)).flat();
  assert.equal(all.length, 30);
  assert.equal(new Set(all).size, 30);
  assert.equal(files(c).length, 32);
});

// The lock throws typed errors; host-local gives them their CNI codes, keeping their text.
test('lock errors: a timeout is 11 (try again later), any other lock failure 999, others are not the lock\'s', () => {
  const timeout = lockCniError(new LockTimeoutError('/d/net/lock', 60000, [42]));
  assert.ok(timeout instanceof CniError);
  assert.equal(timeout.code, 11);
  assert.equal(timeout.message, 'timed out after 60000 ms waiting for the lock on /d/net/lock (held by pid 42)');
  assert.equal(lockCniError(new LockTimeoutError('/d/net/lock', 100, []))?.message, 'timed out after 100 ms waiting for the lock on /d/net/lock');
  const other = lockCniError(new LockError('cannot lock /d/net/lock: flock: Input/output error (EIO)', '/d/net/lock', undefined));
  assert.equal(other?.code, 999);
  assert.equal(other?.message, 'cannot lock /d/net/lock: flock: Input/output error (EIO)');
  assert.equal(lockCniError(new Error('EIO')), undefined);
});
