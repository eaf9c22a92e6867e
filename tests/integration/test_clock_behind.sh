#!/usr/bin/env bash
# A node whose clock is far behind the others' cannot bring a removed key back (README
# "Guarantees", 2 and 3): k is put and removed, and its tombstone collected (gc_grace plus
# max_clock_skew); n3 then restarts with its clock an hour back. Its hybrid clock would issue
# versions below the collected tombstone's, so a put of k through it would make k come back as
# an older write than the acknowledged rm. Its peers' heartbeats tell it that its clock is behind
# most of theirs: it refuses puts and rms (clock_skew) and says why, serves reads, and takes
# writes again once restarted with its clock right.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --replicas 3 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=2 \
  --set cluster.anti_entropy_interval=1 --set cluster.gc_grace=2 --set cluster.max_clock_skew=5

manifest_file() { # NODE KEY
  local hex
  hex=$(printf '%s' "$2" | sha256sum | cut -c1-64)
  echo "$CLUSTER_DIR/node$1/data/manifests/${hex:0:2}/$hex"
}
nobody_holds() { ! [[ -f $(manifest_file 1 "$1") || -f $(manifest_file 2 "$1") || -f $(manifest_file 3 "$1") ]]; }
put_text() { # put_text NODE KEY TEXT: exit status in RC
  printf '%s' "$3" >"$TEST_DIR/in"
  run_capture dfs_at "$1" put "$TEST_DIR/in" "$2"
}

put_text 1 k "before the rm"
((RC == 0)) || fail "put k: $(last_run)"
run_capture dfs_at 1 rm k
((RC == 0)) || fail "rm k: $(last_run)"
wait_until 60 nobody_holds k || fail "k's tombstone was not collected"
log "k was removed and its tombstone collected"

DFS_TEST_CLOCK_OFFSET=-3600 cluster_sh restart 3 >/dev/null || fail "restart of node 3 failed"
wait_until 30 grep -q "behind most of the cluster's nodes" "$CLUSTER_DIR/node3/node.log" ||
  fail "node 3, an hour behind, did not find out from its peers' heartbeats"

put_text 3 k "through the node an hour behind"
((RC != 0)) || fail "a put through the node an hour behind was acknowledged: $(last_run)"
assert_contains "$ERR" "max_clock_skew"
for node in 1 2 3; do
  if dfs_at "$node" get k "$TEST_DIR/out" >/dev/null 2>&1; then
    fail "k came back through node $node: '$(cat "$TEST_DIR/out")'"
  fi
done
nobody_holds k || fail "the refused put left a manifest of k behind"
# The others write, and the node behind serves reads but removes nothing.
put_text 1 fresh "from a node with the right clock"
((RC == 0)) || fail "put fresh through node 1: $(last_run)"
assert_get_equals 3 fresh "$TEST_DIR/in"
run_capture dfs_at 3 rm fresh
((RC != 0)) || fail "an rm through the node an hour behind was acknowledged: $(last_run)"
assert_contains "$ERR" "max_clock_skew"
assert_get_equals 1 fresh "$TEST_DIR/in"
log "the node an hour behind refused a put and an rm: $(cat "$ERR")"

cluster_sh restart 3 >/dev/null || fail "restart of node 3 with its clock right failed"
put_text 3 k "once the clock is right"
((RC == 0)) || fail "a put through node 3 with its clock right failed: $(last_run)"
assert_get_equals 1 k "$TEST_DIR/in"
log "with its clock right again node 3 takes writes"
