#!/usr/bin/env bash
# One byte flipped in flight (bin/dfs-relay between the two ends) makes that connection fail
# closed: the operation fails with an error within a deadline or succeeds through another
# replica, nothing corrupt is stored or returned, the node says why in its log and keeps
# serving. Three places:
#   1. client -> node, during a 1 MiB put;
#   2. node -> client, during a 1 MiB get;
#   3. node -> node, during a put with R=3/W=2: node 1's only bootstrap address is a relay in
#      front of node 2, and node 1 has the smallest node id, so the connection node 1 dials
#      (through the relay) is the one both keep (membership's rule for parallel connections).
#      The put succeeds through the other replicas and, once repaired, each replica alone
#      serves identical bytes. (Node 1 also redials the relay's address every few seconds, as
#      it never matches node 2's advertised address, and each new connection replaces the
#      last; a bootstrap entry like localhost:PORT for a node listening on 127.0.0.1 does the
#      same.)
# Known bug, marked below: after a replica's connection fails mid-put, the put waits 30 s per
# remaining request to that replica, so part 3 fails at the client's 60 s deadline.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RELAY_BIN=$DFS_BIN_DIR/dfs-relay
[[ -x $RELAY_BIN ]] || fail "$RELAY_BIN is missing (build the dfs-relay target)"

# Node 1's id sorts first (see 3.); the others' are random.
mkdir -p "$TEST_DIR/cluster/node1/data"
echo 00000000000000000000000000000001 >"$TEST_DIR/cluster/node1/data/node.id"
start_cluster 3 --chunk-size 64KiB --set cluster.anti_entropy_interval=2


# start_relay NAME PORT TARGET [dfs-relay options...]: a relay on 127.0.0.1:PORT, logging to
# $TEST_DIR/NAME.log; its pid in RELAY_PID.
RELAY_PID=""
start_relay() {
  local name=$1 port=$2 target=$3
  shift 3
  "$RELAY_BIN" --listen "127.0.0.1:$port" --target "$target" "$@" \
    >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.log" &
  RELAY_PID=$!
  track_pid "$RELAY_PID"
  wait_until 10 grep -q "listening on" "$TEST_DIR/$name.out" ||
    fail "$name did not start: $(cat "$TEST_DIR/$name.log")"
}
pid_gone() { ! pid_alive "$1"; }
# stop_relay PID NAME: SIGTERM, and the relay must exit cleanly (0) within 10 s.
stop_relay() {
  local pid=$1 name=$2 rc=0
  kill -TERM "$pid"
  wait_until 10 pid_gone "$pid" || fail "$name did not exit within 10 s of SIGTERM"
  wait "$pid" || rc=$?
  assert_eq 0 "$rc" "exit code of $name after SIGTERM"
}
# via PORT ARGS...: the client through the relay on PORT.
via() {
  local port=$1
  shift
  timeout 60 "$DFS_CLI" --node "127.0.0.1:$port" --secret-file "$SECRET_FILE" "$@"
}
# A failed operation: exit 1 (not a hang: 124 is timeout's) with one "dfs: ..." sentence.
assert_clean_failure() {
  local what=$1
  ((RC != 124)) || fail "$what hung (killed after 60 s): $(last_run)"
  assert_eq 1 "$RC" "exit code of $what ($(last_run))"
  grep -q '^dfs: ..' "$ERR" || fail "$what failed without a 'dfs: ...' message: $(last_run)"
}
# count_lines FILE PATTERN: the lines of FILE matching PATTERN (extended regex).
count_lines() { grep -c -E -- "$2" "$1" || true; }
# grows FILE PATTERN BEFORE: FILE has more lines matching PATTERN than BEFORE.
grows() { (($(count_lines "$1" "$2") > $3)); }
# has_copies KEY N: `dfs stat` through node 1 counts N copies of KEY.
has_copies() { [[ $(dfs_at 1 stat "$1" --json | json_field copies) == "$2" ]]; }
TAMPER_LINE='altered in transit|did not authenticate|bad record mac'

make_random_file "$TEST_DIR/a.bin" $((1024 * 1024))
make_random_file "$TEST_DIR/b.bin" $((1024 * 1024))
make_random_file "$TEST_DIR/c.bin" $((1024 * 1024))

# -- 1. client -> node: a byte of the put's data flipped --------------------------------------
extra_port P1
n1_before=$(count_lines "$CLUSTER_DIR/node1/node.log" "$TAMPER_LINE")
start_relay relay1 "$P1" "$(node_addr 1)" --flip c2s:5000 --flip-connections 1
relay1=$RELAY_PID
run_capture via "$P1" put "$TEST_DIR/a.bin" tamper/a.bin
grep -q "flipped" "$TEST_DIR/relay1.log" || fail "relay1 flipped no byte: $(cat "$TEST_DIR/relay1.log")"
if ((RC == 0)); then
  log "1. the tampered put succeeded (through a retry)"
else
  assert_clean_failure "a put whose bytes were altered in transit"
  log "1. the tampered put failed: $(head -n 1 "$ERR")"
fi
wait_until 20 grows "$CLUSTER_DIR/node1/node.log" "$TAMPER_LINE" "$n1_before" ||
  fail "node 1 did not log that a TLS record was altered: $(tail -n 5 "$CLUSTER_DIR/node1/node.log")"
log "1. node 1: $(grep -E -- "$TAMPER_LINE" "$CLUSTER_DIR/node1/node.log" | tail -n 1)"
node_alive 1 || fail "node 1 died after a tampered connection"
# Through another node: the same bytes, or nothing at all.
run_capture dfs_at 2 get tamper/a.bin "$TEST_DIR/a.out"
if ((RC == 0)); then
  assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/a.out"
else
  assert_eq 1 "$RC" "exit code of a get after a tampered put ($(last_run))"
  assert_contains "$ERR" "not found" "stderr of a get after a tampered put"
  [[ ! -e $TEST_DIR/a.out ]] || fail "a failed get left $TEST_DIR/a.out behind"
fi
# The relay flips once: the same path, clean now, works.
run_capture via "$P1" put "$TEST_DIR/a.bin" tamper/a.bin
((RC == 0)) || fail "a clean put through relay1 after the tampered one: $(last_run)"
run_capture dfs_at 3 get tamper/a.bin "$TEST_DIR/a.out"
((RC == 0)) || fail "get through node 3: $(last_run)"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/a.out"
stop_relay "$relay1" relay1

# -- 2. node -> client: a byte of the get's data flipped --------------------------------------
extra_port P2
n2_before=$(count_lines "$CLUSTER_DIR/node2/node.log" "$TAMPER_LINE")
start_relay relay2 "$P2" "$(node_addr 2)" --flip s2c:5000 --flip-connections 1
relay2=$RELAY_PID
run_capture via "$P2" get tamper/a.bin "$TEST_DIR/a2.out"
grep -q "flipped" "$TEST_DIR/relay2.log" || fail "relay2 flipped no byte: $(cat "$TEST_DIR/relay2.log")"
assert_clean_failure "a get whose bytes were altered in transit"
log "2. the tampered get failed: $(head -n 1 "$ERR")"
grep -qiE -- "$TAMPER_LINE" "$ERR" || fail "the client did not say that bytes were altered in transit: $(last_run)"
[[ ! -e $TEST_DIR/a2.out ]] || fail "a get that failed on altered bytes left $TEST_DIR/a2.out behind"
compgen -G "$TEST_DIR/.a2.out.*" >/dev/null && fail "a get that failed left a temporary file: $(ls -a "$TEST_DIR")"
# Node 2 hears of it only if the client's TLS alert arrives before the client's close resets
# the connection: the client closes with node 2's stream still unread, so the kernel sends a
# reset that may discard the alert. Reported when seen; not a condition of the test (it failed
# 1 run in about 10 on a loaded machine, with node 2 behaving correctly).
if wait_until 5 grows "$CLUSTER_DIR/node2/node.log" "$TAMPER_LINE" "$n2_before"; then
  log "2. node 2 logged the client's alert"
else
  log "2. node 2 did not see the client's alert (the connection was reset first)"
fi
log "2. node 2: $(grep -E -- "$TAMPER_LINE" "$CLUSTER_DIR/node2/node.log" | tail -n 1 || true)"
node_alive 2 || fail "node 2 died after a tampered connection"
run_capture via "$P2" get tamper/a.bin "$TEST_DIR/a2.out"
((RC == 0)) || fail "a clean get through relay2 after the tampered one: $(last_run)"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/a2.out"
stop_relay "$relay2" relay2

# -- 3. node -> node: a byte flipped on node 1's link to node 2 during a put --------------------
# Everything so far is fully replicated, so the link carries only heartbeats, gossip and
# inventories (far less than 300000 bytes per connection) until the put.
wait_until 60 has_copies tamper/a.bin 3 ||
  fail "tamper/a.bin never reached 3 copies"
extra_port P3
start_relay relay3 "$P3" "$(node_addr 2)" --flip c2s:300000 --flip-connections 1
relay3=$RELAY_PID
sed -i "s|^bootstrap = .*|bootstrap = 127.0.0.1:$P3|" "$CLUSTER_DIR/node1/node.ini"
# Node 1 also remembers node 2's own address in its saved roster and would dial it directly
# beside the relay: without the roster, the relay is the only address node 1 has for node 2.
rm -f "$CLUSTER_DIR/node1/data/roster"
cluster_sh restart 1 >"$TEST_DIR/restart.out" 2>&1 || fail "restarting node 1: $(cat "$TEST_DIR/restart.out")"
# Node 1 reaches node 2 through the relay. (Node 1 redials the relay's address every few seconds,
# as it never matches node 2's advertised address, and each new connection replaces the last:
# the put below goes through one of them.)
wait_until 30 grep -q "connection 1 from" "$TEST_DIR/relay3.log" ||
  fail "node 1 never dialed node 2 through relay3: $(cat "$TEST_DIR/relay3.log")"
n2_before=$(count_lines "$CLUSTER_DIR/node2/node.log" "$TAMPER_LINE")
# Right after the restart node 1 may still use a direct connection to node 2 (dialed by either
# side before the relay's): then the put goes through untouched, and the next one is tried.
for attempt in 1 2 3; do
  run_capture dfs_at 1 put "$TEST_DIR/b.bin" tamper/b.bin
  grep -q "flipped" "$TEST_DIR/relay3.log" && break
  ((RC == 0)) || fail "a put with no byte flipped failed: $(last_run)"
  log "3. put $attempt did not pass relay3 (node 1 still used a direct connection to node 2)"
done
grep -q "flipped" "$TEST_DIR/relay3.log" ||
  fail "relay3 flipped no byte: node 1's data for node 2 did not pass the relay ($(cat "$TEST_DIR/relay3.log"))"
# A replica whose link failed is not asked again during the put, and its requests in flight
# fail at once: the put must not wait out request timeouts (30 s each) on the dead link.
((RC != 124)) ||
  fail "a put with R=3/W=2 hung past the client's 60 s deadline after one replica's link failed" \
    "($(grep -c 'did not answer in time' "$CLUSTER_DIR/node1/node.log") replica requests timed out" \
    "in $CLUSTER_DIR/node1/node.log)"
((RC == 0)) || fail "a put with R=3/W=2 failed although only one replica's link was tampered with: $(last_run)"
log "3. the put succeeded: $(cat "$OUT")"
wait_until 20 grows "$CLUSTER_DIR/node2/node.log" "$TAMPER_LINE" "$n2_before" ||
  fail "node 2 did not log the altered record from node 1: $(tail -n 5 "$CLUSTER_DIR/node2/node.log")"
log "3. node 2: $(grep -E -- "$TAMPER_LINE" "$CLUSTER_DIR/node2/node.log" | tail -n 1)"
for i in 1 2 3; do
  node_alive "$i" || fail "node $i died after a tampered link between nodes"
done
# From here on node 1 reaches node 2 directly (it learnt node 2's address from its hello).
stop_relay "$relay3" relay3
# Repair brings the third copy; then each replica alone must serve the same bytes.
wait_until 90 has_copies tamper/b.bin 3 ||
  fail "tamper/b.bin never reached 3 copies: $(dfs_at 1 stat tamper/b.bin 2>&1)"
for i in 1 2 3; do
  others=()
  for j in 1 2 3; do
    ((j == i)) || others+=("$j")
  done
  for j in "${others[@]}"; do
    cluster_sh kill "$j" >/dev/null || fail "could not kill node $j"
  done
  rm -f "$TEST_DIR/b.out"
  run_capture dfs_at "$i" get tamper/b.bin "$TEST_DIR/b.out"
  ((RC == 0)) || fail "node $i alone could not serve tamper/b.bin: $(last_run)"
  assert_files_equal "$TEST_DIR/b.bin" "$TEST_DIR/b.out"
  log "3. node $i's copy reads back identical"
  for j in "${others[@]}"; do
    cluster_sh restart "$j" >"$TEST_DIR/restart.out" 2>&1 ||
      fail "restarting node $j: $(cat "$TEST_DIR/restart.out")"
  done
done
# And the cluster keeps serving.
run_capture dfs_at 1 put "$TEST_DIR/c.bin" tamper/c.bin
((RC == 0)) || fail "a put after the tampering: $(last_run)"
run_capture dfs_at 2 get tamper/c.bin "$TEST_DIR/c.out"
((RC == 0)) || fail "a get after the tampering: $(last_run)"
assert_files_equal "$TEST_DIR/c.bin" "$TEST_DIR/c.out"
log "ok"
