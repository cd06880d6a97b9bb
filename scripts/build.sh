#!/usr/bin/env bash
# Builds everything: the N-API addon, the TypeScript (type-checked, to out/), one ncc bundle per
# plugin for Node >= 20 (dist/node), and the standalone multi-call executable compiled with Bun
# (dist/standalone). Ready-to-use plugin dirs: dist/standalone/bin and dist/node/bin.
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

step "typescript"
rm -rf "$OUT"
node_modules/.bin/tsc -p tsconfig.json --outDir "$OUT"

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

step "standalone executable (bun build --compile)"
mkdir -p "$DIST/standalone"
"$BUN" build --compile --bytecode --minify "$OUT/plugins/multicall.js" --outfile "$DIST/standalone/cni-ts-suite" >/dev/null

step "plugin dirs"
bash scripts/install.sh --dest "$DIST/standalone/bin" --runtime standalone --quiet
bash scripts/install.sh --dest "$DIST/node/bin" --runtime node --quiet
step "done: $DIST/standalone/bin, $DIST/node/bin"
