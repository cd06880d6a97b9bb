import { sysfs } from '../native/sysfs';
import { CniError, ErrorCode } from './errors';
import { sleepSync } from '../base/sleep';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** Configs are a few KiB; a cap keeps a runaway writer from exhausting memory. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Reads fd 0 to EOF synchronously, tolerating a non-blocking pipe (EAGAIN). */
export function readStdin(fd = 0): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        sleepSync(2);
        continue;
      }
      if (code === 'EOF') break;
      throw new CniError(ErrorCode.IOFailure, `error reading from stdin: ${(e as Error).message}`);
    }
    if (n === 0) break;
    total += n;
    if (total > MAX_CONFIG_BYTES) {
      throw new CniError(ErrorCode.DecodingFailure, `network config is too large: more than ${MAX_CONFIG_BYTES} bytes on stdin`);
    }
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks, total);
}
