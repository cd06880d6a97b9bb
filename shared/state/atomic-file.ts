// Whole-file writes that readers see either entirely old or entirely new: write a temp file in
// the same directory, optionally fsync it, rename(2) it over the target (atomic within one
// filesystem), then fsync the directory so the rename itself survives a crash. Without the
// fsyncs a power cut can leave a zero-length file behind (flannel-io/cni-plugin#43).
import { sysfs, writeAllSync } from '../native/sysfs';
import * as path from 'node:path';
import { randomBytes } from '../base/crypto-lite';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

interface AtomicWriteOptions {
  /** Exact mode of the file (not reduced by the umask). Default 0o600. */
  mode?: number;
  /** fsync the data and the directory. Default true. */
  fsync?: boolean;
}

/** The temp name used next to `target`: shares the target's name as prefix. */
export const tempNameFor = (target: string): string =>
  `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

/** fsync(2) a directory, so that entries created or renamed in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Atomically replaces `target` with `data`. Throws the fs error (with `code`) on failure. */
export function writeFileAtomic(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const mode = opts.mode ?? 0o600;
  const sync = opts.fsync ?? true;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = tempNameFor(target);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    try {
      fs.fchmodSync(fd, mode);
      writeAllSync(fs, fd, bytes);
      if (sync) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw e;
  }
  if (sync) fsyncDir(path.dirname(target));
}

/**
 * Creates `target` only if it does not exist (O_CREAT|O_EXCL) and writes `data` to it.
 * Returns false when it already exists; a failed write removes the partial file and throws.
 */
export function createFileExclusive(target: string, data: string | Uint8Array, mode = 0o600): boolean {
  let fd: number;
  try {
    fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  } catch (e) {
    if ((e as { code?: string }).code === 'EEXIST') return false;
    throw e;
  }
  try {
    try {
      writeAllSync(fs, fd, data);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    try {
      fs.unlinkSync(target);
    } catch {
      /* nothing to undo */
    }
    throw e;
  }
  return true;
}

/** The file's content, or undefined when it does not exist. Other errors are thrown. */
export function readFileIfExists(target: string): string | undefined {
  try {
    return fs.readFileSync(target, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}
