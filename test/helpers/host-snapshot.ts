// What a plugin call can change on a "node" (a throw-away namespace the plugins run in), read
// with independent tools: links (name, kind, master, state flags, MTU), addresses, routes of
// every table, neighbours, FDB, iptables/ip6tables rules and chains, the nft ruleset, and the
// files (path + content) under the given state dirs. Two snapshots compare as plain text, so a
// failing assertion shows exactly what changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { shStatus } from './sh';

type Status = { code: number; out: string; err: string };

function toLines(cmd: string, args: string[], r: Status): string[] {
  if (r.code !== 0) return [`<${cmd} ${args.join(' ')} failed: ${r.err.trim()}>`];
  return r.out.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

function lines(ns: string, cmd: string, args: string[]): string[] {
  return toLines(cmd, args, shStatus('ip', ['netns', 'exec', ns, cmd, ...args]));
}

const LINK_ARGS = (ns: string): string[] => ['-n', ns, '-j', '-d', 'link', 'show'];

function toLinks(r: Status): string[] {
  if (r.code !== 0) return [`<ip link failed: ${r.err.trim()}>`];
  return (JSON.parse(r.out || '[]') as any[])
    .map((l) => `${l.ifname} kind=${l.linkinfo?.info_kind ?? '-'} master=${l.master ?? '-'} mtu=${l.mtu} flags=${[...(l.flags ?? [])].sort().join(',')}`)
    .sort();
}

function links(ns: string): string[] {
  return toLinks(shStatus('ip', LINK_ARGS(ns)));
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${p}/`);
        walk(p);
      } else {
        let content = '';
        try {
          content = fs.readFileSync(p).toString('base64');
        } catch (err) {
          content = `<unreadable: ${(err as Error).message}>`;
        }
        out.push(`${p} ${content}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * IPv6 link-local addresses (and their fe80::/64 and local routes) are made by the kernel on its
 * own schedule after a link comes up (and after DAD): the plugins never configure them, and
 * including them would make two snapshots differ by timing alone.
 */
const notKernelLinkLocal = (l: string): boolean => !/\bfe80:/.test(l);

/** The commands run inside the namespace, and how each one's lines become its section. */
const PROBES: Array<{ name: string; cmd: string; args: string[]; shape: (ls: string[]) => string[] }> = [
  { name: 'addresses', cmd: 'ip', args: ['-o', 'addr', 'show'], shape: (ls) => ls.filter(notKernelLinkLocal).map((l) => l.replace(/\s+valid_lft.*$/, '')).sort() },
  { name: 'routes4', cmd: 'ip', args: ['-4', 'route', 'show', 'table', 'all'], shape: (ls) => ls.sort() },
  { name: 'routes6', cmd: 'ip', args: ['-6', 'route', 'show', 'table', 'all'], shape: (ls) => ls.filter(notKernelLinkLocal).sort() },
  { name: 'neighbours', cmd: 'ip', args: ['neigh', 'show', 'nud', 'permanent'], shape: (ls) => ls.sort() },
  { name: 'fdb', cmd: 'bridge', args: ['fdb', 'show'], shape: (ls) => ls.filter((l) => !/ self permanent$/.test(l)).sort() },
  { name: 'iptables', cmd: 'iptables-save', args: [], shape: (ls) => ls.filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '')) },
  { name: 'ip6tables', cmd: 'ip6tables-save', args: [], shape: (ls) => ls.filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '')) },
  { name: 'nft', cmd: 'nft', args: ['list', 'ruleset'], shape: (ls) => ls.filter((l) => !/^\s*$/.test(l)) },
];

function render(linkLines: string[], probeLines: string[][], stateDirs: string[]): string {
  const sections: Array<[string, string[]]> = [
    ['links', linkLines],
    ...PROBES.map((p, i): [string, string[]] => [p.name, p.shape(probeLines[i]!)]),
    ...stateDirs.map((d): [string, string[]] => [`files ${d}`, files(d)]),
  ];
  return sections.map(([name, ls]) => `## ${name}\n${ls.join('\n')}`).join('\n');
}

/** A text snapshot of `ns` and of the files under `stateDirs` (missing dirs read as empty). */
export function hostSnapshot(ns: string, stateDirs: string[] = []): string {
  return render(links(ns), PROBES.map((p) => lines(ns, p.cmd, p.args)), stateDirs);
}

function statusAsync(cmd: string, args: string[]): Promise<Status> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, out, errOut) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, out: String(out ?? ''), err: String(errOut ?? '') });
    });
  });
}

/**
 * The same snapshot as hostSnapshot(), byte for byte, with the commands run concurrently: for
 * tests that take one after every call of a long list (each command costs a process spawn).
 */
export async function hostSnapshotAsync(ns: string, stateDirs: string[] = []): Promise<string> {
  const [linkStatus, ...probeStatus] = await Promise.all([
    statusAsync('ip', LINK_ARGS(ns)),
    ...PROBES.map((p) => statusAsync('ip', ['netns', 'exec', ns, p.cmd, ...p.args])),
  ]);
  return render(toLinks(linkStatus!), PROBES.map((p, i) => toLines(p.cmd, p.args, probeStatus[i]!)), stateDirs);
}
