// `mkdir -p` whose error says why. Node's recursive mkdir reports any failure to create a
// missing component as ENOENT (a read-only filesystem, a permission problem, no space), which
// names the wrong cause; the standalone (Bun) build reports the real errno. Creating the first
// missing component alone gets the real errno on both.
import { sysfs } from '../native/sysfs';
import * as path from 'node:path';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** Creates `dir` and its missing parents with `mode`; throws the fs error (with `code`) of the first one that cannot be made. */
export function mkdirAll(dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
    let missing = path.resolve(dir);
    while (!fs.existsSync(path.dirname(missing))) missing = path.dirname(missing);
    fs.mkdirSync(missing, { mode }); // throws the real reason
    fs.mkdirSync(dir, { recursive: true, mode });
  }
}
