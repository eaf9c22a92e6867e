#!/usr/bin/env bash
# Files up to 64 KiB live inside their manifest (common/manifest.hpp), sealed like a chunk:
#  1. they read back byte for byte through every node, make no chunk files, and their bytes are
#     not on any disk in the clear;
#  2. a byte flipped in one node's copy never reaches a user, and anti-entropy restores it;
#  3. a new version replaces the bytes, and rm removes them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# 4 KiB chunks: a small file is inline even when it is larger than a chunk (the client sends it
# whole with put_begin, net/frame.hpp max_early_put_size).
start_cluster 3 --chunk-size 4KiB --replicas 3 --write-quorum 3 --set cluster.anti_entropy_interval=1

data_of() { echo "$CLUSTER_DIR/node$1/data"; }
chunk_count() { find "$(data_of "$1")/chunks" -type f | wc -l; }
manifest_file() {
  local hex
  hex=$(printf '%s' "$2" | sha256sum | cut -c1-64)
  echo "$(data_of "$1")/manifests/${hex:0:2}/$hex"
}

# -- 1. small files, at and past the limit ----------------------------------------------------
marker="inline-marker-$RANDOM$RANDOM-do-not-store-in-the-clear"
{
  for _ in $(seq 64); do printf '%s\n' "$marker"; done
} >"$TEST_DIR/small.txt"
make_random_file "$TEST_DIR/limit.bin" 65536
make_random_file "$TEST_DIR/past.bin" 65537
for pair in "small.txt 0" "limit.bin 0" "past.bin 17"; do
  read -r name chunks <<<"$pair"
  run_capture dfs_at 1 put "$TEST_DIR/$name" "inline/$name"
  ((RC == 0)) || fail "put inline/$name: $(last_run)"
  run_capture dfs_at 2 stat "inline/$name" --json
  assert_eq "$chunks" "$(json_field chunks <"$OUT")" "chunks of inline/$name"
  for node in 1 2 3; do
    run_capture dfs_at "$node" get "inline/$name" "$TEST_DIR/out"
    ((RC == 0)) || fail "get inline/$name through node $node: $(last_run)"
    assert_files_equal "$TEST_DIR/$name" "$TEST_DIR/out"
  done
done
for node in 1 2 3; do
  assert_eq 17 "$(chunk_count "$node")" "chunk files on node $node (only the 65537-byte file has chunks)"
  grep -rqF "$marker" "$(data_of "$node")" && fail "node $node holds the small file's bytes in the clear"
done
log "files of 64 KiB and less: no chunks, identical through every node, sealed on disk"

# -- 2. a damaged copy --------------------------------------------------------------------------
victim=$(manifest_file 2 inline/small.txt)
[[ -f $victim ]] || fail "no manifest file for inline/small.txt on node 2 at $victim"
flip_byte "$victim" 200
cmp -s "$victim" "$(manifest_file 1 inline/small.txt)" && fail "flipping a byte did not change $victim"
run_capture dfs_at 2 get inline/small.txt "$TEST_DIR/out"
((RC == 0)) || fail "get with a damaged copy on the entry node: $(last_run)"
assert_files_equal "$TEST_DIR/small.txt" "$TEST_DIR/out"
grep -q "is damaged" "$CLUSTER_DIR/node2/node.log" || fail "node 2 did not log the damaged manifest file"
restored() { cmp -s "$victim" "$(manifest_file 1 inline/small.txt)"; }
wait_until 20 restored || fail "anti-entropy did not restore $victim"
log "a damaged copy: the get read another replica's, and anti-entropy restored it"

# -- 3. overwrite and remove --------------------------------------------------------------------
make_random_file "$TEST_DIR/small2.bin" 3000
run_capture dfs_at 3 put "$TEST_DIR/small2.bin" inline/small.txt
((RC == 0)) || fail "overwrite of inline/small.txt: $(last_run)"
run_capture dfs_at 1 get inline/small.txt "$TEST_DIR/out"
((RC == 0)) || fail "get after the overwrite: $(last_run)"
assert_files_equal "$TEST_DIR/small2.bin" "$TEST_DIR/out"
run_capture dfs_at 2 rm inline/small.txt
((RC == 0)) || fail "rm inline/small.txt: $(last_run)"
for node in 1 2 3; do
  run_capture dfs_at "$node" get inline/small.txt "$TEST_DIR/out"
  ((RC == 1)) || fail "inline/small.txt still readable through node $node after rm: $(last_run)"
  assert_contains "$ERR" "not found" "stderr of get after rm"
done
log "ok"
