#!/usr/bin/env bash
# Builds build/Release/cni_native.node (the N-API addon of native/cni_native.c).
# There is no network here to download Node headers, so use the system ones when present.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/Release/cni_native.node
# Up to date: skip, so parallel builds (CNI_TS_DIST) never delete build/ under each other.
fresh=1
for src in native/*.c native/*.h binding.gyp; do [[ -f $out && $out -nt $src ]] || fresh=0; done
if [[ $fresh == 1 && "${1:-}" != --force ]]; then
  echo "up to date: $out"; exit 0
fi
[[ "${1:-}" == --force ]] && shift
args=(rebuild)
if [[ -f /usr/include/node/node_api.h ]]; then
  args+=(--nodedir=/usr)
fi
node_modules/.bin/node-gyp "${args[@]}" "$@"
test -f build/Release/cni_native.node
echo "built build/Release/cni_native.node"
