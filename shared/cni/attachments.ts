// GC's list of attachments still in use (SPEC.md "GC": `cni.dev/valid-attachments`), read one way
// by every plugin. libcni sends the list under the spec's key and again under `cni.dev/attachments`
// (the key the spec first printed by mistake, cni#1101); both are read and merged.
//
// An absent or null list means no attachment is valid: libcni marshals a runtime's empty list as
// null (`cnitool gc` sends null), and the spec asks a plugin to release everything not listed.
// A list that is not an array of {containerID, ifname} strings is refused (code 7) before anything
// is touched: read as "nothing is valid" it would release the resources of every live pod.
import { CniError, ErrorCode } from './errors';
import type { Attachment, NetConf } from './types';
import { showValue as show } from '../base/message-text';

const VALID_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';
/** The misspelt key of the first 1.1.0 spec text, still sent by libcni (cni#1101). */
const LEGACY_ATTACHMENTS_KEY = 'cni.dev/attachments';
export const ATTACHMENT_KEYS = [VALID_ATTACHMENTS_KEY, LEGACY_ATTACHMENTS_KEY] as const;

const refuse = (what: string, v: unknown): CniError =>
  new CniError(ErrorCode.InvalidNetworkConfig, `invalid config: ${what} (got ${show(v)})`);

/** One key's list, validated; undefined when the key is absent or null. */
function readKey(conf: Readonly<Record<string, unknown>>, key: string): Attachment[] | undefined {
  const list = conf[key];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw refuse(`${key}: must be an array of {"containerID", "ifname"} objects`, list);
  return list.map((item: unknown, i) => {
    const at = `${key}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw refuse(`${at}: must be an object with string "containerID" and "ifname"`, item);
    const o = item as Record<string, unknown>;
    for (const field of ['containerID', 'ifname'] as const) {
      if (typeof o[field] !== 'string') throw refuse(`${at}.${field}: must be a string`, item);
    }
    return { containerID: o.containerID as string, ifname: o.ifname as string };
  });
}

/**
 * The valid attachments of a GC call: both keys merged (duplicates once), in order. Empty when
 * neither key is given or both are null: nothing is valid. Throws code 7 naming the key, the
 * item and its value when either list is malformed.
 */
export function readValidAttachments(conf: Readonly<NetConf> | Readonly<Record<string, unknown>>): Attachment[] {
  const out: Attachment[] = [];
  const seen = new Set<string>();
  for (const key of ATTACHMENT_KEYS) {
    for (const a of readKey(conf as Record<string, unknown>, key) ?? []) {
      const k = JSON.stringify([a.containerID, a.ifname]);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(a);
    }
  }
  return out;
}
