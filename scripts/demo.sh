#!/usr/bin/env bash
# The whole flannel network on this project's code alone, in throw-away namespaces:
#   an etcd with client-certificate TLS (certificates made here with openssl),
#   two "nodes" on one L2 underlay, each running our flanneld with the deployment notes' flags,
#   a pod on each attached by our flannel plugin (→ bridge → host-local),
#   a ping and a traceroute from one pod to the other, and what flanneld programmed;
# then everything is removed. Installs what it needs (Debian packages incl. etcd, npm modules),
# builds, and installs the plugins into ./cni-bin and flanneld into ./cni-bin too.
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

bash scripts/install-deps.sh
npm run --silent build
bash scripts/install.sh --dest "$dest" --daemon-dest "$dest" --runtime "$runtime"

t="ctsdemo$$"
tmp=$(mktemp -d /tmp/cts-demo-XXXXXX)
namespaces=("$t-fab" "$t-etcd" "$t-n1" "$t-n2" "$t-p1" "$t-p2")
pids=()
cleanup() {
  set +e
  for p in 1 2; do [ -f "$tmp/n$p/result.json" ] && cni n$p DEL >/dev/null 2>&1; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
say() { printf '\n=== %s\n' "$*"; }

say "underlay: a bridge, etcd at 10.0.0.1, nodes at 10.0.0.11 and 10.0.0.12"
for ns in "${namespaces[@]}"; do ip netns add "$ns"; done
ip -n "$t-fab" link add br0 type bridge; ip -n "$t-fab" link set br0 up
i=0
for h in etcd:1 n1:11 n2:12; do
  name=${h%%:*} octet=${h##*:} i=$((i + 1))
  ip -n "$t-$name" link set lo up
  ip -n "$t-$name" link add eth0 type veth peer name p$i netns "$t-fab"
  ip -n "$t-fab" link set p$i master br0 up
  ip -n "$t-$name" addr add 10.0.0.$octet/24 dev eth0
  ip -n "$t-$name" link set eth0 up
  [ "$name" = etcd ] || ip -n "$t-$name" route add default via 10.0.0.1
done

say "etcd with client-certificate TLS (https://10.0.0.1:2379)"
pki=$tmp/pki; mkdir -p "$pki"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }
ec -x509 -days 1 -subj /CN=demo-ca -keyout "$pki/ca.key" -out "$pki/ca.pem"
for n in server client; do ec -subj /CN=$n -keyout "$pki/$n-key.pem" -out "$pki/$n.csr"; done
printf 'subjectAltName=IP:10.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > "$pki/s.ext"
printf 'extendedKeyUsage=clientAuth\n' > "$pki/c.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 1 -extfile "$pki/s.ext" -out "$pki/server.pem" 2>/dev/null
openssl x509 -req -in "$pki/client.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 1 -extfile "$pki/c.ext" -out "$pki/client.pem" 2>/dev/null
ip netns exec "$t-etcd" etcd --name demo --data-dir "$tmp/etcd" --logger zap --log-level error --unsafe-no-fsync \
  --listen-client-urls https://10.0.0.1:2379 --advertise-client-urls https://10.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster demo=http://127.0.0.1:2380 --initial-cluster-state new \
  --cert-file "$pki/server.pem" --key-file "$pki/server-key.pem" --client-cert-auth --trusted-ca-file "$pki/ca.pem" \
  >"$tmp/etcd.log" 2>&1 &
pids+=($!)
etcdctl() { ip netns exec "$t-n1" env ETCDCTL_API=3 /usr/bin/etcdctl --cacert="$pki/ca.pem" --cert="$pki/client.pem" --key="$pki/client-key.pem" --endpoints=https://10.0.0.1:2379 "$@"; }
for _ in $(seq 100); do etcdctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
echo "+ etcdctl put /coreos.com/network/config '{ \"Network\": \"10.2.0.0/16\", \"Backend\": {\"Type\": \"vxlan\"}}'"
etcdctl put /coreos.com/network/config '{ "Network": "10.2.0.0/16", "Backend": {"Type": "vxlan"}}'

say "flanneld on each node (the notes' FLANNEL_OPTIONS, plus --ip-masq)"
for n in n1 n2; do
  mkdir -p "$tmp/$n"
  FLANNEL_OPTIONS="--etcd-endpoints=https://10.0.0.1:2379 -etcd-cafile=$pki/ca.pem -etcd-certfile=$pki/client.pem -etcd-keyfile=$pki/client-key.pem"
  echo "+ [$n] flanneld --ip-masq $FLANNEL_OPTIONS --subnet-file=$tmp/$n/subnet.env"
  # shellcheck disable=SC2086
  ip netns exec "$t-$n" "$dest/flanneld" --ip-masq $FLANNEL_OPTIONS --subnet-file="$tmp/$n/subnet.env" >"$tmp/$n/flanneld.log" 2>&1 &
  pids+=($!)
done
for n in n1 n2; do
  for _ in $(seq 200); do [ -s "$tmp/$n/subnet.env" ] && break; sleep 0.1; done
  [ -s "$tmp/$n/subnet.env" ] || { echo "flanneld on $n did not write subnet.env:"; cat "$tmp/$n/flanneld.log"; exit 1; }
  echo "--- $n: $tmp/$n/subnet.env"; cat "$tmp/$n/subnet.env"
done

cni() { # node command
  local n=$1 p=${1/n/p}
  CNI_COMMAND=$2 CNI_CONTAINERID="$t-$p" CNI_NETNS=/run/netns/$t-$p CNI_IFNAME=eth0 CNI_PATH=$dest \
    ip netns exec "$t-$n" "$dest/flannel" <<JSON
{"cniVersion":"1.0.0","name":"cbr0","type":"flannel","subnetFile":"$tmp/$n/subnet.env","dataDir":"$tmp/$n/flannel",
 "ipam":{"dataDir":"$tmp/$n/networks"},"delegate":{"hairpinMode":true,"isDefaultGateway":true}}
JSON
}
say "a pod on each node (flannel → bridge → host-local)"
for n in n1 n2; do
  cni $n ADD > "$tmp/$n/result.json"
  ip -n "$t-${n/n/p}" -br addr show eth0
done
ip1=$(ip -n "$t-p1" -j addr show eth0 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')
ip2=$(ip -n "$t-p2" -j addr show eth0 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')

say "pod on n1 ($ip1) → pod on n2 ($ip2)"
ip netns exec "$t-p1" busybox ping -c 3 -W 2 "$ip2"
say "traceroute: cni0 gateway → n2's flannel.1 → the pod"
ip netns exec "$t-p1" busybox traceroute -n -q 1 -w 2 -m 5 "$ip2"

say "what flanneld programmed"
echo "--- lease keys in etcd"
etcdctl get --prefix /coreos.com/network/subnets
echo "--- n1: flannel.1"
ip -n "$t-n1" -d addr show flannel.1
echo "--- n1: routes, ARP and FDB for n2"
ip -n "$t-n1" route show dev flannel.1
ip -n "$t-n1" neigh show dev flannel.1
bridge -n "$t-n1" fdb show dev flannel.1 | grep dst
echo "--- n1: masquerade rules"
ip netns exec "$t-n1" iptables -t nat -S FLANNEL-POSTRTG
echo "--- n1: flanneld's log"
cat "$tmp/n1/flanneld.log"
say "demo done: the plugins and flanneld are installed in $dest; cleaning up"
