#!/usr/bin/env bash
# Every link runs TLS 1.3 keyed by the cluster secret: a plaintext client is refused with a clear
# error and the node says why in its log; the node keeps serving TLS clients.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB
make_random_file "$TEST_DIR/a.bin" 100000

# A plaintext client (TLS switched off on the client side only) is refused.
RC=0
DFS_TLS=off dfs_at 1 put "$TEST_DIR/a.bin" tls/a.bin >"$OUT" 2>"$ERR" || RC=$?
((RC == 1)) || fail "a plaintext client was not refused: $(last_run)"
wait_until 10 grep -q "refusing a plaintext peer" "$CLUSTER_DIR/node1/node.log" ||
  fail "node 1 did not log why it refused the plaintext client"

# The default client speaks TLS and is served; bytes come back identical through another node.
run_capture dfs_at 1 put "$TEST_DIR/a.bin" tls/a.bin
((RC == 0)) || fail "put over TLS: $(last_run)"
run_capture dfs_at 3 get tls/a.bin "$TEST_DIR/out"
((RC == 0)) || fail "get over TLS: $(last_run)"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/out"

# The nodes' own links are TLS too: each logged no plaintext peer among themselves.
for i in 1 2 3; do
  if grep -q "refusing a TLS peer" "$CLUSTER_DIR/node$i/node.log"; then
    fail "node $i refused a TLS peer: $(grep 'refusing' "$CLUSTER_DIR/node$i/node.log")"
  fi
done
log "ok"
