// Encoders and decoders checked against iproute2's own bytes (captured with strace from
// iproute2 6.1) and by round-trips through the decoders.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AttrStream } from 'netlink/dist/structs';
import * as ifla from 'netlink/dist/rt/ifla';
import { parseLinkMessage } from 'netlink/dist/rt/structs';
import { formatCIDR, formatIP, mustParseCIDR, mustParseIP } from '../../../shared/ip';
import { attrList, attrMap, formatMac, parseMac, pushNested } from '../../../shared/netlink/attrs';
import { bridgePortFlagsPayload, bridgeVlanPayload, decodeBridgeVlans } from '../../../shared/netlink/bridge-port';
import { bridgeCreatePayload, decodeLink, vethCreatePayload, vxlanCreatePayload } from '../../../shared/netlink/link-codec';
import { addressPayload, decodeAddress } from '../../../shared/netlink/addresses';
import { decodeRoute, routePayload } from '../../../shared/netlink/routes';
import { decodeNeigh, neighPayload } from '../../../shared/netlink/neigh-codec';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Asserts every attribute in a stream starts 4-byte aligned, descending into `nested` types. */
function assertAligned(buf: Buffer, nested: (path: number[]) => boolean, path: number[] = []): void {
  let off = 0;
  while (off < buf.length) {
    assert.equal(off % 4, 0, `attribute at ${off} (path ${path.join('/')}) not aligned`);
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & 0x3fff;
    assert.ok(len >= 4 && off + len <= buf.length, `bad length ${len} at ${off}`);
    if (nested([...path, type])) assertAligned(buf.subarray(off + 4, off + len), nested, [...path, type]);
    off += (len + 3) & ~3;
  }
}

describe('attribute helpers', () => {
  it('MAC parse/format', () => {
    assert.equal(formatMac(parseMac('0A:58:0a:F4:01:05')), '0a:58:0a:f4:01:05');
    assert.equal(formatMac(parseMac('0a-58-0a-f4-1-5')), '0a:58:0a:f4:01:05');
    assert.equal(formatMac(Buffer.alloc(0)), '');
    assert.equal(formatMac(undefined), '');
    for (const bad of ['', '0a:58:0a:f4:01', '0a:58:0a:f4:01:05:06', 'zz:58:0a:f4:01:05', '0a:58:0a:f4:01:100']) {
      assert.throws(() => parseMac(bad), TypeError, bad);
    }
  });

  it('AttrStream pads between attributes; pushNested sets NLA_F_NESTED and pads the nest', () => {
    const out = new AttrStream();
    out.push(3, Buffer.from('eth10\0')); // 10 bytes → 2 bytes of padding follow
    pushNested(out, 12, (o) => o.push(4, Buffer.from([1])));
    out.push(4, Buffer.from([0xdc, 0x05, 0, 0]));
    const b = Buffer.concat(out.bufs);
    assert.deepEqual(b, hex('0a000300 65746831 30000000 0c000c80 05000400 01000000 08000400 dc050000'));
  });
});

describe('bridge port requests match iproute2 byte for byte', () => {
  it('`bridge link set dev <10> hairpin on isolated on`', () => {
    assert.deepEqual(bridgePortFlagsPayload(10, { hairpin: true, isolated: true }),
      hex('07000000 0a000000 00000000 00000000 14000c80 05000400 01000000 05002100 01000000'));
  });

  it('`bridge vlan add dev <10> vid 10 pvid untagged` / `del`', () => {
    const want = hex('07000000 0a000000 00000000 00000000 0c001a00 08000200 06000a00');
    assert.deepEqual(bridgeVlanPayload(10, 10, { pvid: true, untagged: true }), want);
    assert.deepEqual(bridgeVlanPayload(10, 10), hex('07000000 0a000000 00000000 00000000 0c001a00 08000200 00000a00'));
  });

  it('`bridge vlan add dev <8> vid 10 self`', () => {
    assert.deepEqual(bridgeVlanPayload(8, 10, { self: true }),
      hex('07000000 08000000 00000000 00000000 14001a00 06000000 02000000 08000200 00000a00'));
  });

  it('rejects VLAN IDs outside 1..4094', () => {
    assert.throws(() => bridgeVlanPayload(8, 0), RangeError);
    assert.throws(() => bridgeVlanPayload(8, 4095), RangeError);
  });

  it('decodes VLAN lists, including ranges', () => {
    const vi = (flags: number, vid: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt16LE(flags, 0); b.writeUInt16LE(vid, 2); return b; };
    const out = new AttrStream();
    out.push(2, vi(0x6, 1));
    out.push(2, vi(0x8, 100));
    out.push(2, vi(0x10, 102));
    out.push(0, Buffer.from([2, 0]));
    assert.deepEqual(decodeBridgeVlans(Buffer.concat(out.bufs)), [
      { vid: 1, pvid: true, untagged: true },
      { vid: 100, pvid: false, untagged: false },
      { vid: 101, pvid: false, untagged: false },
      { vid: 102, pvid: false, untagged: false },
    ]);
  });
});

describe('link payloads', () => {
  const nestedLinkTypes = (p: number[]): boolean =>
    (p.length === 1 && p[0] === 18) || (p.length === 2 && p[1] === 2 && p[0] === 18);

  it('bridge: decodes back; vlan_filtering only sent when on', () => {
    const on = bridgeCreatePayload({ name: 'cni0', mtu: 1450, vlanFiltering: true });
    assertAligned(on.subarray(16), nestedLinkTypes);
    const l = decodeLink(on);
    assert.equal(l.name, 'cni0');
    assert.equal(l.mtu, 1450);
    assert.equal(l.kind, 'bridge');
    assert.deepEqual(l.bridge, { vlanFiltering: true });
    const off = bridgeCreatePayload({ name: 'cni0', vlanFiltering: false });
    const info = ifla.parseInfo(parseLinkMessage(off).attrs.linkinfo!);
    assert.equal(info.kind, 'bridge');
    assert.equal(info.data, undefined);
  });

  it('veth: the peer is an ifinfomsg plus its own attributes, with the target netns fd', () => {
    const p = vethCreatePayload({ name: 'veth1234abcd', mtu: 1400, mac: '02:11:22:33:44:55', peerName: 'eth0', peerNetnsFd: 23, peerMac: '0a:58:0a:f4:01:05' });
    assertAligned(p.subarray(16), nestedLinkTypes);
    const m = parseLinkMessage(p);
    assert.equal(m.attrs.ifname, 'veth1234abcd');
    assert.equal(m.attrs.mtu, 1400);
    assert.equal(formatMac(m.attrs.address), '02:11:22:33:44:55');
    const info = ifla.parseInfo(m.attrs.linkinfo!);
    assert.equal(info.kind, 'veth');
    const peer = ifla.parseVethInfo(info.data!).peer!;
    assert.deepEqual(peer.subarray(0, 16), Buffer.alloc(16));
    const pa = ifla.parseLinkAttrs(peer.subarray(16));
    assert.equal(pa.ifname, 'eth0');
    assert.equal(pa.netNsFd, 23);
    assert.equal(pa.mtu, 1400);
    assert.equal(formatMac(pa.address), '0a:58:0a:f4:01:05');
    assertAligned(peer.subarray(16), () => false);
  });

  it('vxlan: id, port (network order), local, link, learning', () => {
    const p = vxlanCreatePayload({ name: 'flannel.1', vni: 1, port: 8472, local: mustParseIP('192.168.50.1'), linkIndex: 7, learning: false });
    assertAligned(p.subarray(16), nestedLinkTypes);
    const l = decodeLink(p);
    assert.equal(l.kind, 'vxlan');
    assert.deepEqual({ ...l.vxlan, local: formatIP(l.vxlan!.local!) }, { vni: 1, port: 8472, local: '192.168.50.1', linkIndex: 7, learning: false });
    const data = attrMap(ifla.parseInfo(parseLinkMessage(p).attrs.linkinfo!).data!);
    assert.deepEqual(data.get(15), Buffer.from([0x21, 0x18]));
    const v6 = decodeLink(vxlanCreatePayload({ name: 'v6', vni: 2, port: 4789, local: mustParseIP('fd00::1'), linkIndex: 3, learning: true }));
    assert.equal(formatIP(v6.vxlan!.local!), 'fd00::1');
    assert.equal(v6.vxlan!.learning, true);
  });

  it('vxlan: port 0 is not sent (the kernel default applies), GBP is a flag sent only when on', () => {
    const p = vxlanCreatePayload({ name: 'flannel.1', vni: 1, port: 0, local: mustParseIP('192.168.50.1'), linkIndex: 7, learning: false, gbp: true });
    assertAligned(p.subarray(16), nestedLinkTypes);
    const data = attrMap(ifla.parseInfo(parseLinkMessage(p).attrs.linkinfo!).data!);
    assert.equal(data.has(15), false, 'IFLA_VXLAN_PORT');
    assert.deepEqual(data.get(23), Buffer.alloc(0), 'IFLA_VXLAN_GBP');
    const l = decodeLink(p);
    assert.equal(l.vxlan!.gbp, true);
    assert.equal(l.vxlan!.port, undefined);
    const off = attrMap(ifla.parseInfo(parseLinkMessage(vxlanCreatePayload({ name: 'x', vni: 1, port: 0, local: mustParseIP('192.168.50.1'), linkIndex: 7, learning: false })).attrs.linkinfo!).data!);
    assert.equal(off.has(23), false);
  });
});

describe('address payloads', () => {
  it('IPv4 gets IFA_LOCAL, IFA_ADDRESS and the broadcast; /31 and IPv6 no broadcast', () => {
    const p = addressPayload(5, mustParseCIDR('10.244.1.1/24'));
    assert.deepEqual(p.subarray(0, 8), hex('02 18 00 00 05000000'));
    const a = attrMap(p.subarray(8));
    assert.deepEqual(a.get(2), hex('0af40101'));
    assert.deepEqual(a.get(1), hex('0af40101'));
    assert.deepEqual(a.get(4), hex('0af401ff'));
    assert.equal(attrMap(addressPayload(5, mustParseCIDR('10.0.0.0/31')).subarray(8)).has(4), false);
    assert.equal(attrMap(addressPayload(5, mustParseCIDR('fd00::1/64')).subarray(8)).has(4), false);
  });

  it('noPrefixRoute sets IFA_FLAGS IFA_F_NOPREFIXROUTE; decodes back', () => {
    const p = addressPayload(5, mustParseCIDR('fd00::1/64'), { noPrefixRoute: true });
    assert.deepEqual(attrMap(p.subarray(8)).get(8), hex('00020000'));
    const d = decodeAddress(p)!;
    assert.equal(formatCIDR(d.cidr), 'fd00::1/64');
    assert.equal(d.index, 5);
    assert.equal(d.flags, 0x200);
  });
});

describe('route payloads', () => {
  it('defaults: main table, boot protocol, link scope without gateway, universe with', () => {
    const p = routePayload({ dst: mustParseCIDR('10.31.0.0/24'), index: 4 }, 'add');
    assert.deepEqual(p.subarray(0, 12), hex('02 18 00 00 fe 03 fd 01 00000000'));
    const g = routePayload({ dst: mustParseCIDR('0.0.0.0/0'), gw: mustParseIP('10.0.0.1') }, 'add');
    assert.deepEqual(g.subarray(0, 12), hex('02 00 00 00 fe 03 00 01 00000000'));
  });

  it('tables above 255 go in RTA_TABLE only; onlink sets RTNH_F_ONLINK; metrics nest', () => {
    const p = routePayload({ dst: mustParseCIDR('10.30.0.0/24'), gw: mustParseIP('10.99.0.1'), index: 4, onlink: true, metric: 100, table: 1000, mtu: 1300 }, 'add');
    assert.equal(p[4], 0);
    assert.equal(p.readUInt32LE(8), 4);
    const a = attrMap(p.subarray(12));
    assert.equal(a.get(15)!.readUInt32LE(0), 1000);
    assert.equal(a.get(6)!.readUInt32LE(0), 100);
    assert.equal(attrMap(a.get(8)!).get(2)!.readUInt32LE(0), 1300);
    const [r] = decodeRoute(p);
    assert.equal(formatCIDR(r!.dst), '10.30.0.0/24');
    assert.equal(formatIP(r!.gw!), '10.99.0.1');
    assert.deepEqual([r!.index, r!.metric, r!.table, r!.flags], [4, 100, 1000, 4]);
  });

  it('delete matches any scope, protocol and type', () => {
    const p = routePayload({ dst: mustParseCIDR('10.30.0.0/24') }, 'del');
    assert.deepEqual(p.subarray(4, 8), hex('fe 00 ff 00'));
  });

  it('rejects a gateway of the other family', () => {
    assert.throws(() => routePayload({ dst: mustParseCIDR('::/0'), gw: mustParseIP('10.0.0.1') }, 'add'), TypeError);
  });

  it('decodes RTA_MULTIPATH into one route per next hop', () => {
    const gwAttr = (ip: string): Buffer => { const b = Buffer.alloc(20); b.writeUInt16LE(20, 0); b.writeUInt16LE(5, 2); Buffer.from(mustParseIP(ip).value.toString(16).padStart(32, '0'), 'hex').copy(b, 4); return b; };
    const nh = (ifindex: number, ip: string): Buffer => { const h = Buffer.alloc(8); h.writeUInt16LE(28, 0); h.writeInt32LE(ifindex, 4); return Buffer.concat([h, gwAttr(ip)]); };
    const mp = Buffer.concat([nh(3, 'fd00::a'), nh(4, 'fd00::b')]);
    const attrHdr = Buffer.alloc(4); attrHdr.writeUInt16LE(4 + mp.length, 0); attrHdr.writeUInt16LE(9, 2);
    const dst = Buffer.alloc(20); dst.writeUInt16LE(20, 0); dst.writeUInt16LE(1, 2); dst[4] = 0x20; dst[5] = 0x01; dst[6] = 0x0d; dst[7] = 0xb8;
    const msg = Buffer.concat([hex('0a 40 00 00 fe 03 00 01 00000000'), dst, attrHdr, mp]);
    const rs = decodeRoute(msg);
    assert.deepEqual(rs.map((r) => [formatCIDR(r.dst), formatIP(r.gw!), r.index]), [['2001:db8::/64', 'fd00::a', 3], ['2001:db8::/64', 'fd00::b', 4]]);
  });

  it('a route without RTA_DST is the default route', () => {
    const [r] = decodeRoute(hex('02 00 00 00 fe 03 00 01 00000000'));
    assert.equal(formatCIDR(r!.dst), '0.0.0.0/0');
  });
});

describe('neighbour payloads', () => {
  it('round-trips family, index, state, flags, dst and lladdr', () => {
    const p = neighPayload({ family: 7, index: 9, state: 0x80, flags: 0x02, dst: mustParseIP('192.168.50.2'), mac: '5a:11:22:33:44:55' });
    assert.deepEqual(p.subarray(0, 12), hex('07 00 0000 09000000 8000 02 00'));
    const d = decodeNeigh(p)!;
    assert.deepEqual({ ...d, dst: formatIP(d.dst!) }, { family: 7, index: 9, state: 0x80, flags: 2, dst: '192.168.50.2', mac: '5a:11:22:33:44:55' });
    assert.deepEqual(attrList(p.subarray(12)).map((a) => a.type), [1, 2]);
  });
});
