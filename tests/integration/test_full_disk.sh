#!/usr/bin/env bash
# A node whose disk fills up (a real ENOSPC-sized file system, not a configured capacity): the
# put that does not fit fails with an error that names the node and the full disk, the node
# stays up and serves what it acknowledged before, and deletes still work on it, because
# chunks and small files leave [storage] reserve bytes of the disk free for tombstones. Once
# collection has freed the space, puts succeed again.
#
# Node 2's data directory is a 6 MiB tmpfs, so the test needs root (CI runs as root); without
# it, it is skipped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || skip "needs root to mount a small tmpfs as a node's disk"

# Collection needs an unreferenced chunk to stay so for gc_grace seconds; 3 is far longer than
# any put of this test takes, so no chunk of a put in flight is collected.
start_cluster 3 --chunk-size 256KiB --replicas 3 --write-quorum 3 --set storage.reserve=1MiB \
  --set cluster.gc_grace=3 --set cluster.anti_entropy_interval=1

# -- node 2 moves onto a small disk --------------------------------------------------------------
disk=$CLUSTER_DIR/node2/data
cluster_sh kill 2 >/dev/null
mv "$disk" "$disk.before"
mkdir "$disk"
mount -t tmpfs -o size=6m tmpfs "$disk" || skip "cannot mount a tmpfs on $disk"
at_exit umount -l "$disk"
cp -a "$disk.before/." "$disk/"
cluster_sh restart 2 >/dev/null || fail "node 2 did not start on its small disk"
wait_until 30 cluster_sh wait || fail "the cluster did not see node 2 up again"
node2_pid=$(node_pid 2)
free_bytes() { df --output=avail -B1 "$disk" | tail -n 1 | tr -d ' '; }

make_random_file "$TEST_DIR/kept.bin" $((1024 * 1024))
run_capture dfs_at 1 put "$TEST_DIR/kept.bin" kept.bin
((RC == 0)) || fail "put of 1 MiB with room on every disk: $(last_run)"
assert_contains "$OUT" "3 copies" "put's answer"

# -- the put that does not fit ---------------------------------------------------------------------
make_random_file "$TEST_DIR/big.bin" $((6 * 1024 * 1024))
run_capture dfs_at 1 put "$TEST_DIR/big.bin" big.bin
((RC == 1)) || fail "a put larger than node 2's disk did not fail: $(last_run)"
assert_contains "$ERR" "dfs: no space on node n2: disk nearly full" "stderr of the failed put"
assert_contains "$ERR" "[storage] reserve" "stderr of the failed put"
log "the put that did not fit said: $(head -n 1 "$ERR")"
node_alive 2 || fail "node 2 stopped when its disk filled up"
(($(free_bytes) >= 1024 * 1024 - 64 * 1024)) ||
  fail "node 2 wrote into its reserve: $(free_bytes) bytes free of 6 MiB"
tmp_files=$(find "$disk/tmp" -type f | wc -l)
assert_eq 0 "$tmp_files" "temporary files left on node 2"
run_capture dfs_at 1 ls
grep -q "big.bin" "$OUT" && fail "the failed put left a file behind: $(cat "$OUT")"
# What was acknowledged before still reads back, through the full node too.
for node in 2 1; do
  run_capture dfs_at "$node" get kept.bin "$TEST_DIR/out"
  ((RC == 0)) || fail "get through node $node with node 2's disk full: $(last_run)"
  assert_files_equal "$TEST_DIR/kept.bin" "$TEST_DIR/out"
done

# -- small files (inline in their manifests) stop at the reserve too -----------------------------
stored_small=()
refused=0
for i in $(seq 1 200); do
  make_random_file "$TEST_DIR/small.bin" 8192
  run_capture dfs_at 1 put "$TEST_DIR/small.bin" "small/$i"
  if ((RC != 0)); then
    assert_contains "$ERR" "no space on node n2: disk nearly full" "stderr of a refused small put"
    refused=1
    break
  fi
  stored_small+=("small/$i")
done
((refused == 1)) || fail "200 small files of 8 KiB fitted beside node 2's reserve"
log "${#stored_small[@]} small files fitted before the reserve; the next was refused"

# -- deletes work on the full node ---------------------------------------------------------------
for key in kept.bin "${stored_small[@]}" "small/$i"; do
  run_capture dfs_at 1 rm "$key"
  [[ $key == "small/$i" ]] && continue # refused above; it may have reached the other nodes
  ((RC == 0)) || fail "rm $key with node 2's disk full: $(last_run)"
done
run_capture dfs_at 2 get kept.bin "$TEST_DIR/out"
((RC != 0)) || fail "kept.bin still reads back after its rm"

# -- collection frees the disk, and puts succeed again ------------------------------------------
wait_until 60 bash -c "(( \$(df --output=avail -B1 '$disk' | tail -n 1) >= 4 * 1024 * 1024 ))" ||
  fail "node 2's disk was not freed after the deletes: $(free_bytes) bytes free"
make_random_file "$TEST_DIR/after.bin" $((2 * 1024 * 1024))
run_capture dfs_at 1 put "$TEST_DIR/after.bin" after.bin
((RC == 0)) || fail "put once node 2's disk was freed: $(last_run)"
assert_contains "$OUT" "3 copies" "put's answer after the deletes"
run_capture dfs_at 2 get after.bin "$TEST_DIR/out"
((RC == 0)) || fail "get through node 2 after the deletes: $(last_run)"
assert_files_equal "$TEST_DIR/after.bin" "$TEST_DIR/out"
assert_eq "$node2_pid" "$(node_pid 2)" "node 2's process (it must not have restarted)"
log "ok"
