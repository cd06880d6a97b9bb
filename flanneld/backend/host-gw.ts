// The host-gw backend (§6): no device, no encapsulation; each peer's subnet is routed via the
// peer's public IP on the external interface, which only works when all nodes share one L2.
import type { Family, Lease, NetworkConfig, PerFamily } from '../types';
import { formatIP, ipEquals } from '../../shared/ip';
import type { NetlinkSocket } from '../../shared/netlink';
import * as nl from '../../shared/netlink';
import type { ExternalInterface } from '../datapath/external-iface';
import { describeRoute, hostGwDesired } from '../datapath/desired';
import type { ActualState, DesiredState } from '../datapath/desired';
import { describeActual, emptyReport, reconcileScope } from '../datapath/reconciler';
import type { ReconcileReport } from '../datapath/reconciler';
import { BackendError } from './types';
import type { BackendNetwork, BackendPersisted, Log } from './types';
import { enabledFamilies } from '../network-config';

export class HostGwNetwork implements BackendNetwork {
  readonly type = 'host-gw';
  readonly mtu: number;
  private last = new Map<Family, { desired: DesiredState; actual: ActualState }>();

  /**
   * Refuses (BackendError) when a public IP is not an address of the external interface: peers
   * would route our subnet to an address no host of their L2 answers for (typically NAT).
   */
  constructor(private readonly sock: NetlinkSocket, private readonly config: NetworkConfig, private readonly ext: ExternalInterface, private readonly log: Log) {
    const addrs = nl.listAddresses(sock, { index: ext.index });
    for (const f of enabledFamilies(config)) {
      const pub = ext.publicIP[f];
      if (!pub) throw new BackendError('host-gw', `no IPv${f} public IP on ${ext.name}`);
      if (!addrs.some((a) => ipEquals(a.cidr.ip, pub))) {
        throw new BackendError('host-gw', `the public IP ${formatIP(pub)} is not an address of ${ext.name} (probably you're on a NAT); host-gw needs every node's public IP on its own interface`);
      }
    }
    this.mtu = ext.mtu;
  }

  leaseAttrs(): { backendType: string; backendData: PerFamily<unknown> } {
    return { backendType: 'host-gw', backendData: {} };
  }

  persisted(): BackendPersisted {
    return { vtepMac: {} };
  }

  setOwnLease(_own: Lease): void {
    // Nothing local: our subnet lives on cni0, which the CNI plugin manages.
  }

  reconcile(remote: Lease[]): ReconcileReport {
    const report = emptyReport();
    const ext = { index: this.ext.index, name: this.ext.name };
    const names = new Map([[ext.index, ext.name]]);
    for (const family of enabledFamilies(this.config)) {
      const network = this.config.plans[family]!.network;
      const desired = hostGwDesired(remote, family, network, ext, (m) => this.log('warn', m));
      const actual = reconcileScope(this.sock, { family, network }, desired, names, report);
      this.last.set(family, { desired, actual });
    }
    return report;
  }

  describe(): unknown {
    const out: Record<string, unknown> = { type: this.type, mtu: this.mtu, ext: this.ext.name };
    const names = new Map([[this.ext.index, this.ext.name]]);
    for (const [f, l] of this.last) {
      out[`ipv${f}`] = {
        desired: { routes: l.desired.routes.map((r) => describeRoute(r, r.dev.name)) },
        foundBeforeLastReconcile: describeActual(l.actual, names),
      };
    }
    return out;
  }
}
