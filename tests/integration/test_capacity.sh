#!/usr/bin/env bash
# [storage] capacity is enforced: a full node is skipped by placement (the put goes to the next
# node in rendezvous order), keeps serving reads, and `dfs status` shows used and capacity per
# member; when too few nodes have room, the put fails with "no space on node ...", leaves no
# temporary file and no manifest behind, and everything stored before still reads back.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

start_cluster 3 --chunk-size 64KiB --replicas 2 --write-quorum 2

# set_capacity I BYTES: restarts node I with that capacity.
set_capacity() {
  printf '\n[storage]\ncapacity = %s\n' "$2" >>"$CLUSTER_DIR/node$1/node.ini"
  cluster_sh restart "$1" >/dev/null || fail "restart of node $1 failed"
}
member() { dfs_at 1 status --json | jq -c --arg n "$1" '.members[] | select(.name == $n)'; }
chunk_count() { find "$CLUSTER_DIR/node$1/data/chunks" -type f | wc -l; }
tmp_count() { find "$CLUSTER_DIR"/node*/data/tmp -type f | wc -l; }

# -- a full node is skipped ---------------------------------------------------------------------
set_capacity 2 1KiB # smaller than any chunk: n2 takes nothing
make_random_file "$TEST_DIR/one.bin" $((16 * 65536))
run_capture dfs_at 1 put "$TEST_DIR/one.bin" cap/one.bin
((RC == 0)) || fail "put with a full node among three (R=2): $(last_run)"
assert_contains "$OUT" "2 copies" "put's answer"
assert_eq 0 "$(chunk_count 2)" "chunks on the full node n2"
n2=$(member n2)
assert_eq 1024 "$(jq .capacity <<<"$n2")" "n2's capacity in status"
assert_eq 0 "$(jq .used <<<"$n2")" "n2's used bytes in status"
n1=$(member n1)
assert_eq 0 "$(jq .capacity <<<"$n1")" "n1's capacity in status (no limit)"
(($(jq .used <<<"$n1") == $(jq .bytes <<<"$n1") && $(jq .used <<<"$n1") > 0)) ||
  fail "n1's used bytes in status: $n1"
grep -q "no space on node n2" "$CLUSTER_DIR/node1/node.log" ||
  fail "node 1 did not log that n2 had no space"
dfs_at 1 status | grep -E '^n2 .*1\.0 KiB' >/dev/null || fail "dfs status shows no capacity for n2: $(dfs_at 1 status)"
# The full node serves reads.
run_capture dfs_at 2 get cap/one.bin "$TEST_DIR/out"
((RC == 0)) || fail "get through the full node: $(last_run)"
assert_files_equal "$TEST_DIR/one.bin" "$TEST_DIR/out"
log "placement skipped the full node n2; it serves reads; status shows its capacity"

# -- too few nodes with room: the put fails cleanly ----------------------------------------------
# n3 gets room for four more chunks (a sealed 64 KiB chunk takes 65564 bytes).
n3_cap=$(($(member n3 | jq .used) + 4 * 65564))
set_capacity 3 "$n3_cap"
make_random_file "$TEST_DIR/two.bin" $((16 * 65536))
run_capture dfs_at 1 put "$TEST_DIR/two.bin" cap/two.bin
((RC == 1)) || fail "put with only one node with room (R=2, W=2) did not fail: $(last_run)"
assert_contains "$ERR" "dfs: no space on node" "stderr of the failed put"
log "the failed put said: $(head -n 1 "$ERR")"
assert_eq 0 "$(tmp_count)" "temporary files left on the nodes"
run_capture dfs_at 1 ls cap/
((RC == 0)) || fail "ls: $(last_run)"
grep -q "cap/two.bin" "$OUT" && fail "the failed put left a manifest: $(cat "$OUT")"
n3=$(member n3)
assert_eq "$n3_cap" "$(jq .capacity <<<"$n3")" "n3's capacity in status"
(($(jq .used <<<"$n3") <= n3_cap)) || fail "n3 went past its capacity: $n3"
# Everything stored before reads back through every node, the full ones included.
for node in 1 2 3; do
  run_capture dfs_at "$node" get cap/one.bin "$TEST_DIR/out"
  ((RC == 0)) || fail "get cap/one.bin through node $node after the failed put: $(last_run)"
  assert_files_equal "$TEST_DIR/one.bin" "$TEST_DIR/out"
done
log "ok"
