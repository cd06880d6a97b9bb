// The bridge device itself (reference: ensureBridge/setupBridge): created when missing, reused
// (same ifindex) when present, refused when the name belongs to something else.
import { internalError, wrapError } from '../../shared/cni/errors';
import { isExists } from '../../shared/netlink/errors';
import { createBridge, deleteLink, getLinkByName, listLinks, setBridgeVlanFiltering, setLinkUp, setMac, setPromisc } from '../../shared/netlink/links';
import type { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link } from '../../shared/netlink/types';
import { writeSysctl } from '../../shared/netns';
import { wantsVlanFiltering, type BridgeConf } from './config';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// EOPNOTSUPP for IFLA_BR_VLAN_FILTERING comes from a kernel built without VLAN filtering.
const vlanHint = (e: unknown, vlanFiltering: boolean): string =>
  vlanFiltering && (e as { code?: string }).code === 'EOPNOTSUPP'
    ? ' (vlan/vlanTrunk need bridge VLAN filtering, which this kernel lacks: CONFIG_BRIDGE_VLAN_FILTERING)'
    : '';

function bridgeByName(s: NetlinkSocket, name: string): Link {
  const l = getLinkByName(s, name);
  if (!l) throw internalError(`could not lookup ${JSON.stringify(name)}: Link not found`);
  if (l.kind !== 'bridge') throw internalError(`${JSON.stringify(name)} already exists but is not a bridge`);
  return l;
}

/** The bridge, and whether this call created it (so a failed ADD knows to remove it). */
interface EnsuredBridge {
  link: Link;
  created: boolean;
}

function ensure(s: NetlinkSocket, c: BridgeConf, onCreated: (index: number) => void): Link {
  const vlanFiltering = wantsVlanFiltering(c);
  let br = getLinkByName(s, c.bridge);
  if (!br) {
    try {
      // MTU only at creation: an existing bridge's MTU belongs to whoever made it.
      const created = createBridge(s, { name: c.bridge, mtu: c.mtu > 0 ? c.mtu : undefined, vlanFiltering: vlanFiltering || undefined });
      onCreated(created.index);
      // A bridge whose address was never set takes the lowest MAC among its ports and changes
      // it as containers come and go; setting its own random MAC pins it before any port joins.
      if (created.mac) setMac(s, created.index, created.mac);
    } catch (e) {
      // Another ADD created it meanwhile: reuse it like any existing bridge.
      if (!isExists(e)) throw internalError(`could not add ${JSON.stringify(c.bridge)}: ${errText(e)}${vlanHint(e, vlanFiltering)}`);
    }
  }
  br = bridgeByName(s, c.bridge);
  let changed = false;
  // An existing bridge without filtering would ignore the port VLANs configured below.
  if (vlanFiltering && !br.bridge?.vlanFiltering) {
    try {
      setBridgeVlanFiltering(s, br.index, true);
      changed = true;
    } catch (e) {
      throw internalError(`could not enable vlan_filtering on ${JSON.stringify(c.bridge)}: ${errText(e)}${vlanHint(e, true)}`);
    }
  }
  if (c.promiscMode && !br.promisc) {
    try {
      setPromisc(s, br.index, true);
      changed = true;
    } catch (e) {
      throw internalError(`could not set promiscuous mode on ${JSON.stringify(c.bridge)}: ${errText(e)}`);
    }
  }
  // The plugin owns the bridge's routes: router advertisements must not add any.
  try {
    writeSysctl(`net/ipv6/conf/${c.bridge}/accept_ra`, '0');
  } catch {
    /* IPv6 disabled on this host: nothing to turn off */
  }
  if (!br.up) {
    setLinkUp(s, br.index);
    changed = true;
  }
  // Fetched again only when changed: each RTM_GETLINK of a bridge costs a dump and a decode.
  return changed ? bridgeByName(s, c.bridge) : br;
}

/**
 * Errors are `failed to create bridge "<name>": <cause>`, as in the reference. A bridge this call
 * created is removed again when a later step of ensuring it fails.
 */
export function ensureBridge(s: NetlinkSocket, c: BridgeConf): EnsuredBridge {
  let createdIndex: number | undefined;
  try {
    const link = ensure(s, c, (index) => (createdIndex = index));
    return { link, created: createdIndex !== undefined };
  } catch (e) {
    if (createdIndex !== undefined) removeBridgeIfUnused(s, createdIndex, c.bridge);
    throw wrapError(`failed to create bridge ${JSON.stringify(c.bridge)}`, e);
  }
}

/**
 * Undo of a bridge a failed ADD created: deleted unless some link has become its port meanwhile
 * (a concurrent ADD reusing it: deleting the bridge would detach that pod). Best effort; returns
 * whether it was deleted.
 */
export function removeBridgeIfUnused(s: NetlinkSocket, index: number, name: string): boolean {
  try {
    const links = listLinks(s);
    const br = links.find((l) => l.index === index);
    if (!br || br.name !== name || br.kind !== 'bridge') return false; // gone, or not ours any more
    if (links.some((l) => l.masterIndex === index)) return false;
    deleteLink(s, index);
    return true;
  } catch {
    return false;
  }
}

