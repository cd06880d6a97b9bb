// The two ways the plugins write netfilter rules: iptables (iptables-restore batches, one per
// address family, into the legacy or nf_tables kernel tables behind the iptables tools) and
// nftables (one `nft -f` batch in a table of our own). A user of netfilter (the bridge's ipMasq,
// portmap) has one backend object per kind implementing its operations; the kind is chosen once
// per call and the operations run without asking which one it is.
// Types only: importing this module loads nothing at run time.

export type NetfilterKind = 'iptables' | 'nftables';

export interface NetfilterBackend {
  readonly kind: NetfilterKind;
  /** The host has this backend's tools (no probe process: see run.ts, iptablesUsable). */
  usable(): boolean;
}
