#!/usr/bin/env bash
# Installs dependencies, builds, installs the plugins into a plugin dir and runs a demo pod:
# a throw-away "node" network namespace with a flannel subnet.env, a pod namespace attached by
# the kube-flannel chain (flannel → bridge → host-local, then portmap), a ping to the pod's
# gateway, and DEL. Nothing outside the namespaces and a temp dir is touched.
#   sudo bash scripts/demo.sh [--dest DIR] [--runtime standalone|node]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/cni-bin" runtime=standalone
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --runtime) runtime="$2"; shift 2 ;;
    *) echo "demo.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 1; }

if ! command -v iptables-restore >/dev/null || ! command -v nft >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables nftables conntrack iproute2 >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
bash scripts/install.sh --dest "$dest" --runtime "$runtime"

tag="ctsdemo$$" node="ctsdemo$$-node" pod="ctsdemo$$-pod"
tmp=$(mktemp -d /tmp/cts-demo-XXXXXX)
cleanup() { ip netns del "$pod" 2>/dev/null || true; ip netns del "$node" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$node"; ip netns add "$pod"
ip -n "$node" link set lo up
printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n' > "$tmp/subnet.env"

run() { # command, plugin, config
  CNI_COMMAND=$1 CNI_CONTAINERID=$tag CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 CNI_PATH=$dest \
    ip netns exec "$node" "$dest/$2" <<<"$3"
}
flannel_conf=$(cat <<JSON
{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","subnetFile":"$tmp/subnet.env","dataDir":"$tmp/flannel",
 "ipam":{"dataDir":"$tmp/networks"},"delegate":{"hairpinMode":true,"isDefaultGateway":true}}
JSON
)
echo "--- ADD (flannel → bridge → host-local)"
result=$(run ADD flannel "$flannel_conf")
echo "$result"
portmap_conf=$(cat <<JSON
{"cniVersion":"1.0.0","name":"cbr0","type":"portmap","runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"prevResult":$result}
JSON
)
echo "--- ADD (portmap, hostPort 8080 → 80)"
run ADD portmap "$portmap_conf" >/dev/null
echo "--- pod view"
ip -n "$pod" -br addr show eth0
ip -n "$pod" route
if command -v busybox >/dev/null; then
  echo "--- pod → gateway"; ip netns exec "$pod" busybox ping -c 1 -W 2 10.244.7.1
fi
echo "--- DEL"
run DEL portmap "$portmap_conf"
run DEL flannel "$flannel_conf"
echo "demo done: the plugins are installed in $dest"
