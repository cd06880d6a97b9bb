#!/usr/bin/env bash
# The flanneld scale bench (not a test): `bash bench/flanneld-scale.sh` (npm run bench:flanneld).
# Root; builds first when the standalone build is missing. BENCH_SCALE_COUNTS="0 100 500 1000"
# overrides the lease counts. Writes bench/results/flanneld-scale.md (and .json).
#
# Like the soak, it runs in a private mount namespace with its own /run/netns and /tmp (tmpfs),
# so the namespaces it makes are invisible to test runs' residue checks going on meanwhile, and
# vanish with it even if it is killed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CNI_TS_OUT:-out}
DIST=${CNI_TS_DIST:-dist}
export CNI_TS_OUT=$OUT CNI_TS_DIST=$DIST
[ "$(id -u)" = 0 ] || { echo "bench:flanneld: run as root" >&2; exit 1; }
for c in etcd etcdctl curl unshare; do command -v "$c" >/dev/null || { echo "bench:flanneld: $c is missing" >&2; exit 1; }; done
[ -x "$DIST/standalone/bin/flanneld" ] && [ -f "$OUT/bench/flanneld-scale.js" ] || bash scripts/build.sh
# The empty runtime, compiled with the flanneld executable's own Bun flags (scripts/build.sh).
node_modules/@oven/bun-linux-x64/bin/bun build --compile --minify "$OUT/bench/empty-program.js" --outfile "$OUT/bench/empty-bun" >/dev/null
export BENCH_EMPTY_BUN=$PWD/$OUT/bench/empty-bun CNI_TS_STANDALONE_DIR=$PWD/$DIST/standalone/bin
if [ "${BENCH_NO_UNSHARE:-0}" = 1 ]; then
  exec node "$OUT/bench/flanneld-scale.js" "$@"
fi
mkdir -p /run/netns
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- sh -c '
  mount -t tmpfs -o mode=0755 bench-netns /run/netns &&
  mount -t tmpfs -o mode=1777 bench-tmp /tmp &&
  exec node "$@"' bench "$OUT/bench/flanneld-scale.js" "$@"
