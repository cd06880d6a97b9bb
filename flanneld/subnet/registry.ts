// flannel's etcd v3 layout as typed operations: `<prefix>/config` and `<prefix>/subnets/<key>`.
// Every RPC goes through `rpc()`, which counts it (status().rpcCount) and records the last
// contact or error. A listing is ONE range call: each kv carries its lease ID, so there is no
// TimeToLive per key (flannel's N² re-list storm when etcd restarts, field theme 14).
import type { Etcd3 } from 'etcd3';
import type { Lease } from '../types';
import { explainEtcdError } from '../etcd/client';
import { ConfigNotFoundError, LeaseParseError } from './errors';
import { formatLeaseValue, parseKeyName, parseLeaseValue } from './lease-codec';

interface ListResult {
  revision: string;
  leases: Lease[];
  bad: LeaseParseError[];
}

export interface RegistryStats {
  rpcCount: number;
  connected: boolean;
  lastContactMs?: number;
  lastError?: string;
  /** Liveness probes made (not in rpcCount, which counts the lease and config calls). */
  probeCount?: number;
}

/** etcd's range_end for "every key starting with prefix": the prefix with its last byte + 1. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i] = b[i]! + 1;
      return out;
    }
  }
  return Buffer.from([0]);
}

const KEEPALIVE_TIMEOUT_MS = 5000;

export class EtcdRegistry {
  readonly stats: RegistryStats = { rpcCount: 0, connected: false };
  readonly configKey: string;
  readonly subnetsPrefix: string;

  constructor(readonly client: Etcd3, prefix: string) {
    const p = prefix.replace(/\/+$/, '');
    this.configKey = `${p}/config`;
    this.subnetsPrefix = `${p}/subnets/`;
  }

  keyOf(keyName: string): string {
    return this.subnetsPrefix + keyName;
  }

  /** Runs one RPC: counted, contact recorded, failures mapped to typed connection errors. */
  async rpc<T>(fn: () => Promise<T>): Promise<T> {
    this.stats.rpcCount++;
    try {
      const r = await fn();
      this.stats.connected = true;
      this.stats.lastContactMs = Date.now();
      return r;
    } catch (e) {
      const err = await explainEtcdError(this.client, e);
      this.stats.lastError = err.message;
      if (err.name === 'EtcdUnavailableError' || err.name === 'EtcdTlsError') this.stats.connected = false;
      throw err;
    }
  }

  /** The cheapest answer etcd gives: the count of the config key (not counted in rpcCount). */
  async probe(): Promise<void> {
    await this.client.kv.range({ key: Buffer.from(this.configKey), count_only: true });
  }

  async getConfig(): Promise<string> {
    const r = await this.rpc(() => this.client.kv.range({ key: Buffer.from(this.configKey) }));
    const kv = r.kvs[0];
    if (!kv) throw new ConfigNotFoundError(this.configKey);
    return kv.value.toString('utf8');
  }

  toLease(key: string, value: string, lease: string, modRevision: string): Lease {
    const keyName = key.slice(this.subnetsPrefix.length);
    const subnets = parseKeyName(keyName);
    if (!subnets) throw new LeaseParseError(key, `key name ${JSON.stringify(keyName)} is not <ip>-<len>[&<ip6>-<len>]`);
    return { keyName, subnets, attrs: parseLeaseValue(key, value), etcdLease: lease || '0', modRevision };
  }

  /** All leases at one revision; unparsable ones are returned apart in `bad`. */
  async list(): Promise<ListResult> {
    const r = await this.rpc(() =>
      this.client.kv.range({ key: Buffer.from(this.subnetsPrefix), range_end: prefixEnd(this.subnetsPrefix) }),
    );
    const leases: Lease[] = [];
    const bad: LeaseParseError[] = [];
    for (const kv of r.kvs) {
      try {
        leases.push(this.toLease(kv.key.toString('utf8'), kv.value.toString('utf8'), String(kv.lease), String(kv.mod_revision)));
      } catch (e) {
        if (e instanceof LeaseParseError) bad.push(e);
        else throw e;
      }
    }
    return { revision: String(r.header.revision), leases, bad };
  }

  /** One key, or null when absent. */
  async get(keyName: string): Promise<Lease | null> {
    const key = this.keyOf(keyName);
    const r = await this.rpc(() => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = r.kvs[0];
    return kv ? this.toLease(key, kv.value.toString('utf8'), String(kv.lease), String(kv.mod_revision)) : null;
  }

  async grant(ttlSeconds: number): Promise<string> {
    const r = await this.rpc(() => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }));
    return String(r.ID);
  }

  /** Revokes an etcd lease; an already-gone lease is fine. */
  async revoke(id: string): Promise<void> {
    if (id === '0') return;
    try {
      await this.rpc(() => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (e) {
      if (!/lease not found/i.test((e as Error).message)) throw e;
    }
  }

  /**
   * Create-if-absent: Grant(ttl) + Txn(If Version(key)==0 Then Put(key, value, lease)). The fresh
   * lease is revoked when the key exists (a lost race) or the transaction fails.
   * Returns the new lease, or null on a lost race.
   */
  async create(l: Omit<Lease, 'etcdLease' | 'modRevision'>, ttlSeconds: number): Promise<Lease | null> {
    const id = await this.grant(ttlSeconds);
    const key = Buffer.from(this.keyOf(l.keyName));
    try {
      const r = await this.rpc(() =>
        this.client.kv.txn({
          compare: [{ key, target: 'Version', result: 'Equal', version: 0 }],
          success: [{ request_put: { key, value: Buffer.from(formatLeaseValue(l.attrs)), lease: id } }],
          failure: [],
        }),
      );
      if (!r.succeeded) {
        await this.revoke(id).catch(() => undefined);
        return null;
      }
      return { ...l, etcdLease: id, modRevision: String(r.header.revision) };
    } catch (e) {
      await this.revoke(id).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Rewrites our own key with a fresh lease, only if it is unchanged since `l.modRevision`
   * (Txn If Mod(key)==rev). The old lease is then revoked (nothing else is attached to it).
   * Returns null when the key changed or vanished meanwhile.
   */
  async update(l: Lease, attrs: Lease['attrs'], ttlSeconds: number): Promise<Lease | null> {
    const id = await this.grant(ttlSeconds);
    const key = Buffer.from(this.keyOf(l.keyName));
    try {
      const r = await this.rpc(() =>
        this.client.kv.txn({
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: l.modRevision }],
          success: [{ request_put: { key, value: Buffer.from(formatLeaseValue(attrs)), lease: id } }],
          failure: [],
        }),
      );
      if (!r.succeeded) {
        await this.revoke(id).catch(() => undefined);
        return null;
      }
      if (l.etcdLease !== '0' && l.etcdLease !== id) await this.revoke(l.etcdLease).catch(() => undefined);
      return { ...l, attrs, etcdLease: id, modRevision: String(r.header.revision) };
    } catch (e) {
      await this.revoke(id).catch(() => undefined);
      throw e;
    }
  }

  /** Deletes a key only if unchanged since `l.modRevision`; false when it changed. */
  async deleteIfUnchanged(l: Lease): Promise<boolean> {
    const key = Buffer.from(this.keyOf(l.keyName));
    const r = await this.rpc(() =>
      this.client.kv.txn({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: l.modRevision }],
        success: [{ request_delete_range: { key } }],
        failure: [],
      }),
    );
    return r.succeeded;
  }

  /** One keepalive on an etcd lease: its remaining TTL in seconds, 0 when the lease is gone. */
  async keepAliveOnce(id: string): Promise<number> {
    return this.rpc(async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        return await new Promise<number>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('DEADLINE_EXCEEDED: lease keepalive got no answer in 5 s')), KEEPALIVE_TIMEOUT_MS);
          stream.on('data', (res: { TTL: string | number }) => { clearTimeout(t); resolve(Number(res.TTL)); });
          stream.on('error', (e: Error) => { clearTimeout(t); reject(e); });
          stream.write({ ID: id });
        });
      } finally {
        stream.end();
      }
    });
  }
}
