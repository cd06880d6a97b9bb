// Loading the embedded addon from an anonymous memory file, for the standalone (Bun) build.
//
// `bun build --compile` embeds cni_native.node; at require() Bun writes it to $TMPDIR and
// dlopen()s it from there. On a node whose /tmp (or the runtime's TMPDIR) is mounted noexec
// (CIS-hardened nodes), the kernel refuses the PROT_EXEC mapping and dlopen fails with
// "failed to map segment from shared object". Bun reads TMPDIR once at start, so a retry with
// another TMPDIR cannot work in-process. A memfd (memfd_create(2)) is not on any mount, so the
// noexec flag does not apply to it; dlopen of /proc/self/fd/<memfd> maps it normally. The memfd
// is only mmap'ed with PROT_EXEC, never execve'd, so vm.memfd_noexec (Linux >= 6.3) does not
// stop it either (tested with 2, the strictest setting).

import type * as NodePath from 'node:path';
import { nodeFs } from '../base/node-fs';

// node:fs and node:path are loaded only on this fallback path: addon.ts imports this module on
// every call (shared/base/node-fs.ts).
const nodePath = (): typeof NodePath => require('node:path') as typeof NodePath;

const MFD_CLOEXEC = 1;

interface BunGlobal {
  main: string;
  embeddedFiles: ReadonlyArray<{ name: string }>;
}

interface BunFfi {
  dlopen(
    lib: string,
    symbols: { memfd_create: { args: string[]; returns: string } },
  ): { symbols: { memfd_create(name: Buffer, flags: number): number } };
}

/** The embedded addon's bytes when this process is our Bun executable, else undefined. */
function embeddedAddonBytes(): Buffer | undefined {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  const file = bun?.embeddedFiles.find((f) => /^cni_native(-[^/]*)?\.node$/.test(f.name));
  if (!bun || !file) return undefined;
  // Embedded files live next to the entry point in Bun's virtual filesystem (/$bunfs/root/).
  const { dirname, join } = nodePath();
  return nodeFs().readFileSync(join(dirname(bun.main), file.name));
}

/**
 * Loads the addon embedded in the standalone executable through a memfd. Returns undefined when
 * this process is not a Bun executable with the addon embedded (the Node build); throws when it
 * is but the memfd route fails too.
 */
export function loadEmbeddedAddonFromMemfd<T>(): T | undefined {
  const bytes = embeddedAddonBytes();
  if (!bytes) return undefined;
  // 'bun:ffi' exists only under Bun; the Node bundle never reaches this line (no embedded files).
  const ffi = require('bun:ffi') as BunFfi;
  const libc = ffi.dlopen('libc.so.6', { memfd_create: { args: ['cstring', 'u32'], returns: 'i32' } });
  const fd = libc.symbols.memfd_create(Buffer.from('cni_native.node\0'), MFD_CLOEXEC);
  if (fd < 0) throw new Error('memfd_create failed');
  try {
    let off = 0;
    while (off < bytes.length) off += nodeFs().writeSync(fd, bytes, off, bytes.length - off);
    const mod = { exports: {} as T };
    process.dlopen(mod, `/proc/self/fd/${fd}`);
    return mod.exports;
  } finally {
    // dlopen keeps its own mapping; the descriptor is no longer needed.
    nodeFs().closeSync(fd);
  }
}
