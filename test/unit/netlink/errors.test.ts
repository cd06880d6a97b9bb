import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NetlinkError, errnoName, errnoText, isExists, isNotFound } from '../../../shared/netlink/errors';

describe('netlink errors', () => {
  it('names and Go-style texts of errnos', () => {
    assert.equal(errnoName(17), 'EEXIST');
    assert.equal(errnoName(19), 'ENODEV');
    assert.equal(errnoName(11), 'EAGAIN');
    assert.equal(errnoName(95), 'EOPNOTSUPP');
    assert.equal(errnoName(4242), 'E4242');
    assert.equal(errnoText(17), 'file exists');
    assert.equal(errnoText(2), 'no such file or directory');
    assert.equal(errnoText(99), 'cannot assign requested address');
    assert.equal(errnoText(4242), 'errno 4242');
  });

  it('NetlinkError carries code, errno and the extended-ACK text', () => {
    const e = new NetlinkError(17, 'ipv4: Address already assigned', 'RTM_NEWADDR');
    assert.equal(e.code, 'EEXIST');
    assert.equal(e.errno, 17);
    assert.equal(e.message, 'file exists: ipv4: Address already assigned');
    assert.equal(e.request, 'RTM_NEWADDR');
    assert.ok(e instanceof Error);
    assert.equal(new NetlinkError(19).message, 'no such device');
  });

  it('isNotFound / isExists classify by code', () => {
    for (const errno of [2, 19, 3, 99]) assert.equal(isNotFound(new NetlinkError(errno)), true, String(errno));
    for (const errno of [17, 22, 1, 16]) assert.equal(isNotFound(new NetlinkError(errno)), false, String(errno));
    assert.equal(isExists(new NetlinkError(17)), true);
    assert.equal(isExists(new NetlinkError(16)), false);
    assert.equal(isNotFound(Object.assign(new Error('x'), { code: 'ENOENT' })), true);
    assert.equal(isNotFound('ENOENT'), false);
    assert.equal(isNotFound(null), false);
    assert.equal(isExists(undefined), false);
  });
});
