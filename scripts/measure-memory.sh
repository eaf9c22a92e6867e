#!/usr/bin/env bash
# Peak memory of the nodes and of the dfs CLI while one large file goes through put and get.
#
#   scripts/measure-memory.sh [SIZE] [--dir D] [--chunk-size S] [--replicas R] [--keep]
#
# SIZE (default 4GiB; a byte size as the node's config reads it, such as 512MiB) random bytes
# are put through node 1 (from a file, or with --stdin from a pipe, which needs no source file
# on disk) and read back through node 2, and checked by SHA-256. A local cluster of 3 nodes
# runs in D (default build/measure-memory, removed at the end unless --keep). Needs about
# SIZE x (R + 2) bytes of disk (SIZE x R with --stdin).
#
# Reported (KiB): each node's peak RSS (VmHWM from /proc/PID/status) during the put and during
# the get (the peak is reset in between through /proc/PID/clear_refs), and the CLI's peak RSS
# for each (GNU time's "Maximum resident set size", else /proc polling), with the wall time.
# The last line is one JSON object with the same figures.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${DFS_BIN_DIR:-$REPO_DIR/build/bin}
size_text=4GiB
dir=$REPO_DIR/build/measure-memory
chunk_size=4MiB
replicas=3
keep=0
use_stdin=0
while (($#)); do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --chunk-size) chunk_size=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --stdin) use_stdin=1; shift ;;
    -h | --help) sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) echo "measure-memory.sh: unknown option $1" >&2; exit 2 ;;
    *) size_text=$1; shift ;;
  esac
done

for b in dfs dfs-node dfs-bench; do
  [[ -x $BIN_DIR/$b ]] || { echo "measure-memory.sh: no $BIN_DIR/$b; build first" >&2; exit 1; }
done
# dfs-bench reads the size with the nodes' grammar (common/byte_size.hpp), and says what it refuses.
size=$("$BIN_DIR/dfs-bench" bytes "$size_text") || exit 2

cluster() { bash "$REPO_DIR/scripts/cluster.sh" "$@" --dir "$dir"; }
cleanup() {
  cluster stop >/dev/null 2>&1 || true
  ((keep)) || rm -rf "$dir"
}
trap cleanup EXIT
rm -rf "$dir"
mkdir -p "$dir"
base_port=${DFS_BASE_PORT:-17400}
cluster start 3 --base-port "$base_port" --replicas "$replicas" --write-quorum 2 \
  --chunk-size "$chunk_size" >/dev/null
node_pid() { cat "$dir/node$1/node.pid"; }
node_addr() { echo "127.0.0.1:$((base_port + $1 - 1))"; }
dfs_at() { "$BIN_DIR/dfs" --node "$(node_addr "$1")" --secret-file "$dir/secret" "$@"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
reset_hwm() { for i in 1 2 3; do echo 5 >"/proc/$(node_pid "$i")/clear_refs" 2>/dev/null || true; done; }

# run_measured OUTFILE CMD...: runs CMD (stdin and stdout pass through), writes "PEAK_KIB SECONDS"
# to OUTFILE.
run_measured() {
  local out=$1
  shift
  local started=$SECONDS
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "%M %e" -o "$out" "$@"
    return
  fi
  "$@" &
  local pid=$! peak=0 h
  while kill -0 "$pid" 2>/dev/null; do
    h=$(hwm "$pid" 2>/dev/null || echo 0)
    ((h > peak)) && peak=$h
    sleep 0.05
  done
  wait "$pid"
  echo "$peak $((SECONDS - started))" >"$out"
}

src=$dir/source.bin
echo "measure-memory: $size bytes ($size_text), chunk size $chunk_size, R=$replicas, 3 nodes in $dir" >&2
if ((use_stdin)); then
  reset_hwm
  head -c "$size" /dev/urandom | tee >(sha256sum | cut -c1-64 >"$dir/source.sha") |
    run_measured "$dir/put.time" "$BIN_DIR/dfs" --node "$(node_addr 1)" --secret-file "$dir/secret" \
      put - mem/big.bin >/dev/null
else
  head -c "$size" /dev/urandom >"$src"
  sha256sum "$src" | cut -c1-64 >"$dir/source.sha"
  reset_hwm
  run_measured "$dir/put.time" "$BIN_DIR/dfs" --node "$(node_addr 1)" --secret-file "$dir/secret" \
    put "$src" mem/big.bin >/dev/null
fi
put_nodes=()
for i in 1 2 3; do put_nodes+=("$(hwm "$(node_pid "$i")")"); done
reset_hwm
run_measured "$dir/get.time" "$BIN_DIR/dfs" --node "$(node_addr 2)" --secret-file "$dir/secret" \
  get mem/big.bin - | sha256sum | cut -c1-64 >"$dir/result.sha"
get_nodes=()
for i in 1 2 3; do get_nodes+=("$(hwm "$(node_pid "$i")")"); done
[[ $(cat "$dir/source.sha") == "$(cat "$dir/result.sha")" ]] ||
  { echo "measure-memory: the file read back differs from the one put" >&2; exit 1; }
read -r put_cli put_s <"$dir/put.time"
read -r get_cli get_s <"$dir/get.time"

printf '%-5s %12s %12s %12s %12s %9s\n' phase "node1 KiB" "node2 KiB" "node3 KiB" "CLI KiB" seconds
printf '%-5s %12s %12s %12s %12s %9s\n' put "${put_nodes[@]}" "$put_cli" "$put_s"
printf '%-5s %12s %12s %12s %12s %9s\n' get "${get_nodes[@]}" "$get_cli" "$get_s"
printf '{"size":%s,"chunk_size":"%s","replicas":%s,"put":{"nodes_kib":[%s,%s,%s],"cli_kib":%s,"seconds":%s},"get":{"nodes_kib":[%s,%s,%s],"cli_kib":%s,"seconds":%s}}\n' \
  "$size" "$chunk_size" "$replicas" "${put_nodes[@]}" "$put_cli" "$put_s" "${get_nodes[@]}" "$get_cli" "$get_s"
