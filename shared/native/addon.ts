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
interface NativeAddon {
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
}

let addon: NativeAddon | undefined;

/** Loads the addon once. The static relative path lets ncc and `bun build --compile` embed it. */
export function native(): NativeAddon {
  if (!addon) addon = timed('addon', loadAddon);
  return addon;
}

function loadAddon(): NativeAddon {
  try {
    // Path is relative to out/shared/native/ (the compiled location every build starts from).
    return require('../../../build/Release/cni_native.node') as NativeAddon;
  } catch (err) {
    // The standalone build unpacks the addon into $TMPDIR first; a noexec TMPDIR makes that
    // dlopen fail. Load the same bytes from a memfd instead (memfd-load.ts).
    let fallback: NativeAddon | undefined;
    try {
      fallback = loadEmbeddedAddonFromMemfd<NativeAddon>();
    } catch (memfdErr) {
      const why = memfdErr instanceof Error ? memfdErr.message : String(memfdErr);
      const first = err instanceof Error ? err.message : String(err);
      throw Object.assign(new Error(`${first}; loading it from a memfd failed too: ${why}`), {
        code: (err as { code?: string }).code,
      });
    }
    if (!fallback) throw err;
    log.debug(`native addon: loaded from a memfd (${err instanceof Error ? err.message : String(err)})`);
    return fallback;
  }
}
