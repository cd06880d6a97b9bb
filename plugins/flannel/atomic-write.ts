// Crash-safe file replacement. After a power loss a file written in place can be empty or
// half-written (flannel-io/cni-plugin#43: zero-byte scratch files → DEL fails and leaks the
// address). A rename is atomic within a filesystem, and fsyncing the data before the rename and
// the directory after it makes both the content and the new name durable.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** Temp files are `.<name>.tmp-<pid>-<hex>`: a leading dot, so never a valid container ID. */
export const TEMP_RE = /^\.(.+)\.tmp-\d+-[0-9a-f]+$/;

export const tempNameFor = (name: string): string => `.${name}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;

export interface AtomicWriteOptions {
  /** Mode of the file (default 0o600). */
  mode?: number;
  /** Mode of directories created on the way (default 0o700). Existing ones are left as they are. */
  dirMode?: number;
}

/** Writes `data` to `file` so that readers see either the old or the complete new content. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: opts.dirMode ?? 0o700 });
  const tmp = path.join(dir, tempNameFor(path.basename(file)));
  let renamed = false;
  try {
    const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    renamed = true;
    await syncDir(dir);
  } finally {
    if (!renamed) await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** fsync of a directory persists the entries created, renamed or removed in it. */
export async function syncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
