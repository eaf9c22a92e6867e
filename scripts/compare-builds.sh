#!/usr/bin/env bash
# Compares the large put and get of two builds of dfs: MB/s and CPU per GiB, alternating.
#
#   scripts/compare-builds.sh BIN_A BIN_B [--rounds N] [--size BYTES] [--dir D]
#                             [--base-port P] [--tls on|off] [--put-only]
#
# BIN_A and BIN_B are directories holding dfs-node and dfs-bench (say, build-release/bin of two
# commits). Each round starts a fresh 3-node cluster (R=3, W=3) of A, puts --size (default
# 1GiB) through node 1 and gets it back, stops the cluster, then does the same with B. One line
# per round and build: MB/s of the put and of the get, and the CPU-seconds of the nodes
# (/proc/PID/stat) and the client (getrusage, through /usr/bin/time) for each. The CPU figures
# are what tell two builds apart on a shared machine: single runs of one binary differ in MB/s
# by a third, their CPU per GiB much less (docs/PERFORMANCE.md, "Reading the numbers").
# Alternating spreads the machine's drift over both builds.
#
# --put-only skips the get (its columns show -): for a build that cannot serve one, such as
# the experiment of docs/experiments/take-work-away.patch, which writes no chunk bytes.
#
# Rows name the builds A and B, in the order given. Rounds default to 5. The cluster lives in
# D (default /tmp/dfs-compare-builds; removed at the end, so it must not hold anything else),
# on ports P.. (default 7751). It is stopped on every exit, also on failure.
set -euo pipefail

readonly PROG=compare-builds.sh
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR

die() {
  echo "$PROG: $*" >&2
  exit 1
}

rounds=5
size=1GiB
dir=/tmp/dfs-compare-builds
base_port=7751
tls=on
put_only=0
bins=()
while (($#)); do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --base-port) base_port=$2; shift 2 ;;
    --tls) tls=$2; shift 2 ;;
    --put-only) put_only=1; shift ;;
    -h | --help) sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) bins+=("$1"); shift ;;
  esac
done
((${#bins[@]} == 2)) || die "give two build directories (each with dfs-node and dfs-bench)"
for b in "${bins[@]}"; do
  [[ -x $b/dfs-node && -x $b/dfs-bench ]] || die "$b has no dfs-node or dfs-bench"
done
[[ $tls == on || $tls == off ]] || die "--tls takes on or off"
if [[ -d $dir && ! -f $dir/cluster.env && -n $(ls -A "$dir") ]]; then
  die "$dir holds files that are not a cluster of this script's: give another --dir"
fi
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for the client's CPU (apt-get install time)"

running_bin=""
stop_cluster() {
  if [[ -n $running_bin ]]; then
    DFS_BIN_DIR=$running_bin "$REPO_DIR/scripts/cluster.sh" stop --dir "$dir" >/dev/null 2>&1 || true
    running_bin=""
  fi
}
trap 'stop_cluster; rm -rf "$dir"' EXIT

# CPU-seconds (utime + stime, in clock ticks) of every node of the cluster in $dir.
node_ticks() {
  local total=0 pid stat
  for pidfile in "$dir"/node*/node.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    stat=$(<"/proc/$pid/stat") || continue
    # Fields after the command name, which may hold spaces: utime and stime are 14 and 15.
    read -r -a f <<<"${stat##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

ticks_per_second=$(getconf CLK_TCK)
export DFS_TLS=$tls

# One phase (put or get) against the cluster: prints "MB/s CPU-seconds".
phase() {
  local bin=$1 name=$2 before after out mb client
  before=$(node_ticks)
  out=$(/usr/bin/time -f 'client-cpu %U %S' "$bin/dfs-bench" large \
    --node "127.0.0.1:$base_port" --secret-file "$dir/secret" --size "$size" \
    --large-phases "$name" --keep --prefix compare/x --seed 11 2>&1) \
    || die "dfs-bench $name failed: $out"
  after=$(node_ticks)
  mb=$(grep -o "$name [0-9.]* MB/s" <<<"$out" | awk '{print $2}')
  client=$(awk '/^client-cpu/ {print $2 + $3}' <<<"$out")
  awk -v mb="$mb" -v n=$((after - before)) -v hz="$ticks_per_second" -v c="$client" \
    'BEGIN { printf "%s %.2f\n", mb, n / hz + c }'
}

echo "A = ${bins[0]}, B = ${bins[1]}; size $size, TLS $tls"
echo "round build put MB/s  put CPU-s  get MB/s  get CPU-s"
for ((round = 1; round <= rounds; ++round)); do
  for label in A B; do
    b=${bins[0]}
    [[ $label == B ]] && b=${bins[1]}
    rm -rf "$dir"
    tls_setting=required
    [[ $tls == off ]] && tls_setting=off
    DFS_BIN_DIR=$b "$REPO_DIR/scripts/cluster.sh" start 3 --dir "$dir" --base-port "$base_port" \
      --replicas 3 --write-quorum 3 --set "cluster.tls=$tls_setting" >/dev/null \
      || die "the cluster of $b did not start"
    running_bin=$b
    read -r put_mb put_cpu < <(phase "$b" put)
    get_mb=- get_cpu=-
    if ((put_only == 0)); then
      read -r get_mb get_cpu < <(phase "$b" get)
    fi
    stop_cluster
    printf '%5d %-5s %8s  %9s  %8s  %9s\n' "$round" "$label" "$put_mb" "$put_cpu" "$get_mb" \
      "$get_cpu"
  done
done
