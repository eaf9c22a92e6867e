#!/usr/bin/env bash
# `dfs decommission` moves a node's data to the others while clients keep reading and writing:
# the node shows as leaving, then left; it ends up holding nothing; no client operation fails.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

start_cluster 4 --chunk-size 64KiB --replicas 3 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=3 --set cluster.anti_entropy_interval=1

status_json() { dfs_at "$1" status --json; }
member_field() { status_json "$1" | jq -r --arg n "$2" ".members[] | select(.name == \$n) | .$3"; }
state_is() { [[ $(member_field "$1" "$2" state) == "$3" ]]; }
under_replicated_is() { [[ $(status_json "$1" | jq '.under_replicated') == "$2" ]]; }

for i in 1 2 3 4 5 6; do
  make_random_file "$TEST_DIR/f$i" $((i * 70000))
  run_capture dfs_at 1 put "$TEST_DIR/f$i" "decom/f$i"
  ((RC == 0)) || fail "put decom/f$i: $(last_run)"
done
held=$(member_field 1 n4 chunks)
((held > 0)) || fail "n4 holds no chunks before the decommission; the test would prove nothing"

# Clients keep working through nodes 1..3 while n4 leaves: a bounded loop of puts and gets in
# the background, each result written down.
client_load() {
  local round node
  for round in $(seq 1 40); do
    node=$((round % 3 + 1))
    dfs_at "$node" put "$TEST_DIR/f$((round % 6 + 1))" "decom/load$round" >/dev/null 2>>"$TEST_DIR/load.err" ||
      echo "put decom/load$round through node $node failed" >>"$TEST_DIR/load.failures"
    dfs_at "$node" get "decom/f$((round % 6 + 1))" "$TEST_DIR/load.out.$round" 2>>"$TEST_DIR/load.err" ||
      echo "get decom/f$((round % 6 + 1)) through node $node failed" >>"$TEST_DIR/load.failures"
    cmp -s "$TEST_DIR/f$((round % 6 + 1))" "$TEST_DIR/load.out.$round" ||
      echo "get decom/f$((round % 6 + 1)) through node $node returned other bytes" >>"$TEST_DIR/load.failures"
  done
}
client_load &
load_pid=$!
track_pid "$load_pid"

run_capture dfs_at 2 decommission n4
((RC == 0)) || fail "dfs decommission n4: $(last_run)"
wait_until 20 state_is 1 n4 leaving || state_is 1 n4 left || fail "n4 never showed as leaving: $(status_json 1)"
wait_until 60 state_is 1 n4 left || fail "n4 never showed as left: $(status_json 1)"
wait "$load_pid" || true
[[ ! -s $TEST_DIR/load.failures ]] ||
  fail "client operations failed during the decommission: $(cat "$TEST_DIR/load.failures") $(head -c 1000 "$TEST_DIR/load.err" 2>/dev/null)"

assert_eq 0 "$(member_field 1 n4 chunks)" "chunks n4 holds after it left"
wait_until 30 under_replicated_is 1 0 || fail "under-replicated after the decommission: $(status_json 1)"
for node in 1 2 3; do
  for i in 1 2 3 4 5 6; do
    run_capture dfs_at "$node" get "decom/f$i" "$TEST_DIR/out"
    ((RC == 0)) || fail "get decom/f$i through node $node after n4 left: $(last_run)"
    assert_files_equal "$TEST_DIR/f$i" "$TEST_DIR/out"
  done
done
log "ok: n4 held $held chunks, handed them over and left while 40 puts and 40 gets succeeded"
