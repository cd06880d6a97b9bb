import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sysctlPath } from '../../../shared/netns/sysctl';
import { isNetnsFsType, unknownMagicMessage } from '../../../shared/netns/fsmagic';

describe('sysctl names', () => {
  it('dotted and slash forms', () => {
    assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(sysctlPath('net/ipv4/ip_forward'), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(sysctlPath('/proc/sys/net/ipv4/ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  });

  it('interface names with dots survive in the slash form', () => {
    assert.equal(sysctlPath('net/ipv4/conf/eth0.100/arp_notify'), '/proc/sys/net/ipv4/conf/eth0.100/arp_notify');
    assert.equal(sysctlPath('net/ipv6/conf/vx.1/accept_ra'), '/proc/sys/net/ipv6/conf/vx.1/accept_ra');
  });

  it('rejects names escaping /proc/sys', () => {
    assert.throws(() => sysctlPath('net/../../etc/passwd'), TypeError);
    assert.throws(() => sysctlPath(''), TypeError);
    assert.throws(() => sysctlPath('net//ipv4'), TypeError);
  });
});

describe('netns fs magic', () => {
  it('accepts nsfs and procfs only', () => {
    assert.equal(isNetnsFsType(0x6e736673), true);
    assert.equal(isNetnsFsType(0x9fa0), true);
    assert.equal(isNetnsFsType(0xef53), false);
    assert.equal(isNetnsFsType(0x01021994n), false);
    assert.equal(unknownMagicMessage('/tmp/x', 0x1021994), 'unknown FS magic on "/tmp/x": 1021994');
  });
});
