// Reads what findOverlaps needs from the kernel (the external interface's addresses, the main
// table's routes of the config's families, device names) in three netlink dumps.
import { listAddresses, listLinks, listRoutes, type NetlinkSocket } from '../../shared/netlink';
import type { CIDR, Family } from '../../shared/ip';
import type { NetworkConfig, PerFamily } from '../types';
import { vxlanConfigFrom } from '../backend/vxlan-config';
import { vxlanDeviceName } from '../backend/vxlan';
import { findOverlaps, type Overlap } from './overlap';
import { RTPROT_FLANNEL } from './ownership';
import type { ExternalInterface } from './external-iface';

export function checkOverlaps(sock: NetlinkSocket, config: NetworkConfig, families: Family[], ext: ExternalInterface, prevSubnets: PerFamily<CIDR>): Overlap[] {
  const networks: PerFamily<CIDR> = {};
  for (const f of families) networks[f] = config.plans[f]!.network;
  const ownDevices = config.backend.type === 'vxlan' ? families.map((f) => vxlanDeviceName(f, vxlanConfigFrom(config.backend.raw).vni)) : [];
  const ownSubnets = families.map((f) => prevSubnets[f]).filter((c): c is CIDR => c !== undefined);
  const names = new Map(listLinks(sock).map((l) => [l.index, l.name]));
  const routes = families.flatMap((f) => listRoutes(sock, { family: f })).map((r) => ({ ...r, dev: r.index !== undefined ? names.get(r.index) : undefined }));
  const addrs = listAddresses(sock, { index: ext.index }).map((a) => a.cidr);
  return findOverlaps({
    networks: families.map((f) => networks[f]!),
    ext: { name: ext.name, addrs },
    routes,
    ownSubnets,
    ownDevices,
    ownProtocol: RTPROT_FLANNEL,
  });
}
