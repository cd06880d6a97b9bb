// The bridge plugin's network configuration (reference: plugins/main/bridge NetConf, §2.1).
import { parseCniArgs } from '../../shared/cni/args';
import { configError } from '../../shared/cni/errors';
import type { DNS, NetConf } from '../../shared/cni/types';
import { validate } from '../../shared/cni/validate';
import type { NetfilterKind } from '../../shared/netfilter/backend';
import type { BridgeConfInput } from './config-schema';
import { bridgeConfValidator } from './config-validators.generated';
import { collectVlanTrunk, type VlanTrunkEntry } from './vlan';

const DEFAULT_BRIDGE = 'cni0';

type MasqBackend = NetfilterKind;

export interface BridgeConf {
  cniVersion: string;
  name: string;
  bridge: string;
  /** True also when only isDefaultGateway was set (it implies isGateway). */
  isGateway: boolean;
  isDefaultGateway: boolean;
  forceAddress: boolean;
  ipMasq: boolean;
  ipMasqBackend?: MasqBackend;
  /** 0 = kernel default. */
  mtu: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  vlan: number;
  /** Collected trunk VIDs (sorted, unique); undefined when none. */
  vlans?: number[];
  /** vlanTrunk key present (even empty): the reference enables vlan_filtering then. */
  vlanTrunkSet: boolean;
  preserveDefaultVlan: boolean;
  macspoofchk: boolean;
  enabledad: boolean;
  disableContainerInterface: boolean;
  portIsolation: boolean;
  /** '' = L2 mode (no IPAM). */
  ipamType: string;
  /** Config-level DNS, set only when at least one field is set (it then overrides IPAM's). */
  dns?: DNS;
  /** Container MAC, normalised lower-case "aa:bb:cc:dd:ee:ff", from the highest-precedence source. */
  mac?: string;
}

const MAC_RE = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/**
 * Validates an Ethernet MAC for a veth: six octets separated by ':' or '-'; not multicast
 * (the kernel refuses those as a device address with EADDRNOTAVAIL) and not all-zero.
 */
export function normaliseMac(value: string, source: string): string {
  if (!MAC_RE.test(value)) throw configError(`invalid MAC address ${JSON.stringify(value)} in ${source}`);
  const mac = value.toLowerCase().replace(/-/g, ':');
  const first = parseInt(mac.slice(0, 2), 16);
  if (first & 1) throw configError(`invalid MAC address ${JSON.stringify(value)} in ${source}: multicast address`);
  if (mac === '00:00:00:00:00:00') throw configError(`invalid MAC address ${JSON.stringify(value)} in ${source}: all-zero address`);
  return mac;
}

function dnsSet(d: DNS | null | undefined): d is DNS {
  if (!d) return false;
  return d.nameservers != null || d.search != null || d.options != null || (d.domain != null && d.domain !== '');
}

function cleanDns(d: BridgeConfInput['dns']): DNS | undefined {
  if (!d || !dnsSet(d as DNS)) return undefined;
  const out: DNS = {};
  if (d.nameservers != null) out.nameservers = d.nameservers;
  if (d.domain != null && d.domain !== '') out.domain = d.domain;
  if (d.search != null) out.search = d.search;
  if (d.options != null) out.options = d.options;
  return out;
}

/**
 * Parses and checks the config (all commands). `cniArgs` is raw CNI_ARGS: its `MAC` is the
 * lowest-precedence MAC source; `IP` is known too because the IPAM plugin reads it from the
 * same variable (the reference bridge rejects it without IgnoreUnknown).
 */
export function loadBridgeConf(conf: NetConf, cniArgs: string): BridgeConf {
  const c = validate(bridgeConfValidator, conf);
  const vlan = c.vlan ?? 0;
  if (vlan < 0 || vlan > 4094) throw configError(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  const vlans = collectVlanTrunk((c.vlanTrunk ?? undefined) as VlanTrunkEntry[] | undefined);

  let ipMasqBackend: MasqBackend | undefined;
  if (c.ipMasqBackend != null && c.ipMasqBackend !== '') {
    if (c.ipMasqBackend !== 'iptables' && c.ipMasqBackend !== 'nftables') {
      throw configError(`unknown ipmasq backend ${JSON.stringify(c.ipMasqBackend)}`);
    }
    ipMasqBackend = c.ipMasqBackend;
  }

  // Precedence low → high: CNI_ARGS MAC, args.cni.mac, runtimeConfig.mac (capability "mac").
  let mac: string | undefined;
  const envMac = parseCniArgs(cniArgs, ['MAC', 'IP']).MAC;
  if (envMac) mac = normaliseMac(envMac, 'CNI_ARGS MAC');
  const argsMac = c.args?.cni?.mac;
  if (argsMac) mac = normaliseMac(argsMac, 'args.cni.mac');
  const rtMac = c.runtimeConfig?.mac;
  if (rtMac) mac = normaliseMac(rtMac, 'runtimeConfig.mac');

  const isDefaultGateway = c.isDefaultGateway ?? false;
  const out: BridgeConf = {
    cniVersion: c.cniVersion || '0.1.0',
    name: c.name ?? '',
    bridge: c.bridge || DEFAULT_BRIDGE,
    isGateway: (c.isGateway ?? false) || isDefaultGateway,
    isDefaultGateway,
    forceAddress: c.forceAddress ?? false,
    ipMasq: c.ipMasq ?? false,
    mtu: c.mtu ?? 0,
    hairpinMode: c.hairpinMode ?? false,
    promiscMode: c.promiscMode ?? false,
    vlan,
    vlanTrunkSet: c.vlanTrunk != null,
    preserveDefaultVlan: c.preserveDefaultVlan ?? false,
    macspoofchk: c.macspoofchk ?? false,
    enabledad: c.enabledad ?? false,
    disableContainerInterface: c.disableContainerInterface ?? false,
    portIsolation: c.portIsolation ?? false,
    ipamType: c.ipam?.type ?? '',
  };
  if (ipMasqBackend) out.ipMasqBackend = ipMasqBackend;
  if (vlans) out.vlans = vlans;
  const dns = cleanDns(c.dns);
  if (dns) out.dns = dns;
  if (mac) out.mac = mac;
  return out;
}

/**
 * Combinations only ADD rejects: DEL and CHECK of such a config (a runtime sends DEL after a
 * failed ADD) must still work.
 */
export function checkAddConstraints(c: BridgeConf): void {
  if (c.hairpinMode && c.promiscMode) {
    throw configError('cannot set hairpin mode and promiscuous mode at the same time');
  }
  if (c.disableContainerInterface && c.ipamType !== '') {
    throw configError('cannot use IPAM when DisableContainerInterface flag is set');
  }
}

/** vlan_filtering is enabled on a bridge the plugin creates when any VLAN option is given. */
export const wantsVlanFiltering = (c: BridgeConf): boolean => c.vlan !== 0 || c.vlanTrunkSet;
