// The vxlan lease BackendData `{"VNI":1,"VtepMAC":"0a:1b:…"}` (pure). Keys are matched
// case-insensitively, as Go's json.Unmarshal does for the reference daemon's struct.
import { parseMac } from '../../shared/netlink';
import { formatMac } from '../../shared/netlink';

interface VxlanBackendData {
  vni?: number;
  /** Lower-case "aa:bb:cc:dd:ee:ff". */
  vtepMac: string;
}

function field(o: Record<string, unknown>, name: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}

/** The decoded data, or a string saying why it is unusable ("lacks VtepMAC", …). */
export function parseVxlanBackendData(raw: unknown): VxlanBackendData | string {
  if (raw === undefined || raw === null) return 'is absent';
  if (typeof raw !== 'object' || Array.isArray(raw)) return `is not an object: ${JSON.stringify(raw)}`;
  const o = raw as Record<string, unknown>;
  const mac = field(o, 'VtepMAC');
  if (mac === undefined || mac === '') return 'lacks VtepMAC';
  if (typeof mac !== 'string') return `has a non-string VtepMAC ${JSON.stringify(mac)}`;
  let bytes: Buffer;
  try {
    bytes = parseMac(mac);
  } catch {
    return `has an invalid VtepMAC ${JSON.stringify(mac)}`;
  }
  // A multicast or all-zero VTEP MAC would make the FDB entry flood or be refused.
  if (bytes[0]! & 1 || bytes.every((b) => b === 0)) return `has a non-unicast VtepMAC ${JSON.stringify(mac)}`;
  const out: VxlanBackendData = { vtepMac: formatMac(bytes) };
  const vni = field(o, 'VNI');
  if (typeof vni === 'number' && Number.isInteger(vni)) out.vni = vni;
  return out;
}

/** What this node publishes: `{"VNI":<vni>,"VtepMAC":"<mac>"}`. */
export const formatVxlanBackendData = (vni: number, vtepMac: string): { VNI: number; VtepMAC: string } => ({ VNI: vni, VtepMAC: vtepMac });
