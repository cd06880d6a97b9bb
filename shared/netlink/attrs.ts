// Small pure helpers around the `netlink` package's attribute codec (AttrStream pads before
// every push, which is what keeps nested streams 4-byte aligned).
import { AttrStream, StreamData, countLength, padding, formatAttribute, parseAttributes, readU16, readU32, readS32 } from 'netlink/dist/structs';
import type { Family, IP } from '../ip';
import { ipFromBytes } from '../ip';

/** Serialises a StreamData (bytes, arrays of bytes, or a formatter callback) into one Buffer. */
export function streamBytes(data: StreamData): Buffer {
  const out = new AttrStream();
  out.emit(data);
  return Buffer.concat(out.bufs);
}

/** A stream of attributes built by fn. */
export function attrStream(fn: (out: AttrStream) => void): Buffer {
  const out = new AttrStream();
  fn(out);
  return Buffer.concat(out.bufs);
}

/**
 * Pushes an attribute with NLA_F_NESTED set. AttrStream.push masks the type to 14 bits, so
 * the flag is written through formatAttribute after the same alignment padding push uses.
 * Some kernel parsers (e.g. the bridge's IFLA_PROTINFO) only take the nested path with it.
 */
export function pushNested(out: AttrStream, type: number, data: StreamData): void {
  const p = padding(countLength(out.bufs));
  if (p) out.emit(Buffer.alloc(p));
  // The nest's length covers its last member's padding, as the kernel's nla_nest_end does.
  const body = streamBytes(data);
  const tail = padding(body.length);
  out.emit(formatAttribute({ type, nested: true, data: tail ? Buffer.concat([body, Buffer.alloc(tail)]) : body }));
}

/** The attributes of a stream by type (last one wins, like nla_parse). */
export function attrMap(buf: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  parseAttributes(buf, (a) => m.set(a.type, a.data));
  return m;
}

/** All attributes of a stream in order (for repeated types such as IFLA_BRIDGE_VLAN_INFO). */
export function attrList(buf: Buffer): { type: number; data: Buffer }[] {
  const l: { type: number; data: Buffer }[] = [];
  parseAttributes(buf, (a) => l.push({ type: a.type, data: a.data }));
  return l;
}

export const u16 = (b: Buffer, off = 0): number => readU16.call(b, off);
export const u32 = (b: Buffer, off = 0): number => readU32.call(b, off);
export const s32 = (b: Buffer, off = 0): number => readS32.call(b, off);

/** "aa:bb:…" lower-case; '' for an empty address. */
export function formatMac(b: Uint8Array | undefined): string {
  if (!b || b.length === 0) return '';
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses "aa:bb:cc:dd:ee:ff" (also '-' separated, any case) into 6 bytes. */
export function parseMac(s: string): Buffer {
  const parts = s.trim().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`invalid MAC address ${JSON.stringify(s)}`);
  }
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export const familyToAf = (f: Family): number => (f === 4 ? 2 : 10);
export const afToFamily = (af: number): Family | undefined => (af === 2 ? 4 : af === 10 ? 6 : undefined);

/** An IP from an attribute of 4 or 16 bytes; undefined for anything else. */
export function ipFromAttr(b: Buffer | undefined): IP | undefined {
  if (!b || (b.length !== 4 && b.length !== 16)) return undefined;
  return ipFromBytes(b);
}
