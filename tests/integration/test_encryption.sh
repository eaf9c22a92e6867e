#!/usr/bin/env bash
# Encryption at rest, with dedup: after files holding a marker string are put, no file under any
# data_dir contains the marker (nor the files' SHA-256), yet every file reads back intact and
# `stat` shows its real SHA-256; the same file stored under two keys takes its size x R once,
# not twice, because identical plaintext seals to the identical chunk on every node.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

R=3
start_cluster 3 --chunk-size 1MiB --replicas $R --write-quorum 2

# -- no plaintext on disk ------------------------------------------------------------------------
marker="dfs-marker-$$-$RANDOM-this-text-must-never-reach-a-disk"
# A text file: the marker on every line, across every chunk boundary.
for ((i = 0; i < 40000; i++)); do echo "$i $marker"; done >"$TEST_DIR/text.txt"
# Random bytes with the marker planted at the start, the middle and the end.
make_random_file "$TEST_DIR/random.bin" 1500000
{ echo "$marker"; cat "$TEST_DIR/random.bin"; echo "$marker"; } >"$TEST_DIR/planted.bin"
# A small file: one chunk shorter than a block.
echo "$marker" >"$TEST_DIR/small.txt"

files=(text.txt planted.bin small.txt)
for f in "${files[@]}"; do
  run_capture dfs_at 1 put "$TEST_DIR/$f" "enc/$f"
  ((RC == 0)) || fail "put enc/$f: $(last_run)"
done
# Also through another node, so that two nodes encrypt.
run_capture dfs_at 2 put "$TEST_DIR/small.txt" enc/small-via-2.txt
((RC == 0)) || fail "put enc/small-via-2.txt: $(last_run)"

data_dirs=("$CLUSTER_DIR"/node*/data)
# The check itself works: the marker is found in the source files.
grep -rqaF -- "$marker" "$TEST_DIR/text.txt" || fail "grep does not find the marker in the source"
if hits=$(grep -rlaF -- "$marker" "${data_dirs[@]}"); then
  fail "the marker is readable on disk in: $hits"
fi
log "the marker appears in no file under ${#data_dirs[@]} data dirs"

# Every file reads back intact through every node, and stat shows the real SHA-256, which the
# manifests on disk do not hold in the clear.
for f in "${files[@]}"; do
  for node in 1 2 3; do
    run_capture dfs_at "$node" get "enc/$f" "$TEST_DIR/out"
    ((RC == 0)) || fail "get enc/$f through node $node: $(last_run)"
    assert_files_equal "$TEST_DIR/$f" "$TEST_DIR/out"
  done
  want=$(sha256sum "$TEST_DIR/$f" | cut -c1-64)
  got=$(dfs_at 3 stat "enc/$f" --json | jq -r .sha256)
  assert_eq "$want" "$got" "sha256 of enc/$f in stat"
  for d in "${data_dirs[@]}"; do
    if find "$d/manifests" -type f -exec od -An -tx1 -v {} + | tr -d ' \n' | grep -q "$want"; then
      fail "the SHA-256 of enc/$f is readable in a manifest under $d"
    fi
  done
done
log "every file reads back; stat shows the plaintext SHA-256, the disks do not"

# -- dedup ---------------------------------------------------------------------------------------
stored_bytes() { dfs_at 1 status --json | jq '[.members[].bytes] | add'; }
size=$((64 * 1024 * 1024))
make_random_file "$TEST_DIR/big.bin" $size
before=$(stored_bytes)
run_capture dfs_at 1 put "$TEST_DIR/big.bin" dedup/first.bin
((RC == 0)) || fail "put dedup/first.bin: $(last_run)"
after_first=$(stored_bytes)
# The second copy enters through another node: dedup is cluster-wide, not per node.
run_capture dfs_at 2 put "$TEST_DIR/big.bin" dedup/second.bin
((RC == 0)) || fail "put dedup/second.bin: $(last_run)"
after_second=$(stored_bytes)
first=$((after_first - before))
second=$((after_second - after_first))
log "stored bytes: +$first for the first copy, +$second for the second (file $size bytes, R=$R)"
# Each 1 MiB chunk grows by its nonce and tag (28 bytes) when sealed.
expected=$(((size + 64 * 28) * R))
assert_eq "$expected" "$first" "bytes the first copy added"
assert_eq 0 "$second" "bytes the second copy of the same content added"
for key in dedup/first.bin dedup/second.bin; do
  run_capture dfs_at 3 get "$key" "$TEST_DIR/out"
  ((RC == 0)) || fail "get $key: $(last_run)"
  assert_files_equal "$TEST_DIR/big.bin" "$TEST_DIR/out"
done
# Leave no scratch of hundreds of MiB behind on success.
cluster_sh stop >/dev/null
rm -rf "$CLUSTER_DIR"/node*/data "$TEST_DIR"/*.bin
log "ok"
