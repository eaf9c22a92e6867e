#!/usr/bin/env bash
# A bootstrap address that is not the address the node announces (here `localhost:P` for a node
# listening on 127.0.0.1:P; in real life a DNS name, a load balancer or another interface) is
# dialled once: the node it led to is remembered, and while that node is connected the address
# is not dialled again. Before, it was redialled every few seconds for ever, and each new
# connection replaced the live one, failing the requests in flight on it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Node 1 gets the smallest node id, so that the connection it dials is the one both keep (the
# case where a redial replaced the live connection).
mkdir -p "$TEST_DIR/cluster/node1/data"
echo 00000000000000000000000000000001 >"$TEST_DIR/cluster/node1/data/node.id"
start_cluster 3 --chunk-size 64KiB
[[ $CLUSTER_DIR == "$TEST_DIR/cluster" ]] || fail "the cluster is not where this test put node 1's id"
sed -i "s|^bootstrap = .*|bootstrap = localhost:$(node_port 2)|" "$CLUSTER_DIR/node1/node.ini"
grep -q "^bootstrap = localhost:" "$CLUSTER_DIR/node1/node.ini" ||
  fail "could not point node 1's bootstrap at localhost"
cluster_sh restart 1 >/dev/null
cluster_sh wait >/dev/null || fail "the cluster did not come back after node 1's restart"

dials_to_n2() {
  awk '/starting dfs-node/ { n++ } n >= 2' "$CLUSTER_DIR/node1/node.log" |
    grep -c "authenticated peer n2 .*dialed by us" || true
}
wait_until 20 test "$(dials_to_n2)" -ge 1 || fail "node 1 never dialled n2 through localhost"
# At start node 1 may dial n2 twice at once: through the alias and through n2's own address,
# which it remembers from before the restart (data_dir/roster). What must not happen is more.
first_dials=$(dials_to_n2)

# Work while we watch: puts and gets through node 1 must keep succeeding.
make_random_file "$TEST_DIR/a.bin" 300000
end=$((SECONDS + 12)) # the redial backoff starts at 0.2 s and stops growing at 5 s
i=0
while ((SECONDS < end)); do
  i=$((i + 1))
  run_capture dfs_at 1 put "$TEST_DIR/a.bin" "alias/$i"
  ((RC == 0)) || fail "put $i through node 1 failed: $(last_run)"
  run_capture dfs_at 1 get "alias/$i" "$TEST_DIR/out"
  ((RC == 0)) || fail "get $i through node 1 failed: $(last_run)"
  assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/out"
done
n=$(($(dials_to_n2) - first_dials))
((n == 0)) || fail "node 1 dialled n2 again $n times in ${i} rounds (expected no redial)"
log "ok: one dial through the alias, $i puts and gets"
