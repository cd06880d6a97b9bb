// What portmap does with netfilter, once per backend (iptables-backend.ts, nft-backend.ts). The
// plugin picks the configured backend's object once per call and loads only its module.
// Types only: importing this module loads nothing at run time.
import type { CIDR, Family } from '../../shared/ip';
import type { NetfilterBackend } from '../../shared/netfilter/backend';
import type { UdpForward } from './conntrack';
import type { RuleConf } from './iptables-rules';

export interface PortmapBackend extends NetfilterBackend {
  /** Sets up forwarding to one container address. */
  forward(c: RuleConf, cid: string, net: CIDR): void;
  /**
   * Removes a container's forwarding in `families`. `nets` are its addresses from prevResult;
   * empty when the DEL had none (the families are then a guess: both).
   */
  unforward(c: RuleConf, cid: string, families: readonly Family[], nets: readonly CIDR[]): void;
  /** Verifies a container's rules for one address; throws the reference's message when one is missing. */
  check(c: RuleConf, cid: string, net: CIDR): void;
  /** Removes the forwarding of this network's containers not in `validCids`; returns the UDP forwards removed. */
  gc(network: string, validCids: readonly string[]): UdpForward[];
}
