// The portmap iptables rules (table nat), generated exactly as the reference makes them
// (chain names, comments, argument order), plus the restore batches that apply them.
// Pure: no I/O here; iptables-backend.ts runs the batches.
//
//   PREROUTING, OUTPUT:  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
//   CNI-HOSTPORT-DNAT:   -m comment --comment 'dnat name: "<net>" id: "<cid>"' -m multiport
//                        -p <proto> --destination-ports <p,..> [conditions] -j CNI-DN-<hash>
//   CNI-DN-<hash>:       per mapping: hairpin mark, localhost mark (v4), DNAT
//   CNI-HOSTPORT-SETMARK / CNI-HOSTPORT-MASQ: mark, and masquerade what carries the mark
import { type CIDR, formatCIDR, formatIP, isUnspecified } from '../../shared/ip';
import { formatChainNameWithPrefix } from '../../shared/netfilter/names';
import { insertLine, ruleLine, type SavedTable, tableBatch, jumpTarget, deleteLineFor } from '../../shared/netfilter/restore';
import type { PortMapConf } from './config';

const TOPLEVEL_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
const SETMARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
const MARK_MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
/** Chains whose entry rules live in PREROUTING and OUTPUT. */
const TOPLEVEL_ENTRY_CHAINS = ['PREROUTING', 'OUTPUT'] as const;

/** multiport accepts at most 15 ports per rule. */
const MULTIPORT_MAX = 15;

/** The rule generation inputs (the parts of PortMapConf the rules depend on). */
export type RuleConf = Pick<
  PortMapConf,
  'name' | 'snat' | 'masqAll' | 'markMasqBit' | 'externalSetMarkChain' | 'conditionsV4' | 'conditionsV6' | 'mappings'
>;

export const dnatChainName = (net: string, cid: string): string => formatChainNameWithPrefix(net, cid, 'DN-');
const oldSnatChainName = (net: string, cid: string): string => formatChainNameWithPrefix(net, cid, 'SN-');

/** `%#x/%#x` of 1<<bit (Go's %#x: 0x prefix, lower-case). */
function markDef(bit: number): string {
  const v = '0x' + (2 ** bit).toString(16);
  return `${v}/${v}`;
}

/** Comments over 255 bytes are cut to 253 + "..." (iptables' limit). */
export function trimComment(val: string): string {
  if (Buffer.byteLength(val, 'utf8') <= 255) return val;
  return Buffer.from(val, 'utf8').subarray(0, 253).toString('utf8').replace(/\uFFFD$/, '') + '...';
}

export const dnatComment = (net: string, cid: string): string => trimComment(`dnat name: "${net}" id: "${cid}"`);

/** Entry rule of the top-level chain, for PREROUTING and OUTPUT (with its jump). */
export const toplevelEntryRule = (): string[] => ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', TOPLEVEL_DNAT_CHAIN];

export const setMarkRule = (bit: number): string[] =>
  ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', markDef(bit)];

export const markMasqRule = (bit: number): string[] => ['-m', 'mark', '--mark', markDef(bit), '-j', 'MASQUERADE'];

/** Entry of CNI-HOSTPORT-MASQ, inserted at position 1 of POSTROUTING. */
export const markMasqEntryRule = (): string[] =>
  ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', MARK_MASQ_CHAIN];

function groupByProto(c: RuleConf): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of c.mappings) {
    const l = out.get(m.protocol);
    if (l) l.push(m.hostPort);
    else out.set(m.protocol, [m.hostPort]);
  }
  return out;
}

/** Comma-joined port lists of at most 15 ports each. */
export function splitPortList(ports: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += MULTIPORT_MAX) out.push(ports.slice(i, i + MULTIPORT_MAX).join(','));
  return out;
}

/**
 * Entry rules in CNI-HOSTPORT-DNAT (with the jump): per protocol (sorted) per chunk of
 * ≤15 ports, all mappings' host ports, conditions of the family appended.
 */
export function dnatEntryRules(c: RuleConf, cid: string, v6: boolean): string[][] {
  const comment = dnatComment(c.name, cid);
  const chain = dnatChainName(c.name, cid);
  const conds = (v6 ? c.conditionsV6 : c.conditionsV4) ?? [];
  const groups = groupByProto(c);
  const out: string[][] = [];
  for (const proto of [...groups.keys()].sort()) {
    for (const spec of splitPortList(groups.get(proto)!)) {
      out.push(['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', proto, '--destination-ports', spec, ...conds, '-j', chain]);
    }
  }
  return out;
}

/** `ip:port`, or `[ip]:port` for IPv6. */
function fmtIPPort(net: CIDR, port: number): string {
  const ip = formatIP(net.ip);
  return net.ip.family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Rules of the per-container chain: per mapping (in order) the hairpin mark rule, the
 * localhost mark rule (IPv4 without masqAll) and the DNAT. A mapping whose hostIP is of the
 * other family is skipped; an unspecified hostIP (0.0.0.0, ::) means any address.
 */
export function dnatChainRules(c: RuleConf, containerNet: CIDR): string[][] {
  const v6 = containerNet.ip.family === 6;
  const setMarkChain = c.externalSetMarkChain ?? SETMARK_CHAIN;
  const out: string[][] = [];
  for (const m of c.mappings) {
    let withDst = false;
    if (m.hostIPParsed) {
      if ((m.hostIPParsed.family === 6) !== v6) continue;
      withDst = !isUnspecified(m.hostIPParsed);
    }
    const base: string[] = ['-p', m.protocol, '--dport', String(m.hostPort)];
    if (withDst) base.push('-d', m.hostIP!);
    if (c.snat) {
      const masqCIDR = c.masqAll ? (v6 ? '::/0' : '0.0.0.0/0') : formatCIDR(containerNet);
      out.push([...base, '-s', masqCIDR, '-j', setMarkChain]);
      if (!v6 && !c.masqAll) out.push([...base, '-s', '127.0.0.1', '-j', setMarkChain]);
    }
    out.push([...base, '-j', 'DNAT', '--to-destination', fmtIPPort(containerNet, m.containerPort)]);
  }
  return out;
}

/** Whether the shared mark/masquerade chains are ours to maintain. */
const ownsMarkChains = (c: RuleConf): boolean => c.snat && c.externalSetMarkChain === undefined;

/** Lines that fill the per-container chain and prepend its entry rules (last ADD wins a port). */
function containerLines(c: RuleConf, cid: string, containerNet: CIDR): string[] {
  const chain = dnatChainName(c.name, cid);
  const lines = dnatChainRules(c, containerNet).map((r) => ruleLine('-A', chain, r));
  for (const e of dnatEntryRules(c, cid, containerNet.ip.family === 6)) lines.push(insertLine(TOPLEVEL_DNAT_CHAIN, 1, e));
  return lines;
}

/**
 * The normal ADD batch. It never declares the shared chains (in --noflush mode `:CHAIN`
 * would flush them); instead it checks (`-C`) that they and their jumps are in place, and
 * creates the container chain with `-N`, which fails if it exists. Any of these failing
 * aborts the whole batch, and the caller reconciles with addReconcileBatch.
 */
export function addFastBatch(c: RuleConf, cid: string, containerNet: CIDR): string {
  const lines: string[] = [];
  for (const ch of TOPLEVEL_ENTRY_CHAINS) lines.push(ruleLine('-C', ch, toplevelEntryRule()));
  if (ownsMarkChains(c)) {
    lines.push(ruleLine('-C', SETMARK_CHAIN, setMarkRule(c.markMasqBit)));
    lines.push(ruleLine('-C', MARK_MASQ_CHAIN, markMasqRule(c.markMasqBit)));
    lines.push(ruleLine('-C', 'POSTROUTING', markMasqEntryRule()));
  }
  lines.push(`-N ${dnatChainName(c.name, cid)}`);
  lines.push(...containerLines(c, cid, containerNet));
  return tableBatch('nat', lines);
}

const hasRule = (t: SavedTable, chain: string, pred: (args: string[]) => boolean): boolean =>
  t.rules.some((r) => r.chain === chain && pred(r.args));

const followedBy = (args: readonly string[], flag: string, value: string): boolean =>
  args.some((a, i) => a === flag && args[i + 1] === value);

/** Saved rules (any chain) jumping to one of `chains`, as delete lines. */
function jumpDeleteLines(t: SavedTable, chains: readonly string[]): string[] {
  const set = new Set(chains);
  return t.rules.filter((r) => set.has(jumpTarget(r.args) ?? '')).map(deleteLineFor);
}

/**
 * The reconciling ADD batch, from the saved nat table: creates what is missing of the shared
 * chains and jumps (without flushing any of them), removes any earlier entry rules of this
 * container chain, and (re)builds the container chain.
 */
export function addReconcileBatch(c: RuleConf, cid: string, containerNet: CIDR, saved: SavedTable): string {
  const chain = dnatChainName(c.name, cid);
  const lines: string[] = [];
  const shared = [TOPLEVEL_DNAT_CHAIN, ...(ownsMarkChains(c) ? [SETMARK_CHAIN, MARK_MASQ_CHAIN] : [])];
  for (const ch of shared) if (!saved.chains.has(ch)) lines.push(`:${ch} - [0:0]`);
  if (ownsMarkChains(c)) {
    const mark = markDef(c.markMasqBit);
    if (!hasRule(saved, SETMARK_CHAIN, (a) => followedBy(a, '--set-xmark', mark))) {
      lines.push(ruleLine('-A', SETMARK_CHAIN, setMarkRule(c.markMasqBit)));
    }
    if (!hasRule(saved, MARK_MASQ_CHAIN, (a) => followedBy(a, '--mark', mark) && jumpTarget(a) === 'MASQUERADE')) {
      lines.push(ruleLine('-A', MARK_MASQ_CHAIN, markMasqRule(c.markMasqBit)));
    }
    if (!hasRule(saved, 'POSTROUTING', (a) => jumpTarget(a) === MARK_MASQ_CHAIN)) {
      lines.push(insertLine('POSTROUTING', 1, markMasqEntryRule()));
    }
  }
  for (const ch of TOPLEVEL_ENTRY_CHAINS) {
    if (!hasRule(saved, ch, (a) => jumpTarget(a) === TOPLEVEL_DNAT_CHAIN)) lines.push(ruleLine('-A', ch, toplevelEntryRule()));
  }
  lines.push(...jumpDeleteLines(saved, [chain]));
  lines.push(`:${chain} - [0:0]`);
  lines.push(...containerLines(c, cid, containerNet));
  return tableBatch('nat', lines);
}

/**
 * The normal DEL batch for one family: the exact entry rules regenerated from the re-sent
 * runtimeConfig, then flush and delete the container chain. It fails as a whole when any of
 * it is already gone or differs; the caller then falls back to delBySavedBatch.
 */
export function delFastBatch(c: RuleConf, cid: string, v6: boolean): string {
  const chain = dnatChainName(c.name, cid);
  const lines = dnatEntryRules(c, cid, v6).map((e) => ruleLine('-D', TOPLEVEL_DNAT_CHAIN, e));
  lines.push(`-F ${chain}`, `-X ${chain}`);
  return tableBatch('nat', lines);
}

/**
 * DEL from the saved table: every rule jumping to the container chain (or the legacy
 * CNI-SN chain) is deleted, then the chains are flushed and deleted. undefined: nothing left.
 */
export function delBySavedBatch(net: string, cid: string, saved: SavedTable): string | undefined {
  const chains = [dnatChainName(net, cid), oldSnatChainName(net, cid)];
  const lines = jumpDeleteLines(saved, chains);
  for (const ch of chains) if (saved.chains.has(ch)) lines.push(`-F ${ch}`);
  for (const ch of chains) if (saved.chains.has(ch)) lines.push(`-X ${ch}`);
  return lines.length ? tableBatch('nat', lines) : undefined;
}

/** What one line of the CHECK batch verifies, for the reference's error text. */
interface CheckItem {
  chain: string;
  /** The rule group the reference prints (%v of [][]string) when one is missing. */
  group: string[][];
}

/** `%v` of a Go [][]string. */
export const goStringMatrix = (m: readonly (readonly string[])[]): string => `[${m.map((r) => `[${r.join(' ')}]`).join(' ')}]`;

/**
 * The CHECK batch: `-C` for every container chain rule, every entry rule and the top-level
 * jumps. `items[i]` describes batch line i+2 (line 1 is `*nat`).
 */
export function checkBatch(c: RuleConf, cid: string, containerNet: CIDR): { batch: string; items: CheckItem[] } {
  const chain = dnatChainName(c.name, cid);
  const rules = dnatChainRules(c, containerNet);
  const entries = dnatEntryRules(c, cid, containerNet.ip.family === 6);
  const entryGroup = entries.map((e) => e.slice(0, -2));
  const lines: string[] = [];
  const items: CheckItem[] = [];
  for (const r of rules) { lines.push(ruleLine('-C', chain, r)); items.push({ chain, group: rules }); }
  for (const e of entries) { lines.push(ruleLine('-C', TOPLEVEL_DNAT_CHAIN, e)); items.push({ chain: TOPLEVEL_DNAT_CHAIN, group: entryGroup }); }
  for (const ch of TOPLEVEL_ENTRY_CHAINS) {
    lines.push(ruleLine('-C', ch, toplevelEntryRule()));
    items.push({ chain: ch, group: [toplevelEntryRule().slice(0, -2)] });
  }
  return { batch: tableBatch('nat', lines), items };
}

/**
 * GC: container chains of network `net` (found by their entry rules' comment) whose chain
 * name is not one of the valid attachments'.
 */
export function staleDnatChains(net: string, validCids: readonly string[], saved: SavedTable): string[] {
  const keep = new Set(validCids.map((cid) => dnatChainName(net, cid)));
  const prefix = `dnat name: "${net}" id: "`;
  const stale = new Set<string>();
  for (const r of saved.rules) {
    if (r.chain !== TOPLEVEL_DNAT_CHAIN) continue;
    const target = jumpTarget(r.args);
    if (!target || !target.startsWith('CNI-DN-') || keep.has(target)) continue;
    const ci = r.args.indexOf('--comment');
    if (ci >= 0 && r.args[ci + 1]?.startsWith(prefix)) stale.add(target);
  }
  return [...stale];
}

/** The UDP host ports `chains` forward, with the container address (`-p udp --dport P -j DNAT --to-destination ip:port`). */
export function udpForwardsIn(saved: SavedTable, chains: readonly string[]): { hostPort: number; ip: string }[] {
  const out: { hostPort: number; ip: string }[] = [];
  const arg = (args: readonly string[], k: string): string | undefined => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  for (const r of saved.rules) {
    if (!chains.includes(r.chain) || arg(r.args, '-p') !== 'udp' || arg(r.args, '-j') !== 'DNAT') continue;
    const port = Number(arg(r.args, '--dport'));
    const to = /^\[?([0-9a-fA-F.:]+?)\]?:\d+$/.exec(arg(r.args, '--to-destination') ?? '');
    if (Number.isInteger(port) && port > 0 && to) out.push({ hostPort: port, ip: to[1]! });
  }
  return out;
}

/** GC: the batch removing the stale chains and their jumps, or undefined when none. */
export function gcBatch(net: string, validCids: readonly string[], saved: SavedTable): string | undefined {
  const chains = staleDnatChains(net, validCids, saved);
  if (chains.length === 0) return undefined;
  const lines = jumpDeleteLines(saved, chains);
  for (const ch of chains) if (saved.chains.has(ch)) lines.push(`-F ${ch}`);
  for (const ch of chains) if (saved.chains.has(ch)) lines.push(`-X ${ch}`);
  return tableBatch('nat', lines);
}

