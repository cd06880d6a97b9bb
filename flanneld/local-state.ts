// The daemon's own state on this node (`--state-file`): its node identity, written into its
// leases so it finds its lease again after a public-IP change, and the VXLAN device MACs, so a
// restart recreates the devices with the MAC other nodes already have in their FDB and neighbour
// tables (flannel lost them on every restart: flanneld-field.md). Small JSON, replaced atomically.
import * as path from 'node:path';
import { randomBytes } from '../shared/base/crypto-lite';
import { readFileIfExists, writeFileAtomic } from '../shared/state/atomic-file';
import { mkdirAll } from '../shared/state/mkdir-all';
import type { Family, PerFamily } from './types';

export interface LocalState {
  /** 128 random bits as 32 lower-case hex digits. */
  nodeId: string;
  /** The flannel.<VNI> / flannel-v6.<VNI> device MAC per family, `aa:bb:cc:dd:ee:ff`. */
  vtepMac: PerFamily<string>;
}

const FORMAT_VERSION = 1;
const NODE_ID = /^[0-9a-f]{32}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A fresh node identity: 128 random bits in hex. */
export function newNodeId(): string {
  return randomBytes(16).toString('hex');
}

/** Why a state value is unusable; undefined when it is fine. */
function problemOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.version !== FORMAT_VERSION) return `version ${JSON.stringify(o.version)} is not ${FORMAT_VERSION}`;
  if (typeof o.nodeId !== 'string' || !NODE_ID.test(o.nodeId)) return `nodeId ${JSON.stringify(o.nodeId)} is not 32 lower-case hex digits`;
  const macs = o.vtepMac;
  if (typeof macs !== 'object' || macs === null || Array.isArray(macs)) return `vtepMac ${JSON.stringify(macs)} is not an object`;
  for (const [k, m] of Object.entries(macs)) {
    if (k !== '4' && k !== '6') return `vtepMac key ${JSON.stringify(k)} is not 4 or 6`;
    if (typeof m !== 'string' || !MAC.test(m)) return `vtepMac.${k} ${JSON.stringify(m)} is not a MAC address like aa:bb:cc:dd:ee:ff`;
  }
  return undefined;
}

/**
 * The saved state, or undefined when there is none. A corrupt file is reported through `warn`
 * and treated as absent (a fresh identity is better than a daemon that will not start); an
 * unreadable one (permissions, a directory) throws the fs error.
 */
export function loadLocalState(file: string, warn: (msg: string) => void = () => {}): LocalState | undefined {
  const text = readFileIfExists(file);
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    warn(`${file}: ignoring the local state: invalid JSON (${(e as Error).message})`);
    return undefined;
  }
  const why = problemOf(doc);
  if (why) {
    warn(`${file}: ignoring the local state: ${why}`);
    return undefined;
  }
  const o = doc as { nodeId: string; vtepMac: Record<string, string> };
  const vtepMac: PerFamily<string> = {};
  for (const f of [4, 6] as Family[]) if (o.vtepMac[f] !== undefined) vtepMac[f] = o.vtepMac[f];
  return { nodeId: o.nodeId, vtepMac };
}

/** Writes the state atomically (mode 0600: it identifies the node), creating its directory 0755. */
export function saveLocalState(file: string, s: LocalState): void {
  const doc = { version: FORMAT_VERSION, nodeId: s.nodeId, vtepMac: s.vtepMac };
  const why = problemOf(doc);
  if (why) throw new RangeError(`local state for ${file}: ${why}`);
  mkdirAll(path.dirname(file), 0o755);
  writeFileAtomic(file, JSON.stringify(doc) + '\n', { mode: 0o600 });
}
