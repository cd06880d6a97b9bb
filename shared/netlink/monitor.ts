// A NETLINK_ROUTE socket subscribed to notifications (link, neighbour, route changes), read
// without blocking the event loop: the addon is synchronous, so the socket's receive timeout is
// 1 ms and `drain()` returns what is pending now. When the kernel could not queue a notification
// (ENOBUFS: the receive buffer overflowed) the caller learns it as `overrun` and must re-read
// the state it cares about, since events were lost.
import * as fs from 'fs';
import { NETLINK_ROUTE, native } from '../native/addon';
import { parseMessages } from './message';
import type { NetlinkMessage } from './message';

/** rtnetlink multicast groups (linux/rtnetlink.h RTMGRP_*). */
export const RTMGRP = {
  LINK: 0x1,
  NEIGH: 0x4,
  IPV4_ROUTE: 0x40,
  IPV6_ROUTE: 0x400,
} as const;

export interface Drained {
  messages: NetlinkMessage[];
  /** Notifications were dropped by the kernel (receive buffer full). */
  overrun: boolean;
}

export class NetlinkMonitor {
  private fd: number;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Subscribes to `groups` in the calling thread's netns. */
  static open(groups: number): NetlinkMonitor {
    return new NetlinkMonitor(native().nlOpen(NETLINK_ROUTE, 1, groups));
  }

  /** Every notification queued now; at most `maxDatagrams` reads (the rest stays for the next call). */
  drain(maxDatagrams = 1000): Drained {
    if (this.fd < 0) throw new Error('netlink monitor is closed');
    const out: Drained = { messages: [], overrun: false };
    const addon = native();
    for (let i = 0; i < maxDatagrams; i++) {
      let buf: Buffer;
      try {
        buf = addon.nlRecv(this.fd);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
        if (code === 'ENOBUFS') {
          out.overrun = true;
          continue;
        }
        throw e;
      }
      out.messages.push(...parseMessages(buf));
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.closeSync(fd);
    }
  }
}
