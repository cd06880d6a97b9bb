// flanneld's etcd v3 subnet manager against a real throw-away etcd on 127.0.0.1 (high ports unique
// to this process), with etcdctl as the independent oracle. Each test has its own key prefix.
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createEtcdSubnetManager, type SubnetManager } from '../../flanneld/subnet/etcd-manager';
import { ConfigNotFoundError, OutOfSubnetsError } from '../../flanneld/subnet/errors';
import { EtcdTlsError, EtcdUnavailableError } from '../../flanneld/etcd/errors';
import { createEtcdClient, explainEtcdError } from '../../flanneld/etcd/client';
import { mustParseCIDR, mustParseIP, formatCIDR } from '../../shared/ip';
import type { Lease, LeaseAttrs, LeaseEvent, NetworkConfig } from '../../flanneld/types';
import { cleanupAllNetns } from '../helpers/netns';
import { makeCA, makeEtcdTls, startEtcd, uniquePorts, type EtcdServer } from '../helpers/etcd';

let etcd: EtcdServer;
let seq = 0;
const managers: SubnetManager[] = [];
const logs: string[] = [];

before(async () => {
  etcd = await startEtcd(uniquePorts(0));
});
after(async () => {
  for (const m of managers) await m.close().catch(() => undefined);
  await etcd?.stop();
  cleanupAllNetns();
});

const newPrefix = (): string => `/cts${process.pid}-${++seq}/network`;

function manager(prefix: string, o: { ttl?: number; margin?: number } = {}): SubnetManager {
  const m = createEtcdSubnetManager({
    endpoints: [etcd.endpoint],
    prefix,
    ttlSeconds: o.ttl ?? 600,
    renewMarginSeconds: o.margin ?? 60,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  managers.push(m);
  return m;
}

function config(min = '10.5.1.0', max = '10.5.255.0'): NetworkConfig {
  return {
    enableIPv4: true,
    enableIPv6: false,
    enableNFTables: false,
    plans: { 4: { network: mustParseCIDR('10.5.0.0/16'), subnetLen: 24, subnetMin: mustParseIP(min), subnetMax: mustParseIP(max) } },
    backend: { type: 'vxlan', raw: { Type: 'vxlan' } },
  };
}

function attrs(ip: string, nodeId?: string): LeaseAttrs {
  return { publicIP: { 4: mustParseIP(ip) }, backendType: 'vxlan', backendData: { 4: { VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' } }, ...(nodeId ? { nodeId } : {}) };
}

// Lease IDs exceed 2^53: keep them as strings when parsing etcdctl's JSON.
function getJson(key: string): { kvs?: { key: string; value: string; lease?: string }[] } {
  return JSON.parse(etcd.etcdctl(['get', key, '-w', 'json']).replace(/"lease":(\d+)/g, '"lease":"$1"'));
}
const b64 = (s: string): string => Buffer.from(s, 'base64').toString();

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('flanneld etcd subnet manager', () => {
  test('missing config → ConfigNotFoundError naming the full key and the v3 API', async () => {
    const p = newPrefix();
    await assert.rejects(manager(p).getNetworkConfig(), (e: Error) => {
      assert.ok(e instanceof ConfigNotFoundError);
      assert.match(e.message, new RegExp(`${p}/config`));
      assert.match(e.message, /etcdctl put/);
      return true;
    });
    etcd.etcdctl(['put', `${p}/config`, '{"Network":"10.5.0.0/16"}']);
    assert.equal(await manager(p).getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
  });

  test('create a lease: flannel key and value, attached to an etcd lease with the TTL', async () => {
    const p = newPrefix();
    const m = manager(p, { ttl: 300 });
    const before = m.status().rpcCount;
    const l = await m.acquireLease(config(), attrs('192.168.64.3', 'node-a'), {});
    assert.match(l.keyName, /^10\.5\.\d+\.0-24$/);
    const kv = getJson(`${p}/subnets/${l.keyName}`).kvs![0]!;
    assert.equal(b64(kv.value), '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"},"NodeID":"node-a"}');
    assert.equal(kv.lease, l.etcdLease);
    const ttl = etcd.etcdctl(['lease', 'timetolive', BigInt(l.etcdLease).toString(16)]);
    const left = Number(/remaining\((\d+)s\)/.exec(ttl)![1]);
    assert.ok(left > 290 && left <= 300, ttl);
    // list + grant + txn
    assert.equal(m.status().rpcCount - before, 3);
    assert.equal(m.status().connected, true);
  });

  test('restart with the same NodeID (new public IP) → same key; Go lease with our PublicIP → reused', async () => {
    const p = newPrefix();
    const a = await manager(p).acquireLease(config(), attrs('192.168.64.3', 'node-a'), {});
    const b = await manager(p).acquireLease(config(), attrs('192.168.64.99', 'node-a'), {});
    assert.equal(b.keyName, a.keyName);
    assert.notEqual(b.etcdLease, a.etcdLease);
    assert.equal(getJson(`${p}/subnets/`).kvs, undefined); // sanity: no key named exactly the prefix
    const keys = etcd.etcdctl(['get', '--prefix', `${p}/subnets/`, '--keys-only']).split('\n').filter(Boolean);
    assert.deepEqual(keys, [`${p}/subnets/${a.keyName}`]);
    // The old etcd lease was revoked.
    assert.match(etcd.etcdctl(['lease', 'timetolive', BigInt(a.etcdLease).toString(16)]), /already expired/);

    // A lease written by hand the way Go flanneld writes it (no NodeID, its own lease).
    const id = /lease ([0-9a-f]+) granted/.exec(etcd.etcdctl(['lease', 'grant', '600']))![1]!;
    const goValue = '{"PublicIP":"192.168.64.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}';
    etcd.etcdctl(['put', `${p}/subnets/10.5.77.0-24`, goValue, '--lease', id]);
    const c = await manager(p).acquireLease(config(), attrs('192.168.64.7', 'node-c'), {});
    assert.equal(c.keyName, '10.5.77.0-24');
    assert.equal(b64(getJson(`${p}/subnets/10.5.77.0-24`).kvs![0]!.value).endsWith('"NodeID":"node-c"}'), true);
    // A Go lease with the same PublicIP but another NodeID is another node: never taken.
    const d = await manager(p).acquireLease(config(), attrs('192.168.64.7', 'node-d'), {});
    assert.notEqual(d.keyName, '10.5.77.0-24');
  });

  test('prev subnet reused when free; a reservation is honoured and never taken', async () => {
    const p = newPrefix();
    const l = await manager(p).acquireLease(config(), attrs('10.0.0.1', 'n1'), { 4: mustParseCIDR('10.5.42.1/24') });
    assert.equal(l.keyName, '10.5.42.0-24');
    // prev held by another node → allocated elsewhere
    const l2 = await manager(p).acquireLease(config(), attrs('10.0.0.2', 'n2'), { 4: mustParseCIDR('10.5.42.1/24') });
    assert.notEqual(l2.keyName, '10.5.42.0-24');
    // Reservation: a range of two subnets, one reserved for another IP.
    const p2 = newPrefix();
    etcd.etcdctl(['put', `${p2}/subnets/10.5.1.0-24`, '{"PublicIP":"10.9.9.9","PublicIPv6":null,"BackendType":"vxlan"}']);
    const cfg = config('10.5.1.0', '10.5.2.0');
    const r = await manager(p2).acquireLease(cfg, attrs('10.0.0.3', 'n3'), { 4: mustParseCIDR('10.5.1.1/24') });
    assert.equal(r.keyName, '10.5.2.0-24');
    await assert.rejects(manager(p2).acquireLease(cfg, attrs('10.0.0.4', 'n4'), {}), (e: Error) => {
      assert.ok(e instanceof OutOfSubnetsError);
      assert.equal(e.message, 'out of subnets in 10.5.0.0/16 (2 leased between 10.5.1.0 and 10.5.2.0)');
      return true;
    });
    // The node the reservation names gets it, as is (no etcd lease attached).
    const own = await manager(p2).acquireLease(cfg, attrs('10.9.9.9'), {});
    assert.equal(own.keyName, '10.5.1.0-24');
    assert.equal(own.etcdLease, '0');
    assert.equal(getJson(`${p2}/subnets/10.5.1.0-24`).kvs![0]!.lease, undefined);
  });

  test('8 concurrent acquirers on 4 subnets → 4 distinct leases and 4 out-of-subnets', async () => {
    const p = newPrefix();
    const cfg = config('10.5.1.0', '10.5.4.0');
    const res = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => manager(p).acquireLease(cfg, attrs(`10.0.1.${i + 1}`, `race-${i}`), {})));
    const ok = res.filter((r): r is PromiseFulfilledResult<Lease> => r.status === 'fulfilled').map((r) => r.value.keyName);
    const bad = res.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    assert.equal(new Set(ok).size, 4, JSON.stringify(ok));
    assert.equal(ok.length, 4);
    assert.equal(bad.length, 4);
    for (const e of bad) assert.ok(e instanceof OutOfSubnetsError, e.message);
    const keys = etcd.etcdctl(['get', '--prefix', `${p}/subnets/`, '--keys-only']).split('\n').filter(Boolean);
    assert.equal(keys.length, 4);
  });

  test('renewal with ttl 6 s keeps the key; a deleted key is re-created with the same subnet', async () => {
    const p = newPrefix();
    const m = manager(p, { ttl: 6, margin: 60 });
    const l = await m.acquireLease(config(), attrs('10.0.2.1', 'keep'), {});
    let renewed = 0;
    const reacq: [Lease, boolean][] = [];
    m.keepLease(l, { onRenewed: () => renewed++, onReacquired: (x, ch) => reacq.push([x, ch]) });
    await new Promise((r) => setTimeout(r, 15000));
    assert.ok(getJson(`${p}/subnets/${l.keyName}`).kvs?.length === 1, 'key still there after 15 s');
    assert.ok(renewed >= 3, `renewed ${renewed} times`);
    assert.ok(m.status().leaseExpiresAt! > Date.now());
    etcd.etcdctl(['del', `${p}/subnets/${l.keyName}`]);
    await until('re-creation', () => reacq.length === 1);
    assert.equal(reacq[0]![0].keyName, l.keyName);
    assert.equal(reacq[0]![1], false);
    assert.equal(getJson(`${p}/subnets/${l.keyName}`).kvs?.length, 1);
    // stop(): no more renewals or re-creation.
    m.stop();
    etcd.etcdctl(['del', `${p}/subnets/${l.keyName}`]);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(getJson(`${p}/subnets/${l.keyName}`).kvs, undefined);
  });

  test('our key taken over by another node → a new subnet, reported as changed; our key never overwritten back', async () => {
    const p = newPrefix();
    const m = manager(p, { ttl: 600 });
    const l = await m.acquireLease(config(), attrs('10.0.2.3', 'victim'), {});
    const reacq: [Lease, boolean][] = [];
    m.keepLease(l, { onReacquired: (x, ch) => reacq.push([x, ch]) });
    await new Promise((r) => setTimeout(r, 300)); // the own-key watch is up
    const intruder = '{"PublicIP":"10.0.2.99","PublicIPv6":null,"BackendType":"vxlan","NodeID":"intruder"}';
    etcd.etcdctl(['put', `${p}/subnets/${l.keyName}`, intruder]);
    await until('re-acquisition', () => reacq.length === 1);
    assert.equal(reacq[0]![1], true);
    assert.notEqual(reacq[0]![0].keyName, l.keyName);
    assert.equal(b64(getJson(`${p}/subnets/${l.keyName}`).kvs![0]!.value), intruder);
    assert.match(b64(getJson(`${p}/subnets/${reacq[0]![0].keyName}`).kvs![0]!.value), /"NodeID":"victim"/);
    // the old etcd lease was revoked
    assert.match(etcd.etcdctl(['lease', 'timetolive', BigInt(l.etcdLease).toString(16)]), /already expired/);
    m.stop();
  });

  test('etcd down for longer than the renewal point: errors reported, lease kept, no exit', async () => {
    const p = newPrefix();
    const m = manager(p, { ttl: 6, margin: 60 });
    const l = await m.acquireLease(config(), attrs('10.0.2.2', 'outage'), {});
    const errors: Error[] = [];
    const reacq: [Lease, boolean][] = [];
    let renewed = 0;
    m.keepLease(l, { onRenewed: () => renewed++, onError: (e) => errors.push(e), onReacquired: (x, ch) => reacq.push([x, ch]) });
    await etcd.kill();
    await new Promise((r) => setTimeout(r, 5000));
    assert.ok(errors.length >= 1, 'renewal failures reported');
    assert.ok(errors.every((e) => e instanceof EtcdUnavailableError), errors.map((e) => e.message).join('; '));
    assert.equal(m.status().connected, false);
    const before = renewed;
    await etcd.restart();
    await until('renewal or re-acquisition after etcd is back', () => renewed > before || reacq.length > 0, 40000);
    const kv = getJson(`${p}/subnets/${l.keyName}`).kvs;
    assert.equal(kv?.length, 1);
    assert.ok(reacq.every(([x, ch]) => x.keyName === l.keyName && ch === false));
    m.stop();
  });

  test('watch: snapshot, added, removed; compaction past the watch revision → re-list snapshot', async () => {
    const p = newPrefix();
    const m = manager(p);
    etcd.etcdctl(['put', `${p}/subnets/10.5.10.0-24`, '{"PublicIP":"10.0.3.10","PublicIPv6":null,"BackendType":"host-gw"}']);
    etcd.etcdctl(['put', `${p}/subnets/bogus`, 'not a lease']);
    const snaps: Lease[][] = [];
    const events: LeaseEvent[] = [];
    m.watchLeases((s) => snaps.push(s), (e) => events.push(e));
    await until('first snapshot', () => snaps.length === 1);
    assert.deepEqual(snaps[0]!.map((l) => l.keyName), ['10.5.10.0-24']);
    assert.equal(snaps[0]![0]!.attrs.backendType, 'host-gw');
    assert.ok(logs.some((l) => /skipping unparsable .*bogus/.test(l)));
    const l = await manager(p).acquireLease(config(), attrs('10.0.3.11', 'w'), {});
    await until('added event', () => events.some((e) => e.type === 'added' && e.lease.keyName === l.keyName));
    const added = events.find((e) => e.type === 'added')!;
    assert.equal(added.lease.attrs.nodeId, 'w');
    etcd.etcdctl(['del', `${p}/subnets/10.5.10.0-24`]);
    await until('removed event', () => events.some((e) => e.type === 'removed' && e.lease.keyName === '10.5.10.0-24'));
    const removed = events.find((e) => e.type === 'removed')!;
    assert.equal(formatCIDR(removed.lease.subnets[4]!), '10.5.10.0/24');

    // Compaction: stop the etcd process (the watch disconnects), write + compact meanwhile via a
    // restart, then a new key must arrive through a re-list snapshot.
    // The watch resumes after the restart (re-list on reconnect); the compaction past its old
    // revision makes etcd cancel any resume from there ("required revision has been compacted"),
    // which re-lists too.
    await etcd.kill();
    await etcd.restart();
    etcd.etcdctl(['put', `${p}/subnets/10.5.11.0-24`, '{"PublicIP":"10.0.3.12","PublicIPv6":null,"BackendType":"vxlan"}']);
    const rev = JSON.parse(etcd.etcdctl(['get', `${p}/config`, '-w', 'json'])).header.revision;
    etcd.etcdctl(['compaction', String(rev)]);
    const n = snaps.length;
    await until('snapshot after reconnect/compaction', () => snaps.length > n && snaps[snaps.length - 1]!.some((x) => x.keyName === '10.5.11.0-24'), 30000);
    // Whichever came first (the reconnect or etcd's compaction cancel), the re-list said why.
    const why = logs.filter((l) => /lease watch: .*(compacted|reconnected)/.test(l));
    assert.ok(why.length >= 1, logs.join('\n'));
  });
});

describe('etcd test helper', () => {
  test('etcd in a namespace of its own: etcdctl works inside, the host loopback does not reach it', async () => {
    const s = await startEtcd({ ownNetns: true });
    try {
      assert.ok(s.netns);
      s.etcdctl(['put', '/cts-ns/k', 'v']);
      assert.equal(s.etcdctl(['get', '/cts-ns/k', '--print-value-only']).trim(), 'v');
      assert.throws(() => execFileSync('etcdctl', ['--endpoints', s.endpoint, '--dial-timeout', '1s', '--command-timeout', '2s', 'get', '/cts-ns/k'], { stdio: 'pipe' }));
    } finally {
      await s.stop();
    }
    assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(s.netns!));
  });
});

describe('etcd unreachable', () => {
  test('a closed port → EtcdUnavailableError naming the endpoints; status() says disconnected', async () => {
    const { clientPort } = uniquePorts(5); // nothing listens there
    const ep = `http://127.0.0.1:${clientPort}`;
    const m = createEtcdSubnetManager({ endpoints: [ep], prefix: '/x', ttlSeconds: 60, renewMarginSeconds: 10, log: () => undefined });
    managers.push(m);
    const t0 = Date.now();
    await assert.rejects(m.getNetworkConfig(), (e: Error) => {
      assert.ok(e instanceof EtcdUnavailableError, `${e.name}: ${e.message}`);
      assert.deepEqual(e.endpoints, [ep]);
      assert.match(e.message, new RegExp(`etcd unavailable at ${ep}`));
      return true;
    });
    assert.ok(Date.now() - t0 < 20000);
    assert.equal(m.status().connected, false);
    assert.match(m.status().lastError!, /etcd unavailable/);
    assert.equal(m.status().rpcCount, 1);
  });
});

describe('etcd TLS', () => {
  test('correct certificates work; wrong CA, wrong SAN and expired certificates fail naming the check', async () => {
    const t = makeEtcdTls(['127.0.0.1']);
    const ports = uniquePorts(1);
    const s = await startEtcd({ ...ports, tls: t });
    const mk = (ca: string) => createEtcdClient({ endpoints: [s.endpoint], cafile: ca, certfile: t.clientCert, keyfile: t.clientKey });
    try {
      s.etcdctl(['put', '/cts-tls/config', '{"Network":"10.5.0.0/16"}']);
      const m = createEtcdSubnetManager({ endpoints: [s.endpoint], prefix: '/cts-tls', cafile: t.ca, certfile: t.clientCert, keyfile: t.clientKey, ttlSeconds: 60, renewMarginSeconds: 10, log: () => undefined });
      assert.equal(await m.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
      await m.close();

      // Username/password over the same TLS (etcd3 authenticates through its own service client).
      s.etcdctl(['user', 'add', 'root', '--new-user-password', 'Sekr3t-pw']);
      s.etcdctl(['user', 'grant-role', 'root', 'root']);
      s.etcdctl(['auth', 'enable']);
      const withPw = (password: string) => createEtcdSubnetManager({ endpoints: [s.endpoint], prefix: '/cts-tls', cafile: t.ca, certfile: t.clientCert, keyfile: t.clientKey, username: 'root', password, ttlSeconds: 60, renewMarginSeconds: 10, log: () => undefined });
      const ma = withPw('Sekr3t-pw');
      assert.equal(await ma.getNetworkConfig(), '{"Network":"10.5.0.0/16"}');
      await ma.close();
      const mb = withPw('wrong-Pa55');
      await assert.rejects(mb.getNetworkConfig(), (e: Error) => {
        assert.match(e.message, /authentication failed/);
        assert.doesNotMatch(e.message, /wrong-Pa55|Sekr3t/);
        assert.doesNotMatch(mb.status().lastError ?? '', /wrong-Pa55/);
        return true;
      });
      await mb.close();

      const other = makeCA(t.dir, 'other');
      const c1 = mk(other.cert);
      const e1 = await c1.get('/x').string().then(() => null, (e) => explainEtcdError(c1, e));
      c1.close();
      assert.ok(e1 instanceof EtcdTlsError, String(e1));
      assert.match(e1.message, /etcd TLS: server certificate for 127\.0\.0\.1 is not trusted by --etcd-cafile .*other\.pem/);
      assert.doesNotMatch(e1.message, /PRIVATE KEY/);
    } finally {
      await s.stop();
    }

    // A server certificate naming 127.0.0.2 served on 127.0.0.1.
    const t2 = makeEtcdTls(['127.0.0.2']);
    const s2 = await startEtcd({ ...uniquePorts(2), tls: t2, insecureHealth: true });
    try {
      const c2 = createEtcdClient({ endpoints: [s2.endpoint], cafile: t2.ca, certfile: t2.clientCert, keyfile: t2.clientKey });
      const e2 = await c2.get('/x').string().then(() => null, (e) => explainEtcdError(c2, e));
      c2.close();
      assert.ok(e2 instanceof EtcdTlsError, String(e2));
      assert.match(e2.message, /etcd TLS: server certificate does not name 127\.0\.0\.1 \(its SANs: .*IP Address:127\.0\.0\.2/);
    } finally {
      await s2.stop();
    }

    const t3 = makeEtcdTls(['127.0.0.1'], { expiredServer: true });
    const s3 = await startEtcd({ ...uniquePorts(3), tls: t3, insecureHealth: true });
    try {
      const c3 = createEtcdClient({ endpoints: [s3.endpoint], cafile: t3.ca, certfile: t3.clientCert, keyfile: t3.clientKey });
      const e3 = await c3.get('/x').string().then(() => null, (e) => explainEtcdError(c3, e));
      c3.close();
      assert.ok(e3 instanceof EtcdTlsError, String(e3));
      assert.match(e3.message, /etcd TLS: server certificate for 127\.0\.0\.1 expired at Jan {2}2 00:00:00 2020 GMT/);
    } finally {
      await s3.stop();
    }
  });
});
