#!/usr/bin/env bash
# A node whose disk fills up (a small real file system, not a configured capacity):
# - the put that does not fit fails with an error that names the node and the full disk; the
#   node stays up, serves what it acknowledged before, and collection removes what the failed
#   put left;
# - when something else takes the disk into [storage] reserve, data is refused but deletes still
#   go in, because tombstones may use the reserve;
# - when something else takes the whole disk, an rm fails naming the node; once the disk has
#   room again, the delete completes by itself and puts succeed again.
#
# Node 2's data directory is a 6 MiB tmpfs, so the test needs root (CI runs as root); without
# it, it is skipped.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || skip "needs root to mount a small tmpfs as a node's disk"

reserve=$((1024 * 1024))
# Collection takes a chunk that stayed unreferenced for gc_grace seconds; 3 is far longer than
# any put of this test takes, so no chunk of a put in flight is collected. A tombstone waits
# gc_grace + max_clock_skew (one machine, one clock: 1 s is plenty).
start_cluster 3 --chunk-size 256KiB --replicas 3 --write-quorum 3 \
  --set storage.reserve=$reserve --set cluster.gc_grace=3 --set cluster.anti_entropy_interval=1 \
  --set cluster.max_clock_skew=1

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
chunks_on_node2() { find "$disk/chunks" -type f | wc -l; }
chunks_on_node2_are() { (($(chunks_on_node2) == $1)); }
# Keys are readable in manifest files (a tombstone's too), so this says whether node 2 holds any
# manifest of the key.
manifest_on_node2() { grep -rlaqF -- "$1" "$disk/manifests"; }
no_manifest_on_node2() { ! manifest_on_node2 "$1"; }

make_random_file "$TEST_DIR/kept.bin" $((1024 * 1024)) # 4 chunks
make_random_file "$TEST_DIR/small.bin" 8192             # inline in its manifest
for name in kept.bin small.bin; do
  run_capture dfs_at 1 put "$TEST_DIR/$name" "$name"
  ((RC == 0)) || fail "put of $name with room on every disk: $(last_run)"
  assert_contains "$OUT" "3 copies" "put's answer"
done

# -- the put that does not fit -------------------------------------------------------------------
make_random_file "$TEST_DIR/big.bin" $((6 * 1024 * 1024))
run_capture dfs_at 1 put "$TEST_DIR/big.bin" big.bin
((RC == 1)) || fail "a put larger than node 2's disk did not fail: $(last_run)"
assert_contains "$ERR" "dfs: no space on node n2: disk nearly full" "stderr of the failed put"
assert_contains "$ERR" "[storage] reserve" "stderr of the failed put"
log "the put that did not fit said: $(head -n 1 "$ERR")"
node_alive 2 || fail "node 2 stopped when its disk filled up"
(($(free_bytes) >= reserve - 64 * 1024)) ||
  fail "node 2 wrote into its reserve: $(free_bytes) bytes free of 6 MiB"
assert_eq 0 "$(find "$disk/tmp" -type f | wc -l)" "temporary files left on node 2"
run_capture dfs_at 1 ls
grep -q "big.bin" "$OUT" && fail "the failed put left a file behind: $(cat "$OUT")"
# What was acknowledged before still reads back, through the full node too.
for node in 2 1; do
  run_capture dfs_at "$node" get kept.bin "$TEST_DIR/out"
  ((RC == 0)) || fail "get through node $node with node 2's disk full: $(last_run)"
  assert_files_equal "$TEST_DIR/kept.bin" "$TEST_DIR/out"
done
# The failed put's chunks are garbage: collection removes them, and kept.bin's four stay.
wait_until 60 chunks_on_node2_are 4 ||
  fail "the failed put's chunks were not collected from node 2: $(chunks_on_node2) chunk files"

# -- something else takes the disk into the reserve: data is refused, deletes go in --------------
filler=$disk/filler.bin
head -c $(($(free_bytes) - reserve / 2)) /dev/zero >"$filler"
(($(free_bytes) < reserve)) || fail "the filler left $(free_bytes) bytes free, not less than the reserve"
run_capture dfs_at 1 put "$TEST_DIR/small.bin" small-again.bin
((RC == 1)) || fail "a small put went into node 2's reserve: $(last_run)"
assert_contains "$ERR" "no space on node n2: disk nearly full" "stderr of the refused small put"
run_capture dfs_at 1 rm small.bin
((RC == 0)) || fail "rm with node 2's disk inside its reserve: $(last_run)"
run_capture dfs_at 2 get small.bin "$TEST_DIR/out"
((RC != 0)) || fail "small.bin still reads back after its rm"
log "inside the reserve: a small put was refused and an rm went in"

# -- something else takes the whole disk: rm fails and names the node ----------------------------
# small.bin's tombstone is collected 4 s after the rm; wait for that, so that no page it frees
# lets the next tombstone in.
wait_until 60 no_manifest_on_node2 small.bin || fail "small.bin's tombstone was never collected"
cat /dev/zero >>"$filler" 2>/dev/null || true # until ENOSPC
run_capture dfs_at 1 rm kept.bin
((RC == 1)) || fail "rm with node 2's disk completely full did not fail: $(last_run)"
assert_contains "$ERR" "dfs: no space on node n2" "stderr of the rm on a full disk"
log "the rm on a full disk said: $(head -n 1 "$ERR")"
node_alive 2 || fail "node 2 stopped when its disk was completely full"
assert_eq 0 "$(find "$disk/tmp" -type f | wc -l)" "temporary files left by the refused tombstone"
manifest_on_node2 kept.bin || fail "node 2 lost kept.bin's manifest when its tombstone was refused"

# -- room again: the delete completes by itself, and puts succeed -------------------------------
rm -f "$filler"
# The two other nodes took the tombstone, so kept.bin's chunks are garbage everywhere. Node 2's
# old manifest goes only once replication has brought it the tombstone and every node holds
# that (then collection removes the tombstone too).
wait_until 60 chunks_on_node2_are 0 ||
  fail "kept.bin's chunks stayed on node 2 after its rm: $(chunks_on_node2) chunk files"
wait_until 60 no_manifest_on_node2 kept.bin ||
  fail "kept.bin's tombstone never reached node 2 once its disk had room"
run_capture dfs_at 2 get kept.bin "$TEST_DIR/out"
((RC != 0)) || fail "kept.bin still reads back through node 2 after its rm"
make_random_file "$TEST_DIR/after.bin" $((2 * 1024 * 1024))
run_capture dfs_at 1 put "$TEST_DIR/after.bin" after.bin
((RC == 0)) || fail "put once node 2's disk had room again: $(last_run)"
assert_contains "$OUT" "3 copies" "put's answer after the deletes"
run_capture dfs_at 2 get after.bin "$TEST_DIR/out"
((RC == 0)) || fail "get through node 2 after the deletes: $(last_run)"
assert_files_equal "$TEST_DIR/after.bin" "$TEST_DIR/out"
assert_eq "$node2_pid" "$(node_pid 2)" "node 2's process (it must not have restarted)"
log "ok"
