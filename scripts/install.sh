#!/usr/bin/env bash
# Installs the four plugins into a CNI plugin dir, atomically: every file is written under a
# temporary name and renamed into place, so a runtime never execs a half-written binary.
#   scripts/install.sh --dest DIR [--daemon-dest DIR] [--runtime standalone|node] [--quiet]
# standalone (default): one executable `cni-ts-suite` plus a hard link per plugin name.
# node: per-plugin ncc bundles under DIR/.cni-ts-node/<version>-<stamp>/ (a new directory per
#   install, so a reinstall of the same version never removes what the links point to), symlinked
#   as DIR/<plugin>; the install the links pointed to before is kept (plugin processes started
#   from it may still be loading from it), older ones are removed.
# --daemon-dest DIR also installs the node daemon `flanneld` there (e.g. /opt/bin), the same way
#   (standalone: one executable; node: DIR/.flanneld-node/<version>-<stamp>/); --dest may then be
#   omitted to install only the daemon. The daemon is also installed as mk-docker-opts.sh and
#   mk-docker-opts (hard links to the executable, or symlinks to the bundle), flannel's script.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${CNI_TS_DIST:-dist}
PLUGINS=(flannel bridge host-local portmap)
dest="" daemon_dest="" runtime=standalone quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --runtime) runtime="$2"; shift 2 ;;
    --daemon-dest) daemon_dest="$2"; shift 2 ;;
    --quiet) quiet=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$dest$daemon_dest" ] || { echo "install.sh: --dest DIR (plugins) or --daemon-dest DIR (flanneld) is required" >&2; exit 2; }
case "$runtime" in standalone|node) ;; *) echo "install.sh: --runtime must be standalone or node" >&2; exit 2 ;; esac

# Names under which the flanneld executable runs as flannel's mk-docker-opts.sh.
MK_DOCKER_OPTS_NAMES="mk-docker-opts.sh mk-docker-opts"

# flanneld: its own executable (standalone) or bundle dir (node), replaced atomically.
install_daemon() {
  local d=$1 t version store
  mkdir -p "$d"; d=$(cd "$d" && pwd)
  if [ "$runtime" = standalone ]; then
    [ -x "$DIST/standalone/flanneld" ] || { echo "install.sh: $DIST/standalone/flanneld missing: run npm run build" >&2; exit 1; }
    t="$d/.flanneld.tmp.$$"
    cp "$DIST/standalone/flanneld" "$t"; chmod 0755 "$t"; sync "$t" 2>/dev/null || true
    mv -f "$t" "$d/flanneld"
    # The same executable answers to the mk-docker-opts names (flanneld/main.ts reads argv0).
    for n in $MK_DOCKER_OPTS_NAMES; do
      ln -f "$d/flanneld" "$d/.$n.tmp.$$" 2>/dev/null || cp "$d/flanneld" "$d/.$n.tmp.$$"
      mv -f "$d/.$n.tmp.$$" "$d/$n"
    done
  else
    [ -f "$DIST/node/flanneld/flanneld.js" ] || { echo "install.sh: $DIST/node/flanneld missing: run npm run build" >&2; exit 1; }
    # A new directory per install, the link renamed over: a running daemon's files stay, and
    # the name never dangles (the plugins' scheme below).
    version=$(node -p 'require("./package.json").version')
    gen="$version-$(date -u +%Y%m%dT%H%M%S)-$$"
    t="$d/.flanneld-node.tmp.$$"
    rm -rf "$t"; cp -r "$DIST/node/flanneld" "$t"
    mkdir -p "$d/.flanneld-node"
    prev=$(readlink "$d/flanneld" 2>/dev/null || true); prev=${prev#.flanneld-node/}; prev=${prev%%/*}
    mv "$t" "$d/.flanneld-node/$gen"
    ln -sfn ".flanneld-node/$gen/flanneld.js" "$d/.flanneld.tmp.$$"
    mv -fT "$d/.flanneld.tmp.$$" "$d/flanneld"
    for n in $MK_DOCKER_OPTS_NAMES; do
      ln -sfn ".flanneld-node/$gen/flanneld.js" "$d/.$n.tmp.$$"
      mv -fT "$d/.$n.tmp.$$" "$d/$n"
    done
    for old in "$d/.flanneld-node"/*; do
      case "${old##*/}" in "$gen"|"$prev") ;; *) rm -rf "$old" ;; esac
    done
  fi
  [ "$quiet" = 1 ] || echo "installed flanneld ($runtime) into $d"
}
if [ -n "$daemon_dest" ]; then install_daemon "$daemon_dest"; fi
[ -n "$dest" ] || exit 0

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
tmp() { printf '%s/.%s.tmp.%s' "$dest" "$1" "$$"; }

case "$runtime" in
  standalone)
    src="$DIST/standalone/cni-ts-suite"
    [ -x "$src" ] || { echo "install.sh: $src missing: run npm run build" >&2; exit 1; }
    t=$(tmp cni-ts-suite)
    cp "$src" "$t"; chmod 0755 "$t"; sync "$t" 2>/dev/null || true
    mv -f "$t" "$dest/cni-ts-suite"
    for p in "${PLUGINS[@]}"; do
      t=$(tmp "$p")
      # Hard links share the inode: the binary recognises its own delegates by it.
      ln -f "$dest/cni-ts-suite" "$t" 2>/dev/null || cp "$dest/cni-ts-suite" "$t"
      mv -f "$t" "$dest/$p"
    done
    ;;
  node)
    command -v node >/dev/null || { echo "install.sh: the node runtime needs node >= 20 on PATH" >&2; exit 1; }
    version=$(node -p 'require("./package.json").version')
    gen="$version-$(date -u +%Y%m%dT%H%M%S)-$$"
    store="$dest/.cni-ts-node/$gen"
    t=$(tmp node-bundles)
    rm -rf "$t"; mkdir -p "$t"
    for p in "${PLUGINS[@]}"; do
      [ -f "$DIST/node/$p/$p.js" ] || { echo "install.sh: $DIST/node/$p missing: run npm run build" >&2; exit 1; }
      cp -r "$DIST/node/$p" "$t/$p"
    done
    mkdir -p "$dest/.cni-ts-node"
    # The installs the links point to now: kept, a plugin started from one may still load from it.
    prev=()
    for p in "${PLUGINS[@]}"; do
      target=$(readlink "$dest/$p" 2>/dev/null || true)
      case "$target" in .cni-ts-node/*/"$p/$p.js") g=${target#.cni-ts-node/}; prev+=("${g%%/*}") ;; esac
    done
    mv "$t" "$store"
    # Each link is replaced by rename(2): it names the old complete install or the new one.
    for p in "${PLUGINS[@]}"; do
      t=$(tmp "$p")
      ln -sfn ".cni-ts-node/$gen/$p/$p.js" "$t"
      mv -fT "$t" "$dest/$p"
    done
    for d in "$dest/.cni-ts-node"/*; do
      name=${d##*/} keep=0
      [ "$name" = "$gen" ] && keep=1
      for g in ${prev[@]+"${prev[@]}"}; do [ "$name" = "$g" ] && keep=1; done
      [ "$keep" = 1 ] || rm -rf "$d"
    done
    ;;
  *) echo "install.sh: --runtime must be standalone or node" >&2; exit 2 ;;
esac
[ "$quiet" = 1 ] || echo "installed ${PLUGINS[*]} ($runtime) into $dest"
