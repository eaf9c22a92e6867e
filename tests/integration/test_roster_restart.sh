#!/usr/bin/env bash
# What was removed stays removed across restarts, and a decommission sticks:
#  1. n3 holds f and is away; f is removed; n1 and n2 stop and start again while n3 is still away. They still
#     count n3 (data_dir/roster), so f's tombstone waits for it however long it is away; when n3
#     is back, f stays removed and, once the tombstone reaches n3, nobody holds f's chunks.
#  2. n3 is decommissioned while it is down, g is removed, n1 and n2 restart and collect g's
#     tombstone; n3 starts again: it is refused (both sides say so) and g does not come back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

grace=2
start_cluster 3 --chunk-size 64KiB --replicas 3 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=2 \
  --set cluster.anti_entropy_interval=1 --set cluster.gc_grace=$grace \
  --set cluster.max_clock_skew=1 # one machine, one clock: tombstones wait gc_grace + 1 s

files_under() { find "$CLUSTER_DIR/node$1/data/$2" -type f 2>/dev/null | wc -l; }
holds_nothing() { (($(files_under "$1" chunks) == 0 && $(files_under "$1" manifests) == 0)); }
nobody_holds_anything() { holds_nothing 1 && holds_nothing 2 && holds_nothing 3; }
member_state() { dfs_at "$1" status --json | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state'; }
state_is() { [[ $(member_state "$1" "$2") == "$3" ]]; }
stop_node() {
  kill -TERM "$(node_pid "$1")"
  wait_until 20 bash -c "! kill -0 $(node_pid "$1") 2>/dev/null" || fail "node $1 did not stop"
}
# Both at once: one after the other, each would learn the roster back from the other.
restart_1_and_2() {
  stop_node 1
  stop_node 2
  cluster_sh restart 1 >/dev/null || fail "restarting node 1 failed"
  cluster_sh restart 2 >/dev/null || fail "restarting node 2 failed"
}
# not_there KEY: get through every running node fails with not_found, ls does not list KEY.
not_there() {
  local node
  for node in 1 2; do
    run_capture dfs_at "$node" get "$1" "$TEST_DIR/out"
    ((RC != 0)) || fail "$1 is back: get through node $node succeeded"
    assert_contains "$ERR" "not found" "get $1 through node $node"
    run_capture dfs_at "$node" ls
    ((RC == 0)) || fail "ls through node $node: $(last_run)"
    ! grep -q "$1" "$OUT" || fail "$1 is back: ls through node $node lists it: $(cat "$OUT")"
  done
}

# -- 1. a tombstone outlives restarts while a holder of the old version is away ----------------
make_random_file "$TEST_DIR/f" 200000
run_capture dfs_at 1 put "$TEST_DIR/f" f
((RC == 0)) || fail "put f: $(last_run)"
(($(files_under 3 chunks) > 0)) || fail "n3 holds none of f's chunks; the test would prove nothing"
stop_node 3
run_capture dfs_at 1 rm f
((RC == 0)) || fail "rm f: $(last_run)"
restart_1_and_2
wait_until 10 state_is 1 n3 down || fail "n1 does not see n3 down after its restart: $(dfs_at 1 status --json)"
# Well past gc_grace, with passes running (n3 is down: repair runs, collection must wait).
if wait_until $((grace * 4)) bash -c "(( \$(find '$CLUSTER_DIR/node1/data/manifests' -type f | wc -l) == 0 ))"; then
  fail "n1 collected f's tombstone while n3, which holds f, was away"
fi
log "f's tombstone outlived the restarts of n1 and n2 ($((grace * 4)) s, gc_grace $grace s)"
cluster_sh restart 3 >/dev/null || fail "restarting node 3 failed"
wait_until 60 nobody_holds_anything ||
  fail "f's chunks or tombstone are still held: n1 $(files_under 1 chunks)/$(files_under 1 manifests)," \
    "n2 $(files_under 2 chunks)/$(files_under 2 manifests), n3 $(files_under 3 chunks)/$(files_under 3 manifests)"
not_there f
log "ok: f stayed removed after n3 came back, and no node holds its chunks"

# -- 2. a decommission of a down node survives the restarts of the others --------------------
make_random_file "$TEST_DIR/g" 200000
run_capture dfs_at 1 put "$TEST_DIR/g" g
((RC == 0)) || fail "put g: $(last_run)"
(($(files_under 3 chunks) > 0)) || fail "n3 holds none of g's chunks; the test would prove nothing"
stop_node 3
wait_until 10 state_is 1 n3 down || fail "n1 does not see n3 down: $(dfs_at 1 status --json)"
run_capture dfs_at 1 decommission n3
((RC == 0)) || fail "decommission n3: $(last_run)"
run_capture dfs_at 1 rm g
((RC == 0)) || fail "rm g: $(last_run)"
restart_1_and_2
state_is 1 n3 left || fail "n1 forgot that n3 was decommissioned: $(dfs_at 1 status --json)"
wait_until 30 bash -c "(( \$(find '$CLUSTER_DIR/node1/data/manifests' '$CLUSTER_DIR/node2/data/manifests' -type f | wc -l) == 0 ))" ||
  fail "g's tombstone was not collected although n3 left"
# n3 comes back (not through cluster.sh, which would wait for it to be up).
n3_log=$CLUSTER_DIR/node3/node.log
setsid "$DFS_BIN_DIR/dfs-node" --config "$CLUSTER_DIR/node3/node.ini" </dev/null >>"$n3_log" 2>&1 &
echo $! >"$CLUSTER_DIR/node3/node.pid"
track_pid "$(node_pid 3)"
wait_until 20 grep -q "this node, n3 .* was decommissioned; the cluster refuses it" "$n3_log" ||
  fail "n3 was not told it was decommissioned"
grep -q "node n3 (id .*) was decommissioned; it is refused. To reuse the machine, empty its data_dir" \
  "$CLUSTER_DIR/node1/node.log" "$CLUSTER_DIR/node2/node.log" || fail "no node logged the refusal of n3"
state_is 1 n3 left || fail "n3 is back as a member: $(dfs_at 1 status --json)"
# A few passes with n3 running: g must not come back.
wait_until 5 bash -c "(( \$(find '$CLUSTER_DIR/node1/data/manifests' '$CLUSTER_DIR/node2/data/manifests' -type f | wc -l) > 0 ))" &&
  fail "g's manifest came back from the decommissioned n3"
not_there g
log "ok: the decommissioned n3 was refused after the others restarted, and g stayed removed"
