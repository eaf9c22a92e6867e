#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang++ (ASan + UBSan) and runs each one for
# SECONDS (default 30) on a scratch copy of its seed corpus in fuzz/corpus/ (the repository's
# corpus never changes). Prints per harness the executions, the coverage reached and the inputs
# that added coverage, or FAIL with the crash file; the exit code is 1 if any harness crashed,
# leaked, ran out of memory or timed out on an input.
#
#   scripts/fuzz.sh                       every harness, 30 s each
#   scripts/fuzz.sh 300 frame messages    only these harnesses, 5 minutes each
#
# Environment:
#   DFS_FUZZ_BUILD_DIR   build tree (default build-fuzz/; configured with -DDFS_FUZZ=ON)
#   DFS_FUZZ_JOBS        harnesses run at the same time (default 1)
#   DFS_FUZZ_RSS_MB      memory limit of one harness in MiB (default 2048)
#   DFS_FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (default 25)
#   DFS_FUZZ_OUT         where crash files and logs go (default BUILD_DIR/fuzz-results/<time>/)
#   DFS_SKIP_DEPS=1      do not check/install Debian packages
# Reproduce a crash: BUILD_DIR/fuzz/<name>_fuzzer <crash file> (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

seconds=30
if (($# > 0)); then
  case "$1" in
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *[!0-9]*) ;;
    *) seconds=$1 && shift ;;
  esac
fi
all_harnesses=(frame messages handshake tls manifest_file chunk_file chunk_index node_id config)
harnesses=("$@")
((${#harnesses[@]} > 0)) || harnesses=("${all_harnesses[@]}")
for h in "${harnesses[@]}"; do
  if [[ ! -f fuzz/${h}_fuzzer.cpp ]]; then
    echo "fuzz.sh: no harness named '$h' (have: ${all_harnesses[*]})" >&2
    exit 2
  fi
done

build_dir=${DFS_FUZZ_BUILD_DIR:-$repo/build-fuzz}
jobs=${DFS_FUZZ_JOBS:-1}
rss_mb=${DFS_FUZZ_RSS_MB:-2048}
timeout=${DFS_FUZZ_TIMEOUT:-25}
out_dir=${DFS_FUZZ_OUT:-$build_dir/fuzz-results/$(date +%Y%m%d-%H%M%S)}

if [[ ${DFS_SKIP_DEPS:-0} != 1 ]]; then
  bash scripts/install-deps.sh
fi
cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER=clang++ -DDFS_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target dfs-fuzzers -j2

# Scratch space: the corpora that grow, and the files the storage and config harnesses write
# (tmpfs when there is one: those harnesses sync directories on every input).
scratch_root=/dev/shm
[[ -d $scratch_root && -w $scratch_root ]] || scratch_root=${TMPDIR:-/tmp}
work=$(mktemp -d "$scratch_root/dfs-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir"

run_one() {
  local name=$1
  local corpus=$work/corpus/$name
  local log=$out_dir/$name.log
  mkdir -p "$corpus" "$work/tmp/$name"
  cp -R "fuzz/corpus/$name/." "$corpus/"
  local args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout"
    -print_final_stats=1 -artifact_prefix="$out_dir/$name-")
  [[ -f fuzz/$name.dict ]] && args+=(-dict="fuzz/$name.dict")
  local rc=0
  TMPDIR=$work/tmp/$name UBSAN_OPTIONS=print_stacktrace=1 \
    "$build_dir/fuzz/${name}_fuzzer" "${args[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  local execs new cov ft start_cov
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  start_cov=$(grep -m1 -o 'INITED cov: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o ' cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  ft=$(grep -o ' ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  if ((rc == 0)); then
    printf 'PASS %-14s %10s executions  cov %s -> %s  ft %s  %s new inputs\n' "$name" \
      "${execs:-?}" "${start_cov:-?}" "${cov:-?}" "${ft:-?}" "${new:-?}" >"$work/result-$name"
  else
    local crash
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    printf 'FAIL %-14s exit %s after %s executions: %s (log %s)\n' "$name" "$rc" \
      "${execs:-?}" "${crash:-no crash file}" "$log" >"$work/result-$name"
  fi
  cat "$work/result-$name"
}

echo "fuzz.sh: ${#harnesses[@]} harnesses, ${seconds}s each, $jobs at a time; logs in $out_dir"
for h in "${harnesses[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do
    wait -n || true
  done
  run_one "$h" &
done
wait

failed=0
echo "fuzz.sh: summary"
for h in "${harnesses[@]}"; do
  [[ -f $work/result-$h ]] || echo "FAIL $h: the run did not finish" >"$work/result-$h"
  cat "$work/result-$h"
  if grep -q '^FAIL' "$work/result-$h"; then
    failed=1
  fi
done
exit "$failed"
