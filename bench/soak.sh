#!/usr/bin/env bash
# Runs the churn soak (not a test): `bash bench/soak.sh [--minutes N] [--build standalone|node]
# [--workers N] [--ping-every K]`. Needs root (namespaces). Builds first when the build is
# missing; honours CNI_TS_OUT / CNI_TS_DIST like scripts/build.sh. Writes bench/results/soak.{md,json}.
#
# The soak runs in a private mount namespace with its own /run/netns and /tmp (tmpfs): its
# node and pod namespaces and its state dirs are invisible to other processes (so test runs'
# residue checks going on at the same time see nothing of it), and they all vanish with the
# soak's last process even if it is killed. SOAK_NO_UNSHARE=1 runs it without that.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CNI_TS_OUT:-out}
DIST=${CNI_TS_DIST:-dist}
export CNI_TS_OUT=$OUT CNI_TS_DIST=$DIST
[ "$(id -u)" = 0 ] || { echo "soak: run as root" >&2; exit 1; }
need=()
command -v iptables-restore >/dev/null || need+=(iptables)
command -v nft >/dev/null || need+=(nftables)
command -v nsenter >/dev/null || need+=(util-linux)
command -v busybox >/dev/null || need+=(busybox)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x "$DIST/standalone/bin/flannel" ] && [ -x "$DIST/node/bin/flannel" ] && [ -f "$OUT/bench/soak.js" ] || bash scripts/build.sh

if [ "${SOAK_NO_UNSHARE:-0}" = 1 ]; then
  exec node "$OUT/bench/soak.js" "$@"
fi
mkdir -p /run/netns
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- sh -c '
  mount -t tmpfs -o mode=0755 soak-netns /run/netns &&
  mount -t tmpfs -o mode=1777 soak-tmp /tmp &&
  exec node "$@"' soak "$OUT/bench/soak.js" "$@"
