// The file operations of a plugin call. Under Node this is node:fs itself (Node loads it at
// start anyway). In the Bun-compiled executable, loading node:fs costs ~0.85 ms of every call
// (measured: an empty compiled program 3.9 ms, one that requires node:fs 4.7 ms), so there the
// same operations go straight to the syscalls through the addon (native/fs_ops.c), with
// Node's errors: the same code, errno, syscall, path and message text
// (`ENOENT: no such file or directory, open '/x'`). test/unit/native/sysfs.test.ts runs one
// battery of operations through both and compares every result and error.
import type * as NodeFs from 'node:fs';
import { native, type NativeAddon } from './addon';

// The numbers a stat returns, in the order native/fs_ops.c fills its Float64Array.
const STAT_FIELDS = ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'atimeMs', 'mtimeMs', 'ctimeMs'] as const;

/** What a stat returns: the fields and predicates the plugins use. */
export type SysStats = Record<(typeof STAT_FIELDS)[number], number> & {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
};

interface SysDirent {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface SysStatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

type Data = string | Uint8Array;

/** The subset of node:fs the plugins use; node:fs satisfies it as it is. */
export interface SysFs {
  constants: { O_RDONLY: number; O_WRONLY: number; O_RDWR: number; O_CREAT: number; O_EXCL: number; O_TRUNC: number; O_APPEND: number; O_DIRECTORY: number; F_OK: number; R_OK: number; W_OK: number; X_OK: number };
  openSync(path: string, flags: number | 'r', mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buf: Uint8Array, offset: number, length: number, position: number | null): number;
  writeSync(fd: number, data: Data, offset?: number, length?: number): number;
  fstatSync(fd: number): SysStats;
  statSync(path: string): SysStats;
  lstatSync(path: string): SysStats;
  statfsSync(path: string): SysStatFs;
  existsSync(path: string): boolean;
  accessSync(path: string, mode?: number): void;
  mkdirSync(path: string, opts?: { recursive?: boolean; mode?: number }): string | undefined;
  readdirSync(path: string): string[];
  readdirSync(path: string, opts: { withFileTypes: true }): SysDirent[];
  readFileSync(path: string, encoding: 'utf8'): string;
  readFileSync(path: string): Buffer;
  writeFileSync(path: string, data: Data): void;
  appendFileSync(path: string, data: Data, opts?: { mode?: number }): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  rmSync(path: string, opts?: { force?: boolean }): void;
  fchmodSync(fd: number, mode: number): void;
  fsyncSync(fd: number): void;
}

let impl: SysFs | undefined;

/**
 * node:fs under Node, the addon's syscalls under Bun. Never throws: where the addon cannot load,
 * node:fs still reads stdin and prints the CNI error, and the operation that needs the addon
 * (a lock, a netns) reports why it could not load.
 */
export function sysfs(): SysFs {
  if (impl) return impl;
  if (process.versions.bun) {
    try {
      return (impl = addonFs(native()));
    } catch {
      /* fall through to node:fs */
    }
  }
  return (impl = require('node:fs') as typeof NodeFs as unknown as SysFs);
}

// ------------------------------------------------------------------ errors as Node makes them

// Linux errno numbers and libuv's descriptions of them (the text Node puts in fs errors).
const ERRNO: Record<number, [string, string]> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  4: ['EINTR', 'interrupted system call'],
  5: ['EIO', 'i/o error'],
  6: ['ENXIO', 'no such device or address'],
  9: ['EBADF', 'bad file descriptor'],
  11: ['EAGAIN', 'resource temporarily unavailable'],
  12: ['ENOMEM', 'not enough memory'],
  13: ['EACCES', 'permission denied'],
  16: ['EBUSY', 'resource busy or locked'],
  17: ['EEXIST', 'file already exists'],
  18: ['EXDEV', 'cross-device link not permitted'],
  19: ['ENODEV', 'no such device'],
  20: ['ENOTDIR', 'not a directory'],
  21: ['EISDIR', 'illegal operation on a directory'],
  22: ['EINVAL', 'invalid argument'],
  23: ['ENFILE', 'file table overflow'],
  24: ['EMFILE', 'too many open files'],
  26: ['ETXTBSY', 'text file is busy'],
  27: ['EFBIG', 'file too large'],
  28: ['ENOSPC', 'no space left on device'],
  29: ['ESPIPE', 'invalid seek'],
  30: ['EROFS', 'read-only file system'],
  31: ['EMLINK', 'too many links'],
  32: ['EPIPE', 'broken pipe'],
  36: ['ENAMETOOLONG', 'name too long'],
  38: ['ENOSYS', 'function not implemented'],
  39: ['ENOTEMPTY', 'directory not empty'],
  40: ['ELOOP', 'too many symbolic links encountered'],
  95: ['ENOTSUP', 'operation not supported on socket'],
};

function fsError(errno: number, syscall: string, path?: string, dest?: string): NodeJS.ErrnoException {
  const [code, desc] = ERRNO[errno] ?? [`Unknown system error -${errno}`, `Unknown system error -${errno}`];
  let msg = `${code}: ${desc}, ${syscall}`;
  if (path !== undefined) msg += ` '${path}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  const e = new Error(msg) as NodeJS.ErrnoException & { dest?: string };
  e.errno = -errno;
  e.code = code;
  e.syscall = syscall;
  if (path !== undefined) e.path = path;
  if (dest !== undefined) e.dest = dest;
  return e;
}

/** `rc` when it is a result, else the error for -rc. */
function check(rc: number, syscall: string, path?: string, dest?: string): number {
  if (rc < 0) throw fsError(-rc, syscall, path, dest);
  return rc;
}

// ------------------------------------------------------------------ the addon implementation

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;

function toStats(o: Float64Array): SysStats {
  const f = Object.fromEntries(STAT_FIELDS.map((k, i) => [k, o[i]!])) as Record<(typeof STAT_FIELDS)[number], number>;
  const type = f.mode & S_IFMT;
  return { ...f, isFile: () => type === S_IFREG, isDirectory: () => type === S_IFDIR, isSymbolicLink: () => type === S_IFLNK };
}

class Dirent implements SysDirent {
  constructor(
    readonly name: string,
    private readonly kind: number,
  ) {}
  isFile(): boolean {
    return this.kind === DT_REG;
  }
  isDirectory(): boolean {
    return this.kind === DT_DIR;
  }
  isSymbolicLink(): boolean {
    return this.kind === DT_LNK;
  }
}

// Linux x86-64/arm64 values (the only platforms the addon is built for).
const CONSTANTS: SysFs['constants'] = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_DIRECTORY: 0o200000,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
};

const toBytes = (d: Data): Uint8Array => (typeof d === 'string' ? Buffer.from(d, 'utf8') : d);

/** The addon-backed implementation; exported for the parity test, which runs it under Node too. */
export function addonFs(a: NativeAddon): SysFs {
  const stat = (path: string | null, fd: number, follow: boolean, syscall: string): SysStats => {
    const out = new Float64Array(STAT_FIELDS.length);
    check(a.fsStat(path, fd, follow ? 1 : 0, out), syscall, path ?? undefined);
    return toStats(out);
  };
  const writeAll = (fd: number, bytes: Uint8Array): void => {
    for (let off = 0; off < bytes.length; ) off += check(a.fsWrite(fd, bytes, off, bytes.length - off, -1), 'write');
  };
  const writeFile = (path: string, data: Data, flags: number, mode: number): void => {
    const fd = check(a.fsOpen(path, flags, mode), 'open', path);
    try {
      writeAll(fd, toBytes(data));
    } finally {
      a.fsClose(fd);
    }
  };
  const readdir = (path: string, withTypes: boolean): string[] | Array<string | number> => {
    const r = a.fsReaddir(path, withTypes ? 1 : 0);
    if (typeof r === 'number') throw fsError(-r, 'scandir', path);
    return r;
  };
  const mkdirp = (path: string, mode: number): string | undefined => {
    const rc = a.fsMkdir(path, mode);
    if (rc === 0) return path;
    if (-rc === 17 /* EEXIST */) {
      const out = new Float64Array(STAT_FIELDS.length);
      if (a.fsStat(path, 0, 1, out) === 0 && toStats(out).isDirectory()) return undefined;
      throw fsError(17, 'mkdir', path);
    }
    if (-rc !== 2 /* ENOENT */) throw fsError(-rc, 'mkdir', path);
    const slash = path.replace(/\/+$/, '').lastIndexOf('/');
    if (slash <= 0) throw fsError(2, 'mkdir', path);
    let first: string | undefined;
    try {
      first = mkdirp(path.slice(0, slash), mode);
    } catch (e) {
      // Node names the path it was asked for, not the ancestor that failed.
      const errno = -((e as NodeJS.ErrnoException).errno ?? -2);
      throw fsError(errno, 'mkdir', path);
    }
    const again = a.fsMkdir(path, mode);
    if (again < 0 && -again !== 17) throw fsError(-again, 'mkdir', path);
    return first ?? path;
  };

  const fs: SysFs = {
    constants: CONSTANTS,
    openSync: (path, flags, mode = 0o666) => check(a.fsOpen(path, flags === 'r' ? CONSTANTS.O_RDONLY : flags, mode), 'open', path),
    closeSync: (fd) => void check(a.fsClose(fd), 'close'),
    readSync: (fd, buf, offset, length, position) => check(a.fsRead(fd, buf, offset, length, position ?? -1), 'read'),
    writeSync: (fd, data, offset, length) => {
      const bytes = toBytes(data);
      const off = typeof data === 'string' ? 0 : (offset ?? 0);
      const len = typeof data === 'string' ? bytes.length : (length ?? bytes.length - off);
      return check(a.fsWrite(fd, bytes, off, len, -1), 'write');
    },
    fstatSync: (fd) => stat(null, fd, true, 'fstat'),
    statSync: (path) => stat(path, 0, true, 'stat'),
    lstatSync: (path) => stat(path, 0, false, 'lstat'),
    statfsSync: (path) => {
      const o = new Float64Array(7);
      check(a.fsStatfs(path, o), 'statfs', path);
      return { type: o[0]!, bsize: o[1]!, blocks: o[2]!, bfree: o[3]!, bavail: o[4]!, files: o[5]!, ffree: o[6]! };
    },
    existsSync: (path) => a.fsAccess(path, CONSTANTS.F_OK) === 0,
    accessSync: (path, mode = CONSTANTS.F_OK) => void check(a.fsAccess(path, mode), 'access', path),
    mkdirSync: (path, opts = {}) => {
      const mode = opts.mode ?? 0o777;
      if (opts.recursive) return mkdirp(path, mode);
      check(a.fsMkdir(path, mode), 'mkdir', path);
      return undefined;
    },
    readdirSync: ((path: string, opts?: { withFileTypes: true }) => {
      if (!opts?.withFileTypes) return readdir(path, false) as string[];
      const flat = readdir(path, true);
      const out: Dirent[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const name = flat[i] as string;
        let kind = flat[i + 1] as number;
        if (kind === 0) {
          // DT_UNKNOWN: the filesystem does not report types in directory entries.
          const st = stat(`${path}/${name}`, 0, false, 'lstat');
          kind = st.isFile() ? DT_REG : st.isDirectory() ? DT_DIR : st.isSymbolicLink() ? DT_LNK : -1;
        }
        out.push(new Dirent(name, kind));
      }
      return out;
    }) as SysFs['readdirSync'],
    readFileSync: ((path: string, encoding?: 'utf8') => {
      if (encoding) {
        // The common case, a small text file, in one addon call (open, read to EOF, close).
        const text = a.fsReadText(path);
        if (typeof text === 'string') return text;
        if (text <= -4096) throw fsError(-text - 4096, 'read');
        if (text !== -27 /* EFBIG: longer than one call reads */) throw fsError(-text, 'open', path);
      }
      const fd = check(a.fsOpen(path, CONSTANTS.O_RDONLY, 0), 'open', path);
      try {
        const chunks: Buffer[] = [];
        let total = 0;
        for (;;) {
          const buf = Buffer.allocUnsafe(total === 0 ? 8192 : 65536);
          const n = check(a.fsRead(fd, buf, 0, buf.length, -1), 'read');
          if (n === 0) break;
          chunks.push(n === buf.length ? buf : buf.subarray(0, n));
          total += n;
        }
        const all = Buffer.concat(chunks, total);
        return encoding ? all.toString('utf8') : all;
      } finally {
        a.fsClose(fd);
      }
    }) as SysFs['readFileSync'],
    writeFileSync: (path, data) => writeFile(path, data, CONSTANTS.O_WRONLY | CONSTANTS.O_CREAT | CONSTANTS.O_TRUNC, 0o666),
    appendFileSync: (path, data, opts = {}) => writeFile(path, data, CONSTANTS.O_WRONLY | CONSTANTS.O_CREAT | CONSTANTS.O_APPEND, opts.mode ?? 0o666),
    renameSync: (from, to) => void check(a.fsRename(from, to), 'rename', from, to),
    unlinkSync: (path) => void check(a.fsUnlink(path), 'unlink', path),
    rmSync: (path, opts = {}) => {
      const rc = a.fsUnlink(path);
      if (rc === 0 || (opts.force && -rc === 2)) return;
      if (-rc === 21 || -rc === 1) {
        const out = new Float64Array(STAT_FIELDS.length);
        if (a.fsStat(path, 0, 0, out) === 0 && toStats(out).isDirectory()) {
          throw Object.assign(new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`), { code: 'ERR_FS_EISDIR', errno: 21, syscall: 'rm', path });
        }
      }
      throw fsError(-rc, 'rm', path);
    },
    fchmodSync: (fd, mode) => void check(a.fsFchmod(fd, mode), 'fchmod'),
    fsyncSync: (fd) => void check(a.fsFsync(fd, 0), 'fsync'),
  };
  return fs;
}
