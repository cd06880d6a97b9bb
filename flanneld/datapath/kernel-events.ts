// Netlink notifications about what the daemon owns, so by-hand damage is repaired at once
// instead of at the next periodic reconcile: flannel.<VNI> deleted or changed (MAC, MTU, down),
// one of our routes (protocol RTPROT_FLANNEL) deleted, an ARP or FDB entry on our device deleted.
// Additions are not watched: the daemon's own writes produce them, and a by-hand change of an
// entry is caught by the periodic reconcile. Only the decision (pure) and a poller live here.
import { NetlinkMonitor, RTMGRP } from '../../shared/netlink';
import { AF_BRIDGE, RTM } from '../../shared/netlink/constants';
import type { NetlinkMessage } from '../../shared/netlink/message';
import { RTPROT_FLANNEL } from './ownership';


interface OwnedKernelObjects {
  /** Indexes of our devices (flannel.<VNI>, flannel-v6.<VNI>). */
  links: number[];
}

/**
 * Why this notification needs a reconcile, or null. Offsets are those of the fixed headers after
 * nlmsghdr: ifinfomsg {u8 family, u8 pad, u16 type, s32 index, …}, ndmsg {u8 family, u8 pad,
 * u16 pad, s32 ifindex, …}, rtmsg {u8 family, dst_len, src_len, tos, table, protocol, …}.
 */
export function reasonFor(m: Pick<NetlinkMessage, 'type' | 'data'>, owned: OwnedKernelObjects): string | null {
  const d = m.data;
  switch (m.type) {
    case RTM.NEWLINK:
    case RTM.DELLINK: {
      if (d.length < 8) return null;
      const index = d.readInt32LE(4);
      if (!owned.links.includes(index)) return null;
      return m.type === RTM.DELLINK ? `link ${index} deleted` : `link ${index} changed`;
    }
    case RTM.DELNEIGH: {
      if (d.length < 8) return null;
      const index = d.readInt32LE(4);
      if (!owned.links.includes(index)) return null;
      return `${d[0] === AF_BRIDGE ? 'fdb' : 'neighbour'} entry on link ${index} deleted`;
    }
    case RTM.DELROUTE:
      if (d.length < 6 || d[5] !== RTPROT_FLANNEL) return null;
      return 'route deleted';
    default:
      return null;
  }
}

/** First reason among the drained notifications (or an overrun: events were lost). */
export function firstReason(messages: Pick<NetlinkMessage, 'type' | 'data'>[], overrun: boolean, owned: OwnedKernelObjects): string | null {
  if (overrun) return 'netlink notifications overrun';
  for (const m of messages) {
    const r = reasonFor(m, owned);
    if (r) return r;
  }
  return null;
}

/**
 * Polls a notification socket every `everyMs` (each poll blocks at most ~1 ms) and calls
 * `onChange(reason)` when something of ours changed. Opened in the caller's netns.
 */
export class KernelEventWatch {
  private readonly mon: NetlinkMonitor;
  private readonly timer: NodeJS.Timeout;

  constructor(owned: () => OwnedKernelObjects, onChange: (reason: string) => void, everyMs = 200) {
    this.mon = NetlinkMonitor.open(RTMGRP.LINK | RTMGRP.NEIGH | RTMGRP.IPV4_ROUTE | RTMGRP.IPV6_ROUTE);
    this.timer = setInterval(() => {
      let why: string | null;
      try {
        const { messages, overrun } = this.mon.drain();
        why = firstReason(messages, overrun, owned());
      } catch (e) {
        // An unreadable notification is no reason to stop: the full pass finds what changed.
        why = `notification read failed (${(e as Error).message})`;
      }
      if (why) onChange(why);
    }, everyMs);
  }

  close(): void {
    clearInterval(this.timer);
    this.mon.close();
  }
}
