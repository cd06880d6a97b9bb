// Sequential vs batched netlink writes on the same entries, in a throw-away namespace: N vxlan FDB
// entries + N permanent neighbours + N onlink routes (what a vxlan peer costs), written then
// deleted, alternating both ways for several rounds; prints the medians. Root; modest CPU.
//   node out/bench/netlink-batch.js [peers=1000] [rounds=5] [chunk=64]
import { execFileSync } from 'node:child_process';
import { mustParseCIDR, mustParseIP } from '../shared/ip';
import { NetNS } from '../shared/netns';
import * as nl from '../shared/netlink';
import type { NetlinkOp } from '../shared/netlink';

const peers = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 5);
const chunk = Number(process.argv[4] ?? nl.BATCH_CHUNK);
const ns = `ctsbench${process.pid}`;
const ip = (...a: string[]): string => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });

function ops(index: number): { adds: NetlinkOp[]; dels: NetlinkOp[] } {
  const adds: NetlinkOp[] = [];
  const dels: NetlinkOp[] = [];
  for (let i = 0; i < peers; i++) {
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    const mac = `0a:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`;
    const gw = mustParseIP(`10.200.${i >> 8}.${i & 255}`);
    const dst = mustParseCIDR(`10.${100 + (i >> 8)}.${i & 255}.0/24`);
    const pub = mustParseIP(`192.168.77.${(i % 200) + 20}`);
    adds.push(nl.replaceNeighbourOp({ index, ip: gw, mac, permanent: true }));
    adds.push(nl.replaceFdbOp({ index, mac, dst: pub, permanent: true, self: true }));
    adds.push(nl.replaceRouteOp({ dst, gw, index, onlink: true, protocol: 127 }));
    dels.unshift(nl.deleteNeighbourOp(index, gw));
    dels.unshift(nl.deleteFdbOp({ index, mac, dst: pub, self: true }));
    dels.unshift(nl.delRouteOp({ dst, gw, index, protocol: 127 }));
  }
  return { adds, dels };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

function main(): void {
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    ip('link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
    ip('addr', 'add', '192.168.77.1/24', 'dev', 'ul0');
    ip('link', 'set', 'ul0', 'up');
    ip('link', 'add', 'flannel.9', 'type', 'vxlan', 'id', '9', 'local', '192.168.77.1', 'dev', 'ul0', 'dstport', '8472', 'nolearning');
    ip('link', 'set', 'flannel.9', 'up');
    const netns = NetNS.open(`/run/netns/${ns}`);
    const sock = nl.NetlinkSocket.openIn(netns);
    const index = Number(ip('-o', 'link', 'show', 'flannel.9').split(':')[0]);
    const { adds, dels } = ops(index);
    const seq = { add: [] as number[], del: [] as number[] };
    const bat = { add: [] as number[], del: [] as number[] };
    const time = (fn: () => void): number => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e6; };
    const one = (list: NetlinkOp[]): void => { for (const o of list) sock.request(o.type, o.flags, o.payload); };
    const batch = (list: NetlinkOp[]): void => {
      const errs = sock.requestBatch(list, chunk).filter((e) => e);
      if (errs.length) throw errs[0];
    };
    for (let r = 0; r < rounds; r++) {
      seq.add.push(time(() => one(adds)));
      seq.del.push(time(() => one(dels)));
      bat.add.push(time(() => batch(adds)));
      bat.del.push(time(() => batch(dels)));
    }
    sock.close();
    netns.close();
    const f = (n: number): string => `${n.toFixed(1)} ms`;
    console.log(`# netlink writes, ${peers} vxlan peers (${adds.length} writes each way), median of ${rounds}, chunk ${chunk}`);
    console.log(`one request + ack per entry: add ${f(median(seq.add))}, delete ${f(median(seq.del))}`);
    console.log(`batched:                     add ${f(median(bat.add))}, delete ${f(median(bat.del))}`);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

main();
