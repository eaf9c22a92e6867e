#!/usr/bin/env bash
# A flipped bit never reaches a user, and the bad copy is replaced:
#  1. a byte flipped in the copy a get reads first (the entry node's own): `dfs get` still
#     returns the right bytes (the read fails over to a replica), the bad file is quarantined,
#     and read repair writes a good copy back;
#  2. a byte flipped in a copy nobody reads: the scrubber finds it, quarantines it and replaces
#     it from a replica; its log counts it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# No scrubbing at first (scrub_interval 0), so that step 1 is about the read path alone.
start_cluster 3 --chunk-size 64KiB --replicas 3 --write-quorum 2 --set storage.scrub_interval=0

data_of() { echo "$CLUSTER_DIR/node$1/data"; }
chunk_files() { find "$(data_of "$1")/chunks" -type f | sort; }
quarantined() { find "$(data_of "$1")/quarantine" -type f | wc -l; }
# A chunk file is good when its bytes hash to its name.
chunk_ok() { [[ -f $1 && $(sha256sum "$1" | cut -c1-64) == "$(basename "$1")" ]]; }

make_random_file "$TEST_DIR/file.bin" $((4 * 65536 - 100))
run_capture dfs_at 1 put "$TEST_DIR/file.bin" integrity/file.bin
((RC == 0)) || fail "put: $(last_run)"
mapfile -t chunks1 < <(chunk_files 1)
((${#chunks1[@]} == 4)) || fail "node 1 holds ${#chunks1[@]} chunks, expected 4"

# -- 1. the read path ----------------------------------------------------------------------------
victim=${chunks1[1]}
flip_byte "$victim" 1000
chunk_ok "$victim" && fail "flipping a byte did not change $victim"
run_capture dfs_at 1 get integrity/file.bin "$TEST_DIR/out"
((RC == 0)) || fail "get with a corrupt local copy: $(last_run)"
assert_files_equal "$TEST_DIR/file.bin" "$TEST_DIR/out"
assert_eq 1 "$(quarantined 1)" "files in node 1's quarantine after the get"
wait_until 10 chunk_ok "$victim" || fail "read repair did not restore $victim"
log "a corrupt local copy: the get failed over, the copy was quarantined and repaired"

# -- 2. the scrubber ----------------------------------------------------------------------------
mapfile -t chunks3 < <(chunk_files 3)
victim=${chunks3[2]}
flip_byte "$victim" 7
chunk_ok "$victim" && fail "flipping a byte did not change $victim"
# Node 3 scrubs every second from now on, at no rate limit.
sed -i 's/^scrub_interval = 0$/scrub_interval = 1/' "$CLUSTER_DIR/node3/node.ini"
printf '\n[storage]\nscrub_rate = 0\n' >>"$CLUSTER_DIR/node3/node.ini"
cluster_sh restart 3 >/dev/null || fail "restart of node 3 failed"
log3="$CLUSTER_DIR/node3/node.log"
replaced() { grep -q "replaced chunk $(basename "$victim")" "$log3"; }
wait_until 20 replaced || fail "the scrubber did not replace $(basename "$victim"): $(tail -n 20 "$log3")"
chunk_ok "$victim" || fail "$victim is not a good copy after the scrub"
assert_eq 1 "$(quarantined 3)" "files in node 3's quarantine after the scrub"
grep -q "scrub pass: .* 1 quarantined" "$log3" || fail "no scrub pass counted the bad chunk: $(grep scrub "$log3")"
log "scrubber: $(grep -m1 'scrub pass: .* 1 quarantined' "$log3" | sed 's/.*\[scrubber\] //')"
# Every copy on every node is good, and the file reads back through every node.
for node in 1 2 3; do
  while read -r f; do
    chunk_ok "$f" || fail "$f on node $node is not a good copy"
  done < <(chunk_files "$node")
  run_capture dfs_at "$node" get integrity/file.bin "$TEST_DIR/out"
  ((RC == 0)) || fail "get through node $node after the scrub: $(last_run)"
  assert_files_equal "$TEST_DIR/file.bin" "$TEST_DIR/out"
done
log "ok"
