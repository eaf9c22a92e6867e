#!/usr/bin/env bash
# SIGTERM shuts a node down in order (exit 0, promptly); started again on the same data_dir it
# has the same identity and still serves what was stored before.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB
ini=$CLUSTER_DIR/node2/node.ini
data=$CLUSTER_DIR/node2/data
log_file=$CLUSTER_DIR/node2/node.log

make_random_file "$TEST_DIR/before.bin" $((3 * 65536 + 5))
run_capture dfs_at 1 put "$TEST_DIR/before.bin" shutdown/before.bin
((RC == 0)) || fail "put through node 1: $(last_run)"
copies_are() { [[ $(dfs_at 1 stat "$1" --json | json_field copies) == "$2" ]]; }
wait_until 15 copies_are shutdown/before.bin 3 || fail "shutdown/before.bin never reached 3 copies"

pid_gone() { ! pid_alive "$1"; }
status_of() { dfs_at "$1" status --json; }
run_capture status_of 2
((RC == 0)) || fail "status through node 2: $(last_run)"
name_before=$(json_field node <"$OUT")
assert_eq n2 "$name_before" "node name in node 2's status"
id_files_before=$(cd "$data" && find . -maxdepth 1 -type f -name 'node*' -exec sha256sum {} + | sort)

# The node as our own child, so that we see its exit code: stop the one cluster.sh started,
# then start it again ourselves on the same config and data_dir.
stop_node_2_and_wait() {
  local pid=$1
  kill -TERM "$pid"
  wait_until 20 pid_gone "$pid" ||
    fail "node 2 (pid $pid) did not exit within 20 s of SIGTERM"
}
stop_node_2_and_wait "$(node_pid 2)"
all_see_n2() {
  local i
  for i in "$@"; do
    status_of "$i" | json_up_members | grep -qx n2 || return 1
  done
}

"$DFS_NODE_BIN" --config "$ini" >>"$log_file" 2>&1 &
child=$!
track_pid "$child"
echo "$child" >"$CLUSTER_DIR/node2/node.pid"
wait_until 30 all_see_n2 1 2 3 || fail "node 2 did not rejoin after a restart"

run_capture status_of 2
assert_eq "$name_before" "$(json_field node <"$OUT")" "node 2's name after a restart"
id_files_after=$(cd "$data" && find . -maxdepth 1 -type f -name 'node*' -exec sha256sum {} + | sort)
assert_eq "$id_files_before" "$id_files_after" "node identity files in node 2's data_dir after a restart"
run_capture dfs_at 2 get shutdown/before.bin "$TEST_DIR/before.out"
((RC == 0)) || fail "get through node 2 after its restart: $(last_run)"
assert_files_equal "$TEST_DIR/before.bin" "$TEST_DIR/before.out"

make_random_file "$TEST_DIR/during.bin" 100000
run_capture dfs_at 2 put "$TEST_DIR/during.bin" shutdown/during.bin
((RC == 0)) || fail "put through the restarted node 2: $(last_run)"
wait_until 15 copies_are shutdown/during.bin 3 ||
  fail "shutdown/during.bin never reached 3 copies"

# SIGTERM: exit code 0 within the deadline.
start=$SECONDS
kill -TERM "$child"
wait_until 20 pid_gone "$child" || fail "node 2 did not exit within 20 s of SIGTERM"
rc=0
wait "$child" || rc=$?
assert_eq 0 "$rc" "exit code of dfs-node after SIGTERM"
log "node 2 exited 0 within $((SECONDS - start)) s of SIGTERM"

# The others still serve everything while node 2 is down.
run_capture dfs_at 3 get shutdown/during.bin "$TEST_DIR/during.out1"
((RC == 0)) || fail "get through node 3 while node 2 is down: $(last_run)"
assert_files_equal "$TEST_DIR/during.bin" "$TEST_DIR/during.out1"

# Again through cluster.sh restart: same identity, both files readable through node 2.
cluster_sh restart 2 || fail "scripts/cluster.sh restart 2 failed"
run_capture status_of 2
assert_eq "$name_before" "$(json_field node <"$OUT")" "node 2's name after the second restart"
id_files_after=$(cd "$data" && find . -maxdepth 1 -type f -name 'node*' -exec sha256sum {} + | sort)
assert_eq "$id_files_before" "$id_files_after" "node identity files after the second restart"
run_capture status_of 1
json_up_members <"$OUT" | grep -qx n2 || fail "node 1 does not see n2 up after the restart: $(cat "$OUT")"
grep -qE "\"address\"[[:space:]]*:[[:space:]]*\"$(node_addr 2)\"" "$OUT" ||
  fail "node 1 does not list node 2's address $(node_addr 2): $(cat "$OUT")"
for key in before during; do
  run_capture dfs_at 2 get "shutdown/$key.bin" "$TEST_DIR/$key.out2"
  ((RC == 0)) || fail "get shutdown/$key.bin through node 2 after the second restart: $(last_run)"
  assert_files_equal "$TEST_DIR/$key.bin" "$TEST_DIR/$key.out2"
done
