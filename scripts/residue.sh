#!/usr/bin/env bash
# What tests may leave behind, and must not: namespaces and links the tests made, changes to the
# host's netfilter rules, temp state dirs, mounts and processes under them (runtime tests). `snapshot` prints the state; `check FILE` compares.
set -uo pipefail
state() {
  echo "## netns"; ip netns list 2>/dev/null | awk '{print $1}' | sort
  echo "## links"; ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | sort
  echo "## iptables"; (iptables-save 2>/dev/null; ip6tables-save 2>/dev/null) | grep -vE '^(#|:)' | sort
  echo "## nft"; nft list ruleset 2>/dev/null | grep -v '^\s*$' | grep -vE 'counter packets' | sort
  echo "## tmp"; ls -d /tmp/cts-* 2>/dev/null | sort
  echo "## mounts"; awk '$5 ~ /cts-/ {print $5}' /proc/self/mountinfo | sort
  echo "## real CNI paths"; ls -d /var/lib/cni /opt/cni /run/flannel /etc/cni/net.d/* 2>/dev/null | sort
  echo "## sysctl"; sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding 2>/dev/null
  echo "## procs"; ps -eo args= | grep -E '/tmp/cts-|flanneld|^etcd ' | grep -v -e grep -e residue.sh | sort; true
}
case "${1:-}" in
  snapshot) state ;;
  check)
    now=$(mktemp); state > "$now"
    if ! diff -u "$2" "$now" > "$now.diff"; then
      echo "residue check FAILED: the test run changed the machine:" >&2
      cat "$now.diff" >&2
      rm -f "$now" "$now.diff"; exit 1
    fi
    rm -f "$now" "$now.diff"; echo "residue check: clean" >&2 ;;
  *) echo "usage: residue.sh snapshot | check FILE" >&2; exit 2 ;;
esac
