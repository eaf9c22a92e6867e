# Shared by every tests/integration/test_*.sh (sourced, not run). CTest runs each test with
# DFS_BIN_DIR=<build>/bin, DFS_TEST_TMP=<build>/test-tmp and DFS_SOURCE_DIR=<repo>; run by hand,
# `bash tests/integration/test_auth.sh` finds the same places from the repo layout.
#
# What it gives a test:
#   TEST_NAME, TEST_DIR           the test's name and its fresh scratch directory
#   DFS_CLI, DFS_NODE_BIN         the two binaries
#   start_cluster N [opts...]     scripts/cluster.sh start N in $TEST_DIR/cluster on free ports
#   CLUSTER_DIR, BASE_PORT, SECRET_FILE   (set by start_cluster)
#   node_port I, node_addr I, node_pid I, node_alive I, dfs_at I ARGS...
#   pick_base_port COUNT          a base port whose COUNT ports are free
#   run_capture CMD...            runs CMD; sets RC and leaves stdout/stderr in $OUT/$ERR files
#   wait_until SECONDS CMD...     polls CMD until it succeeds (returns 1 after the deadline)
#   fail MSG, assert_eq EXPECTED ACTUAL WHAT, assert_files_equal EXPECTED ACTUAL,
#   assert_contains FILE TEXT WHAT, make_random_file PATH BYTES, json_field KEY < JSON
#   track_pid PID                 a process the test started itself; killed at exit
#   at_exit CMD...                run CMD at exit, after every node has stopped (say, umount)
#   extra_port VAR                a free port of the test's block, for relays and extra nodes
#   skip MSG                      ends the test as skipped (exit 77, CTest's SKIP_RETURN_CODE)
# On exit (normal, failure, INT, TERM) every node and tracked process is stopped; when the test
# failed, the tail of every node log is printed first. Under the sanitizer build
# (DFS_SANITIZED=1, set by CTest) every process the test starts writes its ASan and LSan
# reports to $TEST_DIR/sanitizer.<pid>; UBSan's go to stderr (g++'s libubsan ignores log_path),
# which is the node log for a node. A report in either place fails the test.
# shellcheck shell=bash
set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test_}
DFS_SOURCE_DIR=${DFS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DFS_BIN_DIR=${DFS_BIN_DIR:-$DFS_SOURCE_DIR/build/bin}
DFS_TEST_TMP=${DFS_TEST_TMP:-$DFS_SOURCE_DIR/build/test-tmp}
export DFS_BIN_DIR
DFS_CLI=$DFS_BIN_DIR/dfs
DFS_NODE_BIN=$DFS_BIN_DIR/dfs-node
CLUSTER_SH=$DFS_SOURCE_DIR/scripts/cluster.sh
# The client reads these as defaults; a test always says which node and secret it means.
unset DFS_NODE DFS_SECRET_FILE DFS_CLUSTER_DIR

for _bin in "$DFS_CLI" "$DFS_NODE_BIN"; do
  if [[ ! -x $_bin ]]; then
    echo "FAIL $TEST_NAME: $_bin is missing (build first: scripts/build.sh)" >&2
    exit 1
  fi
done
unset _bin

TEST_DIR=$DFS_TEST_TMP/$TEST_NAME
# A run killed before its at_exit commands (say, by CTest's timeout) can leave a file system
# mounted in its scratch directory (test_full_disk.sh): unmount it, or rm would fail on it.
# (/proc/mounts holds physical paths, hence realpath; our paths hold no spaces, which it would
# write as \040.)
awk -v dir="$(realpath -m "$TEST_DIR")/" 'index($2, dir) == 1 { print $2 }' /proc/mounts 2>/dev/null |
  while read -r mount_point; do umount -l "$mount_point" || true; done || true
rm -rf "$TEST_DIR"
mkdir -p "$TEST_DIR"
TEST_DIR=$(cd "$TEST_DIR" && pwd)
OUT=$TEST_DIR/.out
ERR=$TEST_DIR/.err
RC=0
if [[ ${DFS_SANITIZED:-0} == 1 ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TEST_DIR/sanitizer"
fi

CLUSTER_DIR=""
BASE_PORT=""
SECRET_FILE=""
TRACKED_PIDS=()
AT_EXIT=()

log() { echo "[$TEST_NAME] $*"; }

fail() {
  echo "FAIL $TEST_NAME: $*" >&2
  exit 1
}

skip() {
  echo "SKIP $TEST_NAME: $*"
  exit 77
}

# ---------------------------------------------------------------------------------------------
# Clean-up

_print_node_logs() {
  local log
  [[ -n $CLUSTER_DIR && -d $CLUSTER_DIR ]] || return 0
  for log in "$CLUSTER_DIR"/node*/node.log; do
    [[ -f $log ]] || continue
    echo "---- last 40 lines of $log ----" >&2
    tail -n 40 "$log" >&2
  done
}

# Prints every sanitizer report of this test's processes; false when there is none.
_sanitizer_reports() {
  local f found=1
  for f in "$TEST_DIR"/sanitizer.*; do
    [[ -f $f ]] || continue
    echo "---- sanitizer report $f ----" >&2
    cat "$f" >&2
    found=0
  done
  # Reports on a node's stderr: UBSan's, and ASan's when ASAN_OPTIONS has no log_path.
  if [[ -n $CLUSTER_DIR && -d $CLUSTER_DIR ]] && grep -H -A 40 -E \
    'ERROR: (Address|Leak)Sanitizer|:[0-9]+:[0-9]+: runtime error: ' "$CLUSTER_DIR"/node*/node.log >&2 2>/dev/null; then
    found=0
  fi
  return "$found"
}

_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if ((rc != 0 && rc != 77)); then
    _print_node_logs
  fi
  local pid
  for pid in "${TRACKED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  if [[ -n $CLUSTER_DIR && -f $CLUSTER_DIR/cluster.env ]]; then
    DFS_STOP_TIMEOUT=10 bash "$CLUSTER_SH" stop --dir "$CLUSTER_DIR" >/dev/null
  fi
  for pid in "${TRACKED_PIDS[@]}"; do
    local deadline=$((SECONDS + 10))
    while pid_alive "$pid" && ((SECONDS < deadline)); do
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  local command
  for command in "${AT_EXIT[@]}"; do
    eval "$command"
  done
  _release_port_blocks
  # Only now: a node can report while it shuts down.
  if _sanitizer_reports; then
    echo "FAIL $TEST_NAME: a process reported a sanitizer error (above)" >&2
    ((rc == 0 || rc == 77)) && rc=1
  fi
  if ((rc == 0)); then
    echo "PASS $TEST_NAME"
  elif ((rc == 77)); then
    echo "SKIP $TEST_NAME"
  else
    echo "FAIL $TEST_NAME (exit $rc); scratch files in $TEST_DIR" >&2
  fi
  exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

track_pid() { TRACKED_PIDS+=("$1"); }

# Commands are kept as one quoted string each, run in the order given.
at_exit() { AT_EXIT+=("$(printf '%q ' "$@")"); }

# ---------------------------------------------------------------------------------------------
# Ports

# True when nothing on this machine uses local TCP port $1 (listening, connected or TIME_WAIT).
port_free() {
  ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
}

# extra_port VAR: sets VAR to a free port of the block this test claimed, above the cluster's
# (for relays and extra processes; start_cluster first). Free means nothing uses it, not even a
# connection of an earlier run in TIME_WAIT.
NEXT_EXTRA_PORT=""
extra_port() {
  local p
  [[ -n $BASE_PORT ]] || fail "extra_port needs start_cluster first (no port block yet)"
  NEXT_EXTRA_PORT=${NEXT_EXTRA_PORT:-$((BASE_PORT + 10))}
  while ((NEXT_EXTRA_PORT < BASE_PORT + 100)); do
    p=$NEXT_EXTRA_PORT
    NEXT_EXTRA_PORT=$((p + 1))
    if port_free "$p"; then
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  fail "no free port left in the block at $BASE_PORT"
}

# Claims the block of 100 ports at $1 for this test: a lock directory under $DFS_TEST_TMP/.ports
# (or $DFS_PORT_LOCKS, which several checkouts on one machine can share) holding our pid, so that
# two tests started side by side never take the same block. A lock whose owner is gone is taken
# over. _cleanup releases ours.
PORT_LOCKS=${DFS_PORT_LOCKS:-$DFS_TEST_TMP/.ports}
_claim_port_block() {
  local lock=$PORT_LOCKS/$1 owner
  mkdir -p "$PORT_LOCKS"
  if ! mkdir "$lock" 2>/dev/null; then
    owner=$(cat "$lock/pid" 2>/dev/null || true)
    [[ -n $owner ]] && ! kill -0 "$owner" 2>/dev/null || return 1
    rm -rf "$lock"
    mkdir "$lock" 2>/dev/null || return 1
  fi
  echo "$$" >"$lock/pid"
}
_release_port_blocks() {
  local f
  for f in "$PORT_LOCKS"/*/pid; do
    [[ -f $f && $(cat "$f" 2>/dev/null) == "$$" ]] && rm -rf "$(dirname "$f")"
  done
  return 0
}

# Prints a base port whose $1 (at most 100) consecutive ports are free and claimed for this
# test. The search starts at a block derived from the test's name, so tests running side by side
# (ctest -j) usually start far apart; ports stay below the kernel's ephemeral range so that no
# client's outgoing connection can take one.
pick_base_port() {
  local count=$1 low=10000 high ephemeral_low slots slot tries p ok i
  ((count <= 100)) || fail "pick_base_port: at most 100 ports"
  ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  high=$((ephemeral_low < 32768 ? ephemeral_low : 32768))
  slots=$(((high - low) / 100))
  if ((slots < 10)); then
    low=20000
    slots=300
  fi
  slot=$(($(printf '%s' "$TEST_NAME" | cksum | cut -d' ' -f1) % slots))
  for ((tries = 0; tries < slots; tries++)); do
    p=$((low + ((slot + tries) % slots) * 100))
    ok=1
    for ((i = 0; i < count; i++)); do
      if ! port_free $((p + i)); then
        ok=0
        break
      fi
    done
    if ((ok)) && _claim_port_block "$p"; then
      echo "$p"
      return 0
    fi
  done
  fail "no $count free ports found between $low and $((low + slots * 100))"
}

# ---------------------------------------------------------------------------------------------
# The cluster

# start_cluster N [cluster.sh start options...]: a fresh cluster in $TEST_DIR/cluster.
start_cluster() {
  local n=$1
  shift
  CLUSTER_DIR=$TEST_DIR/cluster
  BASE_PORT=$(pick_base_port "$n")
  SECRET_FILE=$CLUSTER_DIR/secret
  log "starting $n nodes on 127.0.0.1:$BASE_PORT..$((BASE_PORT + n - 1)) in $CLUSTER_DIR"
  bash "$CLUSTER_SH" start "$n" --dir "$CLUSTER_DIR" --base-port "$BASE_PORT" "$@" ||
    fail "scripts/cluster.sh start $n failed"
}

node_port() { echo $((BASE_PORT + $1 - 1)); }
node_addr() { echo "127.0.0.1:$(node_port "$1")"; }
node_pid() { cat "$CLUSTER_DIR/node$1/node.pid" 2>/dev/null || true; }
# Alive and not a zombie (a zombie's cmdline is empty; /proc files all claim size 0, so read it).
pid_alive() {
  [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ -n $(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null) ]]
}
node_alive() { pid_alive "$(node_pid "$1")"; }

# dfs_at I ARGS...: the client against node I with the cluster's secret. A hung client fails
# the test after DFS_CLIENT_TIMEOUT seconds (exit 124) instead of hanging it.
dfs_at() {
  local i=$1
  shift
  timeout "${DFS_CLIENT_TIMEOUT:-60}" \
    "$DFS_CLI" --node "$(node_addr "$i")" --secret-file "$SECRET_FILE" "$@"
}

cluster_sh() { bash "$CLUSTER_SH" "$@" --dir "$CLUSTER_DIR"; }

# ---------------------------------------------------------------------------------------------
# Running and checking

# run_capture CMD...: runs CMD with stdout in $OUT and stderr in $ERR; its exit code in RC.
run_capture() {
  RC=0
  "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# Describes the last run_capture for a failure message.
last_run() {
  echo "exit $RC; stdout: $(head -c 2000 "$OUT"); stderr: $(head -c 2000 "$ERR")"
}

# wait_until SECONDS CMD...: polls CMD (quietly) until it succeeds; 1 when the deadline passes.
wait_until() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  while :; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "[$TEST_NAME] timed out after ${seconds}s waiting for: $*" >&2
      return 1
    fi
    sleep 0.1
  done
}

assert_eq() {
  local expected=$1 actual=$2 what=${3:-value}
  [[ $expected == "$actual" ]] || fail "$what: expected '$expected', got '$actual'"
}

assert_files_equal() {
  local expected=$1 actual=$2
  [[ -f $actual ]] || fail "$actual was not written (expected a copy of $expected)"
  if ! cmp -s "$expected" "$actual"; then
    fail "$actual differs from $expected ($(stat -c %s "$expected") bytes expected," \
      "$(stat -c %s "$actual") bytes got; first difference: $(cmp "$expected" "$actual" 2>&1 | head -n 1))"
  fi
}

# assert_get_equals I KEY FILE: a get of KEY through node I succeeds and returns FILE's bytes.
assert_get_equals() {
  run_capture dfs_at "$1" get "$2" "$TEST_DIR/out"
  ((RC == 0)) || fail "get $2 through node $1: $(last_run)"
  assert_files_equal "$3" "$TEST_DIR/out"
}

# assert_contains FILE TEXT WHAT: FILE contains TEXT (fixed string, case-insensitive).
assert_contains() {
  local file=$1 text=$2 what=${3:-output}
  grep -qiF -- "$text" "$file" || fail "$what does not contain '$text': $(head -c 2000 "$file")"
}

# flip_byte FILE OFFSET: flips the lowest bit of the byte at OFFSET, in place, as a failing
# disk would.
flip_byte() {
  local file=$1 offset=$2 byte
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  # shellcheck disable=SC2059
  printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

make_random_file() {
  head -c "$2" /dev/urandom >"$1"
  [[ $(stat -c %s "$1") == "$2" ]] || fail "could not write $2 random bytes to $1"
}

# json_field KEY < JSON: the value of the first "KEY": scalar (a string without its quotes).
json_field() {
  local flat re
  flat=$(tr -d '\r\n')
  re='"'"$1"'"[[:space:]]*:[[:space:]]*("([^"]*)"|([-+.0-9eE]+|true|false|null))'
  if [[ $flat =~ $re ]]; then
    echo "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
  fi
}

# Names of the members a `status --json` document (stdin) lists with state "up", one a line.
json_up_members() {
  tr -d '\r\n' | sed 's/}/}\n/g' |
    grep -E '"state"[[:space:]]*:[[:space:]]*"up"' |
    sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' || true
}
