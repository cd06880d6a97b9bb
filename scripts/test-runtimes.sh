#!/usr/bin/env bash
# Real runtimes driving the installed plugins: podman 4.3 (CNI backend) and containerd 1.6
# (`ctr run --cni`). Installs the Debian packages they need when missing, builds (unless
# SKIP_BUILD=1), then runs the `runtimes` tier with the residue check (scripts/test.sh).
# Each test sets up its own private config, storage, daemon and mount namespace under /tmp/cts-*.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test-runtimes.sh: needs root" >&2; exit 1; }
need=()
for p in podman runc catatonit containerd busybox-static; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "test-runtimes.sh: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
exec bash scripts/test.sh runtimes
