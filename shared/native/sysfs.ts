// The file operations of a plugin call. Under Node this is node:fs itself (Node loads it at
// start anyway). In the Bun-compiled executable, loading node:fs costs ~0.85 ms of every call
// (measured: an empty compiled program 3.9 ms, one that requires node:fs 4.7 ms), so there the
// same operations go straight to the syscalls through the addon (native/fs_ops.c), with
// Node's errors: the same code, errno, syscall, path and message text
// (`ENOENT: no such file or directory, open '/x'`). test/unit/native/sysfs.test.ts runs one
// battery of operations through both and compares every result and error.
import { nodeFs } from '../base/node-fs';
import { native, type NativeAddon } from './addon';
import { UV_ERRORS, UV_UNKNOWN } from './uv-errors';

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
  return (impl = nodeFs() as unknown as SysFs);
}

// ------------------------------------------------------------------ errors as Node makes them

function fsError(errno: number, syscall: string, path?: string, dest?: string): NodeJS.ErrnoException {
  const [code, desc] = UV_ERRORS[errno] ?? UV_UNKNOWN;
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

const NAMED_ESCAPES: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\x0B', '\f': '\\f', '\r': '\\r' };

/** A string as Node's util.inspect quotes it in an error message (what a NUL path shows as). */
function inspectString(v: string): string {
  // Single quotes unless the string has one and no double quote (then double quotes).
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  let out = q;
  for (const c of v) {
    const code = c.charCodeAt(0);
    if (NAMED_ESCAPES[c] !== undefined) out += NAMED_ESCAPES[c];
    else if (c === q) out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return out + q;
}

/** Node refuses a path with a NUL byte before any syscall (the kernel would cut it short). */
function checkPath(path: string): string {
  if (path.includes('\0')) {
    throw Object.assign(new TypeError(`The argument 'path' must be a string, Uint8Array, or URL without null bytes. Received ${inspectString(path)}`), { code: 'ERR_INVALID_ARG_VALUE' });
  }
  return path;
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

/**
 * Writes all of `data` to `fd` through `fs`: a write may take part of it (a pipe, a signal), and
 * a non-blocking stdout answers EAGAIN while its reader catches up.
 */
export function writeAllSync(fs: Pick<SysFs, 'writeSync'>, fd: number, data: Data): void {
  const bytes = toBytes(data);
  for (let off = 0; off < bytes.length; ) {
    try {
      off += fs.writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

/** The addon-backed implementation; exported for the parity test, which runs it under Node too. */
export function addonFs(a: NativeAddon): SysFs {
  /** The stat of a path (lstat with follow false), or fstat of fd when path is null; or the errno. */
  const tryStat = (path: string | null, fd: number, follow: boolean): SysStats | number => {
    const out = new Float64Array(STAT_FIELDS.length);
    const rc = a.fsStat(path, fd, follow ? 1 : 0, out);
    return rc < 0 ? -rc : toStats(out);
  };
  const stat = (path: string | null, fd: number, follow: boolean, syscall: string): SysStats => {
    const st = tryStat(path, fd, follow);
    if (typeof st === 'number') throw fsError(st, syscall, path ?? undefined);
    return st;
  };
  const writeFile = (path: string, data: Data, flags: number, mode: number): void => {
    const fd = check(a.fsOpen(checkPath(path), flags, mode), 'open', path);
    try {
      writeAllSync(fs, fd, data);
    } finally {
      a.fsClose(fd);
    }
  };
  const readdir = (path: string, withTypes: boolean): string[] | Array<string | number> => {
    checkPath(path);
    const r = a.fsReaddir(path, withTypes ? 1 : 0);
    if (typeof r === 'number') throw fsError(-r, 'scandir', path);
    return r;
  };
  const mkdirp = (path: string, mode: number): string | undefined => {
    const rc = a.fsMkdir(path, mode);
    if (rc === 0) return path;
    if (-rc === 17 /* EEXIST */) {
      const st = tryStat(path, 0, true);
      if (typeof st !== 'number' && st.isDirectory()) return undefined;
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
    openSync: (path, flags, mode = 0o666) => check(a.fsOpen(checkPath(path), flags === 'r' ? CONSTANTS.O_RDONLY : flags, mode), 'open', path),
    closeSync: (fd) => void check(a.fsClose(fd), 'close'),
    readSync: (fd, buf, offset, length, position) => check(a.fsRead(fd, buf, offset, length, position ?? -1), 'read'),
    writeSync: (fd, data, offset, length) => {
      const bytes = toBytes(data);
      const off = typeof data === 'string' ? 0 : (offset ?? 0);
      const len = typeof data === 'string' ? bytes.length : (length ?? bytes.length - off);
      return check(a.fsWrite(fd, bytes, off, len, -1), 'write');
    },
    fstatSync: (fd) => stat(null, fd, true, 'fstat'),
    statSync: (path) => stat(checkPath(path), 0, true, 'stat'),
    lstatSync: (path) => stat(checkPath(path), 0, false, 'lstat'),
    statfsSync: (path) => {
      const o = new Float64Array(7);
      check(a.fsStatfs(checkPath(path), o), 'statfs', path);
      return { type: o[0]!, bsize: o[1]!, blocks: o[2]!, bfree: o[3]!, bavail: o[4]!, files: o[5]!, ffree: o[6]! };
    },
    existsSync: (path) => !path.includes('\0') && a.fsAccess(path, CONSTANTS.F_OK) === 0,
    accessSync: (path, mode = CONSTANTS.F_OK) => void check(a.fsAccess(checkPath(path), mode), 'access', path),
    mkdirSync: (path, opts = {}) => {
      checkPath(path);
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
      checkPath(path);
      if (encoding) {
        // A text file in one addon call (open, read to EOF, close).
        const text = a.fsReadText(path);
        if (typeof text === 'string') return text;
        throw text <= -4096 ? fsError(-text - 4096, 'read') : fsError(-text, 'open', path);
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
        return Buffer.concat(chunks, total);
      } finally {
        a.fsClose(fd);
      }
    }) as SysFs['readFileSync'],
    writeFileSync: (path, data) => writeFile(path, data, CONSTANTS.O_WRONLY | CONSTANTS.O_CREAT | CONSTANTS.O_TRUNC, 0o666),
    appendFileSync: (path, data, opts = {}) => writeFile(path, data, CONSTANTS.O_WRONLY | CONSTANTS.O_CREAT | CONSTANTS.O_APPEND, opts.mode ?? 0o666),
    renameSync: (from, to) => void check(a.fsRename(checkPath(from), checkPath(to)), 'rename', from, to),
    unlinkSync: (path) => void check(a.fsUnlink(checkPath(path)), 'unlink', path),
    rmSync: (path, opts = {}) => {
      // As Node 20's rmSync: lstat first (force forgives only ENOENT), a directory is refused
      // without recursive, then unlink.
      const st = tryStat(checkPath(path), 0, false);
      if (typeof st === 'number') {
        if (opts.force && st === 2 /* ENOENT */) return;
        throw fsError(st, 'lstat', path);
      }
      if (st.isDirectory()) {
        throw Object.assign(new Error(`Path is a directory: rm returned EISDIR (is a directory) ${path}`), { code: 'ERR_FS_EISDIR', errno: 21, syscall: 'rm', path });
      }
      const rc = a.fsUnlink(path);
      if (rc < 0 && !(opts.force && rc === -2)) throw fsError(-rc, 'unlink', path);
    },
    fchmodSync: (fd, mode) => void check(a.fsFchmod(fd, mode), 'fchmod'),
    fsyncSync: (fd) => void check(a.fsFsync(fd, 0), 'fsync'),
  };
  return fs;
}
