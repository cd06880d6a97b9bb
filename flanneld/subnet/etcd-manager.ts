// flanneld's subnet manager against etcd v3 (flannel's layout). It acquires a lease by
// compare-and-swap only, keeps it alive with keepalives well before expiry, re-creates the SAME
// subnet when the key or its etcd lease vanished (never exits on a lost lease, field theme 4), and
// watches all leases with a re-list after every compaction or reconnect (field theme 3).
// watchLeases delivers every lease, our own included: the caller filters it out.
import type { Etcd3 } from 'etcd3';
import type { Watcher } from 'etcd3';
import type { CIDR, Lease, LeaseAttrs, LeaseEvent, NetworkConfig, PerFamily } from '../types';
import { createEtcdClient, isConnectionError } from '../etcd/client';
import { planAcquire } from './acquire-plan';
import { nextBackoff, throttled } from './backoff';
import { LeaseParseError, LeaseRaceError } from './errors';
import { formatKeyName } from './lease-codec';
import { EtcdRegistry } from './registry';
import { relistJitterMs } from './relist-jitter';
import type { RelistJitterOptions } from './relist-jitter';
import { EtcdLiveness } from './liveness';

import type { LogFn } from '../log';

export type { LogFn };

interface ManagerStatus {
  connected: boolean;
  lastContactMs?: number;
  lastError?: string;
  leaseExpiresAt?: number;
  rpcCount: number;
  probeCount: number;
}

interface KeepHooks {
  onRenewed?(l: Lease): void;
  onReacquired?(l: Lease, changedSubnet: boolean): void;
  onError?(e: Error): void;
}

export interface SubnetManager {
  getNetworkConfig(): Promise<string>;
  acquireLease(config: NetworkConfig, attrs: LeaseAttrs, prev: PerFamily<CIDR>): Promise<Lease>;
  keepLease(lease: Lease, hooks: KeepHooks): void;
  watchLeases(onSnapshot: (leases: Lease[]) => void, onEvent: (e: LeaseEvent) => void): void;
  /** Probes etcd every `everyMs` when no call succeeded for that long, so status() notices a dead or hung etcd. */
  monitorConnection(everyMs: number): void;
  status(): ManagerStatus;
  stop(): void;
  close(): Promise<void>;
}

interface EtcdSubnetManagerOptions {
  endpoints: string[];
  prefix: string;
  cafile?: string;
  certfile?: string;
  keyfile?: string;
  username?: string;
  password?: string;
  ttlSeconds: number;
  renewMarginSeconds: number;
  log: LogFn;
  /** For tests: the random source of subnet choice and jitter. */
  random?: () => number;
  /** The spread of re-lists after a reconnect or compaction (default: 1 ms per lease, ≤ 5 s). */
  relistJitter?: RelistJitterOptions;
}

const RACE_RETRIES = 10;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const WATCH_MIN_MS = 100;
const WATCH_MAX_MS = 5000;
/** A probe unanswered this long means etcd is unreachable (below the 5 s call deadline). */
const PROBE_TIMEOUT_MS = 3000;

export function createEtcdSubnetManager(o: EtcdSubnetManagerOptions): SubnetManager {
  const client = createEtcdClient(o);
  return new EtcdSubnetManager(client, o);
}

class EtcdSubnetManager implements SubnetManager {
  private readonly reg: EtcdRegistry;
  private readonly log: LogFn;
  private readonly random: () => number;
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();
  private watchers = new Set<Watcher>();
  private leaseExpiresAt?: number;
  private lastConfig?: NetworkConfig;

  constructor(private readonly client: Etcd3, private readonly o: EtcdSubnetManagerOptions) {
    this.reg = new EtcdRegistry(client, o.prefix);
    this.log = throttled(o.log);
    this.random = o.random ?? Math.random;
  }

  getNetworkConfig(): Promise<string> {
    return this.reg.getConfig();
  }

  async acquireLease(config: NetworkConfig, attrs: LeaseAttrs, prev: PerFamily<CIDR>): Promise<Lease> {
    this.lastConfig = config;
    let lastKey = '';
    for (let attempt = 1; attempt <= RACE_RETRIES; attempt++) {
      const { leases, bad } = await this.reg.list();
      for (const b of bad) this.log('warn', `skipping unparsable ${b.message}`);
      const plan = planAcquire(config, leases, attrs, prev, this.random);
      for (const d of plan.deletes) {
        this.log('info', `deleting our stale lease ${d.keyName} (it no longer fits the network config or is a duplicate)`);
        await this.reg.deleteIfUnchanged(d);
      }
      let got: Lease | null;
      if (plan.kind === 'reservation') {
        this.log('info', `using reservation ${plan.lease.keyName}`);
        this.leaseExpiresAt = undefined;
        return plan.lease;
      } else if (plan.kind === 'update') {
        lastKey = plan.lease.keyName;
        got = await this.reg.update(plan.lease, attrs, this.o.ttlSeconds);
      } else {
        lastKey = formatKeyName(plan.subnets);
        got = await this.reg.create({ keyName: lastKey, subnets: plan.subnets, attrs }, this.o.ttlSeconds);
      }
      if (got) {
        this.leaseExpiresAt = Date.now() + this.o.ttlSeconds * 1000;
        this.log('info', `acquired lease ${got.keyName} (${plan.kind === 'create' ? plan.reason : 'reused'})`);
        return got;
      }
      this.log('debug', `lost the race for ${lastKey} (attempt ${attempt}); listing again`);
    }
    throw new LeaseRaceError(RACE_RETRIES, lastKey);
  }

  // ---- keeping the lease -------------------------------------------------------------------

  private after(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  keepLease(lease: Lease, hooks: KeepHooks): void {
    if (lease.etcdLease === '0') {
      this.log('info', `lease ${lease.keyName} is a reservation: nothing to renew`);
      return;
    }
    let current = lease;
    let busy = false;
    let backoff = 0;
    const ttl = this.o.ttlSeconds;
    const margin = Math.min(this.o.renewMarginSeconds, ttl / 2);
    // One pending renewal or retry at a time: watch events and reconnects also call renew(), and
    // each success reschedules; a second timer chain would never stop.
    let pending: NodeJS.Timeout | undefined;
    const next = (ms: number, fn: () => void): void => {
      if (pending) {
        clearTimeout(pending);
        this.timers.delete(pending);
      }
      if (this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (pending === t) pending = undefined;
        if (!this.stopped) fn();
      }, ms);
      pending = t;
      this.timers.add(t);
    };
    const fail = (e: Error, retry: () => void): void => {
      hooks.onError?.(e);
      this.log('warn', `lease ${current.keyName}: ${e.message}`);
      backoff = nextBackoff(backoff, RETRY_MIN_MS, RETRY_MAX_MS, this.random);
      next(backoff, retry);
    };
    const schedule = (): void => {
      const at = (this.leaseExpiresAt ?? Date.now() + ttl * 1000) - margin * 1000;
      next(Math.max(0, at - Date.now()), () => void renew());
    };
    const reacquire = async (): Promise<void> => {
      if (busy || this.stopped) return;
      busy = true;
      try {
        // The same subnet, only if the key is absent (create-if-absent).
        let got = await this.reg.create({ keyName: current.keyName, subnets: current.subnets, attrs: current.attrs }, ttl);
        let changed = false;
        if (!got) {
          const holder = await this.reg.get(current.keyName);
          if (holder && holder.etcdLease === current.etcdLease) {
            busy = false;
            // Still ours after all (a stale delete event): keep watching and renewing it.
            watchOwn();
            schedule();
            return;
          }
          // Someone else holds it now (or it is ours under a lease that is not this one): go
          // through the full acquisition, which reuses it only when it carries our identity.
          if (!this.lastConfig) throw new Error(`lease ${current.keyName} was lost and acquireLease was never called, so no network config is known`);
          got = await this.acquireLease(this.lastConfig, current.attrs, {});
          changed = got.keyName !== current.keyName;
        }
        if (this.stopped) {
          await this.reg.revoke(got.etcdLease).catch(() => undefined);
          return;
        }
        this.leaseExpiresAt = Date.now() + ttl * 1000;
        // Our old etcd lease holds nothing any more.
        if (got.etcdLease !== current.etcdLease) await this.reg.revoke(current.etcdLease).catch(() => undefined);
        current = got;
        backoff = 0;
        this.log(changed ? 'warn' : 'info', `lease re-acquired: ${got.keyName}${changed ? ' (the subnet CHANGED)' : ''}`);
        busy = false;
        // The lease is held whatever the caller does with it: a failing hook must not stop its
        // renewal (the caller repairs its own state on its next pass).
        try {
          hooks.onReacquired?.(got, changed);
        } catch (e) {
          hooks.onError?.(e as Error);
        }
        watchOwn();
        schedule();
      } catch (e) {
        busy = false;
        fail(e as Error, () => void reacquire());
      }
    };
    const renew = async (): Promise<void> => {
      if (busy || this.stopped) return;
      busy = true;
      try {
        const left = await this.reg.keepAliveOnce(current.etcdLease);
        const holder = left > 0 ? await this.reg.get(current.keyName) : null;
        busy = false;
        if (left <= 0 || !holder || holder.etcdLease !== current.etcdLease) {
          this.log('warn', `lease ${current.keyName} is gone from etcd (${left <= 0 ? 'etcd lease expired or revoked' : 'key deleted or replaced'}); re-acquiring the same subnet`);
          return reacquire();
        }
        this.leaseExpiresAt = Date.now() + left * 1000;
        backoff = 0;
        current = holder;
        hooks.onRenewed?.(current);
        schedule();
      } catch (e) {
        busy = false;
        fail(e as Error, () => void renew());
      }
    };
    // A watch on our own key notices a delete at once; its reconnects are checked by a renew.
    let own: Watcher | null = null;
    const watchOwn = (): void => {
      if (this.stopped) return;
      if (own) {
        this.watchers.delete(own);
        void own.cancel().catch(() => undefined);
      }
      const w = this.client.watch().key(this.reg.keyOf(current.keyName)).watcher();
      own = w;
      this.watchers.add(w);
      let wasDown = false;
      w.on('delete', () => void reacquire());
      w.on('put', (kv) => {
        // Rewritten under another etcd lease (by another node or by hand): check it now.
        if (String(kv.lease) !== current.etcdLease) void renew();
      });
      w.on('disconnected', () => { wasDown = true; });
      w.on('connected', () => {
        this.reg.stats.rpcCount++;
        if (wasDown) { wasDown = false; void renew(); }
      });
      w.on('error', (e: Error) => {
        // Compaction or a cancelled watch: start a fresh one (from now) and check the key.
        this.log('warn', `watch on our lease ${current.keyName}: ${e.message}`);
        this.after(nextBackoff(0, WATCH_MIN_MS, WATCH_MAX_MS, this.random), () => { watchOwn(); void renew(); });
      });
    };
    watchOwn();
    schedule();
  }

  // ---- watching all leases ------------------------------------------------------------------

  watchLeases(onSnapshot: (leases: Lease[]) => void, onEvent: (e: LeaseEvent) => void): void {
    let backoff = 0;
    let known = 0;
    let w: Watcher | null = null;
    let restarting = false;
    const restart = (why: string): void => {
      // One re-list at a time: a stale watcher's late events must not cancel the new cycle.
      if (restarting) return;
      restarting = true;
      if (w) {
        this.watchers.delete(w);
        void w.cancel().catch(() => undefined);
        w = null;
      }
      this.log('warn', `lease watch: ${why}; re-listing`);
      backoff = nextBackoff(backoff, WATCH_MIN_MS, WATCH_MAX_MS, this.random);
      // Every node sees the same break at once: spread the re-lists by the cluster's size.
      const jitter = relistJitterMs(known, this.random, this.o.relistJitter);
      this.log('debug', `lease watch: re-list in ${backoff + jitter} ms (backoff ${backoff}, jitter ${jitter} for ${known} leases)`);
      this.after(backoff + jitter, () => {
        restarting = false;
        void cycle();
      });
    };
    const cycle = async (): Promise<void> => {
      if (this.stopped) return;
      let rev: string;
      try {
        const r = await this.reg.list();
        for (const b of r.bad) this.log('warn', `skipping unparsable ${b.message}`);
        rev = r.revision;
        known = r.leases.length;
        if (this.stopped) return;
        onSnapshot(r.leases);
      } catch (e) {
        return restart((e as Error).message);
      }
      const watcher = this.client.watch().prefix(this.reg.subnetsPrefix).withPreviousKV().startRevision(String(BigInt(rev) + 1n)).watcher();
      w = watcher;
      this.watchers.add(watcher);
      let wasDown = false;
      const current = (): boolean => w === watcher;
      watcher.on('connected', () => {
        this.reg.stats.rpcCount++;
        if (!current()) return;
        if (wasDown) return restart('reconnected (events may have been skipped)');
        backoff = 0;
      });
      watcher.on('disconnected', () => { wasDown = true; });
      watcher.on('error', (e: Error) => {
        if (current()) restart(e.message);
      });
      watcher.on('put', (kv) => {
        if (!current()) return;
        try {
          onEvent({ type: 'added', lease: this.reg.toLease(kv.key.toString(), kv.value.toString(), String(kv.lease), String(kv.mod_revision)) });
        } catch (e) {
          if (e instanceof LeaseParseError) this.log('warn', `skipping unparsable ${e.message}`);
          else throw e;
        }
      });
      watcher.on('delete', (kv, prev) => {
        if (!current()) return;
        const key = kv.key.toString();
        try {
          const value = prev ? prev.value.toString() : '{}';
          onEvent({ type: 'removed', lease: this.reg.toLease(key, value, '0', String(kv.mod_revision)) });
        } catch {
          try {
            onEvent({ type: 'removed', lease: this.reg.toLease(key, '{}', '0', String(kv.mod_revision)) });
          } catch (e) {
            this.log('warn', `skipping removal of unparsable ${(e as Error).message}`);
          }
        }
      });
    };
    void cycle();
  }

  monitorConnection(everyMs: number): void {
    const live = new EtcdLiveness(this.reg.stats, {
      probe: () => this.reg.probe(),
      isConnectionError,
      idleMs: everyMs,
      timeoutMs: Math.min(PROBE_TIMEOUT_MS, everyMs * 2),
    });
    const tick = (): void => {
      void live.check().catch(() => undefined);
      this.after(everyMs, tick);
    };
    this.after(everyMs, tick);
  }

  status(): ManagerStatus {
    const s = this.reg.stats;
    return {
      connected: s.connected, lastContactMs: s.lastContactMs, lastError: s.lastError, leaseExpiresAt: this.leaseExpiresAt,
      rpcCount: s.rpcCount, probeCount: s.probeCount ?? 0,
    };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of this.watchers) void w.cancel().catch(() => undefined);
    this.watchers.clear();
  }

  async close(): Promise<void> {
    this.stop();
    this.client.close();
  }
}
