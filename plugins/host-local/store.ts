// The on-disk reservation store, file-compatible with the reference's `disk` backend so either
// implementation can take over a node's state:
//   <dataDir>/<net>/                      0755
//   <dataDir>/<net>/lock                  flock'ed around every operation
//   <dataDir>/<net>/<ip>                  0600, "<containerID trimmed>\r\n<ifname>" (legacy: "<containerID>")
//   <dataDir>/<net>/last_reserved_ip.<N>  0600, the IP last reserved in range set N, no newline
// Lookups scan the directory; only entries whose name is an IP address are reservations.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Attachment } from '../../shared/cni/types';
import { type IP, formatIP, parseIP } from '../../shared/ip';
import { createFileExclusive, readFileIfExists, writeFileAtomic } from '../../shared/state/atomic-file';
import { type FileLock, type LockOptions, acquireLock } from '../../shared/state/lock';
import type { ReservationStore } from './allocator';

export const LOCK_FILE = 'lock';
export const LAST_IP_PREFIX = 'last_reserved_ip.';
const LINE_BREAK = '\r\n';

/** One reservation file, parsed. `ifname` is undefined for legacy id-only files. */
export interface Reservation {
  ip: IP;
  /** File name (the IP in Go's canonical form). */
  file: string;
  containerID: string;
  ifname?: string;
}

/** Parses a reservation file's content (trimmed, like the reference compares it). */
export function parseReservation(content: string): { containerID: string; ifname?: string } {
  const t = content.trim();
  const i = t.indexOf(LINE_BREAK);
  return i === -1 ? { containerID: t } : { containerID: t.slice(0, i), ifname: t.slice(i + LINE_BREAK.length) };
}

/** The content written for (id, ifname). */
export const reservationContent = (id: string, ifname: string): string => `${id.trim()}${LINE_BREAK}${ifname}`;

export class DiskStore implements ReservationStore {
  private constructor(
    readonly dir: string,
    private readonly lock: FileLock,
  ) {}

  /** Creates `dir` (0755) if needed and takes its lock. Call close() when done. */
  static async open(dir: string, lockOpts?: LockOptions): Promise<DiskStore> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const lock = await acquireLock(path.join(dir, LOCK_FILE), lockOpts);
    return new DiskStore(dir, lock);
  }

  close(): void {
    this.lock.release();
  }

  private ipPath(ip: IP): string {
    return path.join(this.dir, formatIP(ip));
  }

  reserve(id: string, ifname: string, ip: IP, rangeSetIndex: number): boolean {
    const file = this.ipPath(ip);
    if (!createFileExclusive(file, reservationContent(id, ifname), 0o600)) return false;
    try {
      // Only a round-robin hint: a crash losing it costs one out-of-order allocation, so no fsync.
      writeFileAtomic(path.join(this.dir, `${LAST_IP_PREFIX}${rangeSetIndex}`), formatIP(ip), { mode: 0o600, fsync: false });
    } catch (e) {
      fs.rmSync(file, { force: true });
      throw e;
    }
    return true;
  }

  releaseIP(ip: IP): void {
    fs.rmSync(this.ipPath(ip), { force: true });
  }

  lastReservedIP(rangeSetIndex: number): IP | undefined {
    let text: string | undefined;
    try {
      text = readFileIfExists(path.join(this.dir, `${LAST_IP_PREFIX}${rangeSetIndex}`));
    } catch {
      return undefined; // unreadable: lose round-robin once rather than fail the ADD
    }
    return text === undefined ? undefined : parseIP(text.trim()) ?? undefined;
  }

  /** Every reservation file in the directory (unreadable entries are skipped). */
  list(): Reservation[] {
    const out: Reservation[] = [];
    for (const ent of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!ent.isFile()) continue;
      const ip = parseIP(ent.name);
      if (!ip) continue; // lock, last_reserved_ip.N, temp files, strangers
      let content: string;
      try {
        content = fs.readFileSync(path.join(this.dir, ent.name), 'utf8');
      } catch {
        continue; // released concurrently (cannot happen under the lock) or unreadable
      }
      out.push({ ip, file: ent.name, ...parseReservation(content) });
    }
    return out;
  }

  /** Reservations of (id, ifname); when there are none, legacy id-only ones of `id`. */
  findByID(id: string, ifname: string): Reservation[] {
    const cid = id.trim();
    const all = this.list();
    const exact = all.filter((r) => r.containerID === cid && r.ifname === ifname);
    return exact.length > 0 ? exact : all.filter((r) => r.containerID === cid && r.ifname === undefined);
  }

  getByID(id: string, ifname: string): IP[] {
    const cid = id.trim();
    // Duplicate detection looks at both forms at once, like the reference's GetByID.
    return this.list()
      .filter((r) => r.containerID === cid && (r.ifname === ifname || r.ifname === undefined))
      .map((r) => r.ip);
  }

  /** Releases the reservations of (id, ifname), or, when there are none, legacy ones of `id`. */
  releaseByID(id: string, ifname: string): Reservation[] {
    const found = this.findByID(id, ifname);
    for (const r of found) fs.rmSync(path.join(this.dir, r.file), { force: true });
    return found;
  }

  /**
   * Releases every reservation whose attachment is not in `valid` (legacy id-only files are kept
   * when any valid attachment has their container ID). Never touches `lock` or
   * `last_reserved_ip.*`. Returns what was released.
   */
  gc(valid: readonly Attachment[]): Reservation[] {
    const pairs = new Set(valid.map((a) => `${a.containerID.trim()}${LINE_BREAK}${a.ifname}`));
    const ids = new Set(valid.map((a) => a.containerID.trim()));
    const released: Reservation[] = [];
    for (const r of this.list()) {
      const keep = r.ifname === undefined ? ids.has(r.containerID) : pairs.has(`${r.containerID}${LINE_BREAK}${r.ifname}`);
      if (keep) continue;
      fs.rmSync(path.join(this.dir, r.file), { force: true });
      released.push(r);
    }
    return released;
  }
}

/** Opens the store, runs `fn` under its lock, closes it however `fn` ends. */
export async function withStore<T>(dir: string, fn: (s: DiskStore) => T | Promise<T>, lockOpts?: LockOptions): Promise<T> {
  const s = await DiskStore.open(dir, lockOpts);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
