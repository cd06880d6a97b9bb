// The daemon's shared vocabulary: the network config (etcd `<prefix>/config`), leases (etcd
// `<prefix>/subnets/<ip>-<len>[&<ip6>-<len6>]`) and the events the subnet manager emits. Every
// address-family-dependent value is keyed by family (4 | 6) so one code path serves both.
import type { CIDR, Family, IP } from '../shared/ip';

export type { CIDR, Family, IP };

/** Per-family values: `{ 4?: x, 6?: x }`. */
export type PerFamily<T> = Partial<Record<Family, T>>;

/** A family's address plan from the config (§2): Network, SubnetLen, SubnetMin, SubnetMax. */
export interface FamilyPlan {
  network: CIDR;
  subnetLen: number;
  subnetMin: IP;
  subnetMax: IP;
}

export interface BackendConfig {
  /** `Backend.Type` lower-cased: 'vxlan', 'host-gw', 'alloc', … */
  type: string;
  /** The whole Backend object as written (keys as the user spelt them). */
  raw: Record<string, unknown>;
}

/** vxlan backend keys (§2), matched case-insensitively in the config. */
export interface VxlanConfig {
  vni: number;
  /** 0 = not sent, the kernel default 8472 applies. */
  port: number;
  /** 0 = the external interface MTU. */
  mtu: number;
  gbp: boolean;
  learning: boolean;
  directRouting: boolean;
}

/** The parsed, defaulted and validated `<prefix>/config`. */
export interface NetworkConfig {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableNFTables: boolean;
  /** One plan per enabled family. */
  plans: PerFamily<FamilyPlan>;
  backend: BackendConfig;
}

/** A lease's value (flannel's `LeaseAttrs`). */
export interface LeaseAttrs {
  publicIP: PerFamily<IP>;
  backendType: string;
  /** BackendData (4) and BackendV6Data (6), as parsed JSON; absent when the lease has none. */
  backendData: PerFamily<unknown>;
  /**
   * Our own node identity (field `NodeID`, which Go's json.Unmarshal ignores), so a node whose
   * public IP changed still finds its lease. Absent in leases written by Go flanneld.
   */
  nodeId?: string;
}

export interface Lease {
  /** The key below `<prefix>/subnets/`, e.g. `10.5.52.0-24` or `10.5.52.0-24&fc00::-64`. */
  keyName: string;
  subnets: PerFamily<CIDR>;
  attrs: LeaseAttrs;
  /** etcd lease ID (decimal string); '0' for a reservation (no TTL). */
  etcdLease: string;
  /** etcd mod_revision of the key (decimal string), for compare-and-swap. */
  modRevision: string;
}

export type LeaseEvent = { type: 'added'; lease: Lease } | { type: 'removed'; lease: Lease };
