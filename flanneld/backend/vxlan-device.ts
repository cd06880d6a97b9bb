// flannel.<VNI> / flannel-v6.<VNI>: created once, then reused across daemon restarts when its
// attributes still fit (recreating it would drop packets and lose its neighbour/FDB entries);
// deleted and recreated only when incompatible.
import { formatIP, ipEquals } from '../../shared/ip';
import type { Link, NetlinkSocket, VxlanSpec } from '../../shared/netlink';
import * as nl from '../../shared/netlink';
import type { Log } from './types';

/** The kernel's vxlan UDP port when none is given (vxlan module parameter udp_port). */
const KERNEL_DEFAULT_VXLAN_PORT = 8472;

/** The device the backend wants: a full vxlan spec (GBP, MTU and the MAC — persisted or fresh — always given). */
export type WantedDevice = Required<VxlanSpec>;

/** Why an existing link cannot be reused as this device; null when it can (pure). */
export function incompatibility(l: Link, w: WantedDevice): string | null {
  if (l.kind !== 'vxlan' || !l.vxlan) return `it is a ${l.kind ?? 'physical'} link, not vxlan`;
  const v = l.vxlan;
  const port = w.port || KERNEL_DEFAULT_VXLAN_PORT;
  if (v.vni !== w.vni) return `vni ${v.vni}, want ${w.vni}`;
  if (!v.local || !ipEquals(v.local, w.local)) return `local ${v.local ? formatIP(v.local) : 'unset'}, want ${formatIP(w.local)}`;
  if (v.linkIndex !== w.linkIndex) return `underlay device index ${v.linkIndex ?? 'unset'}, want ${w.linkIndex}`;
  if ((v.port ?? KERNEL_DEFAULT_VXLAN_PORT) !== port) return `port ${v.port}, want ${port}`;
  if (v.learning !== w.learning) return `learning ${v.learning ? 'on' : 'off'}, want ${w.learning ? 'on' : 'off'}`;
  if (!!v.gbp !== w.gbp) return `gbp ${v.gbp ? 'on' : 'off'}, want ${w.gbp ? 'on' : 'off'}`;
  return null;
}

interface EnsuredDevice {
  link: Link;
  /** True when an existing compatible device was kept. */
  reused: boolean;
}

/**
 * Makes the device exist, match w, be up, and carry w.mac; returns it as the kernel reports it
 * after `up` (a udev/systemd rule may rewrite the MAC when the link appears, so the MAC to
 * publish is the one read back, and one more attempt is made to set ours).
 */
export function ensureVxlanDevice(sock: NetlinkSocket, w: WantedDevice, log: Log): EnsuredDevice {
  let link = nl.getLinkByName(sock, w.name);
  let reused = false;
  if (link) {
    const why = incompatibility(link, w);
    if (why) {
      log('warn', `${w.name} exists but is incompatible (${why}): deleting and recreating it`);
      nl.deleteLink(sock, link.index);
      link = null;
    }
  }
  if (!link) {
    const spec: VxlanSpec = {
      name: w.name, vni: w.vni, port: w.port, local: w.local, linkIndex: w.linkIndex,
      learning: w.learning, gbp: w.gbp, mtu: w.mtu, mac: w.mac,
    };
    link = nl.createVxlan(sock, spec);
    log('info', `created ${w.name}: vni ${w.vni}, local ${formatIP(w.local)}, port ${w.port || KERNEL_DEFAULT_VXLAN_PORT}, mtu ${w.mtu}, mac ${w.mac}`);
  } else {
    reused = true;
    if (link.mtu !== w.mtu) {
      log('info', `${w.name}: mtu ${link.mtu} -> ${w.mtu}`);
      nl.setMtu(sock, link.index, w.mtu);
    }
    if (link.mac !== w.mac) {
      log('warn', `${w.name}: mac ${link.mac} differs from ours ${w.mac}: setting it back`);
      nl.setMac(sock, link.index, w.mac);
    }
  }
  nl.setLinkUp(sock, link.index);
  let now = nl.getLinkByIndex(sock, link.index);
  if (!now) throw new Error(`${w.name} (index ${link.index}) vanished right after being set up`);
  if (now.mac !== w.mac) {
    log('warn', `${w.name}: the kernel reports mac ${now.mac} after up, not ${w.mac} (a MACAddressPolicy?): setting it again`);
    nl.setMac(sock, now.index, w.mac);
    now = nl.getLinkByIndex(sock, link.index) ?? now;
  }
  return { link: now, reused };
}
