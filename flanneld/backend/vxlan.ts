// The vxlan backend (§5): one flannel.<VNI> (v4) / flannel-v6.<VNI> (v6) device per family over
// the external interface, our `<subnet>.0` on it, and per peer an ARP entry, an FDB entry and a
// route, kept in line with the leases by the reconciler. One code path for both families.
import type { Family, Lease, NetworkConfig, PerFamily } from '../types';
import { bitsOf, contains, formatCIDR, ipEquals } from '../../shared/ip';
import type { NetlinkSocket } from '../../shared/netlink';
import * as nl from '../../shared/netlink';
import type { NetNS } from '../../shared/netns';
import { withNetns, writeSysctl } from '../../shared/netns';
import type { ExternalInterface } from '../datapath/external-iface';
import { describeFdb, describeNeigh, describeRoute, vxlanDesired } from '../datapath/desired';
import type { ActualState, DesiredState, Dev } from '../datapath/desired';
import { describeActual, emptyReport, reconcileScope } from '../datapath/reconciler';
import type { ReconcileReport } from '../datapath/reconciler';
import { randomVtepMac } from './mac';
import { BackendError } from './types';
import type { BackendNetwork, BackendPersisted, Log } from './types';
import { parseVxlanBackendData, formatVxlanBackendData } from './vxlan-data';
import { enabledFamilies, vxlanConfig } from '../network-config';
import { ensureVxlanDevice } from './vxlan-device';
import type { WantedDevice } from './vxlan-device';

/** Encapsulation cost per packet: outer IPv4 20 (IPv6 40) + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const vxlanOverhead = (underlay: Family): number => (underlay === 4 ? 50 : 70);

export const vxlanDeviceName = (family: Family, vni: number): string => (family === 4 ? `flannel.${vni}` : `flannel-v6.${vni}`);

export interface BackendOptions {
  /** The daemon's netns, for the device's sysctls (the socket's netns; default: the current one). */
  netns?: NetNS;
}

interface FamilyState {
  family: Family;
  want: WantedDevice;
  dev: Dev;
  mac: string;
  own?: Lease;
  lastDesired?: DesiredState;
  lastActual?: ActualState;
}

export class VxlanNetwork implements BackendNetwork {
  readonly type = 'vxlan';
  readonly mtu: number;
  private readonly fams = new Map<Family, FamilyState>();
  private readonly vni: number;
  private readonly directRouting: boolean;

  constructor(
    private readonly sock: NetlinkSocket,
    private readonly config: NetworkConfig,
    private readonly ext: ExternalInterface,
    persisted: BackendPersisted,
    private readonly log: Log,
    private readonly opts: BackendOptions = {},
  ) {
    const vc = vxlanConfig(config.backend);
    this.vni = vc.vni;
    this.directRouting = vc.directRouting;
    const base = vc.mtu || ext.mtu;
    let mtu = Infinity;
    for (const family of enabledFamilies(config)) {
      const local = ext.addr[family];
      if (!local) throw new BackendError('vxlan', `external interface ${ext.name} has no IPv${family} address for ${vxlanDeviceName(family, vc.vni)}`);
      const devMtu = base - vxlanOverhead(family);
      // IPv6 needs 1280 on a link (RFC 8200), or the kernel disables it there.
      const min = family === 6 ? 1280 : 68;
      if (devMtu < min) throw new BackendError('vxlan', `MTU ${base} − ${vxlanOverhead(family)} = ${devMtu} is below the IPv${family} minimum ${min}`);
      mtu = Math.min(mtu, devMtu);
      const saved = persisted.vtepMac[family];
      const mac = saved && typeof parseVxlanBackendData({ VtepMAC: saved }) !== 'string' ? saved.toLowerCase() : undefined;
      const want: WantedDevice = {
        name: vxlanDeviceName(family, vc.vni), vni: vc.vni, port: vc.port, local, linkIndex: ext.index,
        learning: vc.learning, gbp: vc.gbp, mtu: devMtu, mac: mac ?? '',
      };
      this.log('info', `${want.name}: mtu ${devMtu} = ${vc.mtu ? `Backend.MTU ${vc.mtu}` : `${ext.name} mtu ${ext.mtu}`} − ${vxlanOverhead(family)} (IPv${family} underlay)`);
      this.fams.set(family, this.setUpDevice({ family, want, dev: { index: 0, name: want.name }, mac: '' }, !mac));
    }
    // FLANNEL_MTU is one number for the pods' one interface: the smaller when both families run.
    this.mtu = mtu;
  }

  private setUpDevice(st: FamilyState, fresh: boolean): FamilyState {
    if (fresh) {
      // No persisted MAC: keep an existing device's (peers may already have it), else a new one.
      const existing = nl.getLinkByName(this.sock, st.want.name);
      st.want.mac = existing?.kind === 'vxlan' && existing.mac ? existing.mac : randomVtepMac();
    }
    const { link, reused } = ensureVxlanDevice(this.sock, st.want, this.log);
    if (reused) this.log('info', `reusing ${link.name} (index ${link.index}, mac ${link.mac})`);
    // Router advertisements on the overlay would add routes behind our back.
    this.sysctl(`net/ipv6/conf/${link.name}/accept_ra`, '0');
    st.dev = { index: link.index, name: link.name };
    st.mac = link.mac;
    st.want.mac = link.mac;
    return st;
  }

  private sysctl(name: string, value: string): void {
    try {
      if (this.opts.netns) withNetns(this.opts.netns, () => writeSysctl(name, value));
      else writeSysctl(name, value);
    } catch (e) {
      // IPv6 disabled on the host: no such sysctl, nothing to turn off.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  leaseAttrs(): { backendType: string; backendData: PerFamily<unknown> } {
    const backendData: PerFamily<unknown> = {};
    for (const [f, st] of this.fams) backendData[f] = formatVxlanBackendData(this.vni, st.mac);
    return { backendType: 'vxlan', backendData };
  }

  persisted(): BackendPersisted {
    const vtepMac: PerFamily<string> = {};
    for (const [f, st] of this.fams) vtepMac[f] = st.mac;
    return { vtepMac };
  }

  ownedLinks(): number[] {
    return [...this.fams.values()].map((st) => st.dev.index);
  }

  setOwnLease(own: Lease): void {
    for (const st of this.fams.values()) {
      st.own = own;
      this.ensureOwnAddress(st);
    }
  }

  /**
   * `<subnet>.0/32` (v6 `<subnet>::/128`): a host route only, no broadcast or prefix route; it is
   * the source address for host→pod traffic and the peers' gateway for our subnet. Any other
   * address of the family inside Network (an old lease's) is removed.
   */
  private ensureOwnAddress(st: FamilyState): void {
    const subnet = st.own?.subnets[st.family];
    const network = this.config.plans[st.family]?.network;
    if (!subnet || !network) return;
    const want = { ip: subnet.ip, prefix: bitsOf(st.family) };
    for (const a of nl.listAddresses(this.sock, { index: st.dev.index, family: st.family })) {
      if (contains(network, a.cidr.ip) && !(ipEquals(a.cidr.ip, want.ip) && a.cidr.prefix === want.prefix)) {
        this.log('info', `${st.dev.name}: removing stale address ${formatCIDR(a.cidr)}`);
        nl.deleteAddressIfPresent(this.sock, st.dev.index, a.cidr);
      }
    }
    if (nl.ensureAddress(this.sock, st.dev.index, want)) this.log('info', `${st.dev.name}: added ${formatCIDR(want)}`);
  }

  /** The device was deleted or changed behind our back (`service network restart`): set it up again. */
  private checkDevice(st: FamilyState, report: ReconcileReport): void {
    const l = nl.getLinkByIndex(this.sock, st.dev.index);
    if (l && l.name === st.want.name && l.kind === 'vxlan' && l.up && l.mac === st.mac) return;
    try {
      this.setUpDevice(st, false);
      this.ensureOwnAddress(st);
      report.added.push(`link ${st.dev.name} (index ${st.dev.index}, mac ${st.mac})`);
    } catch (e) {
      report.errors.push(`link ${st.want.name}: ${(e as Error).message}`);
    }
  }

  reconcile(remote: Lease[]): ReconcileReport {
    const report = emptyReport();
    const warn = (m: string): void => this.log('warn', m);
    for (const st of this.fams.values()) {
      this.checkDevice(st, report);
      const network = this.config.plans[st.family]!.network;
      let directRoutes;
      if (this.directRouting) {
        try {
          directRoutes = nl.listRoutes(this.sock, { family: st.family });
        } catch (e) {
          report.errors.push(`list IPv${st.family} routes for DirectRouting: ${(e as Error).message}`);
        }
      }
      const desired = vxlanDesired(remote, {
        family: st.family, network, dev: st.dev, ext: { index: this.ext.index, name: this.ext.name }, ...(directRoutes ? { directRoutes } : {}),
      }, warn);
      const names = new Map([[st.dev.index, st.dev.name], [this.ext.index, this.ext.name]]);
      st.lastActual = reconcileScope(this.sock, { family: st.family, network, dev: st.dev }, desired, names, report);
      st.lastDesired = desired;
    }
    return report;
  }

  describe(): unknown {
    const out: Record<string, unknown> = { type: this.type, mtu: this.mtu, vni: this.vni, directRouting: this.directRouting };
    for (const st of this.fams.values()) {
      const names = new Map([[st.dev.index, st.dev.name], [this.ext.index, this.ext.name]]);
      out[`ipv${st.family}`] = {
        device: { name: st.dev.name, index: st.dev.index, mac: st.mac, mtu: st.want.mtu },
        desired: st.lastDesired && {
          neighs: st.lastDesired.neighs.map((n) => describeNeigh(n, n.dev.name)),
          fdb: st.lastDesired.fdb.map((f) => describeFdb(f, f.dev.name)),
          routes: st.lastDesired.routes.map((r) => describeRoute(r, r.dev.name)),
        },
        foundBeforeLastReconcile: st.lastActual && describeActual(st.lastActual, names),
      };
    }
    return out;
  }
}
