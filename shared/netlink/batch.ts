// Batched requests (pure part): many requests in one datagram, each with NLM_F_ACK, and the
// bookkeeping that maps the acknowledgements back to their request by sequence number.
// The kernel (netlink_rcv_skb) walks every message of a datagram in order and acks each one on
// its own, success or error, so one failing entry does not stop the ones after it.
import { Flags } from 'netlink/dist/constants';
import { NetlinkError } from './errors';
import { decodeError, encodeRequest, isError, isOverrun, requestName } from './message';
import type { NetlinkMessage } from './message';

/** One request of a batch (a write: never a dump). */
export interface NetlinkOp {
  type: number;
  /** The request's own flags (CREATE|REPLACE, …); REQUEST and ACK are added. */
  flags: number;
  payload: Uint8Array;
}

/**
 * Requests per datagram. Each ack is its own skb in our receive queue until we read it; 64 acks
 * (errors carry the original request back) stay far below even the unprivileged default
 * rmem (≈208 KiB), so no ack is dropped for lack of buffer, while the syscalls per entry fall to
 * ≈1/64 for the send side.
 */
export const BATCH_CHUNK = 64;

const align4 = (n: number): number => (n + 3) & ~3;

/** The requests as one buffer with consecutive sequence numbers from firstSeq (mod 2^32). */
export function encodeBatch(ops: readonly NetlinkOp[], firstSeq: number): { buf: Buffer; seqs: number[] } {
  const parts: Buffer[] = [];
  const seqs: number[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const seq = (firstSeq + i) >>> 0;
    const m = encodeRequest(op.type, op.flags | Flags.ACK, seq, op.payload);
    parts.push(m);
    // Messages in one datagram start on NLMSG_ALIGNTO (4) boundaries.
    const pad = align4(m.length) - m.length;
    if (pad) parts.push(Buffer.alloc(pad));
    seqs.push(seq);
  }
  return { buf: Buffer.concat(parts), seqs };
}

/** Collects the acks of one sent batch: result[i] is null (acked) or the kernel's error. */
export class AckCollector {
  readonly results: (Error | null | undefined)[];
  private readonly bySeq = new Map<number, number>();
  private pending: number;

  constructor(private readonly ops: readonly NetlinkOp[], seqs: readonly number[]) {
    this.results = new Array(ops.length).fill(undefined);
    seqs.forEach((s, i) => this.bySeq.set(s, i));
    this.pending = ops.length;
  }

  get done(): boolean {
    return this.pending === 0;
  }

  /** Takes one received message; anything not an ack of ours (old replies, notifications) is ignored. */
  accept(m: NetlinkMessage): void {
    if (isOverrun(m)) return this.failPending(new NetlinkError(105, 'netlink overrun: acknowledgements lost', 'batch'));
    const i = this.bySeq.get(m.seq);
    if (i === undefined || this.results[i] !== undefined || !isError(m)) return;
    const d = decodeError(m.data, m.flags);
    this.results[i] = d.errno === 0 ? null : new NetlinkError(d.errno, d.extack, requestName(this.ops[i]!.type));
    this.pending--;
  }

  /** Every entry still without an ack gets `err` (a timeout, a lost ack, a failed send). */
  failPending(err: Error | ((type: number) => Error)): void {
    for (let i = 0; i < this.results.length; i++) {
      if (this.results[i] !== undefined) continue;
      this.results[i] = typeof err === 'function' ? err(this.ops[i]!.type) : err;
      this.pending--;
    }
  }
}
