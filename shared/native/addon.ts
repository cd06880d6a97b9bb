// The project's N-API addon (native/cni_native.c): the few syscalls Node and Bun lack.

import { log } from '../base/log';
import { timed } from '../base/timing';
import { loadEmbeddedAddonFromMemfd } from './memfd-load';

export const CLONE_NEWNET = 0x40000000;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const NETLINK_ROUTE = 0;
/** linux/ethtool.h: get / set tx checksumming (all of the device's NETIF_F_CSUM_MASK features). */
export const ETHTOOL_GTXCSUM = 0x16;
export const ETHTOOL_STXCSUM = 0x17;

/**
 * Errors thrown by the addon are Error objects with `code` (errno name, e.g. 'EEXIST')
 * and `errno` (positive number).
 */
export interface NativeAddon {
  /** setns(2) on the calling thread. */
  setns(fd: number, nstype: number): void;
  /** A netlink socket of `protocol` bound in the calling thread's netns, SOCK_CLOEXEC,
   *  with SO_RCVTIMEO = timeoutMs, subscribed to the multicast `groups` (RTMGRP_* bits, default 0).
   *  Returns the fd (close it with fs.closeSync). */
  nlOpen(protocol: number, timeoutMs: number, groups?: number): number;
  /** send(2) one request to the kernel. */
  nlSend(fd: number, msg: Buffer): void;
  /** Receives one datagram (sized with MSG_PEEK|MSG_TRUNC). Throws code 'EAGAIN' on timeout. */
  nlRecv(fd: number): Buffer;
  /** flock(2); throws code 'EWOULDBLOCK'/'EAGAIN' with LOCK_NB when held elsewhere. */
  flock(fd: number, op: number): void;
  /** One AF_UNIX datagram (SOCK_CLOEXEC socket, closed after) to socketPath: an absolute path,
   *  or '@name' for an abstract socket ($NOTIFY_SOCKET's two forms). Throws code 'ENOENT',
   *  'ECONNREFUSED', … from sendto. */
  sdNotify(socketPath: string, message: string): void;
  /**
   * A blocking flock(2) (op without LOCK_NB) bounded by `timeoutMs`: resolves once held, rejects
   * with code 'ETIMEDOUT' at the deadline. Runs on the runtime's thread pool (the event loop
   * keeps running); at the deadline the blocked flock is interrupted by a no-op signal.
   */
  flockWait(fd: number, op: number, timeoutMs: number): Promise<void>;
  /** SIOCETHTOOL with a struct ethtool_value {cmd, data} on device `ifname` (calling thread's
   *  netns); returns data after the call. Throws code 'ENODEV' (no such device), 'EOPNOTSUPP'. */
  ethtoolValue(ifname: string, cmd: number, data: number): number;
  // File syscalls (native/fs_ops.c) for shared/native/sysfs.ts: each returns its result or -errno
  // and throws only for wrong argument types. O_CLOEXEC is always added to fsOpen's flags.
  fsOpen(path: string, flags: number, mode: number): number;
  fsClose(fd: number): number;
  /** position < 0: the file offset (read/write); else pread/pwrite. */
  fsRead(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  fsWrite(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** stat (follow=1) / lstat (follow=0) of path, or fstat(fd) when path is null; fills
   *  out = [dev, ino, mode, nlink, uid, gid, rdev, size, atimeMs, mtimeMs, ctimeMs]. */
  fsStat(path: string | null, fd: number, follow: number, out: Float64Array): number;
  /** out = [type, bsize, blocks, bfree, bavail, files, ffree]. */
  fsStatfs(path: string, out: Float64Array): number;
  fsMkdir(path: string, mode: number): number;
  fsAccess(path: string, mode: number): number;
  fsUnlink(path: string): number;
  fsRmdir(path: string): number;
  fsRename(from: string, to: string): number;
  fsFchmod(fd: number, mode: number): number;
  fsFsync(fd: number, unused: number): number;
  /** Names without . and ..; with withTypes=1 each name is followed by its d_type. */
  fsReaddir(path: string, withTypes: number): string[] | Array<string | number> | number;
  /** A whole file as UTF-8 in one call; -errno of open, -(4096 + errno) of read. */
  fsReadText(path: string): string | number;
}

/**
 * The addon could not be loaded (a missing or foreign build/Release/cni_native.node, a dlopen
 * refused by a noexec TMPDIR and by the memfd route too). `code` is the loader's (e.g.
 * 'MODULE_NOT_FOUND', 'ERR_DLOPEN_FAILED') when it gave one. Callers need not tell it apart: at
 * the CNI boundary it is an internal error (999) with this message, like any other failure.
 */
class AddonLoadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'AddonLoadError';
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): string | undefined => (e as { code?: string }).code;

let addon: NativeAddon | undefined;

/** Loads the addon once. The static relative path lets ncc and `bun build --compile` embed it. */
export function native(): NativeAddon {
  if (!addon) addon = timed('addon', loadAddon);
  return addon;
}

function loadAddon(): NativeAddon {
  try {
    // Relative to shared/native/: the standalone build bundles the TypeScript sources, where this
    // is <repo>/build/Release; build.sh copies the addon to out/build/Release for the tsc output
    // that the Node bundles and the tests start from.
    return require('../../build/Release/cni_native.node') as NativeAddon;
  } catch (err) {
    // The standalone build unpacks the addon into $TMPDIR first; a noexec TMPDIR makes that
    // dlopen fail. Load the same bytes from a memfd instead (memfd-load.ts).
    let fallback: NativeAddon | undefined;
    try {
      fallback = loadEmbeddedAddonFromMemfd<NativeAddon>();
    } catch (memfdErr) {
      throw new AddonLoadError(`${messageOf(err)}; loading it from a memfd failed too: ${messageOf(memfdErr)}`, codeOf(err));
    }
    if (!fallback) throw new AddonLoadError(messageOf(err), codeOf(err));
    log.debug(`native addon: loaded from a memfd (${messageOf(err)})`);
    return fallback;
  }
}
