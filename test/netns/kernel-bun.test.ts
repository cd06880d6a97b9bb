// The kernel layer under Bun: the N-API addon and the netlink package's deep-path codecs must
// work in `bun` and inside a `bun build --compile` executable (the shipped form), not only in
// Node. The probe script is written at test time and requires the compiled modules.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cleanupAllNetns, ipJson, leakedNetns, makeNetns } from '../helpers/netns';

const repoRoot = path.resolve(__dirname, '../../..');
const bun = path.join(repoRoot, 'node_modules/@oven/bun-linux-x64/bin/bun');
const outShared = path.resolve(__dirname, '../../shared');

after(() => {
  cleanupAllNetns();
  assert.deepEqual(leakedNetns(), []);
});

function probeScript(): string {
  const req = (m: string): string => JSON.stringify(path.join(outShared, m));
  return `
const nl = require(${req('netlink')});
const { NetNS, hostNetns, withNetns, readSysctl, writeSysctl } = require(${req('netns')});
const { mustParseCIDR, formatIP } = require(${req('ip')});
hostNetns();
const node = NetNS.open(process.argv[2]);
const ctr = NetNS.open(process.argv[3]);
const s = nl.NetlinkSocket.openIn(node);
const cs = nl.NetlinkSocket.openIn(ctr);
nl.createVeth(s, { name: 'vbun0', peerName: 'eth0', peerNetnsFd: ctr.fd, peerMac: '0a:58:0a:4d:00:02' });
const peer = nl.getLinkByName(cs, 'eth0');
nl.addAddress(cs, peer.index, mustParseCIDR('10.77.0.2/24'));
nl.setLinkUp(cs, peer.index);
withNetns(ctr, () => writeSysctl('net/ipv4/conf/eth0/arp_notify', '1'));
let dupCode = '';
try { nl.addAddress(cs, peer.index, mustParseCIDR('10.77.0.2/24')); } catch (e) { dupCode = e.code; }
const out = {
  host: nl.getLinkByName(s, 'vbun0').name,
  peerIndex: peer.index,
  addrs: nl.listAddresses(cs, { index: peer.index, family: 4 }).map((a) => formatIP(a.cidr.ip)),
  arpNotify: withNetns(ctr, () => readSysctl('net/ipv4/conf/eth0/arp_notify')),
  dupCode,
};
s.close(); cs.close();
process.stdout.write(JSON.stringify(out));
`;
}

function check(run: (script: string, node: string, ctr: string) => string): void {
  const node = makeNetns('bnode');
  const ctr = makeNetns('bctr');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ctsk-bun-'));
  try {
    const script = path.join(dir, 'probe.js');
    fs.writeFileSync(script, probeScript());
    const out = JSON.parse(run(script, node.path, ctr.path));
    const eth0 = ipJson(ctr.name, ['addr', 'show', 'dev', 'eth0'])[0];
    assert.deepEqual(out, {
      host: 'vbun0', peerIndex: eth0.ifindex, addrs: ['10.77.0.2'], arpNotify: '1', dupCode: 'EEXIST',
    });
    assert.equal(eth0.address, '0a:58:0a:4d:00:02');
    assert.ok(eth0.flags.includes('UP'));
    assert.equal(ipJson(node.name, ['link', 'show', 'dev', 'vbun0'])[0].link_netnsid, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    node.cleanup();
    ctr.cleanup();
  }
}

describe('kernel layer under Bun', { skip: fs.existsSync(bun) ? false : `no bun binary at ${bun}` }, () => {
  it('runs under bun', () => {
    check((script, a, b) => execFileSync(bun, [script, a, b], { encoding: 'utf8' }));
  });

  it('runs as a bun build --compile executable moved away from the repo', () => {
    check((script, a, b) => {
      const dir = path.dirname(script);
      const exe = path.join(dir, 'build', 'probe');
      execFileSync(bun, ['build', '--compile', script, '--outfile', exe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const moved = path.join(dir, 'probe-moved');
      fs.renameSync(exe, moved);
      return execFileSync(moved, [a, b], { encoding: 'utf8', cwd: '/' });
    });
  });
});
