#!/usr/bin/env bash
# Clocks never make an acknowledged write invisible (README "Versions"):
#  1. a node restarted with its clock set back 30 s starts its clock past the versions its store
#     holds: a new key put through it gets a newer version than one it wrote before, and a put
#     of an old key through it is the newest version;
#  2. with one node's clock an hour ahead (DFS_TEST_CLOCK_OFFSET, for tests only), its versions
#     are refused by the others ([cluster] max_clock_skew, 60 s), and a later put or rm through
#     a normal node is either the visible newest version or fails with a clear error: never
#     acknowledged and invisible. Node 1 restarts before it writes, so that its clock cannot
#     have followed node 2's from an earlier message.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Two nodes, R = 2: every manifest is meant for both. W = 1: a write one of them takes is
# acknowledged, as the fast node's own put is.
start_cluster 2 --replicas 2 --write-quorum 1

version_of() { # version_of NODE KEY: the hlc of the newest version of KEY, through NODE
  dfs_at "$1" stat "$2" | sed -n 's/^version: \([0-9]*\)@.*/\1/p'
}
put_text() { # put_text NODE KEY TEXT: puts TEXT as KEY through NODE; exit status in RC
  printf '%s' "$3" >"$TEST_DIR/in"
  run_capture dfs_at "$1" put "$TEST_DIR/in" "$2"
}
content_is() { # content_is NODE KEY TEXT
  dfs_at "$1" get "$2" "$TEST_DIR/out" >/dev/null 2>&1 && [[ $(cat "$TEST_DIR/out") == "$3" ]]
}

# -- 1. a restart with the clock set back ------------------------------------------------------
put_text 1 back/k "before the restart"
((RC == 0)) || fail "put back/k: $(last_run)"
old=$(version_of 1 back/k)
[[ -n $old ]] || fail "no version for back/k: $(dfs_at 1 stat back/k 2>&1)"
DFS_TEST_CLOCK_OFFSET=-30 cluster_sh restart 1 >/dev/null || fail "restart of node 1 failed"
put_text 1 back/new "a new key"
((RC == 0)) || fail "put back/new after the restart: $(last_run)"
new=$(version_of 1 back/new)
((new > old)) || fail "node 1 issued version $new after its restart, older than its $old: its clock was not seeded from its store"
put_text 1 back/k "after the restart"
((RC == 0)) || fail "put back/k after the restart: $(last_run)"
for node in 1 2; do
  content_is "$node" back/k "after the restart" ||
    fail "the put of back/k after the restart is not the newest version through node $node: $(cat "$TEST_DIR/out")"
done
log "a restart with the clock 30 s back issued newer versions (seeded from the store)"

# -- 2. one node an hour ahead -------------------------------------------------------------------
DFS_TEST_CLOCK_OFFSET=3600 cluster_sh restart 2 >/dev/null || fail "restart of node 2 failed"
put_text 2 fast/k "from the fast node"
((RC == 0)) || fail "put fast/k through the fast node (its own store takes it, W = 1): $(last_run)"
# Node 1 refused the far-future manifest: the fast node's log says why.
wait_until 10 grep -q "max_clock_skew" "$CLUSTER_DIR/node2/node.log" ||
  fail "the fast node's put was not refused by node 1 for its clock"
cluster_sh restart 1 >/dev/null || fail "restart of node 1 failed"
put_text 1 fast/k "later, from a normal node"
if ((RC == 0)); then
  content_is 1 fast/k "later, from a normal node" ||
    fail "the later put through node 1 was acknowledged but is invisible: get gives '$(cat "$TEST_DIR/out")'"
  log "the later put is the newest version"
else
  assert_contains "$ERR" "max_clock_skew"
  log "the later put failed and said why: $(cat "$ERR")"
fi
run_capture dfs_at 1 rm fast/k
if ((RC == 0)); then
  if dfs_at 1 get fast/k "$TEST_DIR/out" >/dev/null 2>&1; then
    fail "rm fast/k was acknowledged but the key still reads back: '$(cat "$TEST_DIR/out")'"
  fi
  log "rm removed the key"
else
  assert_contains "$ERR" "max_clock_skew"
  log "rm failed and said why: $(cat "$ERR")"
fi
