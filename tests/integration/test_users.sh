#!/usr/bin/env bash
# User credentials (issue 15, finding 5): `dfs user add` writes a 0600 credential file; a user
# works through every node within its limits (read-only, key prefix) and gets "permission
# denied" outside them; `dfs user rm` makes every node refuse the credential within seconds,
# also a node that was down meanwhile; a credential cannot be a node's secret_file; the node
# secret keeps acting as administrator; a secret file readable by others gets a warning.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB --set cluster.down_after=3
cd "$TEST_DIR"

# as CREDENTIAL I ARGS...: the client against node I with a user's credential file.
as() {
  local credential=$1 i=$2
  shift 2
  timeout 60 "$DFS_CLI" --node "$(node_addr "$i")" --secret-file "$credential" "$@"
}
refused_at() { ! as "$1" "$2" status; }

# -- user add: a read-only user limited to photos/, and a read-write one limited to team/
run_capture dfs_at 1 user add alice --read-only --prefix photos/ --json
((RC == 0)) || fail "user add alice: $(last_run)"
assert_eq alice "$(json_field name <"$OUT")" "name in user add --json"
assert_eq alice.credential "$(json_field credential_file <"$OUT")" "credential_file in user add --json"
[[ $(json_field access_key <"$OUT") =~ ^[A-Z2-7]{20}$ ]] || fail "access key: $(cat "$OUT")"
[[ $(json_field secret_key <"$OUT") =~ ^[0-9a-f]{64}$ ]] || fail "secret key: $(cat "$OUT")"
assert_eq 600 "$(stat -c %a alice.credential)" "mode of a credential file"
grep -qF "$(json_field access_key <"$OUT")" alice.credential || fail "the file lacks the access key"
run_capture dfs_at 2 user add bob --prefix team/ --out "$TEST_DIR/bob.cred"
((RC == 0)) || fail "user add bob: $(last_run)"
# Never overwritten, names never reused while the user exists.
run_capture dfs_at 1 user add carol --out alice.credential
assert_eq 1 "$RC" "user add over an existing file ($(last_run))"
assert_contains "$ERR" "already exists" "user add over an existing file"
run_capture dfs_at 1 user add alice --out "$TEST_DIR/alice2.cred"
assert_eq 1 "$RC" "user add of an existing user ($(last_run))"
assert_contains "$ERR" "user alice exists" "user add of an existing user"
[[ ! -e alice2.cred ]] || fail "a refused user add left its credential file behind"
run_capture dfs_at 3 user ls --json
((RC == 0)) || fail "user ls: $(last_run)"
assert_contains "$OUT" '"name":"alice"' "user ls"
assert_contains "$OUT" '"prefix":"team/"' "user ls"

# -- the node secret is still the administrator; users work through every node once the
# records have spread (gossip: within a second or two).
make_random_file photo.jpg 100000
run_capture dfs_at 1 put photo.jpg photos/a.jpg
((RC == 0)) || fail "admin put: $(last_run)"
for i in 1 2 3; do
  wait_until 15 as alice.credential "$i" status || fail "alice is not accepted by node $i"
  run_capture as alice.credential "$i" get photos/a.jpg "$TEST_DIR/a.$i"
  ((RC == 0)) || fail "alice get through node $i: $(last_run)"
  assert_files_equal photo.jpg "$TEST_DIR/a.$i"
done
wait_until 15 as bob.cred 3 status || fail "bob is not accepted by node 3"

# -- limits through the real CLI
run_capture as alice.credential 2 put photo.jpg photos/b.jpg
assert_eq 1 "$RC" "read-only put ($(last_run))"
assert_contains "$ERR" "permission denied: user alice is read-only" "read-only put"
run_capture as alice.credential 2 rm photos/a.jpg
assert_eq 1 "$RC" "read-only rm ($(last_run))"
run_capture as alice.credential 1 stat team/x
assert_eq 1 "$RC" "stat outside the prefix ($(last_run))"
assert_contains "$ERR" "permission denied: key team/x is outside user alice's prefix photos/" "stat outside"
run_capture as alice.credential 1 user ls
assert_eq 1 "$RC" "user ls by a user ($(last_run))"
run_capture as bob.cred 1 decommission n3
assert_eq 1 "$RC" "decommission by a user ($(last_run))"
assert_contains "$ERR" "needs the node secret" "decommission by a user"
run_capture as bob.cred 1 user add mallory
assert_eq 1 "$RC" "user add by a user ($(last_run))"
[[ ! -e mallory.credential ]] || fail "a refused user add left mallory.credential"
run_capture as bob.cred 3 put photo.jpg team/x
((RC == 0)) || fail "bob put inside his prefix: $(last_run)"
run_capture as bob.cred 3 put photo.jpg photos/x
assert_eq 1 "$RC" "bob put outside his prefix ($(last_run))"
run_capture as bob.cred 2 ls
((RC == 0)) || fail "bob ls: $(last_run)"
assert_eq "team/x" "$(cut -f2 "$OUT")" "bob's ls is narrowed to his prefix"
run_capture dfs_at 1 ls
grep -q photos/a.jpg "$OUT" || fail "the admin's ls lost photos/a.jpg: $(cat "$OUT")"

# -- a user credential never makes a node
extra_port port
sed -e "s|^secret_file = .*|secret_file = $TEST_DIR/bob.cred|" -e "s|^listen = .*|listen = 127.0.0.1:$port|" \
  -e "s|^data_dir = .*|data_dir = $TEST_DIR/rogue|" -e "s|^name = n1|name = rogue|" \
  "$CLUSTER_DIR/node1/node.ini" >rogue.ini
run_capture timeout 20 "$DFS_NODE_BIN" --config rogue.ini
assert_eq 2 "$RC" "a node with a user credential as secret_file ($(last_run))"
assert_contains "$ERR" "user credential" "a node with a user credential as secret_file"

# -- user rm: refused by every node within seconds, also by a node that was down meanwhile
cluster_sh kill 3 >/dev/null
run_capture dfs_at 1 user rm bob
((RC == 0)) || fail "user rm bob: $(last_run)"
for i in 1 2; do
  wait_until 10 refused_at bob.cred "$i" || fail "node $i still accepts bob after user rm"
done
run_capture as bob.cred 1 status
assert_contains "$ERR" "unknown or revoked credential" "a removed user's client"
chmod 644 "$SECRET_FILE" # node 3 must warn about it
cluster_sh restart 3 >/dev/null || fail "restart of node 3 failed"
chmod 600 "$SECRET_FILE"
wait_until 10 refused_at bob.cred 3 || fail "node 3 still accepts bob after rejoining"
assert_contains "$CLUSTER_DIR/node3/node.log" "accessible by its group or by others" "node 3's log"
as alice.credential 3 status >/dev/null || fail "alice was lost by node 3's restart"

# -- a credential file readable by others gets a warning from the client (and still works)
chmod 640 alice.credential
run_capture as alice.credential 1 status
((RC == 0)) || fail "status with a group-readable credential: $(last_run)"
assert_contains "$ERR" "warning" "stderr with a group-readable credential"
