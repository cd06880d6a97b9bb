// A synchronous NETLINK_ROUTE socket over the project's addon. The socket is bound to the
// network namespace of the thread that opened it, for its whole life.
import { sysfs } from '../native/sysfs';
import { FlagsGet, Flags } from 'netlink/dist/constants';
import { NETLINK_ROUTE, native } from '../native/addon';
import type { NetNS } from '../netns/netns';
import { withNetns } from '../netns/netns';
import { NetlinkError } from './errors';
import { decodeDone, decodeError, encodeRequest, isDone, isError, isNoop, isOverrun, parseMessages, requestName } from './message';
import type { NetlinkMessage } from './message';
import { AckCollector, BATCH_CHUNK, encodeBatch } from './batch';
import type { NetlinkOp } from './batch';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

export const DEFAULT_TIMEOUT_MS = 10_000;
const DUMP_RETRIES = 10;

export interface NetlinkReply {
  type: number;
  flags: number;
  /** Payload after the netlink header. */
  data: Buffer;
}

export class NetlinkSocket {
  private seq: number;
  private _fd: number;

  private constructor(fd: number, readonly timeoutMs: number) {
    this._fd = fd;
    this.seq = (Math.floor(Math.random() * 0x7fffffff) ^ process.pid) >>> 0;
  }

  /** Opens a NETLINK_ROUTE socket in the calling thread's current netns. */
  static open(timeoutMs = DEFAULT_TIMEOUT_MS): NetlinkSocket {
    return new NetlinkSocket(native().nlOpen(NETLINK_ROUTE, timeoutMs), timeoutMs);
  }

  /** Opens a socket bound to ns (inside a short setns window). */
  static openIn(ns: NetNS, timeoutMs = DEFAULT_TIMEOUT_MS): NetlinkSocket {
    return withNetns(ns, () => NetlinkSocket.open(timeoutMs));
  }

  get fd(): number {
    if (this._fd < 0) throw new Error('netlink socket is closed');
    return this._fd;
  }

  /**
   * Sends one request and returns the payloads of the replies. `flags` are the request's own
   * flags (NLM_F_CREATE|EXCL, NLM_F_DUMP, …); REQUEST is always added, and ACK for anything
   * that is not a dump, so every request ends with an explicit status. Throws NetlinkError on
   * a kernel error. A dump that the kernel flags as interrupted (NLM_F_DUMP_INTR, the table
   * changed meanwhile) is repeated.
   */
  request(type: number, flags: number, payload: Uint8Array): Buffer[] {
    return this.requestMessages(type, flags, payload).map((m) => m.data);
  }

  requestMessages(type: number, flags: number, payload: Uint8Array): NetlinkReply[] {
    const dump = (flags & FlagsGet.DUMP) === FlagsGet.DUMP;
    for (let attempt = 0; ; attempt++) {
      const { replies, interrupted } = this.exchange(type, dump ? flags : flags | Flags.ACK, payload);
      if (!interrupted || attempt >= DUMP_RETRIES) return replies;
    }
  }

  private exchange(type: number, flags: number, payload: Uint8Array): { replies: NetlinkReply[]; interrupted: boolean } {
    const addon = native();
    const seq = (this.seq = (this.seq + 1) >>> 0);
    addon.nlSend(this.fd, encodeRequest(type, flags, seq, payload));
    const replies: NetlinkReply[] = [];
    let interrupted = false;
    for (;;) {
      let buf: Buffer;
      try {
        buf = addon.nlRecv(this.fd);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          const err = new NetlinkError(11, `no reply to ${requestName(type)} within ${this.timeoutMs} ms`, requestName(type));
          throw err;
        }
        throw e;
      }
      let msgs: NetlinkMessage[];
      try {
        msgs = parseMessages(buf);
      } catch (e) {
        throw new Error(`netlink: malformed reply to ${requestName(type)}: ${(e as Error).message}`);
      }
      for (const m of msgs) {
        // Replies to an earlier request that timed out, or notifications: not ours.
        if (m.seq !== seq) continue;
        if (isNoop(m)) continue;
        if (isOverrun(m)) throw new NetlinkError(105, 'netlink overrun', requestName(type));
        if (isError(m)) {
          const d = decodeError(m.data, m.flags);
          if (d.errno !== 0) throw new NetlinkError(d.errno, d.extack, requestName(type));
          return { replies, interrupted };
        }
        if (m.flags & Flags.DUMP_INTR) interrupted = true;
        if (isDone(m)) {
          // NLMSG_DONE of a dump may carry the dump's error as its first int.
          const d = decodeDone(m.data, m.flags);
          if (d.errno > 0) throw new NetlinkError(d.errno, d.extack, requestName(type));
          return { replies, interrupted };
        }
        // A single reply (e.g. RTM_GETLINK by index) is followed by its ACK: keep reading.
        replies.push({ type: m.type, flags: m.flags, data: m.data });
      }
    }
  }

  /**
   * Sends write requests (each with NLM_F_ACK) back to back, `chunk` per datagram, and collects
   * their acks: one send and one ack read per entry become one send per chunk. result[i] is null
   * when op i was acknowledged, else its error (the kernel's, or a timeout when no ack came);
   * the kernel carries on after a failed entry, so one error never hides the others'. Order is
   * kept: the kernel applies the messages of a datagram, and the datagrams, in sequence.
   */
  requestBatch(ops: readonly NetlinkOp[], chunk = BATCH_CHUNK): (Error | null)[] {
    const out: (Error | null)[] = [];
    const size = Math.max(1, Math.floor(chunk));
    for (let start = 0; start < ops.length; start += size) {
      for (const r of this.sendChunk(ops.slice(start, start + size))) out.push(r);
    }
    return out;
  }

  private sendChunk(ops: readonly NetlinkOp[]): (Error | null)[] {
    const addon = native();
    const first = (this.seq + 1) >>> 0;
    const { buf, seqs } = encodeBatch(ops, first);
    this.seq = seqs[seqs.length - 1]!;
    const acks = new AckCollector(ops, seqs);
    try {
      addon.nlSend(this.fd, buf);
    } catch (e) {
      acks.failPending(e as Error);
    }
    while (!acks.done) {
      let got: Buffer;
      try {
        got = addon.nlRecv(this.fd);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          acks.failPending((type) => new NetlinkError(11, `no acknowledgement of ${requestName(type)} within ${this.timeoutMs} ms (batched)`, requestName(type)));
        } else if (code === 'ENOBUFS') {
          // The receive queue overflowed: acks were dropped, we cannot tell which.
          acks.failPending(new NetlinkError(105, 'acknowledgements lost (receive buffer overrun)', 'batch'));
        } else {
          acks.failPending(e as Error);
        }
        break;
      }
      let msgs: NetlinkMessage[];
      try {
        msgs = parseMessages(got);
      } catch (e) {
        acks.failPending(new Error(`netlink: malformed reply in a batch: ${(e as Error).message}`));
        break;
      }
      for (const m of msgs) acks.accept(m);
    }
    return acks.results.map((r) => r ?? null);
  }

  close(): void {
    if (this._fd >= 0) {
      const fd = this._fd;
      this._fd = -1;
      fs.closeSync(fd);
    }
  }
}
