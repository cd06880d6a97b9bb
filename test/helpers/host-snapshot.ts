// What a plugin call can change on a "node" (a throw-away namespace the plugins run in), read
// with independent tools: links (name, kind, master, state flags, MTU), addresses, routes of
// every table, neighbours, FDB, iptables/ip6tables rules and chains, the nft ruleset, and the
// files (path + content) under the given state dirs. Two snapshots compare as plain text, so a
// failing assertion shows exactly what changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { shStatus } from './sh';

function lines(ns: string, cmd: string, args: string[]): string[] {
  const r = shStatus('ip', ['netns', 'exec', ns, cmd, ...args]);
  if (r.code !== 0) return [`<${cmd} ${args.join(' ')} failed: ${r.err.trim()}>`];
  return r.out.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
}

function links(ns: string): string[] {
  const r = shStatus('ip', ['-n', ns, '-j', '-d', 'link', 'show']);
  if (r.code !== 0) return [`<ip link failed: ${r.err.trim()}>`];
  return (JSON.parse(r.out || '[]') as any[])
    .map((l) => `${l.ifname} kind=${l.linkinfo?.info_kind ?? '-'} master=${l.master ?? '-'} mtu=${l.mtu} flags=${[...(l.flags ?? [])].sort().join(',')}`)
    .sort();
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

/** A text snapshot of `ns` and of the files under `stateDirs` (missing dirs read as empty). */
export function hostSnapshot(ns: string, stateDirs: string[] = []): string {
  const sections: Array<[string, string[]]> = [
    ['links', links(ns)],
    ['addresses', lines(ns, 'ip', ['-o', 'addr', 'show']).map((l) => l.replace(/\s+valid_lft.*$/, '')).sort()],
    ['routes4', lines(ns, 'ip', ['-4', 'route', 'show', 'table', 'all']).sort()],
    ['routes6', lines(ns, 'ip', ['-6', 'route', 'show', 'table', 'all']).sort()],
    ['neighbours', lines(ns, 'ip', ['neigh', 'show', 'nud', 'permanent']).sort()],
    ['fdb', lines(ns, 'bridge', ['fdb', 'show']).filter((l) => !/ self permanent$/.test(l)).sort()],
    ['iptables', lines(ns, 'iptables-save', []).filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, ''))],
    ['ip6tables', lines(ns, 'ip6tables-save', []).filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, ''))],
    ['nft', lines(ns, 'nft', ['list', 'ruleset']).filter((l) => !/^\s*$/.test(l))],
    ...stateDirs.map((d): [string, string[]] => [`files ${d}`, files(d)]),
  ];
  return sections.map(([name, ls]) => `## ${name}\n${ls.join('\n')}`).join('\n');
}
