#!/usr/bin/env bash
# 16 clients at once putting different files through node 1, then 16 at once through nodes 1..3
# round robin, then every get at once through other nodes: all succeed, all byte-identical.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clients=16
start_cluster 3 --chunk-size 64KiB
mkdir -p "$TEST_DIR/in" "$TEST_DIR/out" "$TEST_DIR/logs"

for ((c = 0; c < clients; c++)); do
  # 200-400 KiB: 4 to 7 chunks each, all sizes different.
  make_random_file "$TEST_DIR/in/one.$c" $((200 * 1024 + c * 13 * 1024 + c))
  make_random_file "$TEST_DIR/in/many.$c" $((210 * 1024 + c * 11 * 1024 + 3 * c))
done

# run_all NAME: starts every queued command ("node|args...") at once, waits for each pid and
# fails the test listing every client that failed.
queue=()
run_all() {
  local phase=$1 i node pids=() failed=()
  for ((i = 0; i < ${#queue[@]}; i++)); do
    node=${queue[i]%%|*}
    read -r -a args <<<"${queue[i]#*|}"
    dfs_at "$node" "${args[@]}" >"$TEST_DIR/logs/$phase.$i.out" 2>"$TEST_DIR/logs/$phase.$i.err" &
    pids+=($!)
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    local rc=0
    wait "${pids[i]}" || rc=$?
    if ((rc != 0)); then
      failed+=("client $i (node ${queue[i]%%|*}: ${queue[i]#*|}) exit $rc: $(head -c 300 "$TEST_DIR/logs/$phase.$i.err")")
    fi
  done
  if ((${#failed[@]})); then
    printf '  %s\n' "${failed[@]}" >&2
    fail "$phase: ${#failed[@]} of ${#pids[@]} concurrent clients failed"
  fi
  log "$phase: ${#pids[@]} concurrent clients succeeded"
  queue=()
}

# Phase 1: 16 puts at once through node 1.
for ((c = 0; c < clients; c++)); do
  queue+=("1|put $TEST_DIR/in/one.$c conc/one/$c.bin")
done
run_all puts-through-node-1

# Phase 2: 16 puts at once through nodes 1, 2, 3 round robin.
for ((c = 0; c < clients; c++)); do
  queue+=("$((c % 3 + 1))|put $TEST_DIR/in/many.$c conc/many/$c.bin")
done
run_all puts-round-robin

# Phase 3: all 32 gets at once, each through a node other than the one it was put through.
for ((c = 0; c < clients; c++)); do
  queue+=("$((c % 2 + 2))|get conc/one/$c.bin $TEST_DIR/out/one.$c")
  queue+=("$(((c + 1) % 3 + 1))|get conc/many/$c.bin $TEST_DIR/out/many.$c")
done
run_all gets-through-other-nodes

for ((c = 0; c < clients; c++)); do
  assert_files_equal "$TEST_DIR/in/one.$c" "$TEST_DIR/out/one.$c"
  assert_files_equal "$TEST_DIR/in/many.$c" "$TEST_DIR/out/many.$c"
done
log "all $((2 * clients)) files byte-identical"

for i in 1 2 3; do
  node_alive "$i" || fail "node $i died under concurrent clients"
done
run_capture dfs_at 1 ls conc/
((RC == 0)) || fail "ls conc/ after the concurrent puts: $(last_run)"
assert_eq $((2 * clients)) "$(grep -c 'conc/' "$OUT")" "number of conc/ keys listed"
