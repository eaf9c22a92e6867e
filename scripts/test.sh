#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: exactly what CI runs (.ci/run calls it).
#   1. normal:   the usual build (build/), then every unit and integration test through CTest;
#   2. soak:     the nemesis soak, short and with a fixed seed (scripts/soak.sh --duration 150
#                --seed 1, on the normal build; needs root: namespaces, nftables, tmpfs);
#   3. sanitize: a build with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/,
#                -DDFS_SANITIZE=ON), then the same tests under it;
#   4. fuzz:     every libFuzzer harness for 30 s (scripts/fuzz.sh; clang, build-fuzz/).
#
#   scripts/test.sh                      all four stages (about 30-40 minutes on 2 cores)
#   scripts/test.sh --quick              only the normal stage (about 6 minutes)
#   scripts/test.sh --stage sanitize     one stage (normal, soak, sanitize or fuzz)
#   scripts/test.sh --quick -R integration    other arguments go to ctest
#
# Every stage runs even when an earlier one failed, so one run shows everything; the exit code
# is 0 only when every stage passed. A summary line per stage comes last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stages=(normal soak sanitize fuzz)
ctest_args=()
while (($#)); do
  case "$1" in
    --quick) stages=(normal) ;;
    --stage)
      (($# >= 2)) || { echo "test.sh: --stage needs normal, soak, sanitize or fuzz" >&2; exit 2; }
      case "$2" in
        normal | soak | sanitize | fuzz) stages=("$2") ;;
        *) echo "test.sh: unknown stage '$2' (normal, soak, sanitize or fuzz)" >&2; exit 2 ;;
      esac
      shift
      ;;
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

bash scripts/install-deps.sh
export DFS_SKIP_DEPS=1

declare -A result=()
run_stage() { # run_stage NAME COMMAND...: runs it, records pass/FAIL and the time it took
  local name=$1 started=$SECONDS rc=0
  shift
  echo "==== test.sh: stage $name"
  "$@" || rc=$?
  result[$name]="$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - started)) s"
  echo "==== test.sh: stage $name ${result[$name]}"
}

# (The stages chain their steps with &&: `set -e` does not apply inside a function called
# from `cmd || rc=$?`, so a failed build must stop its stage explicitly.)
normal() {
  bash scripts/build.sh &&
    (cd build && ctest --output-on-failure -j2 "${ctest_args[@]}")
}

soak() {
  # The binaries of the normal stage (built here if that stage did not run).
  rm -rf build/soak-ci && bash scripts/soak.sh --duration 150 --seed 1 --dir build/soak-ci
}

sanitize() {
  # Its own tree and its own test-tmp: it never touches build/.
  # Integration tests start many nodes; under ASan each is 2-3 times slower and bigger, so they
  # run one at a time (a 2-core CI machine would otherwise starve their timers).
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDFS_SANITIZE=ON >/dev/null &&
    cmake --build build-asan -j"$(nproc)" &&
    (cd build-asan && ctest --output-on-failure -j1 "${ctest_args[@]}")
}

fuzz() {
  DFS_FUZZ_JOBS=2 bash scripts/fuzz.sh 30
}

for stage in "${stages[@]}"; do
  run_stage "$stage" "$stage"
done

echo
failed=0
for stage in "${stages[@]}"; do
  echo "test.sh: $stage: ${result[$stage]}"
  [[ ${result[$stage]} == passed* ]] || failed=1
done
exit "$failed"
