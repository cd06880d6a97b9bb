import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdLiveness } from '../../../flanneld/subnet/liveness';
import type { RegistryStats } from '../../../flanneld/subnet/registry';

const never = (): Promise<never> => new Promise(() => undefined);

describe('EtcdLiveness: a silent etcd is probed, and a probe without answer marks it unreachable', () => {
  it('no probe while a call succeeded within idleMs', async () => {
    let probes = 0;
    const stats: RegistryStats = { rpcCount: 0, connected: true, lastContactMs: 1000 };
    const l = new EtcdLiveness(stats, { probe: async () => void probes++, isConnectionError: () => true, idleMs: 2000, timeoutMs: 50, now: () => 2500 });
    await l.check();
    assert.equal(probes, 0);
    assert.equal(stats.probeCount, undefined);
  });

  it('a probe answered marks etcd reachable and records the contact', async () => {
    const stats: RegistryStats = { rpcCount: 0, connected: false, lastError: 'old' };
    const l = new EtcdLiveness(stats, { probe: async () => undefined, isConnectionError: () => true, idleMs: 2000, timeoutMs: 50, now: () => 9000 });
    await l.check();
    assert.equal(stats.connected, true);
    assert.equal(stats.lastContactMs, 9000);
    assert.equal(stats.probeCount, 1);
    assert.equal(stats.rpcCount, 0, 'probes are not counted as RPCs');
  });

  it('a hung etcd (no answer within timeoutMs) is unreachable, and lastContact is kept for "since"', async () => {
    const stats: RegistryStats = { rpcCount: 0, connected: true, lastContactMs: 1000 };
    const l = new EtcdLiveness(stats, { probe: never, isConnectionError: () => true, idleMs: 2000, timeoutMs: 30, now: () => 5000 });
    const t0 = Date.now();
    await l.check();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(stats.connected, false);
    assert.equal(stats.lastContactMs, 1000);
    assert.match(stats.lastError!, /no answer from etcd within 30 ms/);
  });

  it('a refused connection is unreachable with its message; an error reply (permission) is an answer', async () => {
    const stats: RegistryStats = { rpcCount: 0, connected: true, lastContactMs: 0 };
    const refused = new EtcdLiveness(stats, {
      probe: () => Promise.reject(new Error('14 UNAVAILABLE: No connection established\nmore')),
      isConnectionError: (e) => /UNAVAILABLE/.test((e as Error).message), idleMs: 10, timeoutMs: 100, now: () => 100,
    });
    await refused.check();
    assert.equal(stats.connected, false);
    assert.equal(stats.lastError, '14 UNAVAILABLE: No connection established');
    const denied = new EtcdLiveness(stats, {
      probe: () => Promise.reject(new Error('etcdserver: permission denied')),
      isConnectionError: (e) => /UNAVAILABLE/.test((e as Error).message), idleMs: 10, timeoutMs: 100, now: () => 200,
    });
    await denied.check();
    assert.equal(stats.connected, true);
    assert.equal(stats.lastContactMs, 200);
  });

  it('one probe at a time: a check while one is in flight does nothing', async () => {
    let probes = 0;
    let release!: () => void;
    const stats: RegistryStats = { rpcCount: 0, connected: false };
    const l = new EtcdLiveness(stats, { probe: () => { probes++; return new Promise<void>((r) => (release = r)); }, isConnectionError: () => true, idleMs: 10, timeoutMs: 1000 });
    const a = l.check();
    await l.check();
    release();
    await a;
    assert.equal(probes, 1);
    assert.equal(stats.connected, true);
  });
});
