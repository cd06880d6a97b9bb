// shared/ip against Go's behaviour, as a table (issue 16). The reference plugins parse and print
// with Go's net package (net.ParseIP, net.ParseCIDR, net.IP.String, which follows RFC 5952); the
// vectors are those of Go's net/netip tests and documented behaviour. Where net and netip differ
// the row says which one we follow and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contains, formatCIDR, formatIP, lastAddress, networkOf, parseCIDR, parseIP, type CIDR } from '../../../shared/ip';

// input → [family, String()] or null (refused)
const PARSE: [string, [4 | 6, string] | null][] = [
  ['127.0.1.2', [4, '127.0.1.2']],
  ['127.0.0.256', null],
  ['abc', null],
  ['', null],
  ['1.2.3', null],
  ['1.2.3.4.5', null],
  // Leading zeros in IPv4 are refused since Go 1.17 (octal ambiguity, CVE-2021-29923).
  ['010.1.1.1', null],
  ['1.2.3.04', null],
  ['0.0.0.0', [4, '0.0.0.0']],
  // The unspecified and loopback forms.
  ['::', [6, '::']],
  ['0:0:0:0:0:0:0:0', [6, '::']],
  ['::1', [6, '::1']],
  ['1::', [6, '1::']],
  ['1:0:0:0:0:0:0:0', [6, '1::']],
  // IPv4-mapped IPv6 is IPv4 to net.ParseIP (netip would keep it as IPv6 "::ffff:1.2.3.4"): the
  // reference plugins use net, so a v4-mapped address in a config means the IPv4 address.
  ['::ffff:1.2.3.4', [4, '1.2.3.4']],
  ['::ffff:127.0.0.1', [4, '127.0.0.1']],
  ['::ffff:4a7d:1363', [4, '74.125.19.99']],
  ['0:0:0:0:0:ffff:127.1.2.3', [4, '127.1.2.3']],
  ['0:0:0:0::ffff:127.1.2.3', [4, '127.1.2.3']],
  // An embedded IPv4 tail without the ffff prefix stays IPv6 and prints in hex.
  ['::1.2.3.4', [6, '::102:304']],
  ['64:ff9b::1.2.3.4', [6, '64:ff9b::102:304']],
  ['2001:4860:0:2001::68', [6, '2001:4860:0:2001::68']],
  ['2001:4860:0000:2001:0000:0000:0000:0068', [6, '2001:4860:0:2001::68']],
  ['2001:DB8::1', [6, '2001:db8::1']],
  ['2001:0db8::0001', [6, '2001:db8::1']],
  // RFC 5952: the longest zero run is compressed; on a tie the first; a single zero group never.
  ['2001:db8:0:0:0:0:2:1', [6, '2001:db8::2:1']],
  ['2001:db8:0:0:1:0:0:1', [6, '2001:db8::1:0:0:1']],
  ['1:0:0:2:0:0:3:4', [6, '1::2:0:0:3:4']],
  ['2001:0:0:1:0:0:0:1', [6, '2001:0:0:1::1']],
  ['2001:db8::1:1:1:1:1', [6, '2001:db8:0:1:1:1:1:1']],
  ['1:0:2:3:4:5:6:7', [6, '1:0:2:3:4:5:6:7']],
  ['::1:2:3:4:5:6:7', [6, '0:1:2:3:4:5:6:7']],
  ['fe80::224:d7ff:fe83:1f28', [6, 'fe80::224:d7ff:fe83:1f28']],
  // Refused: zones (net.ParseIP has none), two ellipses, too many groups, over-long groups
  // (netip's 4-digit rule), stray colons, bad tails.
  ['fe80::1%eth0', null],
  ['1::2::3', null],
  [':::', null],
  ['1:2:3:4:5:6:7:8:9', null],
  ['1:2:3:4:5:6:7:8::', null],
  ['1:2:3:4:5:6:7', null],
  ['00000::', null],
  [':1::', null],
  ['1::2:', null],
  ['::ffff:1.2.3', null],
  ['::ffff:01.2.3.4', null],
  ['g::', null],
];

test('parseIP and formatIP follow Go (table)', () => {
  for (const [input, want] of PARSE) {
    const ip = parseIP(input);
    if (want === null) {
      assert.equal(ip, null, `${JSON.stringify(input)} must be refused`);
      continue;
    }
    assert.ok(ip, `${JSON.stringify(input)} must parse`);
    assert.deepEqual([ip.family, formatIP(ip)], want, JSON.stringify(input));
  }
});

// input → [String() of the address/prefix as given, network, last address] or null
const CIDRS: [string, [string, string, string] | null][] = [
  ['0.0.0.0/0', ['0.0.0.0/0', '0.0.0.0/0', '255.255.255.255']],
  ['10.1.2.3/0', ['10.1.2.3/0', '0.0.0.0/0', '255.255.255.255']],
  ['::/0', ['::/0', '::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['10.1.2.3/32', ['10.1.2.3/32', '10.1.2.3/32', '10.1.2.3']],
  ['10.1.2.3/31', ['10.1.2.3/31', '10.1.2.2/31', '10.1.2.3']],
  ['10.1.2.3/24', ['10.1.2.3/24', '10.1.2.0/24', '10.1.2.255']],
  ['2001:db8::1/128', ['2001:db8::1/128', '2001:db8::1/128', '2001:db8::1']],
  ['2001:db8::1/64', ['2001:db8::1/64', '2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff']],
  ['1::/16', ['1::/16', '1::/16', '1:ffff:ffff:ffff:ffff:ffff:ffff:ffff']],
  ['10.1.2.3/33', null],
  ['::/129', null],
  ['10.1.2.3/-1', null],
  ['10.1.2.3/', null],
  ['10.1.2.3', null],
  ['/24', null],
  ['010.1.2.3/24', null],
  ['10.1.2.3/24/1', null],
  ['fe80::1%eth0/64', null],
];

test('parseCIDR: /0, /32, /128, bounds and malformed prefixes (table)', () => {
  for (const [input, want] of CIDRS) {
    const c = parseCIDR(input);
    if (want === null) {
      assert.equal(c, null, `${JSON.stringify(input)} must be refused`);
      continue;
    }
    assert.ok(c, `${JSON.stringify(input)} must parse`);
    assert.deepEqual([formatCIDR(c), formatCIDR(networkOf(c)), formatIP(lastAddress(c))], want, JSON.stringify(input));
  }
});

test('containment at the edges: /0 holds every address of its family only, /32 and /128 only themselves', () => {
  const c = (s: string): CIDR => parseCIDR(s)!;
  const ip = (s: string) => parseIP(s)!;
  assert.ok(contains(c('0.0.0.0/0'), ip('255.255.255.255')));
  assert.ok(!contains(c('0.0.0.0/0'), ip('::1')));
  assert.ok(contains(c('::/0'), ip('2001:db8::1')));
  assert.ok(!contains(c('::/0'), ip('10.0.0.1')));
  assert.ok(contains(c('10.1.2.3/32'), ip('10.1.2.3')));
  assert.ok(!contains(c('10.1.2.3/32'), ip('10.1.2.4')));
  assert.ok(contains(c('2001:db8::1/128'), ip('2001:db8::1')));
  assert.ok(!contains(c('2001:db8::1/128'), ip('2001:db8::2')));
});

test('inside a CIDR a v4-mapped IPv6 literal stays IPv6 (as Go\'s ParseCIDR parses it)', () => {
  const c = parseCIDR('::ffff:1.2.3.4/128')!;
  assert.equal(c.ip.family, 6);
  assert.equal(c.prefix, 128);
});
