#!/usr/bin/env bash
# A connection flood (bin/dfs-flood, tests/tools/flood.cpp): 1,000 idle connections and 100 that
# send one byte a second, against one node. The node keeps at most [node] max_pending_handshakes
# (256) of them, the oldest making room for new ones, and closes the rest at [node]
# handshake_timeout counted from the connect, however they trickle. While they hold, a
# legitimate client's put and get of 1 MiB each succeed within 10 s and return identical bytes;
# the node's peak RSS stays under 64 MiB; its log names the evictions and the timeouts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLOOD=$DFS_BIN_DIR/dfs-flood
[[ -x $FLOOD ]] || fail "$FLOOD is missing (build first: scripts/build.sh)"
idle=1000
trickle=100
pending=256          # [node] max_pending_handshakes, the default
handshake_timeout=30 # long enough that the flood still holds while the client works
# The flood needs a descriptor per connection (the tool raises its soft limit itself).
hard_limit=$(ulimit -Hn)
if [[ $hard_limit != unlimited ]] && ((hard_limit < idle + trickle + 64)); then
  log "SKIP: the hard open-file limit ($hard_limit) is below $((idle + trickle + 64))"
  exit 0
fi

# The flood and the client come from one address: the limit per address is set out of the way,
# so that this test is about max_pending_handshakes (the unit suite peer_connection covers
# max_pending_per_source).
start_cluster 1 --set node.handshake_timeout=$handshake_timeout \
  --set node.max_pending_per_source=1000000
pid=$(node_pid 1)
node_log=$CLUSTER_DIR/node1/node.log

# Peak RSS bound. Measured: an idle node 15 MiB; holding the 256 pending connections 23 MiB;
# the put and get add little. 64 MiB leaves room for a loaded machine and still catches a
# per-connection cost that grows (a 256 KiB read buffer per stranger took the node to 90 MiB).
# Sanitizer builds take several times as much memory.
bound_kib=$((64 * 1024))
if ldd "$DFS_NODE_BIN" 2>/dev/null | grep -q 'libasan'; then
  bound_kib=$((bound_kib * 4))
fi

# The last complete status line of the flood tool, and one of its fields.
flood_line() { grep -E 'max_idle_lifetime_ms=[0-9]+$' "$TEST_DIR/flood.out" | tail -n 1; }
flood_field() { flood_line | tr ' ' '\n' | sed -n "s/^$1=//p"; }
flood_at_least() { local v; v=$(flood_field "$1"); [[ -n $v ]] && ((v >= $2)); }
flood_at_most() { local v; v=$(flood_field "$1"); [[ -n $v ]] && ((v <= $2)); }

# -- the flood ----------------------------------------------------------------------------------
log "flooding node 1 with $idle idle and $trickle trickling connections"
"$FLOOD" --target "$(node_addr 1)" --idle $idle --trickle $trickle --duration 240 \
  >"$TEST_DIR/flood.out" 2>&1 &
flood_pid=$!
track_pid "$flood_pid"
wait_until 60 flood_at_least opened $((idle + trickle)) ||
  fail "the flood tool did not open $((idle + trickle)) connections:" \
    "$(tail -n 3 "$TEST_DIR/flood.out")"
if grep -q '^SKIP' "$TEST_DIR/flood.out"; then
  log "$(grep '^SKIP' "$TEST_DIR/flood.out")"
  exit 0
fi
assert_eq 0 "$(flood_field failed)" "connections the flood tool could not open"
# All but the newest $pending were closed to make room, promptly.
wait_until 10 flood_at_most open $pending ||
  fail "node 1 holds more than $pending connections in the handshake: $(flood_line)"
grep -q "max_pending_handshakes = $pending was reached" "$node_log" ||
  fail "node 1 did not log closing the oldest connections in the handshake"
log "holding: $(flood_line)"
flood_at_least trickle_open $trickle ||
  fail "the trickling connections were closed early: $(flood_line)"

# -- a legitimate client, while the flood holds --------------------------------------------------
make_random_file "$TEST_DIR/a.bin" $((1024 * 1024))
started=$SECONDS
DFS_CLIENT_TIMEOUT=10 run_capture dfs_at 1 put "$TEST_DIR/a.bin" flood/a.bin
((RC == 0)) || fail "put during the flood (within 10 s): $(last_run)"
log "put took $((SECONDS - started)) s"
started=$SECONDS
DFS_CLIENT_TIMEOUT=10 run_capture dfs_at 1 get flood/a.bin "$TEST_DIR/a.out"
((RC == 0)) || fail "get during the flood (within 10 s): $(last_run)"
log "get took $((SECONDS - started)) s"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/a.out"
# The put and the get really ran while the flood held.
flood_at_least trickle_open $trickle ||
  fail "the flood no longer held its trickling connections after the get: $(flood_line)"

peak=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
log "node 1: RSS $rss KiB, peak $peak KiB (bound $bound_kib KiB)"
((peak < bound_kib)) || fail "node 1 peaked at $peak KiB under the flood (bound $bound_kib KiB)"

# -- the handshake timeout is counted from the connect ---------------------------------------------
wait_until $((handshake_timeout + 20)) flood_at_most open 0 ||
  fail "node 1 kept connections past [node] handshake_timeout = $handshake_timeout s: $(flood_line)"
assert_eq $trickle "$(flood_field trickle_closed)" "trickling connections closed by node 1"
longest=$(flood_field max_trickle_lifetime_ms)
((longest >= (handshake_timeout - 1) * 1000)) ||
  fail "a trickling connection was closed after $longest ms, before the handshake timeout"
((longest <= (handshake_timeout + 5) * 1000)) ||
  fail "a trickling connection lived $longest ms: one byte a second extended the handshake timeout"
timeout_line="handshake timed out: not authenticated within [node] handshake_timeout = $handshake_timeout s"
grep -qF "$timeout_line" "$node_log" || fail "node 1 did not log the handshake timeouts"
log "all closed: $(flood_line)"
kill -TERM "$flood_pid" 2>/dev/null || true

# The node is alive and still serves.
pid_alive "$pid" || fail "node 1 (pid $pid) died"
run_capture dfs_at 1 get flood/a.bin "$TEST_DIR/b.out"
((RC == 0)) || fail "get after the flood: $(last_run)"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/b.out"
log "ok"
