import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convertResult, parsePrevResult, toCurrentResult } from '../../../shared/cni/convert';
import { CniError } from '../../../shared/cni/errors';
import type { AnyResult, NetConf } from '../../../shared/cni/types';

const V1 = ['1.0.0', '1.1.0'];
const V04 = ['0.3.0', '0.3.1', '0.4.0'];
const LEGACY = ['0.1.0', '0.2.0'];
const ALL = [...LEGACY, ...V04, ...V1];

// A rich result as a 1.x plugin builds it (bridge with dual-stack).
const rich1 = {
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:01:02:01' },
    { name: 'veth1234abcd', mac: '0a:58:0a:01:02:02', mtu: 1450 },
    { name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/p', mtu: 1450, pciID: '0000:00:01.0' },
  ],
  ips: [
    { interface: 2, address: '10.1.2.5/24', gateway: '10.1.2.1' },
    { interface: 2, address: '10.1.2.6/24', gateway: '10.1.2.1' },
    { interface: 2, address: '2001:db8::5/64', gateway: '2001:db8::1' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '::/0' }, { dst: '10.244.0.0/16', mtu: 1400 }],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.local'] },
};

// What each version family prints for it.
const goldenFromRich: Record<string, (v: string) => unknown> = {
  v1: (v) => ({ cniVersion: v, ...rich1 }),
  v04: (v) => ({
    cniVersion: v,
    interfaces: [
      { name: 'cni0', mac: '0a:58:0a:01:02:01' },
      { name: 'veth1234abcd', mac: '0a:58:0a:01:02:02' },
      { name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/run/netns/p' },
    ],
    ips: [
      { version: '4', interface: 2, address: '10.1.2.5/24', gateway: '10.1.2.1' },
      { version: '4', interface: 2, address: '10.1.2.6/24', gateway: '10.1.2.1' },
      { version: '6', interface: 2, address: '2001:db8::5/64', gateway: '2001:db8::1' },
    ],
    routes: rich1.routes,
    dns: rich1.dns,
  }),
  legacy: (v) => ({
    cniVersion: v,
    ip4: { ip: '10.1.2.5/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '10.244.0.0/16', mtu: 1400 }] },
    ip6: { ip: '2001:db8::5/64', gateway: '2001:db8::1', routes: [{ dst: '::/0' }] },
    dns: rich1.dns,
  }),
};

// A legacy result and what it becomes (no interfaces can be invented).
const legacyIn = {
  ip4: { ip: '10.1.2.5/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }] },
  ip6: { ip: '2001:db8::5/64', routes: [{ dst: '::/0', gw: '2001:db8::1' }] },
  dns: { nameservers: ['1.1.1.1'] },
};
const goldenFromLegacy: Record<string, (v: string) => unknown> = {
  v1: (v) => ({
    cniVersion: v,
    ips: [{ address: '10.1.2.5/24', gateway: '10.1.2.1' }, { address: '2001:db8::5/64' }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '::/0', gw: '2001:db8::1' }],
    dns: { nameservers: ['1.1.1.1'] },
  }),
  v04: (v) => ({
    cniVersion: v,
    ips: [{ version: '4', address: '10.1.2.5/24', gateway: '10.1.2.1' }, { version: '6', address: '2001:db8::5/64' }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '::/0', gw: '2001:db8::1' }],
    dns: { nameservers: ['1.1.1.1'] },
  }),
  legacy: (v) => ({ cniVersion: v, ...legacyIn }),
};

const fam = (v: string): string => (V1.includes(v) ? 'v1' : V04.includes(v) ? 'v04' : 'legacy');

function sourceIn(v: string): AnyResult {
  const f = fam(v);
  if (f === 'legacy') return { cniVersion: v, ...JSON.parse(JSON.stringify(legacyIn)) } as AnyResult;
  return JSON.parse(JSON.stringify(goldenFromRich[f]!(v))) as AnyResult;
}

describe('result conversion: every pair of spec versions', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      it(`${from} → ${to}`, () => {
        const got = JSON.parse(JSON.stringify(convertResult(sourceIn(from), to)));
        let want: unknown;
        if (fam(from) === 'legacy') want = goldenFromLegacy[fam(to)]!(to);
        else if (fam(from) === 'v04' && fam(to) === 'v1') {
          // 0.3/0.4 interfaces have no mtu/pciID to carry up; ips lose `version`.
          const w = goldenFromRich.v04!(to) as { ips: { version?: string }[] };
          w.ips = w.ips.map(({ version: _v, ...rest }) => rest);
          want = w;
        } else want = goldenFromRich[fam(to)]!(to);
        assert.deepEqual(got, want);
      });
    }
  }
});

describe('result conversion: failing edges', () => {
  for (const to of LEGACY) {
    for (const from of [...V04, ...V1]) {
      it(`no IPs: ${from} → ${to} fails`, () => {
        const l2 = { cniVersion: from, interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:02:03', sandbox: '/x' }] };
        assert.throws(() => convertResult(l2, to), (e: unknown) => e instanceof CniError && e.message === 'cannot convert: no valid IP addresses');
      });
    }
  }
  it('unknown target version', () => {
    assert.throws(() => convertResult({ cniVersion: '1.0.0' }, '0.5.0'), /no converter for CNI result version 1.0.0 to 0.5.0/);
  });
  it('unknown source version', () => {
    assert.throws(() => convertResult({ cniVersion: '2.0.0' } as AnyResult, '1.0.0'), /no converter for CNI result version 2.0.0 to 1.0.0/);
  });
  it('empty target version means 0.1.0', () => {
    assert.equal(convertResult(sourceIn('1.0.0'), '').cniVersion, '0.1.0');
  });
  it('interface index 0 round-trips and a missing index stays missing', () => {
    const r = toCurrentResult({ cniVersion: '0.4.0', ips: [{ version: '4', interface: 0, address: '10.0.0.2/24' }, { version: '4', address: '10.0.0.3/24' }] });
    assert.deepEqual(r.ips, [{ interface: 0, address: '10.0.0.2/24' }, { address: '10.0.0.3/24' }]);
  });
  it('a malformed IP is a decoding error, not a crash', () => {
    assert.throws(() => convertResult({ cniVersion: '1.0.0', ips: [{ address: 'nope' }] }, '0.4.0'), (e: unknown) => e instanceof CniError && e.code === 6);
  });
});

describe('prevResult parsing', () => {
  const conf = (v: string, prev: unknown): NetConf => ({ cniVersion: v, name: 'n', type: 't', prevResult: prev });
  it('absent → undefined', () => assert.equal(parsePrevResult(conf('1.0.0', undefined)), undefined));
  it('parsed with the config version when it lacks one', () => {
    const r = parsePrevResult(conf('0.4.0', { ips: [{ version: '4', address: '10.0.0.2/24' }] }));
    assert.deepEqual(r?.ips, [{ address: '10.0.0.2/24' }]);
  });
  it('a prevResult outside the config version family fails like the reference', () => {
    assert.throws(
      () => parsePrevResult(conf('1.0.0', { cniVersion: '0.3.1', ips: [] })),
      /could not parse prevResult: result type supports \[1.0.0 1.1.0\] but unmarshalled CNIVersion is "0.3.1"/,
    );
  });
  it('a non-object prevResult is a decoding error', () => {
    assert.throws(() => parsePrevResult(conf('1.0.0', 'x')), (e: unknown) => e instanceof CniError && e.code === 6);
  });
});
