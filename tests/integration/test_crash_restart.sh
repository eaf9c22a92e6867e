#!/usr/bin/env bash
# A crash never loses an acknowledged file and never leaves a partial one to be served:
#  1. SIGKILL a replica (node 3) in the middle of a stream of puts through node 1; restart it:
#     its tmp/ is empty, every chunk file it holds is whole, the cluster's view of its holdings
#     matches its disk, and every acknowledged put reads back through it;
#  2. SIGKILL the node the client talks to (node 1) in the middle of a stream: every put it
#     acknowledged reads back after it restarts;
#  3. SIGKILL every node at once and start the cluster again: it serves every acknowledged file.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v jq >/dev/null || fail "jq is missing (scripts/install-deps.sh installs it)"

cluster_opts=(--chunk-size 64KiB --replicas 3 --write-quorum 2
  --set cluster.suspect_after=1 --set cluster.down_after=2 --set cluster.anti_entropy_interval=1)
start_cluster 3 "${cluster_opts[@]}"

ACKED=$TEST_DIR/acked # one line per acknowledged put: KEY FILE
: >"$ACKED"
mkdir -p "$TEST_DIR/files"

# put_stream NODE PREFIX COUNT: puts COUNT files of 0..200 KB through NODE, one after another,
# recording each acknowledged one. Runs in the background; failures are expected once a node
# dies, so they only end nothing.
put_stream() {
  local node=$1 prefix=$2 count=$3 i f
  for ((i = 0; i < count; i++)); do
    f=$TEST_DIR/files/$prefix-$i
    head -c $((RANDOM * 6 + i)) /dev/urandom >"$f"
    if dfs_at "$node" put "$f" "crash/$prefix-$i" >/dev/null 2>&1; then
      echo "crash/$prefix-$i $f" >>"$ACKED"
    fi
  done
}
# check_acked NODE: every acknowledged put reads back intact through NODE.
check_acked() {
  local node=$1 key file n=0
  while read -r key file; do
    run_capture dfs_at "$node" get "$key" "$TEST_DIR/out"
    ((RC == 0)) || fail "acknowledged $key does not read back through node $node: $(last_run)"
    assert_files_equal "$file" "$TEST_DIR/out"
    n=$((n + 1))
  done <"$ACKED"
  log "all $n acknowledged puts read back through node $node"
}
# check_disk NODE: nothing in tmp/, and every chunk file hashes to its name.
check_disk() {
  local dir=$CLUSTER_DIR/node$1/data f n=0
  assert_eq 0 "$(find "$dir/tmp" -type f | wc -l)" "temporary files on node $1 after its restart"
  while read -r f; do
    [[ $(sha256sum "$f" | cut -c1-64) == "$(basename "$f")" ]] || fail "partial or damaged chunk $f"
    n=$((n + 1))
  done < <(find "$dir/chunks" -type f)
  log "node $1: tmp/ empty, all $n chunk files whole"
}
member_chunks() { dfs_at 1 status --json | jq --arg n "n$1" '.members[] | select(.name == $n) | .chunks'; }
under_replicated_is() { [[ $(dfs_at 1 status --json | jq .under_replicated) == "$1" ]]; }
holdings_match() { [[ $(member_chunks "$1") == $(find "$CLUSTER_DIR/node$1/data/chunks" -type f | wc -l) ]]; }
acked() { wc -l <"$ACKED"; }

# -- 1. a replica dies mid-stream --------------------------------------------------------------
put_stream 1 a 25 &
stream=$!
track_pid "$stream"
wait_until 20 eval '(($(acked) >= 8))' || fail "the put stream did not get going"
cluster_sh kill 3 >/dev/null
log "SIGKILLed node 3 after $(acked) acknowledged puts"
wait "$stream" || true
log "$(acked) of 25 puts acknowledged"
cluster_sh restart 3 >/dev/null || fail "restart of node 3 failed"
check_disk 3
wait_until 30 under_replicated_is 0 || fail "under-replicated after node 3 came back: $(dfs_at 1 status --json)"
wait_until 10 holdings_match 3 ||
  fail "status says n3 holds $(member_chunks 3) chunks, its disk $(find "$CLUSTER_DIR/node3/data/chunks" -type f | wc -l)"
check_acked 3

# -- 2. the entry node dies mid-stream ------------------------------------------------------------
before=$(acked)
put_stream 1 b 25 &
stream=$!
track_pid "$stream"
wait_until 20 eval '(($(acked) >= before + 8))' || fail "the second put stream did not get going"
cluster_sh kill 1 >/dev/null
wait "$stream" || true
log "SIGKILLed node 1 (the entry node); $(($(acked) - before)) puts of the second stream acknowledged"
cluster_sh restart 1 >/dev/null || fail "restart of node 1 failed"
check_disk 1
check_acked 1

# -- 3. the whole cluster dies at once ---------------------------------------------------------
for i in 1 2 3; do kill -KILL "$(node_pid "$i")"; done
for i in 1 2 3; do wait_until 10 eval "! node_alive $i" || fail "node $i survived SIGKILL"; done
bash "$CLUSTER_SH" start 3 --dir "$CLUSTER_DIR" --base-port "$BASE_PORT" "${cluster_opts[@]}" >/dev/null ||
  fail "the cluster did not start again"
for i in 1 2 3; do check_disk "$i"; done
check_acked 2
log "ok"
