#!/usr/bin/env bash
# A tombstone held only by nodes that never met an absent holder of the old version is not
# collected while that holder is away: the nodes that know it say they wait for it.
#  3 nodes, R=2 W=2; the keys are put; n3 stops; the keys are removed; n4 and n5 join (they
#  never meet n3: gossip about n3 is only an address to try). Some keys' targets are now n4 and
#  n5, so n1 and n2 hand those tombstones over and drop their surplus copies. Past gc_grace, with
#  passes running, n4 and n5 still hold them; n3 comes back and every key stays removed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

grace=3
start_cluster 3 --replicas 2 --write-quorum 2 \
  --set cluster.suspect_after=1 --set cluster.down_after=2 \
  --set cluster.anti_entropy_interval=1 --set cluster.gc_grace=$grace \
  --set cluster.max_clock_skew=1 # one machine, one clock: tombstones wait gc_grace + 1 s

# Which of the keys end up held only by n4 and n5 depends on their random node ids: with this
# many keys, some do (each key with probability 1/9), bar a chance of about 1 in 2000.
keys=()
for i in $(seq -w 0 63); do keys+=("k$i"); done
manifest_file() { # NODE KEY
  local hex
  hex=$(printf '%s' "$2" | sha256sum | cut -c1-64)
  echo "$CLUSTER_DIR/node$1/data/manifests/${hex:0:2}/$hex"
}
holds() { [[ -f $(manifest_file "$1" "$2") ]]; }
stop_node() {
  kill -TERM "$(node_pid "$1")"
  wait_until 20 bash -c "! kill -0 $(node_pid "$1") 2>/dev/null" || fail "node $1 did not stop"
}
# The removed keys n3 holds an old version of whose tombstones are on n4 and n5 only.
only_new_nodes_hold() {
  local k out=()
  for k in "${on_n3[@]}"; do
    holds 4 "$k" && holds 5 "$k" && ! holds 1 "$k" && ! holds 2 "$k" && out+=("$k")
  done
  echo "${out[@]}"
}
some_only_on_new_nodes() { [[ -n $(only_new_nodes_hold) ]]; }

echo "small file" >"$TEST_DIR/f"
for k in "${keys[@]}"; do
  run_capture dfs_at 1 put "$TEST_DIR/f" "$k"
  ((RC == 0)) || fail "put $k: $(last_run)"
done
on_n3=()
for k in "${keys[@]}"; do holds 3 "$k" && on_n3+=("$k"); done
((${#on_n3[@]} > 0)) || fail "n3 holds none of the keys; the test would prove nothing"
stop_node 3
for k in "${keys[@]}"; do
  run_capture dfs_at 1 rm "$k"
  ((RC == 0)) || fail "rm $k: $(last_run)"
done
cluster_sh add >/dev/null || fail "adding n4 failed"
cluster_sh add >/dev/null || fail "adding n5 failed"
wait_until 30 some_only_on_new_nodes ||
  fail "no removed key that n3 holds has its tombstone on n4 and n5 alone (n3 holds: ${on_n3[*]})"
watched=$(only_new_nodes_hold)
log "tombstones held only by n4 and n5, which never met n3: $watched"

# Well past gc_grace, with passes running: n4 and n5 must keep them.
some_collected() {
  local k
  for k in $watched; do
    holds 4 "$k" || holds 5 "$k" || return 0
  done
  return 1
}
if wait_until $((grace * 3)) some_collected; then
  fail "a tombstone of $watched was collected while n3, which holds an older version, was away"
fi
# Logged at most once every 10 s: by now the reasons of the first passes have changed.
wait_until 15 grep -Eq "collection waits: (.*; )?n[12] waits for [0-9a-f]{32}" "$CLUSTER_DIR/node4/node.log" ||
  fail "n4 did not log that it waits because n1 or n2 waits for n3"
dfs_at 4 status --json | jq -e '.collection_waits | any(test("^n[12] waits for [0-9a-f]{32}$"))' >/dev/null ||
  fail "dfs status through n4 does not say why collection waits: $(dfs_at 4 status --json)"
log "the tombstones outlived gc_grace ($grace s) by $((grace * 3)) s while n3 was away"

cluster_sh restart 3 >/dev/null || fail "restarting node 3 failed"
nobody_holds() {
  local n k
  for k in $watched; do
    for n in 1 2 3 4 5; do holds "$n" "$k" && return 1; done
  done
  return 0
}
wait_until 60 nobody_holds || fail "tombstones or old versions of $watched are still held after n3 returned"
for k in $watched; do
  run_capture dfs_at 1 get "$k" "$TEST_DIR/out"
  ((RC != 0)) || fail "$k is back after n3 returned"
  assert_contains "$ERR" "not found" "get $k"
done
run_capture dfs_at 4 ls
((RC == 0)) || fail "ls: $(last_run)"
[[ ! -s $OUT ]] || fail "removed keys are back after n3 returned: $(cat "$OUT")"
log "ok: every key stayed removed after n3 came back"
