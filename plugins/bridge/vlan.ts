// VLAN trunk collection (reference: collectVlanTrunk, copied there from ovs-cni). Pure.
import { configError } from '../../shared/cni/errors';

export interface VlanTrunkEntry {
  minID?: number | null;
  maxID?: number | null;
  id?: number | null;
}

const validVid = (v: number): boolean => v > 0 && v <= 4094;

/**
 * Expands trunk entries into a sorted, de-duplicated list of VIDs; undefined when no VID results
 * (no trunk, an empty list, or entries naming nothing). An entry may carry both a range and an id.
 */
export function collectVlanTrunk(trunk: readonly VlanTrunkEntry[] | undefined | null): number[] | undefined {
  if (!trunk) return undefined;
  const vids = new Set<number>();
  for (const item of trunk) {
    const hasMin = item.minID !== undefined && item.minID !== null;
    const hasMax = item.maxID !== undefined && item.maxID !== null;
    if (hasMin && hasMax) {
      const min = item.minID!;
      const max = item.maxID!;
      if (!validVid(min)) throw configError('incorrect trunk minID parameter');
      if (!validVid(max)) throw configError('incorrect trunk maxID parameter');
      if (max < min) throw configError('minID is greater than maxID in trunk parameter');
      for (let v = min; v <= max; v++) vids.add(v);
    } else if (!hasMin && hasMax) {
      throw configError('minID and maxID should be configured simultaneously, minID is missing');
    } else if (hasMin && !hasMax) {
      throw configError('minID and maxID should be configured simultaneously, maxID is missing');
    }
    if (item.id !== undefined && item.id !== null) {
      if (!validVid(item.id)) throw configError('incorrect trunk id parameter');
      vids.add(item.id);
    }
  }
  if (vids.size === 0) return undefined;
  return [...vids].sort((a, b) => a - b);
}

/** What the host-side bridge port gets: its PVID (untagged) and the tagged trunk VIDs. */
interface PortVlans {
  /** VID sent/received untagged and used for untagged ingress; undefined keeps the kernel default. */
  pvid?: number;
  tagged: number[];
}

/**
 * Access port (vlan≠0): PVID = vlan. Trunk: tagged VIDs, with native VLAN 1 as PVID when no
 * access VLAN is set (so untagged container traffic still has a VLAN once defaults are removed).
 */
export function portVlans(vlan: number, trunk: readonly number[] | undefined): PortVlans {
  const tagged = (trunk ?? []).filter((v) => v !== vlan);
  if (vlan !== 0) return { pvid: vlan, tagged };
  if (tagged.length > 0) return { pvid: 1, tagged: tagged.filter((v) => v !== 1) };
  return { tagged };
}
