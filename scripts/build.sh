#!/usr/bin/env bash
# Builds everything: the N-API addon, the TypeScript (type-checked, to out/), one ncc bundle per
# plugin for Node >= 20 (dist/node), and the standalone multi-call executable compiled with Bun
# (dist/standalone). Ready-to-use plugin dirs: dist/standalone/bin and dist/node/bin.
# The daemon flanneld is built the same two ways but as its own executable/bundle
# (dist/standalone/flanneld, dist/node/flanneld/), so plugin calls never load the etcd client or
# gRPC; dist/*/bin/flanneld is next to the plugins for convenience.
# The plugins' config validators are generated first (scripts/gen-validators.ts writes
# plugins/*/config-validators.generated.ts from the zod schemas in plugins/*/config-schema.ts).
# CNI_TS_OUT / CNI_TS_DIST move out/ and dist/ (parallel work trees build without colliding).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CNI_TS_OUT:-out}
DIST=${CNI_TS_DIST:-dist}
export CNI_TS_DIST=$DIST
PLUGINS=(flannel bridge host-local portmap)
BUN=node_modules/@oven/bun-linux-x64/bin/bun
NCC=node_modules/.bin/ncc

step() { printf '==> %s\n' "$*" >&2; }

step "native addon"
bash scripts/build-native.sh

step "config validators (zod schemas compiled to code: no call loads zod)"
"$BUN" scripts/gen-validators.ts

step "typescript"
rm -rf "$OUT"
node_modules/.bin/tsc -p tsconfig.json --outDir "$OUT"
# shared/native/addon.ts requires ../../build/Release/cni_native.node: the same path from out/.
mkdir -p "$OUT/build/Release" && cp build/Release/cni_native.node "$OUT/build/Release/"
# etcd3 reads its .proto files from node_modules at load time: embed them for the daemon's bundles.
node -e 'const fs=require("fs"),d="node_modules/etcd3/proto",o={};for(const f of fs.readdirSync(d))if(f.endsWith(".proto"))o[f]=fs.readFileSync(d+"/"+f,"utf8");fs.writeFileSync(process.argv[1],"module.exports = "+JSON.stringify(o)+";\n")' "$OUT/flanneld/etcd/etcd-protos.generated.js"

version=$(node -p 'require("./package.json").version')
header="#!/usr/bin/env node
// cni-ts-suite bundle v${version}"

step "node bundles (ncc)"
rm -rf "$DIST"
for p in "${PLUGINS[@]}"; do
  "$NCC" build "$OUT/plugins/$p/main.js" -o "$DIST/node/$p" -m -q -e bun:ffi
  # The header marks the bundle as ours (shared/cni/build-marker.ts) for in-process delegation.
  { printf '%s\n' "$header"; cat "$DIST/node/$p/index.js"; } > "$DIST/node/$p/$p.js"
  rm "$DIST/node/$p/index.js"
  chmod 0755 "$DIST/node/$p/$p.js"
  # ncc copies the addon next to the bundle only when it found it at bundling time.
  [ -f "$DIST/node/$p/cni_native.node" ] || { echo "build.sh: $DIST/node/$p has no cni_native.node" >&2; exit 1; }
done

step "flanneld node bundle (ncc)"
"$NCC" build "$OUT/flanneld/main.js" -o "$DIST/node/flanneld" -m -q -e bun:ffi
{ printf '#!/usr/bin/env node\n// flanneld (cni-ts-suite) bundle v%s\n' "$version"; cat "$DIST/node/flanneld/index.js"; } > "$DIST/node/flanneld/flanneld.js"
rm "$DIST/node/flanneld/index.js"
chmod 0755 "$DIST/node/flanneld/flanneld.js"
[ -f "$DIST/node/flanneld/cni_native.node" ] || { echo "build.sh: $DIST/node/flanneld has no cni_native.node" >&2; exit 1; }

step "standalone executables (bun build --compile)"
mkdir -p "$DIST/standalone"
# A compiled Bun program by default loads .env and bunfig.toml from its working directory at
# start: a runtime's cwd must not change a plugin's or the daemon's environment (and the lookup
# costs ~0.3 ms per call).
# The plugins' flags live in scripts/bun-plugin-flags, one per line: the bench's floors and the
# profile compile with the same list (bench/bun-flags.ts).
mapfile -t PLUGIN_FLAGS < scripts/bun-plugin-flags
NO_AUTOLOAD=(--no-compile-autoload-dotenv --no-compile-autoload-bunfig)
# The plugins are bundled from the TypeScript sources as one scope-hoisted CommonJS program:
# bundling tsc's per-file CommonJS output instead keeps a wrapper and a require per module,
# which cost ~2 ms per call (host-local ADD 13.4 -> 11.2 ms, DEL 10.5 -> 8.4 ms, measured).
# Lazy require()s stay lazy: Bun wraps a module reached only through require() in an
# initialiser that runs on the first call.
"$BUN" build "${PLUGIN_FLAGS[@]}" plugins/multicall.ts --outfile "$DIST/standalone/cni-ts-suite" >/dev/null
"$BUN" build --compile --minify "${NO_AUTOLOAD[@]}" "$OUT/flanneld/main.js" --outfile "$DIST/standalone/flanneld" >/dev/null

step "plugin dirs"
bash scripts/install.sh --dest "$DIST/standalone/bin" --daemon-dest "$DIST/standalone/bin" --runtime standalone --quiet
bash scripts/install.sh --dest "$DIST/node/bin" --daemon-dest "$DIST/node/bin" --runtime node --quiet
# Bun turns a require() it cannot resolve into a stub that throws at run time, without failing
# the build: prove each build loads its addon (a host-local ADD takes the network's lock).
smoke=$(mktemp -d)
for b in standalone node; do
  printf '{"cniVersion":"1.0.0","name":"smoke","type":"host-local","ipam":{"type":"host-local","subnet":"10.255.0.0/24","dataDir":"%s"}}' "$smoke/$b" |
    CNI_COMMAND=ADD CNI_CONTAINERID=smoke CNI_NETNS=/nonexistent/smoke CNI_IFNAME=eth0 CNI_PATH="$(cd "$DIST/$b/bin" && pwd)" "$DIST/$b/bin/host-local" >/dev/null ||
    { rm -rf "$smoke"; echo "build.sh: the $b build cannot load its addon (host-local ADD failed)" >&2; exit 1; }
done
rm -rf "$smoke"
step "done: $DIST/standalone/bin, $DIST/node/bin"
