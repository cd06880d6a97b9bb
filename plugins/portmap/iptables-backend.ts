// Applies the portmap iptables rules: one iptables-restore per family per call on the normal
// path; iptables-save is read only when that batch fails (first pod on the node, shared
// chains flushed by a firewall reload, repeated ADD, DEL of something already gone).
import type { CIDR, Family } from '../../shared/ip';
import { parseSave } from '../../shared/netfilter/restore';
import { iptablesRestore, iptablesSave, iptablesUsable, iptablesUsableAny, NetfilterError } from '../../shared/netfilter/run';
import type { PortmapBackend } from './backend';
import {
  addFastBatch,
  addReconcileBatch,
  checkBatch,
  delBySavedBatch,
  delFastBatch,
  dnatChainName,
  gcBatch,
  goStringMatrix,
  type RuleConf,
  staleDnatChains,
  udpForwardsIn,
} from './iptables-rules';
import type { UdpForward } from './conntrack';

const famName = (f: Family): string => (f === 4 ? 'ipv4' : 'ipv6');

function iptForward(c: RuleConf, cid: string, net: CIDR): void {
  const f = net.ip.family;
  try {
    iptablesRestore(f, addFastBatch(c, cid, net));
    return;
  } catch (e) {
    if (!(e instanceof NetfilterError) || e.status === null) throw e;
  }
  try {
    iptablesRestore(f, addReconcileBatch(c, cid, net, parseSave(iptablesSave(f))));
  } catch (e) {
    throw new Error(`unable to setup DNAT: ${(e as Error).message}`);
  }
}

/**
 * Removes a container's forwarding for the given families. A family whose tools the host
 * lacks is skipped; both lacking is an error, as in the reference. With `guessed` families
 * (DEL without prevResult) a family whose nat table cannot even be listed (no IPv6 NAT in
 * the kernel) holds nothing of ours and is skipped, like the reference's maybeGetIptables.
 */
function iptUnforward(c: RuleConf, cid: string, families: readonly Family[], guessed: boolean): void {
  if (!iptablesUsableAny()) {
    throw new Error('neither iptables nor ip6tables is usable');
  }
  for (const f of families) {
    if (!iptablesUsable(f)) continue;
    try {
      iptablesRestore(f, delFastBatch(c, cid, f === 6));
      continue;
    } catch (e) {
      if (!(e instanceof NetfilterError) || e.status === null) throw new Error(`could not teardown ${famName(f)} dnat: ${(e as Error).message}`);
    }
    let text: string;
    try {
      text = iptablesSave(f);
    } catch (e) {
      if (guessed) continue;
      throw new Error(`could not teardown ${famName(f)} dnat: ${(e as Error).message}`);
    }
    try {
      const batch = delBySavedBatch(c.name, cid, parseSave(text));
      if (batch) iptablesRestore(f, batch);
    } catch (e) {
      throw new Error(`could not teardown ${famName(f)} dnat: ${(e as Error).message}`);
    }
  }
}

function iptCheck(c: RuleConf, cid: string, net: CIDR): void {
  const f = net.ip.family;
  const { batch, items } = checkBatch(c, cid, net);
  try {
    iptablesRestore(f, batch);
    return;
  } catch (e) {
    let msg = (e as Error).message;
    if (e instanceof NetfilterError && e.line !== undefined && items[e.line - 2]) {
      const item = items[e.line - 2]!;
      const chain = dnatChainName(c.name, cid);
      if (item.chain === chain && !parseSave(iptablesSave(f)).chains.has(chain)) {
        msg = `chain ${chain} not found in iptables table nat`;
      } else {
        msg = `rule ${goStringMatrix(item.group)} in chain ${item.chain} not found in table nat`;
      }
    }
    throw new Error(`could not check ${famName(f)} dnat: ${msg}`);
  }
}

/** GC; the conntrack entries of the UDP forwards it returns are the caller's to delete. */
function iptGC(net: string, validCids: readonly string[]): UdpForward[] {
  const errors: string[] = [];
  const removed: UdpForward[] = [];
  let listed = 0;
  for (const f of [4, 6] as const) {
    if (!iptablesUsable(f)) continue;
    let text: string;
    try {
      text = iptablesSave(f);
      listed++;
    } catch (e) {
      // A family whose nat table cannot be listed holds nothing of ours (see iptUnforward).
      errors.push((e as Error).message);
      continue;
    }
    const saved = parseSave(text);
    const batch = gcBatch(net, validCids, saved);
    if (!batch) continue;
    iptablesRestore(f, batch);
    for (const u of udpForwardsIn(saved, staleDnatChains(net, validCids, saved))) removed.push({ ...u, family: f });
  }
  if (listed === 0 && errors.length) throw new Error(errors.join('; '));
  return removed;
}

export const iptablesPortmap: PortmapBackend = {
  kind: 'iptables',
  usable: iptablesUsableAny,
  forward: iptForward,
  // Without prevResult addresses the families are guessed (see iptUnforward).
  unforward: (c, cid, families, nets) => iptUnforward(c, cid, families, nets.length === 0),
  check: iptCheck,
  gc: iptGC,
};
