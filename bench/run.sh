#!/usr/bin/env bash
# Runs the benchmark suite (not a test): ours vs the reference Go plugins, same machine, same
# run. Needs root (namespaces). Writes bench/results/report.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
need=()
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
[ -x /usr/bin/time ] || need+=(time)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v nsenter >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -x dist/standalone/bin/flannel ] && [ -f out/bench/run.js ] || npm run --silent build
node out/bench/run.js
