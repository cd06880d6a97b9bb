import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { firstReason, reasonFor } from '../../../flanneld/datapath/kernel-events';

/** A notification: type and the fixed header's first bytes. */
function msg(type: number, bytes: (b: Buffer) => void, len = 16): { type: number; data: Buffer } {
  const data = Buffer.alloc(len);
  bytes(data);
  return { type, data };
}
const link = (type: number, index: number) => msg(type, (b) => b.writeInt32LE(index, 4));
const neigh = (family: number, index: number) => msg(29, (b) => { b[0] = family; b.writeInt32LE(index, 4); });
const route = (type: number, protocol: number) => msg(type, (b) => { b[0] = 2; b[5] = protocol; });
const owned = { links: [7] };

describe('kernel-events: which netlink notifications mean something of ours changed', () => {
  it('our link deleted or changed; other links ignored', () => {
    assert.equal(reasonFor(link(17, 7), owned), 'link 7 deleted');
    assert.equal(reasonFor(link(16, 7), owned), 'link 7 changed');
    assert.equal(reasonFor(link(17, 8), owned), null);
    assert.equal(reasonFor(link(16, 8), owned), null);
  });

  it('a neighbour (AF_INET/AF_INET6) or FDB (AF_BRIDGE) entry deleted on our link; others ignored', () => {
    assert.equal(reasonFor(neigh(2, 7), owned), 'neighbour entry on link 7 deleted');
    assert.equal(reasonFor(neigh(10, 7), owned), 'neighbour entry on link 7 deleted');
    assert.equal(reasonFor(neigh(7, 7), owned), 'fdb entry on link 7 deleted');
    assert.equal(reasonFor(neigh(2, 3), owned), null);
    assert.equal(reasonFor(msg(28, (b) => b.writeInt32LE(7, 4)), owned), null, 'additions are not watched');
  });

  it('a route of protocol 127 (ours) deleted; other protocols and additions ignored', () => {
    assert.equal(reasonFor(route(25, 127), owned), 'route deleted');
    assert.equal(reasonFor(route(25, 4), owned), null);
    assert.equal(reasonFor(route(24, 127), owned), null);
  });

  it('short messages are ignored, not read past their end', () => {
    assert.equal(reasonFor(msg(17, () => undefined, 4), owned), null);
    assert.equal(reasonFor(msg(25, () => undefined, 5), owned), null);
  });

  it('firstReason: an overrun always asks for a reconcile (events were lost); else the first that matters', () => {
    assert.equal(firstReason([], true, owned), 'netlink notifications overrun');
    assert.equal(firstReason([link(16, 8), route(25, 127), link(17, 7)], false, owned), 'route deleted');
    assert.equal(firstReason([link(16, 8)], false, owned), null);
  });
});
