// The etcd3 client reads its gRPC service definitions (rpc.proto, kv.proto, auth.proto) from
// node_modules/etcd3/proto at load time. A compiled flanneld has no node_modules: the build
// embeds the three files (scripts/build.sh writes them into etcd-protos.generated.js next to
// this module) and this hook serves them when the file on disk is absent. Installed before
// etcd3 is first required; a plain `tsc` tree without the generated module reads the real files.
import * as path from 'node:path';

// The module object itself (what protobufjs's `require("fs")` returns), not an import namespace.
const fs = require('fs') as typeof import('fs');

let installed = false;

export function installEmbeddedProtos(): void {
  if (installed) return;
  installed = true;
  let embedded: Record<string, string>;
  try {
    embedded = require('./etcd-protos.generated') as Record<string, string>;
  } catch {
    return;
  }
  const real = fs.readFileSync;
  const patched = function (this: unknown, file: import('fs').PathOrFileDescriptor, options?: unknown): string | Buffer {
    try {
      return (real as (f: import('fs').PathOrFileDescriptor, o?: unknown) => string | Buffer).call(fs, file, options);
    } catch (e) {
      const name = typeof file === 'string' ? path.basename(file) : undefined;
      const text = name !== undefined && file.toString().endsWith('.proto') ? embedded[name] : undefined;
      if (text === undefined || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const enc = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding;
      return enc ? text : Buffer.from(text, 'utf8');
    }
  };
  (fs as { readFileSync: unknown }).readFileSync = patched;
}
