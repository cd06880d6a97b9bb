// Making the bridge (or its `<bridge>.<vlan>` gateway interface) the containers' gateway:
// addresses, a pinned MAC, and IP forwarding (reference: ensureAddr, ensureVlanInterface,
// enableIPForward).
import { internalError, wrapError } from '../../shared/cni/errors';
import type { CIDR, Family } from '../../shared/ip';
import { addAddress, delAddress, listAddresses } from '../../shared/netlink/addresses';
import { isExists } from '../../shared/netlink/errors';
import { createVeth, getLinkByName, setLinkUp, setMac } from '../../shared/netlink/links';
import type { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link } from '../../shared/netlink/types';
import { readSysctl, writeSysctl } from '../../shared/netns';
import { planBridgeAddresses } from './gateway';
import { attachPort } from './host-port';
import { randomVethName } from './veth-name';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Puts the gateway addresses of one family on `dev`, replacing conflicting ones only with
 * forceAddress (see planBridgeAddresses), then sets the device's MAC to its current value:
 * a bridge whose address was never set explicitly takes the lowest MAC among its ports and
 * would change it as containers come and go.
 */
export function ensureGatewayAddresses(s: NetlinkSocket, dev: Link, family: Family, wanted: CIDR[], forceAddress: boolean): void {
  if (wanted.length === 0) return;
  const existing = listAddresses(s, { index: dev.index, family }).map((a) => a.cidr);
  const plan = planBridgeAddresses(dev.name, existing, wanted, forceAddress);
  for (const r of plan.remove) {
    try {
      delAddress(s, dev.index, r);
    } catch (e) {
      throw internalError(`could not remove IP address from ${JSON.stringify(dev.name)}: ${errText(e)}`);
    }
  }
  for (const a of plan.add) {
    try {
      addAddress(s, dev.index, a);
    } catch (e) {
      if (!isExists(e)) throw internalError(`could not add IP address to ${JSON.stringify(dev.name)}: ${errText(e)}`);
    }
  }
  const cur = getLinkByName(s, dev.name);
  if (cur && cur.mac) {
    try {
      setMac(s, cur.index, cur.mac);
    } catch (e) {
      throw internalError(`could not set bridge's mac: ${errText(e)}`);
    }
  }
}

/** `net.ipv4.ip_forward` / `net.ipv6.conf.all.forwarding` = 1, written only when not already. */
export function enableForwarding(family: Family): void {
  const name = family === 4 ? 'net/ipv4/ip_forward' : 'net/ipv6/conf/all/forwarding';
  try {
    if (readSysctl(name).trim() === '1') return;
    writeSysctl(name, '1');
  } catch (e) {
    throw internalError(`failed to enable forwarding: ${errText(e)}`);
  }
}

/**
 * `<bridge>.<vlan>`: a veth pair inside the host namespace whose far end is a bridge port with
 * the VLAN as PVID, so the host has an L3 presence in that VLAN. Reused when present.
 */
export function ensureVlanGateway(s: NetlinkSocket, br: Link, vlan: number, preserveDefaultVlan: boolean): Link {
  const name = `${br.name}.${vlan}`;
  const existing = getLinkByName(s, name);
  if (existing) return existing;
  try {
    let portName = '';
    for (let i = 0; i < 10 && !portName; i++) {
      const candidate = randomVethName();
      try {
        createVeth(s, { name: candidate, peerName: name, mtu: br.mtu });
        portName = candidate;
      } catch (e) {
        if (!isExists(e) || getLinkByName(s, name)) throw e;
      }
    }
    if (!portName) throw internalError('failed to find a unique veth name');
    const port = getLinkByName(s, portName);
    const gw = getLinkByName(s, name);
    if (!port || !gw) throw internalError(`failed to lookup ${JSON.stringify(name)}: Link not found`);
    setLinkUp(s, port.index);
    attachPort(s, br, port, { hairpinMode: false, vlan, preserveDefaultVlan });
    setLinkUp(s, gw.index);
    return getLinkByName(s, name) ?? gw;
  } catch (e) {
    throw wrapError('failed to create vlan interface', e);
  }
}
