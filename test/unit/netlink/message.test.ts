import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDone, decodeError, encodeRequest, parseMessages } from '../../../shared/netlink/message';

const u32le = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
function attr(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(4 + data.length, 0);
  h.writeUInt16LE(type, 2);
  const pad = (4 - ((4 + data.length) % 4)) % 4;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}
function nlhdr(len: number, type: number, flags: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(len, 0); b.writeUInt16LE(type, 4); b.writeUInt16LE(flags, 6); b.writeUInt32LE(seq, 8);
  return b;
}

describe('netlink message framing', () => {
  it('encodes header fields and adds NLM_F_REQUEST', () => {
    const payload = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const m = encodeRequest(16, 0x600, 42, payload);
    assert.equal(m.length, 24);
    assert.equal(m.readUInt32LE(0), 24);
    assert.equal(m.readUInt16LE(4), 16);
    assert.equal(m.readUInt16LE(6), 0x601);
    assert.equal(m.readUInt32LE(8), 42);
    assert.equal(m.readUInt32LE(12), 0);
    assert.deepEqual(m.subarray(16), payload);
    const [p] = parseMessages(m);
    assert.equal(p!.seq, 42);
  });

  it('decodes a plain ACK', () => {
    const data = Buffer.concat([u32le(0), nlhdr(16, 16, 5, 1)]);
    assert.deepEqual(decodeError(data, 0x100), { errno: 0 });
  });

  it('decodes an error with extended ACK after the echoed request', () => {
    const orig = Buffer.concat([nlhdr(24, 20, 0x605, 9), Buffer.alloc(8, 0xaa)]);
    const tlv = Buffer.concat([attr(1, Buffer.from('ipv4: Address already assigned\0')), attr(2, u32le(20))]);
    const d = decodeError(Buffer.concat([u32le(-17), orig, tlv]), 0x200);
    assert.deepEqual(d, { errno: 17, extack: 'ipv4: Address already assigned', offset: 20 });
  });

  it('decodes an error with extended ACK after a capped echo', () => {
    const tlv = attr(1, Buffer.from('Nexthop has invalid gateway\0'));
    const d = decodeError(Buffer.concat([u32le(-101), nlhdr(60, 24, 0x605, 9), tlv]), 0x100 | 0x200);
    assert.deepEqual(d, { errno: 101, extack: 'Nexthop has invalid gateway' });
  });

  it('ignores TLVs unless NLM_F_ACK_TLVS is set', () => {
    const tlv = attr(1, Buffer.from('x\0'));
    assert.deepEqual(decodeError(Buffer.concat([u32le(-22), nlhdr(16, 16, 5, 1), tlv]), 0x100), { errno: 22 });
  });

  it('decodes NLMSG_DONE status', () => {
    assert.deepEqual(decodeDone(u32le(0), 0), { errno: 0 });
    assert.deepEqual(decodeDone(Buffer.concat([u32le(-95), attr(1, Buffer.from('nope\0'))]), 0x200), { errno: 95, extack: 'nope' });
    assert.deepEqual(decodeDone(Buffer.alloc(0), 0), { errno: 0 });
  });
});
