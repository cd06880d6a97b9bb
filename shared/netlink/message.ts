// Netlink message framing (pure): request encoding and NLMSG_ERROR decoding.
import { formatMessage, parseMessages, readS32, readU32, NetlinkMessage } from 'netlink/dist/structs';
import { Flags, FlagsAck, MessageType } from 'netlink/dist/constants';
import { attrMap } from './attrs';

export { parseMessages };
export type { NetlinkMessage };

const NLMSG_HDRLEN = 16;
const NLMSGERR_ATTR_MSG = 1;
const NLMSGERR_ATTR_OFFS = 2;

/** One request datagram: header (length, type, flags|REQUEST, seq, port 0) + payload. */
export function encodeRequest(type: number, flags: number, seq: number, payload: Uint8Array): Buffer {
  return Buffer.concat(formatMessage({ type, flags: flags | Flags.REQUEST, seq, port: 0, data: payload }));
}

interface DecodedError {
  /** Positive errno; 0 for a plain ACK. */
  errno: number;
  /** NLMSGERR_ATTR_MSG, the kernel's human-readable reason. */
  extack?: string;
  /** NLMSGERR_ATTR_OFFS, offset of the offending attribute in the request. */
  offset?: number;
}

/**
 * Decodes the payload of an NLMSG_ERROR message: `int error; struct nlmsghdr orig;` then the
 * original payload unless NLM_F_CAPPED, then extended-ACK attributes when NLM_F_ACK_TLVS.
 */
export function decodeError(data: Buffer, msgFlags: number): DecodedError {
  if (data.length < 4) throw new Error('netlink: truncated NLMSG_ERROR');
  const errno = -readS32.call(data, 0) | 0;
  const out: DecodedError = { errno };
  if (!(msgFlags & FlagsAck.ACK_TLVS) || data.length < 4 + NLMSG_HDRLEN) return out;
  let off = 4 + NLMSG_HDRLEN;
  if (!(msgFlags & FlagsAck.CAPPED)) {
    const origLen = readU32.call(data, 4);
    off = 4 + align4(origLen);
  }
  if (off > data.length) return out;
  try {
    const attrs = attrMap(data.subarray(off));
    const msg = attrs.get(NLMSGERR_ATTR_MSG);
    if (msg) out.extack = msg.toString('utf8').replace(/\0.*$/s, '');
    const offs = attrs.get(NLMSGERR_ATTR_OFFS);
    if (offs && offs.length >= 4) out.offset = readU32.call(offs, 0);
  } catch {
    // A malformed TLV area does not hide the errno.
  }
  return out;
}

/** NLMSG_DONE of a dump: `int error` then, with NLM_F_ACK_TLVS, extended-ACK attributes. */
export function decodeDone(data: Buffer, msgFlags: number): DecodedError {
  if (data.length < 4) return { errno: 0 };
  const out: DecodedError = { errno: -readS32.call(data, 0) | 0 };
  if (msgFlags & FlagsAck.ACK_TLVS) {
    try {
      const msg = attrMap(data.subarray(4)).get(NLMSGERR_ATTR_MSG);
      if (msg) out.extack = msg.toString('utf8').replace(/\0.*$/s, '');
    } catch {
      // errno alone is enough
    }
  }
  return out;
}

const align4 = (n: number): number => (n + 3) & ~3;

export const isError = (m: NetlinkMessage): boolean => m.type === MessageType.ERROR;
export const isDone = (m: NetlinkMessage): boolean => m.type === MessageType.DONE;
export const isNoop = (m: NetlinkMessage): boolean => m.type === MessageType.NOOP;
export const isOverrun = (m: NetlinkMessage): boolean => m.type === MessageType.OVERRUN;

/** Names for diagnostics. */
export function requestName(type: number): string {
  const names: Record<number, string> = {
    16: 'RTM_NEWLINK', 17: 'RTM_DELLINK', 18: 'RTM_GETLINK', 19: 'RTM_SETLINK',
    20: 'RTM_NEWADDR', 21: 'RTM_DELADDR', 22: 'RTM_GETADDR',
    24: 'RTM_NEWROUTE', 25: 'RTM_DELROUTE', 26: 'RTM_GETROUTE',
    28: 'RTM_NEWNEIGH', 29: 'RTM_DELNEIGH', 30: 'RTM_GETNEIGH',
  };
  return names[type] ?? `netlink message type ${type}`;
}
