// The pure half of external interface selection.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import type { Address, Link, RouteInfo } from '../../../shared/netlink';
import {
  ExternalInterfaceError, defaultRouteIndex, firstGlobalAddress, interfaceWithAddress, parseIfaceSpec,
  regexCandidates, unusableReason,
} from '../../../flanneld/datapath/external-iface-pick';

const link = (index: number, name: string, up = true): Link => ({ index, name, mtu: 1500, mac: '', flags: up ? 1 : 0, up, promisc: false, operstate: up ? 'up' : 'down' });
const addr = (index: number, cidr: string, scope = 0, flags = 0): Address => ({ index, cidr: mustParseCIDR(cidr), scope, flags });

const LINKS = [link(1, 'lo'), link(2, 'eth0'), link(3, 'eth1'), link(4, 'wg0', false)];
const ADDRS = [
  addr(1, '127.0.0.1/8', 254),
  addr(2, 'fe80::1/64', 253),
  addr(2, 'fd00::9/64', 0, 0x40), // tentative
  addr(2, '192.168.1.10/24'),
  addr(2, 'fd00::10/64'),
  addr(3, '10.0.2.15/24'),
  addr(4, '172.20.0.1/24'),
];

describe('external interface choice (pure)', () => {
  it('first global address: skips host/link scope and tentative ones', () => {
    assert.equal(formatIP(firstGlobalAddress(ADDRS, 2, 4)!), '192.168.1.10');
    assert.equal(formatIP(firstGlobalAddress(ADDRS, 2, 6)!), 'fd00::10');
    assert.equal(firstGlobalAddress(ADDRS, 1, 4), undefined);
    assert.equal(firstGlobalAddress(ADDRS, 3, 6), undefined);
  });

  it('--iface entries are IPs or names', () => {
    assert.deepEqual(parseIfaceSpec('eth0'), { name: 'eth0' });
    assert.equal(formatIP((parseIfaceSpec('10.0.2.15') as { ip: any }).ip), '10.0.2.15');
    assert.equal(interfaceWithAddress(ADDRS, mustParseIP('10.0.2.15')), 3);
    assert.equal(interfaceWithAddress(ADDRS, mustParseIP('10.0.2.16')), undefined);
  });

  it('--iface-regex: names first, then addresses, no duplicates', () => {
    assert.deepEqual(regexCandidates('^eth', LINKS, ADDRS).map((l) => l.name), ['eth0', 'eth1']);
    assert.deepEqual(regexCandidates('^10\\.0\\.2\\.', LINKS, ADDRS).map((l) => l.name), ['eth1']);
    assert.deepEqual(regexCandidates('1', LINKS, ADDRS).map((l) => l.name), ['eth1', 'lo', 'eth0', 'wg0']);
    assert.throws(() => regexCandidates('eth(', LINKS, ADDRS), (e: unknown) =>
      e instanceof ExternalInterfaceError && /^--iface-regex eth\(: invalid regular expression/.test(e.message));
  });

  it('default route: lowest metric of the family', () => {
    const r = (dst: string, index: number, metric: number): RouteInfo => ({ dst: mustParseCIDR(dst), index, metric, scope: 0, table: 254, protocol: 3, flags: 0, type: 1 });
    const routes = [r('0.0.0.0/0', 3, 200), r('0.0.0.0/0', 2, 100), r('192.168.1.0/24', 4, 0), r('::/0', 4, 1)];
    assert.equal(defaultRouteIndex(routes, 4), 2);
    assert.equal(defaultRouteIndex(routes, 6), 4);
    assert.equal(defaultRouteIndex([], 4), undefined);
  });

  it('a candidate must be up and have every family', () => {
    assert.equal(unusableReason(LINKS[1]!, ADDRS, [4, 6]), null);
    assert.equal(unusableReason(LINKS[2]!, ADDRS, [4, 6]), 'interface eth1 has no global IPv6 address');
    assert.equal(unusableReason(LINKS[3]!, ADDRS, [4]), 'interface wg0 is down');
  });

  it('errors name the flag and the value', () => {
    assert.equal(new ExternalInterfaceError('--iface', 'eth9', 'no such interface').message, '--iface eth9: no such interface');
  });
});
