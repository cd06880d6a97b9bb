// The alloc backend: leases only, no kernel objects (another agent routes the subnets).
import type { Lease, PerFamily } from '../types';
import type { ExternalInterface } from '../datapath/external-iface';
import { emptyReport } from '../datapath/reconciler';
import type { ReconcileReport } from '../datapath/reconciler';
import type { BackendNetwork, BackendPersisted } from './types';

export class AllocNetwork implements BackendNetwork {
  readonly type = 'alloc';
  readonly mtu: number;

  constructor(ext: ExternalInterface) {
    this.mtu = ext.mtu;
  }

  leaseAttrs(): { backendType: string; backendData: PerFamily<unknown> } {
    return { backendType: 'alloc', backendData: {} };
  }

  persisted(): BackendPersisted {
    return { vtepMac: {} };
  }

  setOwnLease(_own: Lease): void {}

  reconcile(_remote: Lease[]): ReconcileReport {
    return emptyReport();
  }

  describe(): unknown {
    return { type: this.type, mtu: this.mtu };
  }
}
