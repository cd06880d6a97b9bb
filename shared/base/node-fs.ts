// node:fs, loaded on first use. In the standalone (Bun) build loading it costs ~0.85 ms of a call
// (shared/native/sysfs.ts), so the modules every call loads (log, timing, the addon loader)
// require it only on the paths that write with it: a log line, the timing line, the memfd
// fallback; and sysfs under Node, where Node has loaded it already.
import type * as NodeFs from 'node:fs';

let mod: typeof NodeFs | undefined;

export function nodeFs(): typeof NodeFs {
  mod ??= require('node:fs') as typeof NodeFs;
  return mod;
}
