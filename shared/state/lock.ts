// An exclusive lock on a file path, held with flock(2) on an open descriptor.
//
// Why flock: the kernel drops the lock when the last descriptor of the open file description is
// closed, which includes the holder dying (SIGKILL, OOM kill, power-cut aside), so a crashed
// plugin can never wedge the network. Node opens files with O_CLOEXEC, so a child a plugin execs
// while holding the lock (a delegate) does not inherit and prolong it.
//
// Waiting is a blocking flock bounded by a timeout (the addon's flockWait), not LOCK_NB polling:
// when the holder unlocks, the kernel wakes blocked waiters at once, so a poller that sleeps
// between tries loses nearly every race against the reference plugins' blocking waiters and can
// starve until its timeout. The wait runs on the thread pool, so the event loop is not frozen
// (plugins may run in-process inside another plugin), and a stuck holder still becomes a
// precise timeout error (CNI "try again later" to host-local's caller) instead of a hung runtime.
import { sysfs } from '../native/sysfs';
import { errnoText } from '../base/message-text';
import { timedAsync } from '../base/timing';
import { LOCK_EX, LOCK_NB, LOCK_UN, native } from '../native/addon';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

export interface FileLock {
  readonly path: string;
  /** Unlocks and closes the descriptor; idempotent. */
  release(): void;
}

export interface LockOptions {
  /** Give up after this long (LockTimeoutError). Default 60 000 ms. */
  timeoutMs?: number;
  /** Mode of the lock file when it is created. Default 0o644. */
  mode?: number;
}

/** The lock was still held elsewhere when the wait's deadline passed. */
export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly timeoutMs: number,
    /** PIDs /proc/locks names as holders ([] when unknown). */
    readonly holders: readonly number[],
  ) {
    const by = holders.length > 0 ? ` (held by pid ${holders.join(', ')})` : '';
    super(`timed out after ${timeoutMs} ms waiting for the lock on ${path}${by}`);
    this.name = 'LockTimeoutError';
  }
}

/** The lock file could not be opened, or flock(2) failed for another reason than the deadline. */
export class LockError extends Error {
  constructor(
    message: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'LockError';
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

const isTimeout = (e: unknown): boolean => (e as { code?: string }).code === 'ETIMEDOUT';

/** flock with LOCK_NB: true when taken, false when held elsewhere; other errors propagate. */
function tryLock(fd: number): boolean {
  try {
    native().flock(fd, LOCK_EX | LOCK_NB);
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') return false;
    throw e;
  }
}

/** dev_t → "maj:min" as /proc/locks prints it (hex), for naming the holder in errors. */
function devString(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/** PIDs that /proc/locks says hold a lock on the file open as `fd` (best effort, [] if unknown). */
function lockHolders(fd: number): number[] {
  try {
    const st = fs.fstatSync(fd);
    const key = `${devString(st.dev)}:${st.ino}`;
    const out: number[] = [];
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters have "->" after the index)
      const i = f[1] === '->' ? 2 : 1;
      if (f[i] === 'FLOCK' && f[i + 4] === key) out.push(Number(f[i + 3]));
    }
    return out.filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

function openLockFile(path: string, mode: number): number {
  try {
    return fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, mode);
  } catch (e) {
    throw new LockError(`cannot open lock file ${path}: ${errnoText(e)}`, path, e);
  }
}

/** True when `path` still names the file open as `fd` (it was not removed or replaced meanwhile). */
function stillSameFile(fd: number, path: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/**
 * Takes an exclusive flock on `path` (created if missing). Resolves once held; rejects with
 * LockTimeoutError after `timeoutMs` (naming the holder's PID when /proc/locks shows it), with
 * LockError when the file cannot be opened or locked.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<FileLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const mode = opts.mode ?? 0o644;
  const deadline = Date.now() + timeoutMs;
  const addon = native();
  for (;;) {
    const fd = openLockFile(path, mode);
    try {
      try {
        // Uncontended (the usual case): taken at once, without a trip through the thread pool.
        if (!tryLock(fd)) await timedAsync('lock-wait', () => addon.flockWait(fd, LOCK_EX, Math.max(0, deadline - Date.now())));
      } catch (e) {
        if (!isTimeout(e)) {
          throw new LockError(`cannot lock ${path}: ${errnoText(e)}`, path, e);
        }
        throw new LockTimeoutError(path, timeoutMs, lockHolders(fd));
      }
      // A lock on a file that was unlinked (or replaced) meanwhile excludes nobody: start over.
      if (stillSameFile(fd, path)) {
        const held = fd;
        let released = false;
        return {
          path,
          release(): void {
            if (released) return;
            released = true;
            try {
              addon.flock(held, LOCK_UN);
            } finally {
              fs.closeSync(held);
            }
          },
        };
      }
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    fs.closeSync(fd); // closing drops the useless lock
  }
}

/** Runs `fn` while holding the lock on `path`; the lock is released however `fn` ends. */
export async function withLock<T>(path: string, fn: () => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
