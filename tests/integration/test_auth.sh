#!/usr/bin/env bash
# A client with the wrong secret is refused ("authentication failed", exit 1) and stores nothing;
# the node keeps serving clients with the right secret.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB

# keygen writes a fresh secret readable by its owner only.
run_capture "$DFS_CLI" keygen "$TEST_DIR/wrong.secret"
((RC == 0)) || fail "dfs keygen: $(last_run)"
assert_eq 600 "$(stat -c %a "$TEST_DIR/wrong.secret")" "mode of a keygen'd secret file"
(($(stat -c %s "$TEST_DIR/wrong.secret") >= 32)) || fail "keygen wrote fewer than 32 bytes"
cmp -s "$SECRET_FILE" "$TEST_DIR/wrong.secret" && fail "two keygen runs wrote the same secret"

wrong() { timeout 60 "$DFS_CLI" --node "$(node_addr 1)" --secret-file "$TEST_DIR/wrong.secret" "$@"; }

make_random_file "$TEST_DIR/file.bin" 100000
run_capture wrong put "$TEST_DIR/file.bin" auth/intruder.bin
assert_eq 1 "$RC" "exit code of put with a wrong secret ($(last_run))"
assert_contains "$ERR" "authentication failed" "stderr of put with a wrong secret"

for args in "status" "ls" "get auth/intruder.bin -" "stat auth/intruder.bin" "rm auth/intruder.bin"; do
  # shellcheck disable=SC2086 # word splitting of the command is intended
  run_capture wrong $args
  assert_eq 1 "$RC" "exit code of '$args' with a wrong secret ($(last_run))"
  assert_contains "$ERR" "authentication failed" "stderr of '$args' with a wrong secret"
done

# Environment defaults: DFS_NODE / DFS_SECRET_FILE pick the node and the (wrong) secret.
RC=0
DFS_NODE=$(node_addr 2) DFS_SECRET_FILE=$TEST_DIR/wrong.secret \
  timeout 60 "$DFS_CLI" status >"$OUT" 2>"$ERR" || RC=$?
assert_eq 1 "$RC" "exit code of status with DFS_SECRET_FILE pointing to a wrong secret ($(last_run))"
assert_contains "$ERR" "authentication failed" "stderr with DFS_SECRET_FILE pointing to a wrong secret"

# A missing secret file is a configuration error of the client.
run_capture timeout 60 "$DFS_CLI" --node "$(node_addr 1)" --secret-file "$TEST_DIR/no-such.secret" status
assert_eq 2 "$RC" "exit code of a client with a missing secret file ($(last_run))"

# Every node still serves a client with the right secret, and nothing of the intruder was stored.
node_alive 1 || fail "node 1 died after the refused clients"
make_random_file "$TEST_DIR/good.bin" 150000
run_capture dfs_at 1 put "$TEST_DIR/good.bin" auth/good.bin
((RC == 0)) || fail "put with the right secret after refused clients: $(last_run)"
run_capture dfs_at 1 get auth/good.bin "$TEST_DIR/good.out"
((RC == 0)) || fail "get with the right secret after refused clients: $(last_run)"
assert_files_equal "$TEST_DIR/good.bin" "$TEST_DIR/good.out"
run_capture dfs_at 1 ls auth/
((RC == 0)) || fail "ls auth/: $(last_run)"
grep -q intruder "$OUT" && fail "a client with a wrong secret stored a file: $(cat "$OUT")"
run_capture dfs_at 1 status --json
((RC == 0)) || fail "status after refused clients: $(last_run)"
assert_eq 3 "$(json_up_members <"$OUT" | wc -l)" "members up after refused clients"
