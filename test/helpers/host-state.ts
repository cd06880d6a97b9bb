// The real host's state that runtime tests may touch (their containers live in the host netns
// side: the bridge plugin makes a bridge, veths, nat rules and turns forwarding on), read with
// independent tools; the undo of what the plugins leave by design once every attachment is gone
// (the table iptables-nft made for our rules, the forwarding switch); and a
// comparison that tells our changes from those of other tests using the same host concurrently.
import { shStatus } from './sh';

export interface HostState {
  /** iptables-save + ip6tables-save lines, without comments and counters, each prefixed `[<family> <table>] `. */
  iptables: string[];
  /** `nft list ruleset` lines without counters and blank lines, each prefixed `[<family> <table>] `. */
  nft: string[];
  /** Link names. */
  links: string[];
  /** `family table` of every nftables table. */
  nftTables: Set<string>;
  /** `family table chain` of every nftables chain. */
  nftChains: Set<string>;
  forwarding: { v4: string; v6: string };
}

function out(cmd: string, args: string[]): string {
  const r = shStatus(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.err.trim()}`);
  return r.out;
}

const readSysctl = (p: string): string => out('cat', [`/proc/sys/${p}`]).trim();

interface NftObjects {
  tables: Set<string>;
  chains: Set<string>;
  /** chains without a hook (jump targets, someone's rules or about to be) */
  userChains: Set<string>;
  /** rule count per `family table chain` */
  rules: Map<string, number>;
}

function nftObjects(): NftObjects {
  const o: NftObjects = { tables: new Set(), chains: new Set(), userChains: new Set(), rules: new Map() };
  const r = shStatus('nft', ['-j', 'list', 'ruleset']);
  if (r.code !== 0) return o; // no nft tool: nothing of ours can be there either
  for (const item of (JSON.parse(r.out || '{"nftables":[]}').nftables ?? []) as any[]) {
    if (item.table) o.tables.add(`${item.table.family} ${item.table.name}`);
    if (item.chain) {
      const k = `${item.chain.family} ${item.chain.table} ${item.chain.name}`;
      o.chains.add(k);
      if (!item.chain.hook) o.userChains.add(k);
    }
    if (item.rule) {
      const k = `${item.rule.family} ${item.rule.table} ${item.rule.chain}`;
      o.rules.set(k, (o.rules.get(k) ?? 0) + 1);
    }
  }
  return o;
}

function iptablesLines(family: 4 | 6): string[] {
  const lines: string[] = [];
  let table = '?';
  for (const raw of out(family === 4 ? 'iptables-save' : 'ip6tables-save', []).split('\n')) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    if (raw.startsWith('*')) table = raw.slice(1).trim();
    lines.push(`[${family} ${table}] ${raw.replace(/\s*\[\d+:\d+\]$/, '')}`);
  }
  return lines;
}

/** Lines prefixed `[<family> <table>] ` or, inside a chain, `[<family> <table> <chain>] `. */
function nftLines(): string[] {
  const lines: string[] = [];
  let table = '?';
  let chain = '';
  for (const raw of out('nft', ['list', 'ruleset']).split('\n')) {
    if (raw.trim() === '') continue;
    const t = /^table (\S+) (\S+) \{/.exec(raw);
    if (t) table = `${t[1]} ${t[2]}`;
    const c = /^\s*chain (\S+) \{/.exec(raw);
    if (c) chain = c[1]!;
    lines.push(`[${table}${chain ? ' ' + chain : ''}] ${raw.replace(/ counter packets \d+ bytes \d+/, ' counter')}`);
    if (/^\s*\}$/.test(raw)) chain = '';
  }
  return lines;
}

export function hostState(): HostState {
  const o = nftObjects();
  return {
    iptables: [...iptablesLines(4), ...iptablesLines(6)],
    nft: nftLines(),
    links: (JSON.parse(out('ip', ['-j', 'link', 'show']) || '[]') as any[]).map((l) => String(l.ifname)).sort(),
    nftTables: o.tables,
    nftChains: o.chains,
    forwarding: { v4: readSysctl('net/ipv4/ip_forward'), v6: readSysctl('net/ipv6/conf/all/forwarding') },
  };
}

/**
 * Deletes the nftables tables that did not exist in `before` and now hold nothing but empty base
 * chains: the skeleton iptables-nft made for our rules, left once our rules are gone. A new table
 * with any rule or user chain is someone's (another test using the host) and stays, in `kept`.
 */
export function removeNewEmptyNftTables(before: HostState): { deleted: string[]; kept: string[]; problems: string[] } {
  const deleted: string[] = [];
  const kept: string[] = [];
  const problems: string[] = [];
  const now = nftObjects();
  for (const t of now.tables) {
    if (before.nftTables.has(t)) continue;
    const chains = [...now.chains].filter((c) => c.startsWith(t + ' '));
    const busy = chains.filter((c) => now.userChains.has(c) || (now.rules.get(c) ?? 0) > 0);
    if (busy.length > 0) {
      kept.push(`table ${t} (in use: ${busy.map((c) => `${c.split(' ')[2]} (${now.rules.get(c) ?? 0} rules)`).join(', ')})`);
      continue;
    }
    const [family, table] = t.split(' ') as [string, string];
    const r = shStatus('nft', ['delete', 'table', family, table]);
    if (r.code === 0) deleted.push(`table ${t}`);
    else problems.push(`nft delete table ${t}: ${r.err.trim()}`);
  }
  return { deleted, kept, problems };
}

/** The first name of removeNewEmptyNftTables (test/runtimes/podman.test.ts uses it). */
export const removeNewEmptyNftObjects = removeNewEmptyNftTables;

/**
 * Deletes nftables chains, then tables, that did not exist in `before` and hold no rules: the
 * base chains and tables iptables-nft made for our rules once those are gone. A new chain with
 * rules is someone's and stays (a problem to report). Stricter than removeNewEmptyNftTables, for
 * tests that own the host alone (podman's).
 */
export function removeNewEmptyNftChains(before: HostState): { removed: string[]; problems: string[] } {
  const removed: string[] = [];
  const problems: string[] = [];
  const now = nftObjects();
  for (const c of now.chains) {
    if (before.nftChains.has(c)) continue;
    const n = now.rules.get(c) ?? 0;
    if (n > 0) {
      problems.push(`new nftables chain ${c} still holds ${n} rule(s)`);
      continue;
    }
    const [family, table, chain] = c.split(' ') as [string, string, string];
    const r = shStatus('nft', ['delete', 'chain', family, table, chain]);
    if (r.code === 0) removed.push(`nft chain ${c}`);
    else problems.push(`nft delete chain ${c}: ${r.err.trim()}`);
  }
  const after = nftObjects();
  for (const t of after.tables) {
    if (before.nftTables.has(t)) continue;
    if ([...after.chains].some((c) => c.startsWith(t + ' '))) continue; // reported above
    const [family, table] = t.split(' ') as [string, string];
    const r = shStatus('nft', ['delete', 'table', family, table]);
    if (r.code === 0) removed.push(`nft table ${t}`);
    else problems.push(`nft delete table ${t}: ${r.err.trim()}`);
  }
  return { removed, problems };
}

/**
 * Puts the forwarding switches back where `before` had them (the bridge plugin's isGateway
 * turns them on; writing 0 back also restores the per-device `forwarding` and
 * `accept_redirects` the kernel changed with them). Returns what it changed.
 */
export function restoreForwarding(before: HostState): string[] {
  const changed: string[] = [];
  for (const [key, file] of [['v4', 'net/ipv4/ip_forward'], ['v6', 'net/ipv6/conf/all/forwarding']] as const) {
    const now = readSysctl(file);
    if (now === before.forwarding[key]) continue;
    out('sh', ['-c', `echo ${before.forwarding[key]} > /proc/sys/${file}`]);
    changed.push(`${file} ${now} -> ${before.forwarding[key]}`);
  }
  return changed;
}

/** Lines only in `a` and only in `b` (multiset difference), for readable assertion messages. */
export function lineDiff(a: string[], b: string[]): { removed: string[]; added: string[] } {
  const count = new Map<string, number>();
  for (const l of a) count.set(l, (count.get(l) ?? 0) + 1);
  const added: string[] = [];
  for (const l of b) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added.push(l);
  }
  const removed = [...count.entries()].flatMap(([l, n]) => Array<string>(n).fill(l));
  return { removed, added };
}

const ctx = (l: string): string => /^\[([^\]]*)\] /.exec(l)?.[1] ?? '';
/** `<family> <table>` of a prefixed line. */
const tableOf = (l: string): string => ctx(l).split(' ').slice(0, 2).join(' ');
const body = (l: string): string => l.replace(/^\[[^\]]*\] /, '');

/** iptables: tables (family+table) of `lines` holding at least one rule that is not ours. */
function iptTablesWithOthersRules(lines: string[], isOurs: (l: string) => boolean): Set<string> {
  return new Set(lines.filter((l) => body(l).startsWith('-A ') && !isOurs(l)).map(tableOf));
}

/**
 * nft: tables of `lines` holding at least one rule (a line inside a chain other than its
 * type/policy) that is not ours; the chain is in the line's prefix, so a rule in a chain of ours
 * is ours (iptables-nft does not print the comments that name us).
 */
function nftTablesWithOthersRules(lines: string[], isOurs: (l: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const l of lines) {
    const b = body(l).trim();
    if (ctx(l).split(' ').length < 3 || /^chain \S+ \{$/.test(b) || b === '}' || /^type \S+ hook /.test(b) || /^policy /.test(b)) continue;
    if (!isOurs(l)) out.add(tableOf(l));
  }
  return out;
}

export interface HostDiff {
  /** Differences that are ours: lines naming our identifiers, and skeletons (tables, chains) nobody's rules need. */
  ours: string[];
  /** Differences explained by other users of the host (other tests running concurrently). */
  others: string[];
}

/**
 * Compares `now` with `before`. `isOurs(line)` says whether a line names one of our identifiers
 * (network names, container IDs, chain names, bridge names). An added table, base chain or empty
 * user chain is ours when no rule of someone else's in `now` needs it; an added or removed rule
 * that does not name us is someone else's. Links: added ones we name are ours, others someone
 * else's.
 */
export function compareHost(before: HostState, now: HostState, isOurs: (line: string) => boolean): HostDiff {
  const d: HostDiff = { ours: [], others: [] };
  const put = (mine: boolean, l: string): void => void (mine ? d.ours : d.others).push(l);

  const ipt = lineDiff(before.iptables, now.iptables);
  const iptRuled = iptTablesWithOthersRules(now.iptables, isOurs);
  const nowIpt = now.iptables.map(body);
  for (const l of ipt.added) {
    const b = body(l);
    if (isOurs(l)) put(true, `iptables + ${l}`);
    else if (b.startsWith('-A ')) put(false, `iptables + ${l}`);
    else if (/^:\S+ - *$/.test(b)) {
      const chain = b.slice(1).split(' ')[0]!;
      const used = nowIpt.some((x) => x.startsWith(`-A ${chain} `) || x.endsWith(` -j ${chain}`) || x.includes(` -j ${chain} `));
      put(!used, `iptables + ${l}`);
    } else put(!iptRuled.has(tableOf(l)), `iptables + ${l}`);
  }
  for (const l of ipt.removed) put(isOurs(l), `iptables - ${l}`);

  const nft = lineDiff(before.nft, now.nft);
  const nftRuled = nftTablesWithOthersRules(now.nft, isOurs);
  for (const l of nft.added) put(isOurs(l) || !nftRuled.has(tableOf(l)), `nft + ${l}`);
  for (const l of nft.removed) put(isOurs(l), `nft - ${l}`);

  const links = lineDiff(before.links, now.links);
  for (const l of links.added) put(isOurs(l), `link + ${l}`);
  for (const l of links.removed) put(isOurs(l), `link - ${l}`);
  return d;
}
