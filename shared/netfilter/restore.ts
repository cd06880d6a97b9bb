// The iptables-restore text format: building batch lines and reading iptables-save output.
// Pure functions; the tokenizer follows iptables' own (double quotes, backslash escapes),
// so a saved rule line turned from `-A` into `-D` deletes exactly that rule.

const PLAIN = /^[A-Za-z0-9_.:/,!=+@%[\]^~-]+$/;

/**
 * One argument as iptables-restore reads it back unchanged. iptables-restore reads a batch line
 * by line, so no quoting keeps a line break (or a NUL, which ends the line in C) inside an
 * argument: such a value would start a line of its own, so it is refused.
 */
export function quoteArg(a: string): string {
  if (PLAIN.test(a)) return a;
  if (/[\r\n\0]/.test(a)) throw new RangeError(`iptables argument ${JSON.stringify(a)} contains a line break or NUL`);
  return '"' + a.replace(/[\\"']/g, (c) => '\\' + c) + '"';
}

type RuleOp = '-A' | '-D' | '-C';

/** `-A|-D|-C <chain> <args...>` as a restore line. */
export function ruleLine(op: RuleOp, chain: string, args: readonly string[]): string {
  return [op, chain, ...args].map(quoteArg).join(' ');
}

/** `-I <chain> <pos> <args...>`. */
export function insertLine(chain: string, pos: number, args: readonly string[]): string {
  return ['-I', chain, String(pos), ...args].map(quoteArg).join(' ');
}

/** A restore batch for one table: the lines between `*<table>` and `COMMIT`. */
export function tableBatch(table: string, lines: readonly string[]): string {
  return `*${table}\n${lines.join('\n')}${lines.length ? '\n' : ''}COMMIT\n`;
}

/** Splits a restore/save line into arguments (double quotes, backslash escapes). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inTok = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inTok = true;
    } else if (c === '"') {
      quoted = !quoted;
      inTok = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inTok) out.push(cur);
      cur = '';
      inTok = false;
    } else {
      cur += c;
      inTok = true;
    }
  }
  if (inTok) out.push(cur);
  return out;
}

export interface SavedRule {
  chain: string;
  /** The line exactly as saved (`-A CHAIN ...`). */
  line: string;
  /** Arguments after `-A CHAIN`. */
  args: string[];
}

export interface SavedTable {
  chains: Set<string>;
  rules: SavedRule[];
}

/** Reads one table's section out of iptables-save output (absent table → empty). */
export function parseSave(text: string, table = 'nat'): SavedTable {
  const res: SavedTable = { chains: new Set(), rules: [] };
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) { inTable = line.slice(1) === table; continue; }
    if (!inTable) continue;
    if (line === 'COMMIT') { inTable = false; continue; }
    if (line.startsWith(':')) {
      res.chains.add(line.slice(1).split(' ')[0]!);
    } else if (line.startsWith('-A ')) {
      const toks = tokenize(line);
      res.rules.push({ chain: toks[1]!, line, args: toks.slice(2) });
    }
  }
  return res;
}

/** The delete line for a saved rule. */
export const deleteLineFor = (r: SavedRule): string => '-D' + r.line.slice(2);

/** The jump target of a rule (`-j X`), if any. */
export function jumpTarget(args: readonly string[]): string | undefined {
  for (let i = args.length - 2; i >= 0; i--) if (args[i] === '-j' || args[i] === '--jump') return args[i + 1];
  return undefined;
}

/** The `--comment` value of a rule, if any. */
export function commentOf(args: readonly string[]): string | undefined {
  const i = args.indexOf('--comment');
  return i >= 0 ? args[i + 1] : undefined;
}
