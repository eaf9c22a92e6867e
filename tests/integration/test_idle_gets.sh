#!/usr/bin/env bash
# Many idle gets on one connection (dfs-idle-gets: they never grant credit) cannot grow a node:
# past [node] max_sessions_per_connection each get is refused with an error and the connection
# stays up; the gets let in hold at most [node] session_memory of chunks (none fetched ahead of
# credit), the others wait. Meanwhile another client's put and get through another node succeed,
# and once the idle connection is gone its memory serves a get through the same node.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sessions=16
gets=48
start_cluster 2 --chunk-size 1MiB --replicas 2 --write-quorum 1 \
  --set node.session_memory=16MiB --set node.max_sessions_per_connection=$sessions

make_random_file "$TEST_DIR/big.bin" $((32 * 1024 * 1024))
run_capture dfs_at 2 put "$TEST_DIR/big.bin" idle/big.bin
((RC == 0)) || fail "put of 32 MiB through node 2: $(last_run)"

hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
node1=$(node_pid 1)
before=$(hwm "$node1")

"$DFS_BIN_DIR/dfs-idle-gets" --node "$(node_addr 1)" --secret-file "$SECRET_FILE" \
  --key idle/big.bin --gets $gets --expect-data 16 >"$TEST_DIR/idle.out" 2>"$TEST_DIR/idle.err" &
idle=$!
track_pid "$idle"
wait_until 30 grep -q '^meta=' "$TEST_DIR/idle.out" ||
  fail "dfs-idle-gets reported nothing: $(cat "$TEST_DIR/idle.out" "$TEST_DIR/idle.err")"
line=$(head -n 1 "$TEST_DIR/idle.out")
log "idle gets: $line"
[[ $line == "meta=$sessions data=16 errors=$((gets - sessions)) "* ]] ||
  fail "expected $sessions gets served (16 chunks in all, 16 MiB of session memory) and" \
    "$((gets - sessions)) refused, got: $line"
assert_contains "$TEST_DIR/idle.out" "[node] max_sessions_per_connection = $sessions" "the refusal"

# Another client, through node 2 (node 1 still stores and serves replicas).
make_random_file "$TEST_DIR/small.bin" $((3 * 1024 * 1024 + 5))
run_capture dfs_at 2 put "$TEST_DIR/small.bin" idle/small.bin
((RC == 0)) || fail "put through node 2 while node 1 holds idle gets: $(last_run)"
run_capture dfs_at 2 get idle/small.bin "$TEST_DIR/small.out"
((RC == 0)) || fail "get through node 2 while node 1 holds idle gets: $(last_run)"
assert_files_equal "$TEST_DIR/small.bin" "$TEST_DIR/small.out"
pid_alive "$idle" || fail "the idle connection was closed: $(cat "$TEST_DIR/idle.err")"

after=$(hwm "$node1")
log "node 1 peak RSS: $before KiB before the idle gets, $after KiB with them"
# 16 MiB of chunks and the sessions' own state; without the limits, 48 gets holding a window
# and fetching another ahead took well over 100 MiB.
if [[ ${DFS_SANITIZED:-0} != 1 ]]; then
  ((after - before < 48 * 1024)) ||
    fail "node 1 grew by $((after - before)) KiB with idle gets (bound 48 MiB)"
fi

# Once the idle connection is gone, its session memory serves a get through node 1.
kill "$idle"
wait "$idle" 2>/dev/null || true
run_capture dfs_at 1 get idle/small.bin "$TEST_DIR/small.again"
((RC == 0)) || fail "get through node 1 after the idle connection closed: $(last_run)"
assert_files_equal "$TEST_DIR/small.bin" "$TEST_DIR/small.again"
log "ok"
