#!/usr/bin/env bash
# Measures dfs on this machine and prints one table, each result next to its target and to the
# machine's own limit for it. Also saved as JSON. See docs/PERFORMANCE.md for the method.
#
#   scripts/bench.sh [--quick] [--nodes N] [--replicas R] [--write-quorum W] [--chunk-size S]
#                    [--size BYTES] [--small-size BYTES] [--count N] [--concurrency LIST]
#                    [--repeat N] [--build-dir DIR] [--no-build] [--dir D] [--base-port P]
#                    [--json FILE] [--profile] [--keep-data] [--tls both|on|off]
#                    [--tls-rounds N]
#
# 1. Builds Release into --build-dir (default build-release; only dfs-node, dfs and dfs-bench).
# 2. Measures the machine's limits: dd write (oflag=direct conv=fsync, as the nodes write
#    chunks) and read (iflag=direct; each falls back to the page cache where O_DIRECT is
#    refused) of a file in the cluster directory's file system, 4 KiB O_DSYNC writes per
#    second there, `openssl speed` for sha256 (chunk ids, content hashes) and
#    aes-256-gcm (at-rest encryption, TLS 1.3), loopback TCP throughput and 4 KiB round trip
#    (dfs-bench loopback), and the start-to-exit time of `dfs --version`.
# 3. Starts a fresh local cluster (scripts/cluster.sh; default 3 nodes, R=3, W=3, 4MiB chunks)
#    in --dir (default <build-dir>/bench-cluster) on free ports from --base-port (default 7401).
# 4. Runs dfs-bench large (put and get of --size, default 1GiB), dfs-bench small (--count
#    puts and gets of --small-size, default 1000 x 4KiB, at each --concurrency, default 1,16)
#    and times --repeat (default 20) whole `dfs get` commands of a 4 KiB file. Reads each node's
#    peak RSS (VmHWM) after every phase, and the client's (/usr/bin/time -v, else getrusage).
# 5. Prints the table, writes --json (default <build-dir>/bench.json), stops the cluster (also
#    on failure or Ctrl-C) and deletes the nodes' data (R copies of everything put: several GiB;
#    --keep-data keeps it). It refuses to start without room for that data on the disk.
#
# --tls both (default): after everything above, what TLS costs: --tls-rounds N (default 3,
#    --quick 2) pairs of fresh clusters, one with TLS off on every link ([cluster] tls = off,
#    DFS_TLS=off for the client) and one with TLS on, alternating (off first), each running the
#    large put and get; the table adds the median of each and the cost of TLS (1 - on / off).
#    Each round also sums the CPU time of nodes and client: the table adds the TLS CPU per
#    GiB per TLS end (2R + 2 ends per put and get). Alternating matters: the first cluster to
#    write gigabytes on a fresh machine is slower (the kernel's first touch of page-cache
#    memory), and noise from other tenants comes and goes; one run of each, minutes apart,
#    differed by up to 40 % either way. --tls on skips
#    the comparison; --tls off runs everything without TLS.
# --quick: 256MiB large file, 300 small operations per level, 10 command runs, smaller limits
# runs; under a minute on an idle machine. A default run takes 1-3 minutes besides the build. --profile: also records each node with `perf record -e cpu-clock -g`
# during each phase into <dir>/profile/ and counts every thread's CPU time; both are printed at
# the end (perf must work; the cpu-clock event needs no hardware counters).
# The exit code is 0 when every measurement ran (whether or not targets are met), 1 otherwise.
set -euo pipefail

readonly PROG=bench.sh
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR

die() {
  echo "$PROG: $*" >&2
  exit 1
}
usage_error() {
  echo "$PROG: $*" >&2
  echo "usage: $PROG [--quick] [--nodes N] [--replicas R] [--write-quorum W] [--chunk-size S]" \
    "[--size BYTES] [--small-size BYTES] [--count N] [--concurrency LIST] [--repeat N]" \
    "[--build-dir DIR] [--no-build] [--dir D] [--base-port P] [--json FILE] [--profile]" \
    "[--keep-data] [--tls both|on|off] [--tls-rounds N]" >&2
  exit 2
}
say() { echo "[$PROG] $*" >&2; }

nodes=3
replicas=3
write_quorum=3
chunk_size=4MiB
size=""
small_size=4KiB
count=""
concurrency=1,16
repeat=""
build_dir=$REPO_DIR/build-release
build=1
cluster_dir=""
base_port=7401
json_file=""
quick=0
profile=0
keep_data=0
tls=both
tls_rounds=""
while (($#)); do
  case "$1" in
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --profile) profile=1 ;;
    --keep-data) keep_data=1 ;;
    --nodes | --replicas | --write-quorum | --chunk-size | --size | --small-size | --count | \
      --concurrency | --repeat | --build-dir | --dir | --base-port | --json | --tls | --tls-rounds)
      (($# >= 2)) || usage_error "$1 needs a value"
      case "$1" in
        --nodes) nodes=$2 ;;
        --replicas) replicas=$2 ;;
        --write-quorum) write_quorum=$2 ;;
        --chunk-size) chunk_size=$2 ;;
        --size) size=$2 ;;
        --small-size) small_size=$2 ;;
        --count) count=$2 ;;
        --concurrency) concurrency=$2 ;;
        --repeat) repeat=$2 ;;
        --build-dir) build_dir=$2 ;;
        --dir) cluster_dir=$2 ;;
        --base-port) base_port=$2 ;;
        --json) json_file=$2 ;;
        --tls) tls=$2 ;;
        --tls-rounds) tls_rounds=$2 ;;
      esac
      shift
      ;;
    *) usage_error "unknown argument: $1" ;;
  esac
  shift
done
for v in nodes replicas write_quorum base_port ${tls_rounds:+tls_rounds}; do
  [[ ${!v} =~ ^[0-9]+$ ]] || usage_error "--${v//_/-} must be a number, not '${!v}'"
done
((nodes >= 1)) || usage_error "--nodes must be at least 1"
[[ -z $tls_rounds ]] || ((tls_rounds >= 1)) || usage_error "--tls-rounds must be at least 1"
[[ $tls == both || $tls == on || $tls == off ]] || usage_error "--tls must be both, on or off, not '$tls'"
((replicas >= 1 && write_quorum >= 1)) || usage_error "--replicas and --write-quorum must be at least 1"
if ((quick)); then
  size=${size:-256MiB}
  count=${count:-300}
  repeat=${repeat:-10}
  tls_rounds=${tls_rounds:-2}
  dd_mib=256
  loopback_size=1GiB
else
  size=${size:-1GiB}
  count=${count:-1000}
  repeat=${repeat:-20}
  tls_rounds=${tls_rounds:-3}
  dd_mib=1024
  loopback_size=2GiB
fi
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
cluster_dir=${cluster_dir:-$build_dir/bench-cluster}
json_file=${json_file:-$build_dir/bench.json}
bin=$build_dir/bin
# The effective R and W, as cluster.sh clamps them.
R=$((replicas < nodes ? replicas : nodes))
W=$((write_quorum < R ? write_quorum : R))

# ---------------------------------------------------------------------------------------------
# Clean-up: whatever happens, the cluster stops and the scratch files go.

started=0
perf_pids=()
scratch=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local p
  for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  if ((started)); then
    say "stopping the cluster in $cluster_dir"
    DFS_BIN_DIR=$bin "$REPO_DIR/scripts/cluster.sh" stop --dir "$cluster_dir" >/dev/null
    # A run leaves R copies of everything it put (nodes keep removed chunks for a grace period):
    # several GiB that nobody needs once the numbers are out.
    if ((keep_data)); then
      say "kept the nodes' data in $cluster_dir/node*"
    else
      rm -rf "$cluster_dir"/node*/data
    fi
  fi
  rm -f "${scratch[@]}"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Helpers

# bytes_of SIZE: SIZE in bytes, read by dfs-bench (the nodes' grammar, common/byte_size.hpp) so
# that this script never disagrees with it about what a size means.
bytes_of() { "$bin/dfs-bench" bytes "$1"; }

# calc EXPR: floating-point arithmetic; "null" when any operand is empty or null.
calc() {
  awk "BEGIN { x = ($1); if (x != x) print \"null\"; else printf \"%.${2:-1}f\", x }" 2>/dev/null ||
    echo null
}
# Metrics: M[name]=value, from dfs-bench's JSON (flattened) or measured here.
declare -A M=()
absorb() { # absorb PREFIX JSON_FILE
  local k v
  while read -r k v; do M[$1.$k]=$v; done < <("$bin/dfs-bench" flatten <"$2")
}
get() { # get NAME: the metric, or "null"
  local v=${M[$1]:-null}
  [[ -n $v ]] || v=null
  echo "$v"
}
# dd_rate LOGFILE: MB/s from dd's summary line ("N bytes (...) copied, S s, ...").
dd_rate() {
  awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") { printf "%.1f", $1 / $(i+1) / 1e6; exit } }' "$1"
}
dd_ops() { # dd_ops LOGFILE BLOCKS: blocks per second
  awk -v n="$2" '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") { printf "%.0f", n / $(i+1); exit } }' "$1"
}
node_pid() { cat "$cluster_dir/node$1/node.pid" 2>/dev/null || true; }
# Peak RSS (VmHWM, KiB) of every node since the last reset; resets it where the kernel allows.
record_rss() { # record_rss PHASE
  local i pid hwm
  for ((i = 1; i <= nodes; i++)); do
    pid=$(node_pid "$i")
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    M[rss.node$i.$1]=${hwm:-null}
    if [[ -n $hwm ]] && ((hwm > ${M[rss.node$i.peak]:-0})); then M[rss.node$i.peak]=$hwm; fi
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # resets VmHWM to the current RSS
  done
}
# CPU ticks (utime + stime) of every thread of PID: "tid name ticks" lines.
thread_ticks() {
  local t stat
  for t in /proc/"$1"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    # The name may hold spaces; everything after the last ')' is fixed fields 3...
    awk -v tid="${t##*/}" -v name="$(sed 's/^[0-9]* (\(.*\)) .*/\1/' <<<"$stat")" \
      '{ print tid, name, $12 + $13 }' <<<"${stat##*) }"
  done
}
profile_phase=""
perf_start() { # perf_start PHASE
  ((profile)) || return 0
  local i pid
  profile_phase=$1
  mkdir -p "$cluster_dir/profile"
  for ((i = 1; i <= nodes; i++)); do
    pid=$(node_pid "$i")
    thread_ticks "$pid" >"$cluster_dir/profile/$1-node$i.cpu0"
    perf record -e cpu-clock -F 999 -g -p "$pid" -o "$cluster_dir/profile/$1-node$i.data" \
      >/dev/null 2>&1 &
    perf_pids+=($!)
  done
  sleep 0.5
}
perf_stop() {
  ((profile)) || return 0
  local p i hz
  for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${perf_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  perf_pids=()
  hz=$(getconf CLK_TCK)
  for ((i = 1; i <= nodes; i++)); do
    local base=$cluster_dir/profile/$profile_phase-node$i
    thread_ticks "$(node_pid "$i")" >"$base.cpu1"
    # CPU seconds per thread during the phase. CAF 0.17 names its scheduler workers after the
    # thread that starts them (caf.multiplexer); detached actors (the store) run as caf.actor.
    awk -v hz="$hz" 'NR == FNR { before[$1] = $NF; next }
      { d = ($NF - before[$1]) / hz; total += d; if (d >= 0.01) printf "  thread %-8s %-16s %6.2f s\n", $1, $2, d }
      END { printf "  all threads               %6.2f s\n", total }' "$base.cpu0" "$base.cpu1" >"$base.cpu"
  done
}
time_v=()
if [[ -x /usr/bin/time ]]; then time_v=(/usr/bin/time -v); fi
# run_bench NAME ARGS...: dfs-bench ARGS > NAME.json, client peak RSS into M[rss.client.NAME].
run_bench() {
  local name=$1
  shift
  local out=$work/$name.json tv=$work/$name.time
  local rc=0
  if ((${#time_v[@]})); then
    "${time_v[@]}" -o "$tv" "$bin/dfs-bench" "$@" >"$out" || rc=$?
  else
    "$bin/dfs-bench" "$@" >"$out" || rc=$?
  fi
  [[ -s $out ]] || die "dfs-bench $name printed nothing"
  absorb "$name" "$out"
  local rss=""
  [[ -f $tv ]] && rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$tv")
  M[rss.client.$name]=${rss:-$(get "$name.client_peak_rss_kib")}
  if ((rc != 0)); then
    say "dfs-bench $name reported a failure (exit $rc); its results are kept"
    failures=$((failures + 1))
  fi
}
failures=0

# ---------------------------------------------------------------------------------------------
# 1. Build

if ((build)); then
  say "building Release into $build_dir"
  # The compiler's output goes to a log, shown only when the build fails.
  if ! { cmake -S "$REPO_DIR" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$build_dir" -j"$(nproc)" --target dfs-node dfs dfs-bench; } >"$build_dir/bench-build.log" 2>&1; then
    tail -n 40 "$build_dir/bench-build.log" >&2
    die "the Release build failed (whole log: $build_dir/bench-build.log)"
  fi
fi
for b in dfs-node dfs dfs-bench; do
  [[ -x $bin/$b ]] || die "no $bin/$b (build first, or drop --no-build)"
done
size_bytes=$(bytes_of "$size") || usage_error "--size '$size' is not a size"
small_size_bytes=$(bytes_of "$small_size") || usage_error "--small-size '$small_size' is not a size"

mkdir -p "$cluster_dir"
cluster_dir=$(cd "$cluster_dir" && pwd)
work=$cluster_dir/results
# A cluster left by an earlier run goes first, with its data; anything else is not ours to delete.
if [[ -f $cluster_dir/cluster.env ]]; then
  DFS_BIN_DIR=$bin "$REPO_DIR/scripts/cluster.sh" stop --dir "$cluster_dir" >/dev/null 2>&1 || true
  rm -rf "$cluster_dir"/node* "$cluster_dir/cluster.env" "$cluster_dir/profile"
elif compgen -G "$cluster_dir/node*" >/dev/null; then
  die "$cluster_dir has node* entries but no cluster.env: not a bench cluster; pick another --dir"
fi
rm -rf "$work"
mkdir -p "$work"
# Room for R copies of the large file (or the dd test file) and the small ones, with a margin:
# a benchmark must never fill the disk it shares with everything else.
need_mib=$(awk -v s="$size_bytes" -v r="$R" -v d="$dd_mib" \
  'BEGIN { n = s * r * 1.2 / 1048576; if (d > n) n = d; printf "%d", n + 1024 }')
free_mib=$(df -Pm "$cluster_dir" | awk 'NR == 2 { print $4 }')
((free_mib >= need_mib)) ||
  die "$cluster_dir has $free_mib MiB free; this run needs about $need_mib MiB (R=$R copies of $size)"

# ---------------------------------------------------------------------------------------------
# 2. The machine's limits

say "machine limits (disk: $(df -P "$cluster_dir" | awk 'NR == 2 { print $1 " on " $6 }'))"
dd_file=$cluster_dir/dd-test.tmp
scratch+=("$dd_file")
# The nodes write chunk files with O_DIRECT (storage/uncached_io.hpp), so the limit is dd's
# direct write where the file system takes it.
if LC_ALL=C dd if=/dev/zero of="$dd_file" bs=1M count="$dd_mib" oflag=direct conv=fsync 2>"$work/dd-write.log"; then
  M[limit.disk_write_method]=direct
else
  LC_ALL=C dd if=/dev/zero of="$dd_file" bs=1M count="$dd_mib" conv=fsync 2>"$work/dd-write.log" ||
    die "dd write failed: $(cat "$work/dd-write.log")"
  M[limit.disk_write_method]=cached
fi
M[limit.disk_write_mb_per_s]=$(dd_rate "$work/dd-write.log")
if LC_ALL=C dd if="$dd_file" of=/dev/null bs=1M iflag=direct 2>"$work/dd-read.log"; then
  M[limit.disk_read_method]=direct
else
  LC_ALL=C dd if="$dd_file" of=/dev/null bs=1M 2>"$work/dd-read.log"
  M[limit.disk_read_method]=cached
fi
M[limit.disk_read_mb_per_s]=$(dd_rate "$work/dd-read.log")
rm -f "$dd_file"
sync_blocks=$((quick ? 300 : 1000))
LC_ALL=C dd if=/dev/zero of="$dd_file" bs=4k count="$sync_blocks" oflag=dsync 2>"$work/dd-sync.log" ||
  die "dd oflag=dsync failed: $(cat "$work/dd-sync.log")"
M[limit.disk_sync_4k_per_s]=$(dd_ops "$work/dd-sync.log" "$sync_blocks")
rm -f "$dd_file"
ossl() { # ossl ALGORITHM: MB/s on 16 KiB blocks, one core
  openssl speed -seconds 1 -bytes 16384 -evp "$1" 2>/dev/null |
    awk 'END { v = $NF; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }'
}
if command -v openssl >/dev/null; then
  M[limit.sha256_mb_per_s]=$(ossl sha256)
  M[limit.aes_256_gcm_mb_per_s]=$(ossl aes-256-gcm)
fi
run_bench loopback loopback --loopback-size "$loopback_size"
M[limit.loopback_mb_per_s]=$(get loopback.loopback.mb_per_s)
M[limit.loopback_rtt_4k_us]=$(get loopback.loopback.rtt_4k_p50_us)
run_bench floor spawn --repeat "$repeat" -- "$bin/dfs" --version
M[limit.spawn_ms]=$(get floor.spawn.median_ms)
cores=$(nproc)

# ---------------------------------------------------------------------------------------------
# 3. A fresh cluster

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
range_busy() {
  local p
  for ((p = $1; p < $1 + nodes; p++)); do port_busy "$p" && return 0; done
  return 1
}
if command -v ss >/dev/null; then
  tries=0
  while range_busy "$base_port"; do
    base_port=$((base_port + 10))
    ((++tries < 100)) || die "no $nodes free ports found from --base-port"
  done
fi
start_cluster() { # start_cluster on|off: a fresh cluster with TLS on or off on every link
  say "starting $nodes nodes (R=$R, W=$W, chunk $chunk_size, TLS $1) on 127.0.0.1:$base_port.."
  started=1
  local set_tls=() client_tls=on
  [[ $1 == off ]] && set_tls=(--set cluster.tls=off) && client_tls=off
  DFS_TLS=$client_tls DFS_BIN_DIR=$bin "$REPO_DIR/scripts/cluster.sh" start "$nodes" --dir "$cluster_dir" \
    --base-port "$base_port" --replicas "$replicas" --write-quorum "$write_quorum" \
    --chunk-size "$chunk_size" --log-level warn "${set_tls[@]}" >/dev/null
}
first_tls=$([[ $tls == off ]] && echo off || echo on)
[[ $first_tls == off ]] && export DFS_TLS=off
start_cluster "$first_tls"
secret=$cluster_dir/secret
node_list=""
for ((i = 0; i < nodes; i++)); do node_list+="${node_list:+,}127.0.0.1:$((base_port + i))"; done
first=127.0.0.1:$base_port
record_rss idle

# ---------------------------------------------------------------------------------------------
# 4. The workloads

say "large: put and get of $size"
perf_start large
run_bench large large --node "$first" --secret-file "$secret" --size "$size"
perf_stop
record_rss large

say "small: $count puts and gets of $small_size at concurrency $concurrency"
perf_start small
run_bench small small --node "$node_list" --secret-file "$secret" --small-size "$small_size" \
  --count "$count" --concurrency "$concurrency"
perf_stop
record_rss small

say "whole command: dfs get of a 4 KiB file, $repeat times"
head -c 4096 /dev/urandom >"$work/4k.in"
"$bin/dfs" --node "$first" --secret-file "$secret" put "$work/4k.in" bench/cmd/4k >/dev/null
run_bench cmd spawn --repeat "$repeat" -- "$bin/dfs" --node "$first" --secret-file "$secret" \
  get bench/cmd/4k "$work/4k.out"
cmp -s "$work/4k.in" "$work/4k.out" || {
  say "the 4 KiB file came back different"
  failures=$((failures + 1))
}
"$bin/dfs" --node "$first" --secret-file "$secret" rm bench/cmd/4k >/dev/null || true
record_rss end

# CPU ticks (utime + stime) of all nodes so far.
nodes_cpu_ticks() {
  local i pid total=0 stat
  for ((i = 1; i <= nodes; i++)); do
    pid=$(node_pid "$i")
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{ print $12 + $13 }' <<<"${stat##*) }")))
  done
  echo "$total"
}
# client_cpu_seconds NAME: user + system seconds of that dfs-bench run (0 without time -v).
client_cpu_seconds() {
  local tv=$work/$1.time
  [[ -f $tv ]] || {
    echo 0
    return
  }
  awk -F: '/User time|System time/ { s += $2 } END { printf "%.2f", s + 0 }' "$tv"
}
# median N...: the middle value (the mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
tls_rounds_line=""
ab_rounds=0
if [[ $tls == both ]]; then
  ab_rounds=$tls_rounds
  # What TLS costs: the same large put and get on fresh clusters, TLS off and on in turn. Each
  # cluster and its data go before the next (R copies of the large file).
  # Also the CPU each round costs, nodes and client together: unlike throughput, it does not
  # depend on how the client and the nodes share the cores, so it says what TLS itself costs.
  declare -a ab_put_off=() ab_get_off=() ab_put_on=() ab_get_on=() ab_cpu_off=() ab_cpu_on=()
  for ((round = 1; round <= tls_rounds; round++)); do
    for mode in off on; do
      DFS_BIN_DIR=$bin "$REPO_DIR/scripts/cluster.sh" stop --dir "$cluster_dir" >/dev/null
      rm -rf "$cluster_dir"/node* "$cluster_dir/cluster.env"
      start_cluster "$mode"
      say "TLS $mode, round $round of $tls_rounds: put and get of $size"
      ticks_before=$(nodes_cpu_ticks)
      DFS_TLS=$mode run_bench "tls_$mode$round" large --node "$first" --secret-file "$secret" --size "$size"
      ticks_after=$(nodes_cpu_ticks)
      declare -n puts=ab_put_$mode gets=ab_get_$mode cpus=ab_cpu_$mode
      puts+=("$(get "tls_$mode$round.large.put.mb_per_s")")
      gets+=("$(get "tls_$mode$round.large.get.mb_per_s")")
      cpus+=("$(calc "($ticks_after - $ticks_before) / $(getconf CLK_TCK) + $(client_cpu_seconds "tls_$mode$round")" 2)")
      unset -n puts gets cpus
    done
  done
  tls_rounds_line="TLS rounds (MB/s, in order, off then on): put off ${ab_put_off[*]}, on ${ab_put_on[*]}; get off ${ab_get_off[*]}, on ${ab_get_on[*]}; CPU of nodes and client for the put and get (core-s) off ${ab_cpu_off[*]}, on ${ab_cpu_on[*]}."
fi

# ---------------------------------------------------------------------------------------------
# 5. The table

# Which small-level index is concurrency C?
level() {
  local j=0
  while [[ $(get "small.small.$j.concurrency") != null ]]; do
    [[ $(get "small.small.$j.concurrency") == "$1" ]] && {
      echo "$j"
      return
    }
    j=$((j + 1))
  done
  echo none
}
c1=$(level 1)
c16=$(level 16)
peak_node=0
for ((i = 1; i <= nodes; i++)); do
  v=${M[rss.node$i.peak]:-0}
  ((v > peak_node)) && peak_node=$v
done
M[rss.node_peak_kib]=$peak_node
client_peak=0
for k in large small cmd; do
  v=${M[rss.client.$k]:-0}
  [[ $v =~ ^[0-9]+$ ]] && ((v > client_peak)) && client_peak=$v
done
M[rss.client_peak_kib]=$client_peak

dw=$(get limit.disk_write_mb_per_s)
dr=$(get limit.disk_read_mb_per_s)
ds=$(get limit.disk_sync_4k_per_s)
sha=$(get limit.sha256_mb_per_s)
lb=$(get limit.loopback_mb_per_s)
rtt=$(get limit.loopback_rtt_4k_us)
fl=$(get limit.spawn_ms)
aes=$(get limit.aes_256_gcm_mb_per_s)
[[ $sha == null ]] && sha=1e12
[[ $aes == null ]] && aes=1e12
# The limits each result is compared with (docs/PERFORMANCE.md, "The machine's limits, and the
# ratios"). The crypto work per byte is what the node code does as of this writing; update these
# counts when it changes (or override them: DFS_BENCH_PASSES="put_sha put_aes get_sha get_aes").
#   put: SHA-256 R+2 times (content hash, deterministic nonce, chunk id, the check at each of
#        the R-1 peers; the entry node's own store takes the id its put session computed;
#        this assumes the entry node holds a copy of every chunk, as with N = R nodes);
#        AES-GCM 2R+1 times (TLS out of the client and into the entry node, the at-rest seal,
#        TLS out to and in at R-1 peers).
#   get: SHA-256 once (the store's check; the local copy is not hashed again); AES-256-GCM 3
#        times (the at-rest open, TLS out, TLS in at the client).
read -r put_sha put_aes get_sha get_aes <<<"${DFS_BENCH_PASSES:-$((R + 2)) $((2 * R + 1)) 1 3}"
crypto() { # crypto SHA_PASSES AES_PASSES: MB/s all cores could push through that much crypto
  calc "$cores / ($1 / $sha + $2 / $aes)"
}
# min_of "NAME VALUE" ...: the smallest value, then the name of the bound it came from.
min_of() {
  printf '%s\n' "$@" | awk '$2 != "null" && (best == "" || $2 + 0 < best + 0) { best = $2; name = $1 }
    END { if (best == "") print "null -"; else printf "%.1f %s\n", best, name }'
}
# put: every byte is written R times to this one disk and crosses loopback R times (client to
# the coordinator, coordinator to R-1 peers).
read -r put_limit put_bound < <(min_of "disk-write/R $(calc "$dw / $R")" \
  "loopback/R $(calc "$lb / $R")" "crypto $(crypto "$put_sha" "$put_aes")")
# get: one read of the disk, one loopback transfer.
read -r get_limit get_bound < <(min_of "disk-read $dr" "loopback $lb" "crypto $(crypto "$get_sha" "$get_aes")")
# small put: one sync write per durable item on each replica. A file of at most 64 KiB lives
# inside its manifest (max_inline_size in common/manifest.hpp): R items; a larger one is a
# chunk and then a manifest on each replica: 2R.
if ((small_size_bytes <= 65536)); then
  small_writes=R
  small_limit=$(calc "$ds / $R")
else
  small_writes=2R
  small_limit=$(calc "$ds / (2 * $R)")
fi

rows=()      # "label|result|target|met|limit|ratio"
json_rows=() # JSON objects
add_row() { # add_row KEY LABEL VALUE UNIT TARGET_OP TARGET LIMIT LIMIT_NOTE EXTRA
  local key=$1 label=$2 value=$3 unit=$4 op=$5 target=$6 limit=$7 note=$8 extra=${9:-}
  local met=null ratio=null shown_target="-" shown_limit="-"
  if [[ $value != null && -n $target ]]; then
    met=$(awk -v v="$value" -v t="$target" -v op="$op" 'BEGIN { print ((op == ">=" ? v >= t : v <= t) ? "true" : "false") }')
    shown_target="$op $target $unit"
  fi
  if [[ $value != null && $limit != null && -n $limit ]]; then
    ratio=$(calc "$value / $limit" 2)
    shown_limit="$limit $unit ($note)"
  fi
  local shown_met=$([[ $met == true ]] && echo yes || ([[ $met == false ]] && echo NO || echo -))
  local shown_ratio=$ratio
  [[ $ratio == null ]] && shown_ratio="-"
  rows+=("$label|$value $unit$extra|$shown_target|$shown_met|$shown_limit|$shown_ratio")
  json_rows+=("{\"key\":\"$key\",\"label\":\"$label\",\"value\":$value,\"unit\":\"$unit\",\"target\":${target:-null},\"target_op\":\"$op\",\"met\":$met,\"limit\":${limit:-null},\"limit_from\":\"$note\",\"ratio\":$ratio}")
}
lat() { # lat PHASE LEVEL: " (p50 X / p99 Y ms)"
  [[ $2 == none ]] && return
  echo " (p50 $(calc "$(get "small.small.$2.$1.p50_ms")" 2) / p99 $(calc "$(get "small.small.$2.$1.p99_ms")" 2) ms)"
}
sm() { # sm FIELD LEVEL [DECIMALS]
  if [[ $2 == none ]]; then echo null; else calc "$(get "small.small.$2.$1")" "${3:-1}"; fi
}

add_row large_put "put $size" "$(get large.large.put.mb_per_s)" MB/s ">=" 300 "$put_limit" "$put_bound"
add_row large_get "get $size" "$(get large.large.get.mb_per_s)" MB/s ">=" 600 "$get_limit" "$get_bound"
add_row small_put_c1 "$small_size put, c=1" "$(sm put.ops_per_s "$c1" 0)" ops/s ">=" "" "$small_limit" "sync writes/$small_writes" "$(lat put "$c1")"
add_row small_put_c16 "$small_size put, c=16" "$(sm put.ops_per_s "$c16" 0)" ops/s ">=" 1000 "$small_limit" "sync writes/$small_writes" "$(lat put "$c16")"
add_row small_get_c1_p50 "$small_size get p50, c=1" "$(sm get.p50_ms "$c1" 3)" ms "<=" 2 "$(calc "$rtt / 1000" 3)" "loopback RTT" " ($(sm get.ops_per_s "$c1" 0) ops/s, p99 $(sm get.p99_ms "$c1" 2) ms)"
add_row small_get_c16 "$small_size get, c=16" "$(sm get.ops_per_s "$c16" 0)" ops/s ">=" "" "" "" "$(lat get "$c16")"
add_row dfs_get_cmd "dfs get 4 KiB, whole command" "$(calc "$(get cmd.spawn.median_ms)" 2)" ms "<=" 50 "$(calc "$fl" 2)" "dfs --version" " (median of $repeat)"
if [[ $tls == both ]]; then
  m_put_off=$(median "${ab_put_off[@]}")
  m_get_off=$(median "${ab_get_off[@]}")
  m_put_on=$(median "${ab_put_on[@]}")
  m_get_on=$(median "${ab_get_on[@]}")
  of_n=" (median of $tls_rounds)"
  add_row large_put_tls_on "put $size, TLS on" "$m_put_on" MB/s ">=" "" "$put_limit" "$put_bound" "$of_n"
  add_row large_put_tls_off "put $size, TLS off" "$m_put_off" MB/s ">=" "" "$put_limit" "$put_bound" "$of_n"
  add_row large_get_tls_on "get $size, TLS on" "$m_get_on" MB/s ">=" "" "$get_limit" "$get_bound" "$of_n"
  add_row large_get_tls_off "get $size, TLS off" "$m_get_off" MB/s ">=" "" "$get_limit" "$get_bound" "$of_n"
  add_row tls_cost_put "TLS cost, put" "$(calc "100 * (1 - $m_put_on / $m_put_off)")" % "<=" 15 "" ""
  add_row tls_cost_get "TLS cost, get" "$(calc "100 * (1 - $m_get_on / $m_get_off)")" % "<=" 15 "" ""
  # Each GiB crosses 2R + 2 TLS ends in a put and get: client and entry node, entry node and
  # each of the R - 1 other replicas, then entry node and client again.
  m_cpu_off=$(median "${ab_cpu_off[@]}")
  m_cpu_on=$(median "${ab_cpu_on[@]}")
  gib=$(calc "$size_bytes / 1073741824" 3)
  add_row tls_cpu_per_side "TLS CPU per GiB per end" "$(calc "($m_cpu_on - $m_cpu_off) / $gib / (2 * $R + 2)" 2)" core-s "<=" "" "" "" \
    " (put+get $m_cpu_on vs $m_cpu_off core-s, medians; $((2 * R + 2)) ends)"
fi
add_row node_rss "peak RSS, max of $nodes nodes" "$(calc "$peak_node / 1024")" MiB "<=" 150 "" ""
add_row client_rss "peak RSS, dfs-bench client" "$(calc "$client_peak / 1024")" MiB "<=" "" "" ""

echo
built=$(date -u -r "$bin/dfs-node" '+%F %T UTC')
dirty=$([[ -n $(git -C "$REPO_DIR" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo "+changes" || true)
echo "dfs bench: $(date -u '+%F %T UTC'), commit $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$dirty, dfs-node built $built," \
  "$cores cores, $nodes nodes, R=$R, W=$W, chunk $chunk_size$( ((quick)) && echo ', --quick')"
{
  echo "metric|result|target|met|limit|ratio"
  printf '%s\n' "${rows[@]}"
} | column -t -s '|' 2>/dev/null || {
  echo "metric|result|target|met|limit|ratio"
  printf '%s\n' "${rows[@]}"
}
echo
echo "limits: disk write $dw MB/s (dd conv=fsync, $(get limit.disk_write_method)), disk read $dr MB/s (dd, $(get limit.disk_read_method);" \
  "caches not dropped), $ds sync 4 KiB writes/s (dd oflag=dsync), sha256 $sha MB/s and aes-256-gcm" \
  "$(get limit.aes_256_gcm_mb_per_s) MB/s per core (openssl speed), loopback $lb MB/s and 4 KiB RTT" \
  "$rtt us, process start+exit $fl ms (dfs --version)."
echo "ratio = result / limit. For latencies the limit is a floor, so the ratio is how many floors it takes."
[[ -n $tls_rounds_line ]] && echo "$tls_rounds_line"
echo "crypto bounds: put $(crypto "$put_sha" "$put_aes") MB/s ($put_sha SHA-256 + $put_aes AES-GCM passes per byte on $cores cores)," \
  "get $(crypto "$get_sha" "$get_aes") MB/s ($get_sha + $get_aes)."
echo "node peak RSS (MiB) per phase:" "$(for ((i = 1; i <= nodes; i++)); do
  printf 'n%d idle %s, large %s, small %s;  ' "$i" \
    "$(calc "$(get rss.node$i.idle) / 1024")" "$(calc "$(get rss.node$i.large) / 1024")" \
    "$(calc "$(get rss.node$i.small) / 1024")"
done)"

# ---------------------------------------------------------------------------------------------
# 6. JSON

{
  echo "{\"date\":\"$(date -u '+%FT%TZ')\",\"commit\":\"$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || true)$dirty\",\"binaries_built\":\"$built\","
  echo "\"machine\":{\"cores\":$cores,\"cpu\":\"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo | tr -d '"\\')\",\"mem_mib\":$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)},"
  echo "\"config\":{\"nodes\":$nodes,\"replicas\":$R,\"write_quorum\":$W,\"chunk_size\":\"$chunk_size\",\"size\":\"$size\",\"small_size\":\"$small_size\",\"count\":$count,\"concurrency\":\"$concurrency\",\"repeat\":$repeat,\"quick\":$( ((quick)) && echo true || echo false)},"
  echo "\"limits\":{\"disk_write_mb_per_s\":$dw,\"disk_write_method\":\"$(get limit.disk_write_method)\",\"disk_read_mb_per_s\":$dr,\"disk_read_method\":\"$(get limit.disk_read_method)\",\"disk_sync_4k_per_s\":$ds,\"sha256_mb_per_s\":$(get limit.sha256_mb_per_s),\"aes_256_gcm_mb_per_s\":$(get limit.aes_256_gcm_mb_per_s),\"loopback_mb_per_s\":$lb,\"loopback_rtt_4k_us\":$rtt,\"spawn_ms\":$fl},"
  echo "\"results\":[$(IFS=,; echo "${json_rows[*]}")],"
  printf '"rss_kib":{"client_peak":%s,"node_peak":%s,"nodes":[' "$client_peak" "$peak_node"
  for ((i = 1; i <= nodes; i++)); do
    ((i > 1)) && printf ','
    printf '{"node":%d,"idle":%s,"large":%s,"small":%s,"end":%s,"peak":%s}' "$i" \
      "$(get rss.node$i.idle)" "$(get rss.node$i.large)" "$(get rss.node$i.small)" \
      "$(get rss.node$i.end)" "$(get rss.node$i.peak)"
  done
  echo "]},"
  echo "\"raw\":{\"large\":$(cat "$work/large.json"),\"small\":$(cat "$work/small.json"),\"dfs_get_command\":$(cat "$work/cmd.json"),\"tls_rounds\":[$(for ((r = 1; r <= ab_rounds; r++)); do ((r > 1)) && printf ','; printf '{"off":%s,"on":%s}' "$(cat "$work/tls_off$r.json" 2>/dev/null || echo null)" "$(cat "$work/tls_on$r.json" 2>/dev/null || echo null)"; done)],\"loopback\":$(cat "$work/loopback.json"),\"spawn_floor\":$(cat "$work/floor.json")}}"
} >"$json_file.tmp"
mv "$json_file.tmp" "$json_file"
echo "saved $json_file"

if ((profile)); then
  for f in "$cluster_dir"/profile/*.data; do
    [[ -f $f ]] || continue
    base=${f%.data}
    echo "---- $(basename "$base"): CPU per thread, then the top functions (self time)"
    cat "$base.cpu" 2>/dev/null || true
    perf report -i "$f" --no-children --stdio --sort pid,dso,sym --percent-limit 2 -g none 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -20
  done
  echo "perf data: $cluster_dir/profile/ (perf report -i FILE); libcrypto's unnamed symbols near"
  echo "0x29c000 are its SHA-256 block function (compare: perf record openssl speed sha256)."
fi
((failures == 0)) || die "$failures measurement(s) failed; see above"
