#!/usr/bin/env bash
# Builds everything: the N-API addon, the TypeScript (type-checked, to out/), one ncc bundle per
# plugin for Node >= 20 (dist/node), and the standalone multi-call executable compiled with Bun
# (dist/standalone). Ready-to-use plugin dirs: dist/standalone/bin and dist/node/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGINS=(flannel bridge host-local portmap)
BUN=node_modules/@oven/bun-linux-x64/bin/bun
NCC=node_modules/.bin/ncc

step() { printf '==> %s\n' "$*" >&2; }

step "native addon"
bash scripts/build-native.sh

step "typescript"
rm -rf out
node_modules/.bin/tsc -p tsconfig.json

version=$(node -p 'require("./package.json").version')
header="#!/usr/bin/env node
// cni-ts-suite bundle v${version}"

step "node bundles (ncc)"
rm -rf dist
for p in "${PLUGINS[@]}"; do
  "$NCC" build "out/plugins/$p/main.js" -o "dist/node/$p" -m -q
  # The header marks the bundle as ours (shared/cni/build-marker.ts) for in-process delegation.
  { printf '%s\n' "$header"; cat "dist/node/$p/index.js"; } > "dist/node/$p/$p.js"
  rm "dist/node/$p/index.js"
  chmod 0755 "dist/node/$p/$p.js"
done

step "standalone executable (bun build --compile)"
mkdir -p dist/standalone
"$BUN" build --compile --bytecode --minify out/plugins/multicall.js --outfile dist/standalone/cni-ts-suite >/dev/null

step "plugin dirs"
bash scripts/install.sh --dest dist/standalone/bin --runtime standalone --quiet
bash scripts/install.sh --dest dist/node/bin --runtime node --quiet
step "done: dist/standalone/bin, dist/node/bin"
