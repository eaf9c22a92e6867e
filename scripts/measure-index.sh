#!/usr/bin/env bash
# How long a node takes to rebuild its chunk index at start, for many chunks.
#
#   scripts/measure-index.sh [COUNT] [--dir D] [--drop-caches] [--keep]
#
# Creates COUNT (default 1000000) empty chunk files under D/data/chunks/ab/cd/<64 hex> (names
# only: the index reads names and sizes, never contents), starts one dfs-node on that data_dir,
# and reports what its store logged ("indexed N chunks (B bytes) in T ms"), the time from exec
# to "serving", and the node's peak RSS. --drop-caches (root) empties the page, dentry and inode
# caches first, for a cold start. D defaults to build/measure-index and is removed at the end
# unless --keep (a second run with --keep and the same D reuses the files).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${DFS_BIN_DIR:-$REPO_DIR/build/bin}
count=1000000
dir=$REPO_DIR/build/measure-index
drop=0
keep=0
while (($#)); do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --drop-caches) drop=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "measure-index.sh: unknown option $1" >&2; exit 2 ;;
    *) count=$1; shift ;;
  esac
done
[[ -x $BIN_DIR/dfs-node && -x $BIN_DIR/dfs ]] || { echo "measure-index.sh: build first" >&2; exit 1; }

node_pid=""
cleanup() {
  [[ -n $node_pid ]] && kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  ((keep)) || rm -rf "$dir"
}
trap cleanup EXIT

chunks=$dir/data/chunks
have=$(cat "$dir/count" 2>/dev/null || echo 0)
if [[ $have != "$count" ]]; then
  rm -rf "$dir"
  mkdir -p "$chunks"
  echo "measure-index: creating $count chunk files in $chunks ..." >&2
  started=$SECONDS
  (cd "$chunks" && for ((i = 0; i < 256; i++)); do
    ab=$(printf %02x "$i")
    for ((j = 0; j < 256; j++)); do printf '%s/%02x\n' "$ab" "$j"; done
  done | xargs mkdir -p)
  # COUNT random 64-hex names, each in its ab/cd directory.
  head -c $((count * 32)) /dev/urandom | od -An -tx1 -v | tr -d ' \n' | fold -w 64 |
    awk '{ print substr($0, 1, 2) "/" substr($0, 3, 2) "/" $0 }' |
    (cd "$chunks" && xargs touch)
  echo "$count" >"$dir/count"
  echo "measure-index: created in $((SECONDS - started)) s" >&2
fi
[[ -s $dir/secret ]] || "$BIN_DIR/dfs" keygen "$dir/secret" >/dev/null
port=${DFS_PORT:-17499}
cat >"$dir/node.ini" <<EOF
[node]
name = index-probe
listen = 127.0.0.1:$port
data_dir = $dir/data
[cluster]
secret_file = $dir/secret
replicas = 1
write_quorum = 1
[storage]
scrub_interval = 0
EOF
if ((drop)); then
  sync
  echo 3 >/proc/sys/vm/drop_caches || { echo "measure-index: cannot drop caches (root only)" >&2; exit 1; }
fi
: >"$dir/node.log"
start_ns=$(date +%s%N)
"$BIN_DIR/dfs-node" --config "$dir/node.ini" 2>>"$dir/node.log" &
node_pid=$!
until grep -q "serving " "$dir/node.log"; do
  kill -0 "$node_pid" 2>/dev/null || { cat "$dir/node.log" >&2; exit 1; }
  sleep 0.01
done
ready_ms=$((($(date +%s%N) - start_ns) / 1000000))
indexed=$(grep -o 'indexed .*' "$dir/node.log")
sleep 0.2
rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$node_pid/status")
echo "$indexed; serving $ready_ms ms after exec; peak RSS $rss KiB$( ((drop)) && echo ' (cold caches)')"
