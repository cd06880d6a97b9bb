// The pure half of batched netlink writes: one buffer of N requests (each acked, aligned,
// consecutive sequence numbers) and the mapping of acks back to their request by sequence number.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Flags, MessageType } from 'netlink/dist/constants';
import { AckCollector, encodeBatch } from '../../../shared/netlink/batch';
import type { NetlinkOp } from '../../../shared/netlink/batch';
import { NetlinkError } from '../../../shared/netlink/errors';
import { parseMessages } from '../../../shared/netlink/message';

const op = (type: number, len: number): NetlinkOp => ({ type, flags: 0x500, payload: Buffer.alloc(len, 7) });

/** An NLMSG_ERROR message as the kernel sends it: int error, then the original header. */
function ack(seq: number, errno: number, type: number = MessageType.ERROR): Buffer {
  const b = Buffer.alloc(16 + 4 + 16);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(0x100, 6); // NLM_F_CAPPED: the original payload is not echoed
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(-errno, 16);
  return b;
}
const msgs = (...bufs: Buffer[]) => parseMessages(Buffer.concat(bufs));

describe('netlink batch encoding', () => {
  it('N requests in one buffer, each with REQUEST|ACK and its own flags, 4-byte aligned, consecutive seqs', () => {
    const ops = [op(28, 13), op(24, 8), op(29, 1)];
    const { buf, seqs } = encodeBatch(ops, 41);
    assert.deepEqual(seqs, [41, 42, 43]);
    const parsed = parseMessages(buf);
    assert.equal(parsed.length, 3);
    parsed.forEach((m, i) => {
      assert.equal(m.type, ops[i]!.type);
      assert.equal(m.seq, 41 + i);
      assert.equal(m.flags, 0x500 | Flags.REQUEST | Flags.ACK);
      assert.equal(m.data.length, ops[i]!.payload.length);
    });
    assert.equal(buf.length % 4, 0);
    assert.equal(buf.length, (16 + 16) + (16 + 8) + (16 + 4));
  });

  it('sequence numbers wrap at 2^32', () => {
    assert.deepEqual(encodeBatch([op(28, 4), op(28, 4)], 0xffffffff).seqs, [0xffffffff, 0]);
  });
});

describe('netlink batch acks', () => {
  it('maps each ack to its request by seq, in any order; an error belongs to its entry only', () => {
    const ops = [op(28, 4), op(24, 4), op(29, 4)];
    const c = new AckCollector(ops, [10, 11, 12]);
    for (const m of msgs(ack(12, 0), ack(10, 0))) c.accept(m);
    assert.equal(c.done, false);
    for (const m of msgs(ack(11, 19))) c.accept(m);
    assert.equal(c.done, true);
    assert.equal(c.results[0], null);
    assert.equal(c.results[2], null);
    const e = c.results[1];
    assert.ok(e instanceof NetlinkError);
    assert.equal(e.code, 'ENODEV');
    assert.equal(e.request, 'RTM_NEWROUTE');
  });

  it('ignores acks of other seqs, a second ack of the same seq, and non-ack messages', () => {
    const c = new AckCollector([op(28, 4)], [5]);
    const notAck = ack(5, 0, 28); // e.g. a notification that happens to carry seq 5
    for (const m of msgs(ack(4, 17), ack(6, 17), notAck)) c.accept(m);
    assert.equal(c.done, false);
    for (const m of msgs(ack(5, 0), ack(5, 17))) c.accept(m);
    assert.deepEqual(c.results, [null]);
  });

  it('a timeout or lost acks fail only the entries still pending, naming their request', () => {
    const c = new AckCollector([op(28, 4), op(24, 4)], [1, 2]);
    for (const m of msgs(ack(1, 0))) c.accept(m);
    c.failPending((type) => new NetlinkError(11, `no acknowledgement (type ${type})`, 'x'));
    assert.equal(c.done, true);
    assert.equal(c.results[0], null);
    assert.match((c.results[1] as Error).message, /no acknowledgement \(type 24\)/);
  });

  it('an overrun message fails every pending entry with ENOBUFS', () => {
    const c = new AckCollector([op(28, 4), op(24, 4)], [1, 2]);
    for (const m of msgs(ack(2, 0), ack(0, 0, MessageType.OVERRUN))) c.accept(m);
    assert.equal(c.done, true);
    assert.equal((c.results[0] as NetlinkError).code, 'ENOBUFS');
    assert.equal(c.results[1], null);
  });
});
