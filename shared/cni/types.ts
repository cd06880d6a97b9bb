// Result and config shapes of the CNI spec (1.0.0/1.1.0 form unless noted).

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  /** Index into `interfaces`. */
  interface?: number;
  /** CIDR with host bits: "10.1.2.5/24". */
  address: string;
  gateway?: string;
  /** Only in 0.3.x/0.4.0 results. */
  version?: '4' | '6';
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A 0.3.0+ result; plugins build 1.1.0 ones and the dispatcher converts to the config's version. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** 0.1.0/0.2.0 result. */
export interface LegacyIPConfig {
  ip: string;
  gateway?: string;
  routes?: Route[];
}
export interface LegacyResult {
  cniVersion: string;
  ip4?: LegacyIPConfig;
  ip6?: LegacyIPConfig;
  dns?: DNS;
}

export type AnyResult = Result | LegacyResult;

export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The config keys every plugin config has; unknown keys are kept (loose). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: { type?: string; [k: string]: unknown };
  dns?: DNS;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: unknown;
  'cni.dev/valid-attachments'?: Attachment[];
  'cni.dev/attachments'?: Attachment[];
  [k: string]: unknown;
}
