import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetConf } from '../../../shared/cni/types';
import { type BackendProbe, parsePortMapConf } from '../../../plugins/portmap/config';
import { formatCIDR } from '../../../shared/ip';

const both: BackendProbe = { iptables: () => true, nftables: () => true };
const nftOnly: BackendProbe = { iptables: () => false, nftables: () => true };

const base = (extra: Record<string, unknown>): NetConf =>
  ({ cniVersion: '1.0.0', name: 'test', type: 'portmap', ...extra }) as NetConf;

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'host', mac: '00:11:22:33:44:55' },
    { name: 'eth0', mac: '00:11:22:33:44:66', sandbox: '/var/run/netns/x' },
  ],
  ips: [
    { address: '10.0.0.1/24', gateway: '10.0.0.1', interface: 0 },
    { address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 1 },
    { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1', interface: 1 },
  ],
};

test('ADD config: conditions kept, snat false respected, container IPs chosen by interface', () => {
  const c = parsePortMapConf(
    base({
      snat: false,
      conditionsV4: ['-s', '1.2.3.4'],
      conditionsV6: ['-s', '12::34'],
      prevResult,
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    }),
    'eth0',
    both,
  );
  assert.equal(c.snat, false);
  assert.deepEqual(c.conditionsV4, ['-s', '1.2.3.4']);
  assert.deepEqual(c.conditionsV6, ['-s', '12::34']);
  assert.equal(formatCIDR(c.containerIPv4!), '10.0.0.2/24');
  assert.equal(formatCIDR(c.containerIPv6!), '2001:db8:1::2/64');
  assert.equal(c.backend, 'iptables');
  assert.equal(c.markMasqBit, 13);
  assert.equal(c.masqAll, false);
});

test('DEL config without prevResult', () => {
  const c = parsePortMapConf(base({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } }), 'eth0', both);
  assert.equal(c.prevResult, undefined);
  assert.equal(c.snat, true);
  assert.equal(c.mappings.length, 1);
});

test('missing prevResult interface index is tolerated', () => {
  const c = parsePortMapConf(
    base({
      prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.2/24' }] },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    }),
    'eth0',
    both,
  );
  assert.equal(formatCIDR(c.containerIPv4!), '10.0.0.2/24');
});

const rejects = (conf: NetConf, msg: string | RegExp, probe: BackendProbe = both): void => {
  assert.throws(() => parsePortMapConf(conf, 'eth0', probe), (e: unknown) => {
    const err = e as { code: number; message: string };
    assert.equal(err.code, 7);
    if (typeof msg === 'string') assert.equal(err.message, msg);
    else assert.match(err.message, msg);
    return true;
  });
};

test('invalid mappings: the reference messages, plus upper bound and protocol', () => {
  const pm = (m: Record<string, unknown>) => base({ runtimeConfig: { portMappings: [m] } });
  rejects(pm({ hostPort: 0, containerPort: 80, protocol: 'tcp' }), 'Invalid host port number: 0');
  rejects(pm({ hostPort: 80, containerPort: -1, protocol: 'tcp' }), 'Invalid container port number: -1');
  rejects(pm({ hostPort: 70000, containerPort: 80, protocol: 'tcp' }), 'Invalid host port number: 70000');
  rejects(pm({ hostPort: 80, containerPort: 65536, protocol: 'tcp' }), 'Invalid container port number: 65536');
  rejects(pm({ hostPort: 80, containerPort: 80, protocol: 'icmp' }), /Invalid protocol: "icmp"/);
  rejects(pm({ hostPort: 80, containerPort: 80, protocol: 'tcp', hostIP: 'nope' }), 'Invalid host IP: "nope"');
  const upper = parsePortMapConf(pm({ hostPort: 80, containerPort: 80, protocol: 'UDP' }), 'eth0', both);
  assert.equal(upper.mappings[0]!.protocol, 'udp');
});

test('mark bit and external chain', () => {
  rejects(base({ markMasqBit: 32 }), 'MasqMarkBit must be between 0 and 31');
  rejects(base({ markMasqBit: -1 }), 'MasqMarkBit must be between 0 and 31');
  rejects(base({ markMasqBit: 5, externalSetMarkChain: 'KUBE-MARK-MASQ' }), 'Cannot specify externalSetMarkChain and markMasqBit');
  assert.equal(parsePortMapConf(base({ markMasqBit: 5 }), 'eth0', both).markMasqBit, 5);
});

test('backend selection and option mismatch messages', () => {
  assert.equal(parsePortMapConf(base({}), 'eth0', both).backend, 'iptables');
  assert.equal(parsePortMapConf(base({}), 'eth0', nftOnly).backend, 'nftables');
  assert.equal(parsePortMapConf(base({ backend: 'nftables' }), 'eth0', both).backend, 'nftables');
  const nftConds = parsePortMapConf(base({ backend: 'nftables', conditionsV4: ['aaa', 'bbbb'], conditionsV6: ['ccc'] }), 'eth0', both);
  assert.deepEqual(nftConds.conditionsV4, ['aaa', 'bbbb']);
  rejects(
    base({ backend: 'iptables', conditionsV4: ['aaa', 'bbbb'], conditionsV6: ['ccc'] }),
    'iptables backend was requested but configuration contains nftables-specific options [conditionsV4 conditionsV6]',
  );
  rejects(
    base({ backend: 'nftables', externalSetMarkChain: 'KUBE-MARK-MASQ', conditionsV4: ['-a', 'b'], conditionsV6: ['-c', 'd'] }),
    'nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain conditionsV4 conditionsV6]',
  );
  rejects(base({ backend: 'ebpf' }), 'unrecognized backend "ebpf"');
  // Deliberate deviation: nft-syntax conditions without `backend` select nftables.
  assert.equal(parsePortMapConf(base({ conditionsV4: ['ip', 'saddr', '1.2.3.4'] }), 'eth0', both).backend, 'nftables');
});
