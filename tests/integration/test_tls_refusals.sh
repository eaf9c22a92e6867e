#!/usr/bin/env bash
# Who is refused, and how: every refusal comes within a deadline (no hang), with a clear error
# for a client and a log line naming the reason on a node, and every process keeps running.
#   - a client with the wrong secret ("dfs: authentication failed"; the node logs why);
#   - a node with the wrong secret (refused, never a member; the cluster keeps serving);
#   - a plaintext client (DFS_TLS=off);
#   - a plaintext node ([cluster] tls = off) dialing a TLS node, and a TLS node dialing it;
#   - a TLS client talking to a plaintext node;
#   - a server that presents a certificate (openssl s_server with a throwaway self-signed one),
#     to the client and to a node that dials it.
# test_auth.sh and test_tls.sh check the client side of the first and third in more detail.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB
NODE1_LOG=$CLUSTER_DIR/node1/node.log

extra_port P_WRONG # a node with the wrong secret
extra_port P_PLAIN # a node with tls = off
extra_port P_TLS   # a lone TLS node that dials the plaintext node and the rogue server
extra_port P_ROGUE # openssl s_server with a certificate

port_listening() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
count_lines() { grep -c -E -- "$2" "$1" || true; }
# grows FILE PATTERN BEFORE: FILE has more lines matching PATTERN than BEFORE.
grows() { (($(count_lines "$1" "$2") > $3)); }
# warns FILE PATTERN: a WARN or ERROR line of FILE matches PATTERN (extended, any case).
warns() { grep -qiE -- "(WARN|ERROR).*($2)" "$1"; }

# start_extra_node NAME PORT SECRET_FILE TLS BOOTSTRAP: a dfs-node that is not part of the
# cluster's directory, in $TEST_DIR/NAME (log: node.log), stopped at exit.
declare -A EXTRA_PID
start_extra_node() {
  local name=$1 port=$2 secret=$3 tls=$4 bootstrap=$5 dir=$TEST_DIR/$1
  mkdir -p "$dir/data"
  cat >"$dir/node.ini" <<EOF
[node]
name = $name
listen = 127.0.0.1:$port
data_dir = $dir/data

[cluster]
name = dfs-local
secret_file = $secret
bootstrap = $bootstrap
tls = $tls

[storage]
chunk_size = 64KiB

[log]
level = info
EOF
  setsid "$DFS_NODE_BIN" --config "$dir/node.ini" </dev/null >"$dir/node.log" 2>&1 &
  EXTRA_PID[$name]=$!
  track_pid "$!"
  wait_until 20 port_listening "$port" || fail "$name did not start: $(tail -n 20 "$dir/node.log")"
}
extra_alive() { pid_alive "${EXTRA_PID[$1]}" || fail "$1 died: $(tail -n 20 "$TEST_DIR/$1/node.log")"; }
# A client run that must be refused: exit 1 within the deadline, one "dfs: ..." sentence.
assert_refused() {
  local what=$1
  ((RC != 124)) || fail "$what: the client hung (killed after 30 s): $(last_run)"
  assert_eq 1 "$RC" "exit code of $what ($(last_run))"
  grep -q '^dfs: ..' "$ERR" || fail "$what: no 'dfs: ...' message: $(last_run)"
  log "$what: $(head -n 1 "$ERR")"
}

run_capture "$DFS_CLI" keygen "$TEST_DIR/wrong.secret"
((RC == 0)) || fail "dfs keygen: $(last_run)"

# -- a client with the wrong secret ------------------------------------------------------------
before=$(count_lines "$NODE1_LOG" "binder does not verify")
run_capture timeout 30 "$DFS_CLI" --node "$(node_addr 1)" --secret-file "$TEST_DIR/wrong.secret" status
assert_refused "a client with the wrong secret"
assert_eq "dfs: authentication failed" "$(head -n 1 "$ERR")" "the wrong-secret client's message"
wait_until 10 grows "$NODE1_LOG" "authentication failed.*binder does not verify" "$before" ||
  fail "node 1 did not log why it refused the wrong-secret client: $(tail -n 5 "$NODE1_LOG")"

# -- a node with the wrong secret --------------------------------------------------------------
before=$(count_lines "$NODE1_LOG" "binder does not verify")
start_extra_node xwrong "$P_WRONG" "$TEST_DIR/wrong.secret" required "$(node_addr 1)"
wait_until 30 grows "$NODE1_LOG" "authentication failed.*binder does not verify" "$before" ||
  fail "node 1 did not log why it refused the node with the wrong secret: $(tail -n 5 "$NODE1_LOG")"
wait_until 30 grep -q "authentication failed" "$TEST_DIR/xwrong/node.log" ||
  fail "the node with the wrong secret did not log why it was refused: $(tail -n 5 "$TEST_DIR/xwrong/node.log")"
log "wrong-secret node: node 1 says: $(grep 'binder does not verify' "$NODE1_LOG" | tail -n 1 | cut -c 26-)"
log "wrong-secret node: it says: $(grep 'authentication failed' "$TEST_DIR/xwrong/node.log" | tail -n 1 | cut -c 26-)"

# -- a plaintext client ------------------------------------------------------------------------
before=$(count_lines "$NODE1_LOG" "refusing a plaintext peer")
RC=0
DFS_TLS=off timeout 30 "$DFS_CLI" --node "$(node_addr 1)" --secret-file "$SECRET_FILE" status \
  >"$OUT" 2>"$ERR" || RC=$?
assert_refused "a plaintext client"
# The node tells a plaintext peer why, in a plaintext error frame, before it closes.
grep -q "requires TLS" "$ERR" ||
  fail "a plaintext client was refused without being told why: '$(head -n 1 "$ERR")' (nothing about TLS)"
wait_until 10 grows "$NODE1_LOG" "refusing a plaintext peer: \[cluster\] tls = required here" "$before" ||
  fail "node 1 did not log why it refused the plaintext client: $(tail -n 5 "$NODE1_LOG")"

# -- a plaintext node dialing a TLS node -------------------------------------------------------
before=$(count_lines "$NODE1_LOG" "refusing a plaintext peer")
start_extra_node xplain "$P_PLAIN" "$SECRET_FILE" off "$(node_addr 1)"
wait_until 10 warns "$TEST_DIR/xplain/node.log" "\[cluster\] tls = off: " ||
  fail "a node with tls = off did not warn at start: $(head -n 10 "$TEST_DIR/xplain/node.log")"
wait_until 30 grows "$NODE1_LOG" "refusing a plaintext peer: \[cluster\] tls = required here" "$before" ||
  fail "node 1 did not log why it refused the plaintext node: $(tail -n 5 "$NODE1_LOG")"
log "plaintext node -> TLS node: node 1 says: $(grep 'refusing a plaintext peer' "$NODE1_LOG" | tail -n 1 | cut -c 26-)"
# The dialing side says why its dial failed, too: node 1's error frame, in a warning.
wait_until 10 warns "$TEST_DIR/xplain/node.log" "connection to .*requires TLS" ||
  fail "a plaintext node dialing a TLS node logged nothing about being refused: $(tail -n 5 "$TEST_DIR/xplain/node.log")"

# -- a TLS client talking to the plaintext node --------------------------------------------------
run_capture timeout 30 "$DFS_CLI" --node "127.0.0.1:$P_PLAIN" --secret-file "$SECRET_FILE" status
assert_refused "a TLS client talking to a node with tls = off"
assert_contains "$ERR" "DFS_TLS=off" "the message of a TLS client talking to a node with tls = off"

# -- a certificate server: the client ------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=rogue.example" -keyout "$TEST_DIR/rogue.key" -out "$TEST_DIR/rogue.crt" \
  >"$TEST_DIR/openssl-req.log" 2>&1 || fail "openssl req: $(cat "$TEST_DIR/openssl-req.log")"
openssl s_server -accept "127.0.0.1:$P_ROGUE" -tls1_3 -cert "$TEST_DIR/rogue.crt" \
  -key "$TEST_DIR/rogue.key" -www </dev/null >"$TEST_DIR/s_server.log" 2>&1 &
track_pid "$!"
rogue_pid=$!
wait_until 20 port_listening "$P_ROGUE" || fail "openssl s_server did not start: $(cat "$TEST_DIR/s_server.log")"
run_capture timeout 30 "$DFS_CLI" --node "127.0.0.1:$P_ROGUE" --secret-file "$SECRET_FILE" status
assert_refused "a client talking to a server with a certificate"
assert_eq "dfs: authentication failed" "$(head -n 1 "$ERR")" "the message of a client facing a certificate server"

# -- a TLS node dialing the plaintext node and the certificate server ----------------------------
before_plain=$(count_lines "$TEST_DIR/xplain/node.log" "refusing a TLS peer")
start_extra_node xtls "$P_TLS" "$SECRET_FILE" required "127.0.0.1:$P_PLAIN,127.0.0.1:$P_ROGUE"
wait_until 30 grows "$TEST_DIR/xplain/node.log" "refusing a TLS peer: \[cluster\] tls = off here" "$before_plain" ||
  fail "the plaintext node did not log why it refused a TLS node: $(tail -n 5 "$TEST_DIR/xplain/node.log")"
log "TLS node -> plaintext node: the plaintext node says: $(grep 'refusing a TLS peer' "$TEST_DIR/xplain/node.log" | tail -n 1 | cut -c 26-)"
wait_until 30 grep -q "certificate instead of the pre-shared key" "$TEST_DIR/xtls/node.log" ||
  fail "the TLS node did not log why it refused the certificate server: $(tail -n 5 "$TEST_DIR/xtls/node.log")"
log "TLS node -> certificate server: $(grep 'certificate instead' "$TEST_DIR/xtls/node.log" | tail -n 1 | cut -c 26-)"
# The TLS node, for its part, receives the plaintext node's hello and refuses it.
wait_until 30 warns "$TEST_DIR/xtls/node.log" "refusing a plaintext peer|did not speak TLS" ||
  fail "the TLS node did not log why its link to the plaintext node failed: $(tail -n 5 "$TEST_DIR/xtls/node.log")"
log "TLS node -> plaintext node: the TLS node says: $(grep -iE 'refusing a plaintext peer|did not speak TLS' "$TEST_DIR/xtls/node.log" | tail -n 1 | cut -c 26-)"

# -- everyone is still running, and the cluster serves with its three members only -------------
for i in 1 2 3; do
  node_alive "$i" || fail "node $i died"
done
for name in xwrong xplain xtls; do
  extra_alive "$name"
done
pid_alive "$rogue_pid" || fail "openssl s_server died: $(cat "$TEST_DIR/s_server.log")"
make_random_file "$TEST_DIR/good.bin" 300000
run_capture dfs_at 1 put "$TEST_DIR/good.bin" refusals/good.bin
((RC == 0)) || fail "put after the refusals: $(last_run)"
run_capture dfs_at 3 get refusals/good.bin "$TEST_DIR/good.out"
((RC == 0)) || fail "get after the refusals: $(last_run)"
assert_files_equal "$TEST_DIR/good.bin" "$TEST_DIR/good.out"
for i in 1 2 3; do
  run_capture dfs_at "$i" status --json
  ((RC == 0)) || fail "status through node $i: $(last_run)"
  assert_eq "n1 n2 n3" "$(json_up_members <"$OUT" | sort | tr '\n' ' ' | sed 's/ $//')" "members up seen by node $i"
  grep -qE '"x(wrong|plain|tls)"' "$OUT" && fail "a refused node became a member: $(cat "$OUT")"
done
log "ok"
