#!/usr/bin/env bash
# Installs the Debian packages the demo and the test tiers need, only those missing, and the npm
# dependencies when node_modules is absent. One list for the README's commands and CI.
#   bash scripts/install-deps.sh [extra Debian packages…]
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(iptables nftables conntrack iproute2 procps kmod busybox-static containernetworking-plugins
          etcd-server etcd-client openssl python3 make g++ golang-go golang-github-appc-cni-dev ethtool "$@")
need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "install-deps.sh: missing ${need[*]}; run as root to install them" >&2; exit 1; }
  echo "install-deps.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
