// Applies the portmap nftables rules: one `nft -f` per ADD; DEL, CHECK and GC list only our
// own table (`nft -j -a list table <fam> cni_hostport`) to find rules and their handles.
import { formatIP, type CIDR, type Family } from '../../shared/ip';
import { deleteRuleCmd, type NftRule, rulesOf } from '../../shared/netfilter/nft';
import { nftablesUsable, nftApply, nftListJson } from '../../shared/netfilter/run';
import type { PortmapBackend } from './backend';
import type { RuleConf } from './iptables-rules';
import type { UdpForward } from './conntrack';
import { checkRules, NFT_TABLE, nftAddBatch, type NftFamily, ownedRules, staleRules, udpForwardOf } from './nft-rules';

const nftFam = (f: Family): NftFamily => (f === 4 ? 'ip' : 'ip6');

function listRules(fam: NftFamily): NftRule[] {
  let json: unknown;
  try {
    json = nftListJson(['table', fam, NFT_TABLE]);
  } catch (e) {
    throw new Error(`could not list rules in table ${NFT_TABLE}: ${(e as Error).message}`);
  }
  return json === undefined ? [] : rulesOf(json);
}

function deleteRules(rules: readonly NftRule[]): void {
  if (rules.length === 0) return;
  try {
    nftApply(rules.map(deleteRuleCmd).join('\n') + '\n');
  } catch (e) {
    throw new Error(`error deleting nftables rules: ${(e as Error).message}`);
  }
}

function nftForward(c: RuleConf, cid: string, net: CIDR): void {
  try {
    nftApply(nftAddBatch(c, cid, net));
  } catch (e) {
    throw new Error(`unable to set up nftables rules for port mappings: ${(e as Error).message}`);
  }
}

/** Deletes this (network, container)'s rules in the given families with one nft batch. */
function nftUnforward(c: RuleConf, cid: string, families: readonly Family[], containerNets: readonly CIDR[]): void {
  const ips = containerNets.map((n) => formatIP(n.ip));
  const doomed: NftRule[] = [];
  for (const f of families) doomed.push(...ownedRules(listRules(nftFam(f)), c.name, cid, ips));
  deleteRules(doomed);
}

function nftCheck(c: RuleConf, cid: string, net: CIDR): void {
  const err = checkRules(listRules(nftFam(net.ip.family)), c, cid, net);
  if (err) throw new Error(err);
}

/** Deletes the rules of this network's containers not in `validCids`; returns the UDP forwards removed. */
function nftGC(net: string, validCids: readonly string[]): UdpForward[] {
  const doomed: NftRule[] = [];
  const removed: UdpForward[] = [];
  for (const f of [4, 6] as const) {
    const stale = staleRules(listRules(nftFam(f)), net, validCids);
    doomed.push(...stale);
    for (const r of stale) {
      const u = udpForwardOf(r);
      if (u) removed.push({ ...u, family: f });
    }
  }
  deleteRules(doomed);
  return removed;
}

export const nftPortmap: PortmapBackend = {
  kind: 'nftables',
  usable: nftablesUsable,
  forward: nftForward,
  unforward: nftUnforward,
  check: nftCheck,
  gc: nftGC,
};
