#!/usr/bin/env bash
# Repair goes on while members flap. Nodes 3 and 5 are paused and resumed in turn, each for
# less than down_after, so that at every moment one of them is suspect and neither is ever
# down; meanwhile node 4 is killed for good. Node 1 and node 2, which stay up, must rebuild the
# copies node 4 held on themselves while the flapping lasts (passes that waited until no member
# was suspect never ran), the flapping nodes must never be declared down, and every file must
# read back. That nothing
# is copied to a suspect member and nothing removed meanwhile is checked by the unit suites
# repair_planner and replication.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Suspect after 1 s of silence, down after 6 s: a node paused 3 s at a time only flaps, with
# room for a slow (sanitizer) build.
start_cluster 5 --chunk-size 64KiB --replicas 3 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=6 \
  --set cluster.anti_entropy_interval=1

# About 50 chunks, so that node 1 and node 2 are owed copies of several of node 4's.
sizes=(1000 65536 200000 700001 2300000)
for i in "${!sizes[@]}"; do
  make_random_file "$TEST_DIR/f$i" "${sizes[$i]}"
  run_capture dfs_at 1 put "$TEST_DIR/f$i" "flap/f$i"
  ((RC == 0)) || fail "put flap/f$i: $(last_run)"
done

# Checked on disk, since a node's view of the others (dfs status) leaves out a suspect member.
chunk_files() {
  local i
  for i in "$@"; do
    find "$CLUSTER_DIR/node$i/data/chunks" -type f -regextype posix-extended -regex '.*/[0-9a-f]{64}'
  done
}
chunk_path() { echo "$CLUSTER_DIR/node$1/data/chunks/${2:0:2}/${2:2:2}/$2"; }
# The rendezvous score of node $2 for chunk $1 (actors/placement.cpp), as 16 hex digits.
score() { { xxd -r -p <<<"$1" && head -c 32 "$CLUSTER_DIR/node$2/data/node.id"; } | sha256sum | cut -c1-16; }
# node 1 and node 2 stay up. Where a chunk one of them holds must be once node 4's copies are
# rebuilt around the flapping nodes: on each of its targets (the first 3 of the survivors in
# rendezvous order, the suspect ones ranked too) that is node 1 or node 2. (A chunk only the
# flapping nodes hold can be copied only by them, in their short windows.)
owed=()
for id in $(chunk_files 1 2 | sed 's#.*/##' | sort -u); do
  while read -r _ n; do
    ((n <= 2)) && owed+=("$(chunk_path "$n" "$id")")
  done < <(for node in 1 2 3 5; do echo "$(score "$id" "$node") $node"; done | sort -r | head -n 3)
done
missing_copies() {
  local f count=0
  for f in "${owed[@]}"; do
    [[ -f $f ]] || ((++count))
  done
  echo "$count"
}
steady_targets_hold_all() { (($(missing_copies) == 0)); }
((${#owed[@]} > 0)) || fail "no chunk files found under $CLUSTER_DIR"
((${#owed[@]} > $(missing_copies))) || fail "the check of copies is broken: nothing is in place"

n3_pid=$(node_pid 3)
n5_pid=$(node_pid 5)
[[ -n $n3_pid && -n $n5_pid ]] || fail "no pid for node 3 or node 5"
# The flapping: each node is resumed for 0.2 s and paused for 3 s, node 5 half a cycle after
# node 3, so one is always silent for more than suspect_after. On TERM both are resumed (the
# trap runs once the current sleep ends), so the cluster can stop.
(
  trap 'kill -CONT "$n3_pid" "$n5_pid" 2>/dev/null; exit 0' TERM
  kill -STOP "$n5_pid"
  while :; do
    kill -CONT "$n3_pid" && sleep 0.2 && kill -STOP "$n3_pid" && sleep 1.4 || exit 0
    kill -CONT "$n5_pid" && sleep 0.2 && kill -STOP "$n5_pid" && sleep 1.4 || exit 0
  done
) &
flapper=$!
track_pid "$flapper"
at_exit kill -CONT "$n3_pid" "$n5_pid"

log "nodes 3 and 5 flap; SIGKILL node 4"
cluster_sh kill 4 >/dev/null
started=$SECONDS
n4_down() { grep -q "member n4 is down" "$CLUSTER_DIR/node1/node.log"; }
# (Nothing moves while n4 is only suspect: it keeps its place in the ranking.)
before=$(missing_copies)
((before > 0)) || fail "node 4 held no chunk that node 1 or node 2 is now a target of"
wait_until 20 n4_down || fail "node 1 never saw n4 down"
wait_until 45 steady_targets_hold_all ||
  fail "$(missing_copies) of the $before copies node 1 and node 2 lacked were not made while n3 and n5 flapped"
log "repaired while n3 and n5 flapped, about $((SECONDS - started)) s after the kill"
for n in n3 n5; do
  grep -q "member $n is suspect" "$CLUSTER_DIR/node1/node.log" || fail "$n never looked suspect"
  grep -q "member $n is down" "$CLUSTER_DIR/node1/node.log" &&
    fail "$n went down: the flapping was too slow for this test"
done

kill -TERM "$flapper"
wait "$flapper" 2>/dev/null || true
kill -CONT "$n3_pid" "$n5_pid"
for i in "${!sizes[@]}"; do
  assert_get_equals 2 "flap/f$i" "$TEST_DIR/f$i"
done
log "ok"
