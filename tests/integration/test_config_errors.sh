#!/usr/bin/env bash
# dfs-node refuses a bad configuration with exit code 2 and one line on stderr naming the key or
# the problem, leaving nothing running; --help and --version exit 0. The dfs client reports usage
# errors with exit code 2.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port=$(pick_base_port 2)
run_capture "$DFS_CLI" keygen "$TEST_DIR/secret"
((RC == 0)) || fail "dfs keygen: $(last_run)"

# write_ini FILE [KEY=VALUE in SECTION ...]: a valid single-node config, with SECTION.KEY=VALUE
# overrides (an override of a key not in the template is added to its section).
write_ini() {
  local file=$1
  shift
  local -A v=(
    [node.name]=solo
    [node.listen]=127.0.0.1:$port
    [node.data_dir]=$TEST_DIR/data
    [cluster.name]=dfs-test
    [cluster.secret_file]=$TEST_DIR/secret
    [cluster.bootstrap]=""
    [cluster.replicas]=1
    [cluster.write_quorum]=1
    [storage.chunk_size]=64KiB
    [log.level]=info
  )
  local kv
  for kv in "$@"; do v[${kv%%=*}]=${kv#*=}; done
  local section key
  {
    for section in node cluster storage log; do
      echo "[$section]"
      for key in "${!v[@]}"; do
        [[ $key == "$section".* ]] && echo "${key#*.} = ${v[$key]}"
      done
      echo
    done
  } >"$file"
}

# refused WHAT PATTERN ARGS...: dfs-node ARGS must exit 2 quickly with one line on stderr that
# matches PATTERN (extended regex, case-insensitive), and leave no process behind.
refused() {
  local what=$1 pattern=$2
  shift 2
  run_capture timeout 20 "$DFS_NODE_BIN" "$@"
  if ((RC == 124)); then
    fail "$what: dfs-node started instead of refusing the configuration"
  fi
  assert_eq 2 "$RC" "exit code of dfs-node with $what ($(last_run))"
  local lines
  lines=$(grep -c . "$ERR" || true)
  assert_eq 1 "$lines" "lines on stderr for $what ($(cat "$ERR"))"
  grep -qiE -- "$pattern" "$ERR" || fail "$what: stderr does not name '$pattern': $(cat "$ERR")"
  if pgrep -f -- "$TEST_DIR/.*\.ini" >/dev/null; then
    fail "$what: a dfs-node is still running: $(pgrep -af -- "$TEST_DIR/.*\.ini")"
  fi
  log "$what: exit 2, stderr: $(cat "$ERR")"
}

write_ini "$TEST_DIR/unknown-key.ini" node.colour=blue
refused "an unknown key" colour --config "$TEST_DIR/unknown-key.ini"

write_ini "$TEST_DIR/unknown-section.ini"
printf '[gossip]\ninterval = 5\n' >>"$TEST_DIR/unknown-section.ini"
refused "an unknown section" 'gossip' --config "$TEST_DIR/unknown-section.ini"

write_ini "$TEST_DIR/bad-replicas.ini" cluster.replicas=three
refused "a malformed replicas" replicas --config "$TEST_DIR/bad-replicas.ini"

write_ini "$TEST_DIR/bad-chunk.ini" storage.chunk_size=12XB
refused "a malformed chunk_size" chunk_size --config "$TEST_DIR/bad-chunk.ini"

write_ini "$TEST_DIR/bad-listen.ini" node.listen=127.0.0.1:99999
refused "a malformed listen address" listen --config "$TEST_DIR/bad-listen.ini"

write_ini "$TEST_DIR/bad-level.ini" log.level=chatty
refused "a malformed log level" level --config "$TEST_DIR/bad-level.ini"

write_ini "$TEST_DIR/bad-quorum.ini" cluster.replicas=2 cluster.write_quorum=3
refused "write_quorum above replicas" write_quorum --config "$TEST_DIR/bad-quorum.ini"

write_ini "$TEST_DIR/no-secret.ini" cluster.secret_file="$TEST_DIR/no-such-secret"
refused "a missing secret file" 'secret' --config "$TEST_DIR/no-secret.ini"

printf 'too short\n' >"$TEST_DIR/short-secret"
write_ini "$TEST_DIR/short-secret.ini" cluster.secret_file="$TEST_DIR/short-secret"
refused "a too-short secret" 'secret' --config "$TEST_DIR/short-secret.ini"

printf 'not a directory\n' >"$TEST_DIR/a-file"
write_ini "$TEST_DIR/bad-data-dir.ini" node.data_dir="$TEST_DIR/a-file/data"
refused "an unusable data_dir" data_dir --config "$TEST_DIR/bad-data-dir.ini"

refused "a missing config file" 'no-such\.ini|config' --config "$TEST_DIR/no-such.ini"

write_ini "$TEST_DIR/good.ini"
refused "a malformed command-line override" replicas \
  --config "$TEST_DIR/good.ini" --cluster.replicas abc
refused "an unknown command-line option" colour \
  --config "$TEST_DIR/good.ini" --node.colour blue

# A busy port: a second node on the first one's port is refused; the first one keeps running.
write_ini "$TEST_DIR/first.ini" node.data_dir="$TEST_DIR/first-data"
"$DFS_NODE_BIN" --config "$TEST_DIR/first.ini" >"$TEST_DIR/first.log" 2>&1 &
first=$!
track_pid "$first"
listening() { ss -Htln "sport = :$port" | grep -q .; }
wait_until 20 listening ||
  fail "the first node never listened on $port: $(tail -n 20 "$TEST_DIR/first.log"); sockets on the port: $(ss -tanp | grep ":$port\b")"
write_ini "$TEST_DIR/second.ini" node.name=second node.data_dir="$TEST_DIR/second-data"
run_capture timeout 20 "$DFS_NODE_BIN" --config "$TEST_DIR/second.ini"
((RC != 124)) || fail "a second node on busy port $port started"
assert_eq 2 "$RC" "exit code of dfs-node on a busy port ($(last_run))"
assert_eq 1 "$(grep -c . "$ERR" || true)" "lines on stderr for a busy port ($(cat "$ERR"))"
grep -qiE "listen|$port|in use|busy" "$ERR" || fail "busy port: stderr names neither listen nor the port: $(cat "$ERR")"
pgrep -f -- "$TEST_DIR/second.ini" >/dev/null && fail "the refused second node is still running"
pid_alive "$first" || fail "the first node died when a second one tried its port"
log "a busy port: exit 2, stderr: $(cat "$ERR")"
kill -TERM "$first"
rc=0
wait "$first" || rc=$?
assert_eq 0 "$rc" "exit code of the first node after SIGTERM"

# --help and --version
run_capture timeout 20 "$DFS_NODE_BIN" --help
assert_eq 0 "$RC" "exit code of dfs-node --help ($(last_run))"
assert_contains "$OUT" "--config" "dfs-node --help"
run_capture timeout 20 "$DFS_NODE_BIN" --version
assert_eq 0 "$RC" "exit code of dfs-node --version ($(last_run))"
grep -qE '[0-9]+\.[0-9]+' "$OUT" || fail "dfs-node --version prints no version: $(cat "$OUT")"

# The client: usage errors are exit code 2.
for args in "" "frobnicate" "put" "get" "put $TEST_DIR/secret" "--node not-an-address status"; do
  # shellcheck disable=SC2086 # word splitting of the arguments is intended
  run_capture timeout 20 "$DFS_CLI" --secret-file "$TEST_DIR/secret" $args
  assert_eq 2 "$RC" "exit code of 'dfs $args' ($(last_run))"
  [[ -s $ERR ]] || fail "'dfs $args' exits 2 without a word on stderr"
done
