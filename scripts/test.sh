#!/usr/bin/env bash
# Runs the test suite: builds (unless SKIP_BUILD=1), then the tiers given (default: all) in one
# node:test run, then checks the machine for residue (namespaces, links, host netfilter rules,
# temp dirs). Tiers: unit (no root), protocol (spawns both builds), netns (real kernel, root),
# e2e (two emulated flannel nodes, root).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CNI_TS_OUT:-out}
DIST=${CNI_TS_DIST:-dist}
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit protocol netns e2e)

needs_root=0
for t in "${tiers[@]}"; do [ "$t" = unit ] || needs_root=1; done
if [ "$needs_root" = 1 ] && [ "$(id -u)" != 0 ]; then
  echo "test.sh: tiers other than unit need root (network namespaces, netfilter); run as root" >&2
  exit 1
fi

# Whatever the tiers need (Debian packages, etcd, npm modules) is installed when missing.
if [ "$needs_root" = 1 ] || [ ! -d node_modules ]; then bash scripts/install-deps.sh; fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then npm run --silent build; fi

dirs=()
for t in "${tiers[@]}"; do
  [ -d "$OUT/test/$t" ] || { echo "test.sh: no tier '$t' ($OUT/test/$t missing)" >&2; exit 2; }
  dirs+=("$OUT/test/$t")
done

export CNI_TS_STANDALONE_DIR="$PWD/$DIST/standalone/bin" CNI_TS_NODE_DIR="$PWD/$DIST/node/bin"
before=$(mktemp)
bash scripts/residue.sh snapshot > "$before"
rc=0
node --test --test-concurrency=1 "${dirs[@]}" || rc=$?
bash scripts/residue.sh check "$before" || rc=1
rm -f "$before"
exit $rc
