// resolv.conf → CNI DNS (the `resolvConf` option).
import { sysfs } from '../../shared/native/sysfs';
import type { DNS } from '../../shared/cni/types';
import { internalError } from '../../shared/cni/errors';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/**
 * Parses resolv.conf text: `nameserver` (each line adds one), `domain`, `search`, `options`
 * (each line appends). Lines starting with `#` or `;` and lines with fewer than two fields are
 * ignored, as are unknown keywords. Like glibc, a later `search` line replaces an earlier one.
 */
export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, ...rest] = fields as [string, ...string[]];
    switch (key) {
      case 'nameserver':
        (dns.nameservers ??= []).push(rest[0]!);
        break;
      case 'domain':
        dns.domain = rest[0]!;
        break;
      case 'search':
        dns.search = rest;
        break;
      case 'options':
        (dns.options ??= []).push(...rest);
        break;
    }
  }
  return dns;
}

/** Reads and parses the file; an unreadable file is a 999 error naming the path and errno. */
export function readResolvConf(path: string): DNS {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw internalError(`cannot read resolvConf ${path}: ${err.code ?? err.message}`);
  }
  return parseResolvConf(text);
}

/** True when the DNS object carries nothing (the result then omits `dns`). */
export const isEmptyDNS = (d: DNS): boolean =>
  !d.nameservers?.length && !d.domain && !d.search?.length && !d.options?.length;
