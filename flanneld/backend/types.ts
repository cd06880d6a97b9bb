// The seam between the daemon's main loop and a backend (vxlan, host-gw, alloc): what a node
// publishes in its lease, and making the kernel match the peers' leases.
import type { Lease, PerFamily } from '../types';
import type { ReconcileReport } from '../datapath/reconciler';

export type { ReconcileReport };

export type { LogFn as Log, LogLevel } from '../log';

/** Local state a backend wants kept across restarts (the lead persists it next to subnet.env). */
export interface BackendPersisted {
  /** The MAC of flannel.<VNI> (4) and flannel-v6.<VNI> (6), so peers' ARP/FDB stay valid. */
  vtepMac: PerFamily<string>;
}

export interface BackendNetwork {
  readonly type: string;
  /** FLANNEL_MTU: vxlan = (Backend.MTU || ext MTU) − 50 (70 when the underlay is IPv6); host-gw and alloc = ext MTU. */
  readonly mtu: number;
  /** What this node publishes in its lease: BackendType and per-family BackendData. */
  leaseAttrs(): { backendType: string; backendData: PerFamily<unknown> };
  /** Our lease is known: put `<subnet>.0/32` (v6 `<subnet>::/128`) on flannel.<VNI>, etc. */
  setOwnLease(own: Lease): void;
  /** Make the kernel match the desired objects for these remote leases (own lease excluded by the caller). */
  reconcile(remote: Lease[]): ReconcileReport;
  /** Objects desired vs found, as plain JSON (for a support dump). */
  describe(): unknown;
  /** What to persist now (the MACs actually in use). */
  persisted(): BackendPersisted;
  /** Indexes of the devices it owns now (flannel.<VNI>…), whose changes the daemon watches. */
  ownedLinks?(): number[];
}

/** The backend cannot run with this configuration or on this host (e.g. host-gw behind NAT). */
export class BackendError extends Error {
  constructor(readonly backend: string, message: string) {
    super(`${backend} backend: ${message}`);
    this.name = 'BackendError';
  }
}
