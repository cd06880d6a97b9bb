// Mount points read from /proc/<pid>/mountinfo: what the runtime tests mounted, as the host (or
// the process holding their private mount namespace) sees it.
import * as fs from 'node:fs';

/** mountinfo escapes blanks and backslashes in paths as \ooo (octal). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Mount points at or under `dir` in /proc/<pid>/mountinfo, deepest first ([] when the process is gone). */
export function mountsUnder(dir: string, pid: number | 'self' = 'self'): string[] {
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map(unescape)
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}
