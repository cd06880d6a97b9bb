// The host veth as a bridge port (reference: the second half of setupVeth): enslaved to the
// bridge, hairpin and isolation set explicitly either way, VLANs programmed.
import { internalError } from '../../shared/cni/errors';
import { addBridgeVlan, delBridgeVlan, listBridgeVlans, setBridgePortFlags } from '../../shared/netlink/bridge-port';
import { setMaster } from '../../shared/netlink/links';
import type { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link } from '../../shared/netlink/types';
import { portVlans } from './vlan';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface PortOptions {
  hairpinMode: boolean;
  /** undefined leaves the flag untouched (the `<br>.<vlan>` gateway port). */
  portIsolation?: boolean;
  vlan: number;
  vlans?: number[];
  preserveDefaultVlan: boolean;
}

export function attachPort(s: NetlinkSocket, br: Link, port: { index: number; name: string }, o: PortOptions): void {
  try {
    setMaster(s, port.index, br.index);
  } catch (e) {
    throw internalError(`failed to connect ${JSON.stringify(port.name)} to bridge ${br.name}: ${errText(e)}`);
  }
  try {
    setBridgePortFlags(s, port.index, { hairpin: o.hairpinMode });
  } catch (e) {
    throw internalError(`failed to setup hairpin mode for ${port.name}: ${errText(e)}`);
  }
  if (o.portIsolation !== undefined) {
    try {
      setBridgePortFlags(s, port.index, { isolated: o.portIsolation });
    } catch (e) {
      throw internalError(`failed to set isolated ${o.portIsolation ? 'on' : 'off'} for ${port.name}: ${errText(e)}`);
    }
  }
  const trunk = o.vlans ?? [];
  if ((o.vlan !== 0 || trunk.length > 0) && !o.preserveDefaultVlan) {
    // A new port starts with the bridge's default_pvid (VID 1, PVID untagged): drop it so the
    // port carries only the configured VLANs.
    try {
      for (const v of listBridgeVlans(s, port.index)) delBridgeVlan(s, port.index, v.vid);
    } catch (e) {
      throw internalError(`failed to remove default vlan on interface ${JSON.stringify(port.name)}: ${errText(e)}`);
    }
  }
  const pv = portVlans(o.vlan, o.vlans);
  try {
    if (pv.pvid !== undefined) addBridgeVlan(s, port.index, pv.pvid, { pvid: true, untagged: true });
    for (const v of pv.tagged) addBridgeVlan(s, port.index, v, {});
  } catch (e) {
    throw internalError(`failed to setup vlan tag on interface ${JSON.stringify(port.name)}: ${errText(e)}`);
  }
}
