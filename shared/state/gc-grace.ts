// The one grace period GC gives state an ADD may still be writing. An ADD reserves (host-local's
// address file, flannel's scratch file) before the runtime learns of the attachment, so a GC
// issued meanwhile does not list it; releasing that state then would hand the address to another
// pod while the first ADD completes with it. Age is the file's mtime: written once at the
// reservation, and comparable across processes and both implementations (Go's host-local too).
import { sysfs } from '../native/sysfs';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** State younger than this is never garbage-collected (an ADD may be in flight). */
export const GC_GRACE_MS = 60_000;

/** True when a file whose mtime is `mtimeMs` is still inside the grace at `nowMs`. */
export const withinGcGrace = (mtimeMs: number, nowMs: number, graceMs: number = GC_GRACE_MS): boolean =>
  nowMs - mtimeMs < graceMs;

/**
 * True when `file` is inside the grace. A file that cannot be stat'ed counts as inside it:
 * when unsure, GC keeps (the next GC looks again).
 */
export function fileWithinGcGrace(file: string, nowMs: number = Date.now(), graceMs: number = GC_GRACE_MS): boolean {
  try {
    return withinGcGrace(fs.statSync(file).mtimeMs, nowMs, graceMs);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
