#!/usr/bin/env bash
# Garbage collection never takes a chunk that an acknowledged put needs, however long the put:
# - dedup: content whose chunks are garbage (its file was just removed) is put again under a new
#   key while collection passes run; the new key stays readable after the old tombstone and
#   every other piece of garbage are collected;
# - a put of new content that takes longer than gc_grace keeps its first chunks.
# Both puts read from a pipe that delivers a chunk at a time, so that each lasts more than twice
# gc_grace and several collection passes run while it is under way.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

grace=2
chunk=65536
start_cluster 3 --chunk-size 64KiB --replicas 2 --write-quorum 2 \
  --set cluster.anti_entropy_interval=1 --set cluster.gc_grace=$grace \
  --set cluster.max_clock_skew=1 # one machine, one clock: tombstones wait gc_grace + 1 s

# trickle FILE: FILE on stdout one chunk at a time, 0.4 s apart. The pause is the point (it
# makes the put long), not a wait for anything.
trickle() {
  local file=$1 pieces i
  pieces=$((($(stat -c %s "$file") + chunk - 1) / chunk))
  for ((i = 0; i < pieces; i++)); do
    dd if="$file" bs=$chunk skip=$i count=1 status=none
    sleep 0.4
  done
}
chunk_files() { find "$CLUSTER_DIR"/node*/data/chunks -type f | wc -l; }
chunk_files_at_most() { (($(chunk_files) <= $1)); }
# Keys are readable in manifest files (a tombstone's too).
manifest_anywhere() { grep -rlaqF -- "$1" "$CLUSTER_DIR"/node*/data/manifests; }
no_manifest_anywhere() { ! manifest_anywhere "$1"; }

make_random_file "$TEST_DIR/shared.bin" $((12 * chunk))
make_random_file "$TEST_DIR/long.bin" $((12 * chunk))
run_capture dfs_at 1 put "$TEST_DIR/shared.bin" gc/old
((RC == 0)) || fail "put gc/old: $(last_run)"
run_capture dfs_at 1 rm gc/old
((RC == 0)) || fail "rm gc/old: $(last_run)"

# From here on, gc/old's chunks are garbage: passes see them unreferenced and collect them
# gc_grace later, in the middle of the put of the same content under gc/new.
started=$SECONDS
(trickle "$TEST_DIR/shared.bin" | dfs_at 2 put - gc/new) >"$TEST_DIR/new.out" 2>&1 &
new_pid=$!
track_pid "$new_pid"
(trickle "$TEST_DIR/long.bin" | dfs_at 3 put - gc/long) >"$TEST_DIR/long.out" 2>&1 &
long_pid=$!
track_pid "$long_pid"
# Both end by themselves; dfs_at's timeout bounds them.
wait "$new_pid" || fail "put gc/new (same content as the removed gc/old): $(cat "$TEST_DIR/new.out")"
wait "$long_pid" || fail "put gc/long: $(cat "$TEST_DIR/long.out")"
took=$((SECONDS - started))
log "both puts took about $took s (gc_grace $grace s)"
((took >= 2 * grace)) || fail "the puts took $took s, not longer than twice gc_grace: the test proves nothing"

# The old tombstone goes, and collection keeps running: a removed file's chunks (the canary's)
# are collected, and nothing else is.
wait_until 30 no_manifest_anywhere gc/old || fail "gc/old's tombstone was never collected"
make_random_file "$TEST_DIR/canary.bin" $((2 * chunk))
run_capture dfs_at 1 put "$TEST_DIR/canary.bin" gc/canary
((RC == 0)) || fail "put gc/canary: $(last_run)"
run_capture dfs_at 1 rm gc/canary
((RC == 0)) || fail "rm gc/canary: $(last_run)"
# gc/new and gc/long: 12 chunks each, on 2 nodes each.
kept=48
wait_until 30 chunk_files_at_most $kept || fail "garbage was not collected: $(chunk_files) chunk files"
assert_eq $kept "$(chunk_files)" "chunk files once the garbage is collected"

for key in new long; do
  expected=$TEST_DIR/shared.bin
  [[ $key == long ]] && expected=$TEST_DIR/long.bin
  for node in 1 2 3; do
    run_capture dfs_at "$node" get "gc/$key" "$TEST_DIR/out"
    ((RC == 0)) || fail "get gc/$key through node $node after collection: $(last_run)"
    assert_files_equal "$expected" "$TEST_DIR/out"
  done
done
log "ok"
