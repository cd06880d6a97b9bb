// Reads what findOverlaps needs from the kernel (the external interface's addresses, the main
// table's routes of the config's families, device names) in three netlink dumps. Two stages:
// before the lease everything except lease-shaped routes (a cni0 route may be our own subnet's),
// after it the lease-shaped routes against the subnet we now hold.
import { listAddresses, listLinks, listRoutes, type NetlinkSocket } from '../../shared/netlink';
import type { CIDR, Family } from '../../shared/ip';
import type { NetworkConfig, PerFamily } from '../types';
import { vxlanConfig } from '../network-config';
import { vxlanDeviceName } from '../backend/vxlan';
import { findOverlaps, isLeaseShaped, type Overlap } from './overlap';
import { RTPROT_FLANNEL } from './ownership';
import type { ExternalInterface } from './external-iface';

/** `own`: undefined before the lease (stage 1), our lease's subnets after it (stage 2). */
export function checkOverlaps(sock: NetlinkSocket, config: NetworkConfig, families: Family[], ext: ExternalInterface, own?: PerFamily<CIDR>): Overlap[] {
  const networks = families.map((f) => config.plans[f]!.network);
  const subnetLen: PerFamily<number> = {};
  for (const f of families) subnetLen[f] = config.plans[f]!.subnetLen;
  const ownDevices = config.backend.type === 'vxlan' ? families.map((f) => vxlanDeviceName(f, vxlanConfig(config.backend).vni)) : [];
  const names = new Map(listLinks(sock).map((l) => [l.index, l.name]));
  const routes = families.flatMap((f) => listRoutes(sock, { family: f })).map((r) => ({ ...r, dev: r.index !== undefined ? names.get(r.index) : undefined }));
  const stage2 = own !== undefined;
  return findOverlaps({
    networks,
    ext: { name: ext.name, addrs: stage2 ? [] : listAddresses(sock, { index: ext.index }).map((a) => a.cidr) },
    routes,
    ownSubnets: stage2 ? families.map((f) => own[f]).filter((c): c is CIDR => c !== undefined) : [],
    ownDevices,
    ownProtocol: RTPROT_FLANNEL,
    routeFilter: (r) => isLeaseShaped(r, networks, subnetLen) === stage2,
  });
}
