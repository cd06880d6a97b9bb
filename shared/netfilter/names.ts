// Chain names and rule comments shared with the reference plugins (pkg/utils). These strings
// are a contract: rules made by the Go plugins must be found by ours and vice versa, so the
// hashing, truncation and quoting reproduce the reference byte for byte.
import { sha512Hex } from '../base/crypto-lite';

/** iptables (xtables) chain names are at most 28 characters; the reference always fills them. */
const MAX_CHAIN_LENGTH = 28;
/** Hex digits of a SHA-512 digest. */
const MAX_HASH_LEN = 128;
const CHAIN_PREFIX = 'CNI-';

/**
 * `prefix` + hex(sha512(s)), cut to `len` characters (MustFormatHashWithPrefix). The reference
 * panics when the prefix leaves no room for entropy; that is a programming error here too.
 */
export function formatHashWithPrefix(len: number, prefix: string, s: string): string {
  if (!Number.isInteger(len) || len <= 0 || prefix.length >= len || len > MAX_HASH_LEN) {
    throw new RangeError('invalid length');
  }
  const hex = sha512Hex(s);
  return (prefix + hex).slice(0, len);
}

/** `CNI-` + prefix + hash(name+id), exactly 28 characters (MustFormatChainNameWithPrefix). */
export function formatChainNameWithPrefix(name: string, id: string, prefix: string): string {
  return formatHashWithPrefix(MAX_CHAIN_LENGTH, CHAIN_PREFIX + prefix, name + id);
}

/** `CNI-` + hash(name+id), 28 characters (FormatChainName): the bridge ipMasq chain. */
export function formatChainName(name: string, id: string): string {
  return formatChainNameWithPrefix(name, id, '');
}

/** 16 hex digits of sha512(s): the `H(...)` of the nftables ipmasq comments. */
export const shortHash = (s: string): string => formatHashWithPrefix(16, '', s);

/** `name: %q id: %q` (FormatComment), the comment of the bridge ipMasq iptables rules. */
export function formatComment(name: string, id: string): string {
  return `name: ${goQuote(name)} id: ${goQuote(id)}`;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v',
  '"': '\\"', '\\': '\\\\',
};

// Go's unicode.IsPrint for the code points a name or id may realistically contain: controls,
// C1 controls, line/paragraph separators, surrogates and non-characters are escaped.
function isGoPrintable(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
  if (cp === 0xad || cp === 0x2028 || cp === 0x2029) return false;
  if (cp === 0xfffe || cp === 0xffff || cp === 0xfeff) return false;
  return true;
}

/** strconv.Quote: a double-quoted Go string literal with Go's escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const esc = SIMPLE_ESCAPES[ch];
    if (esc) { out += esc; continue; }
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) { out += '\ufffd'; continue; } // UTF-8 encodes a lone surrogate as U+FFFD
    if (isGoPrintable(cp)) { out += ch; continue; }
    if (cp < 0x80) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
