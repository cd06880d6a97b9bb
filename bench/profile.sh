#!/usr/bin/env bash
# `npm run profile`: the start-up profile of the compiled standalone build (bench/profile-startup.ts);
# writes bench/results/profile.md. Needs root (throw-away network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "profile: run as root" >&2; exit 1; }
[ -f out/plugins/multicall.js ] && [ -f build/Release/cni_native.node ] || npm run --silent build
node_modules/@oven/bun-linux-x64/bin/bun scripts/gen-validators.ts
node_modules/.bin/tsc -p tsconfig.json --outDir out
node out/bench/profile-startup.js
