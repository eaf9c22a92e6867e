#!/usr/bin/env bash
# The promise of the product: with R=3, any two nodes may die at once and every acknowledged
# file stays readable; the cluster brings itself back to three copies with no operator action;
# restarted nodes neither lose nor duplicate data, and what was deleted while they were down stays
# deleted; a sixth node receives about a sixth of the data.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

# Short thresholds, so that the test takes seconds: a killed node is down after 2 s.
start_cluster 5 --chunk-size 64KiB --replicas 3 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=2 \
  --set cluster.anti_entropy_interval=1 --set cluster.gc_grace=2

status_json() { dfs_at "$1" status --json; }
under_replicated() { status_json "$1" | jq -e '.under_replicated'; }
over_replicated() { status_json "$1" | jq -e '.over_replicated'; }
member_state() { status_json "$1" | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state'; }
# For wait_until, which runs a command again and again (a "$(...)" argument would run once).
state_is() { [[ $(member_state "$1" "$2") == "$3" ]]; }
under_replicated_is() { [[ $(under_replicated "$1") == "$2" ]]; }
over_replicated_is() { [[ $(over_replicated "$1") == "$2" ]]; }
copies_of() { dfs_at "$1" stat "$2" --json | jq -e '.copies'; }

# Files of several sizes: empty, one partial chunk, exactly one chunk, many chunks. The last
# one gives the check of the sixth node's share (below) about 110 full chunks to average over:
# with only the first five (14 full-size items), a node's share fell under 0.05 by chance in
# about one run of 150 (a CI run saw 0.040).
sizes=(0 1000 65536 200000 700001 6000000)
for i in "${!sizes[@]}"; do
  make_random_file "$TEST_DIR/f$i" "${sizes[$i]}"
  run_capture dfs_at 1 put "$TEST_DIR/f$i" "heal/f$i"
  ((RC == 0)) || fail "put heal/f$i: $(last_run)"
done
make_random_file "$TEST_DIR/doomed" 150000
run_capture dfs_at 2 put "$TEST_DIR/doomed" heal/doomed
((RC == 0)) || fail "put heal/doomed: $(last_run)"

# Two nodes die at once.
log "SIGKILL nodes 4 and 5"
cluster_sh kill 4 >/dev/null
cluster_sh kill 5 >/dev/null
started=$SECONDS

# Every file reads back, byte for byte, through each survivor, even before any repair.
for node in 1 2 3; do
  for i in "${!sizes[@]}"; do
    run_capture dfs_at "$node" get "heal/f$i" "$TEST_DIR/out"
    ((RC == 0)) || fail "get heal/f$i through node $node after two deaths: $(last_run)"
    assert_files_equal "$TEST_DIR/f$i" "$TEST_DIR/out"
  done
done

wait_until 30 state_is 1 n4 down || fail "n4 never became down: $(status_json 1)"
wait_until 60 under_replicated_is 1 0 ||
  fail "under_replicated never reached 0 after two deaths: $(status_json 1)"
log "repaired: under_replicated 0 about $((SECONDS - started)) s after the kill"
for i in "${!sizes[@]}"; do
  copies=$(copies_of 2 "heal/f$i")
  assert_eq 3 "$copies" "copies of heal/f$i on live nodes after repair"
done

# A delete while two nodes are down must stay deleted when they come back with old copies.
run_capture dfs_at 3 rm heal/doomed
((RC == 0)) || fail "rm heal/doomed while two nodes are down: $(last_run)"

log "restarting nodes 4 and 5"
cluster_sh restart 4 >/dev/null
cluster_sh restart 5 >/dev/null
for n in n4 n5; do
  wait_until 30 state_is 1 "$n" up || fail "$n did not come back up: $(status_json 1)"
done
wait_until 60 over_replicated_is 1 0 ||
  fail "surplus copies were not removed after the restart: $(status_json 1)"
wait_until 60 under_replicated_is 1 0 || fail "under-replicated after the restart: $(status_json 1)"
for node in 4 5; do
  run_capture dfs_at "$node" get heal/doomed "$TEST_DIR/out"
  ((RC == 1)) || fail "heal/doomed came back through node $node after rm: $(last_run)"
  assert_contains "$ERR" "not found" "stderr of get heal/doomed"
  for i in "${!sizes[@]}"; do
    run_capture dfs_at "$node" get "heal/f$i" "$TEST_DIR/out"
    ((RC == 0)) || fail "get heal/f$i through restarted node $node: $(last_run)"
    assert_files_equal "$TEST_DIR/f$i" "$TEST_DIR/out"
  done
done
dfs_at 4 ls | grep -q heal/doomed && fail "ls through node 4 lists heal/doomed after rm"

# A sixth node joins and receives about a sixth of the data.
before=$(status_json 1 | jq '[.members[].bytes] | add')
cluster_sh add >/dev/null || fail "cluster.sh add failed"
n6_holds_data() { (($(status_json 1 | jq '.members[] | select(.name == "n6") | .chunks') > 0)); }
wait_until 60 n6_holds_data || fail "the sixth node received no data: $(status_json 1)"
wait_until 60 over_replicated_is 1 0 || fail "surplus copies remain after the join: $(status_json 1)"
wait_until 60 under_replicated_is 1 0 || fail "under-replicated after the join: $(status_json 1)"
json=$(status_json 1)
n6_bytes=$(jq '.members[] | select(.name == "n6") | .bytes' <<<"$json")
all_bytes=$(jq '[.members[].bytes] | add' <<<"$json")
((n6_bytes > 0)) || fail "the sixth node received nothing: $json"
fraction=$(awk -v a="$n6_bytes" -v b="$all_bytes" 'BEGIN { printf "%.3f", a / b }')
log "the sixth node holds $n6_bytes of $all_bytes bytes (fraction $fraction, ideal 0.167; before: $before)"
awk -v f="$fraction" 'BEGIN { exit !(f >= 0.05 && f <= 0.35) }' ||
  fail "the sixth node's share $fraction is far from 1/6"
for i in "${!sizes[@]}"; do
  assert_get_equals 6 "heal/f$i" "$TEST_DIR/f$i"
done
log "ok"
