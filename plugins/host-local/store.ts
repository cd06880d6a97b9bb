// The on-disk reservation store, file-compatible with the reference's `disk` backend so either
// implementation can take over a node's state:
//   <dataDir>/<net>/                      0755
//   <dataDir>/<net>/lock                  flock'ed around every operation
//   <dataDir>/<net>/<ip>                  0600, "<containerID trimmed>\r\n<ifname>" (legacy: "<containerID>")
//   <dataDir>/<net>/last_reserved_ip.<N>  0600, the IP last reserved in range set N, no newline
// Lookups scan the directory; only entries whose name is an IP address are reservations.
import { sysfs } from '../../shared/native/sysfs';
import * as path from 'node:path';
import type { Attachment } from '../../shared/cni/types';
import { type IP, formatIP, parseIP } from '../../shared/ip';
import { createFileExclusive, readFileIfExists, writeFileAtomic } from '../../shared/state/atomic-file';
import { fileWithinGcGrace } from '../../shared/state/gc-grace';
import { type FileLock, type LockOptions, acquireLock } from '../../shared/state/lock';
import { mkdirAll } from '../../shared/state/mkdir-all';
import type { ReservationStore } from './allocator';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

const LOCK_FILE = 'lock';
const LAST_IP_PREFIX = 'last_reserved_ip.';
const LINE_BREAK = '\r\n';
/** Temp files of shared/state/atomic-file (`<name>.tmp-<pid>-<hex>`); only lock holders write them. */
const ATOMIC_TEMP_RE = /\.tmp-\d+-[0-9a-f]+$/;

/** One reservation file, parsed. `ifname` is undefined for legacy id-only files. */
interface Reservation {
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
const reservationContent = (id: string, ifname: string): string => `${id.trim()}${LINE_BREAK}${ifname}`;

export class DiskStore implements ReservationStore {
  private constructor(
    readonly dir: string,
    private readonly lock: FileLock,
  ) {}

  /** Creates `dir` (0755) if needed and takes its lock. Call close() when done. */
  static async open(dir: string, lockOpts?: LockOptions): Promise<DiskStore> {
    mkdirAll(dir, 0o755);
    const lock = await acquireLock(path.join(dir, LOCK_FILE), lockOpts);
    return new DiskStore(dir, lock);
  }

  close(): void {
    this.lock.release();
  }

  private ipPath(ip: IP): string {
    return path.join(this.dir, formatIP(ip));
  }

  /**
   * A zero-byte reservation file is an orphan: every writer (ours and the reference's) creates
   * and writes it under the lock we hold, so it is one whose writer died in between (SIGKILL,
   * power loss before writeback). It names no container, so no DEL would ever release it.
   */
  private isOrphan(file: string): boolean {
    try {
      return fs.statSync(file).size === 0;
    } catch {
      return false;
    }
  }

  reserve(id: string, ifname: string, ip: IP, rangeSetIndex: number): boolean {
    const file = this.ipPath(ip);
    const content = reservationContent(id, ifname);
    if (!createFileExclusive(file, content, 0o600)) {
      if (!this.isOrphan(file)) return false;
      writeFileAtomic(file, content, { mode: 0o600, fsync: false }); // take the orphan over
    }
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
        // this.dir is already normalised (config.ts resolves it): no path.join per file.
        content = fs.readFileSync(`${this.dir}/${ent.name}`, 'utf8');
      } catch {
        continue; // released concurrently (cannot happen under the lock) or unreadable
      }
      out.push({ ip, file: ent.name, ...parseReservation(content) });
    }
    return out;
  }

  /** Reservations of (id, ifname); when there are none, legacy id-only ones of `id`. */
  findByID(id: string, ifname: string): Reservation[] {
    return DiskStore.pick(this.list(), id, ifname);
  }

  private static pick(all: Reservation[], id: string, ifname: string): Reservation[] {
    const cid = id.trim();
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

  /** Releases the reservations of (id, ifname), or, when there are none, legacy ones of `id`; and orphans. */
  releaseByID(id: string, ifname: string): Reservation[] {
    const all = this.list();
    const found = DiskStore.pick(all, id, ifname);
    for (const r of found) fs.rmSync(path.join(this.dir, r.file), { force: true });
    // The DEL after a killed ADD is the only call that could know of its orphan: any DEL frees
    // them, and the temp files of atomic writes (last_reserved_ip.N) a killed holder left.
    for (const r of all) {
      if (r.containerID === '' && this.isOrphan(path.join(this.dir, r.file))) fs.rmSync(path.join(this.dir, r.file), { force: true });
    }
    for (const name of fs.readdirSync(this.dir)) {
      if (ATOMIC_TEMP_RE.test(name)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    return found;
  }

  /**
   * Releases every reservation whose attachment is not in `valid` (legacy id-only files are kept
   * when any valid attachment has their container ID), except reservations younger than the GC
   * grace (shared/state/gc-grace.ts: an ADD that made one may not have returned yet, so the
   * runtime could not list it). Never touches `lock` or `last_reserved_ip.*`. Returns what was
   * released. `nowMs` is the clock the ages are measured against.
   */
  gc(valid: readonly Attachment[], nowMs: number = Date.now()): Reservation[] {
    const pairs = new Set(valid.map((a) => `${a.containerID.trim()}${LINE_BREAK}${a.ifname}`));
    const ids = new Set(valid.map((a) => a.containerID.trim()));
    const released: Reservation[] = [];
    for (const r of this.list()) {
      const keep = r.ifname === undefined ? ids.has(r.containerID) : pairs.has(`${r.containerID}${LINE_BREAK}${r.ifname}`);
      if (keep) continue;
      const file = path.join(this.dir, r.file);
      if (fileWithinGcGrace(file, nowMs)) continue;
      fs.rmSync(file, { force: true });
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
