#!/usr/bin/env bash
# Random bytes, an oversized frame header, a truncated header and an empty connection sent to a
# node's port: the node drops those connections, stays up, and serves the next put and get.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Writing to a connection the node already closed must not kill this script (printf is run as
# a program, not the builtin, for the same reason).
trap '' PIPE

start_cluster 3 --chunk-size 64KiB
port=$(node_port 1)
pid=$(node_pid 1)

# send_raw MODE WHAT CMD...: connects to node 1 and writes CMD's output. MODE must-close: the
# node has to close the connection within 30 s (an error frame before that is fine); may-stay:
# wait at most 3 s for that, then hang up ourselves; hang-up: do not wait. Either way node 1
# must still be alive.
send_raw() {
  local mode=$1 what=$2
  shift 2
  local fd rc=0 limit=30
  [[ $mode == may-stay ]] && limit=3
  [[ $mode == hang-up ]] && limit=0.1
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to node 1 ($what)"
  "$@" 1>&"$fd" 2>/dev/null || true
  timeout "$limit" cat <&"$fd" >"$TEST_DIR/reply.$what" 2>/dev/null || rc=$?
  exec {fd}>&-
  if ((rc == 124)) && [[ $mode == must-close ]]; then
    fail "node 1 kept the connection open for $limit s after $what"
  fi
  pid_alive "$pid" || fail "node 1 (pid $pid) died after $what"
  if ((rc == 124)); then
    [[ $mode == hang-up ]] || log "$what: connection still open after $limit s (we hung up); node alive"
  else
    log "$what: connection closed by the node ($(stat -c %s "$TEST_DIR/reply.$what") bytes of reply); node alive"
  fi
}

# 1. 4 KiB of random bytes. (Their first 4 bytes may, rarely, announce an acceptable length;
#    then the node may wait for the rest of the frame, so we do not insist on a quick close.)
send_raw may-stay random-4KiB head -c 4096 /dev/urandom

# 2. A frame header announcing a 4 GiB payload: u32 length (LE) 0xffffffff, u16 type 1, u16
#    flags 0, u64 request id 1; then 64 KiB of what could be its payload. The node must refuse
#    it before allocating anything.
oversized() {
  env printf '\xff\xff\xff\xff\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00'
  head -c 65536 /dev/zero
}
send_raw must-close oversized-header oversized

# 3. A complete frame of an unknown type (0xfefe) with a 4-byte payload, before any handshake.
unknown_type() {
  env printf '\x04\x00\x00\x00\xfe\xfe\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00'
  env printf 'abcd'
}
send_raw must-close unknown-type unknown_type

# 4. Half a header, then we hang up (end of stream in the middle of a header).
half_header() { env printf '\x10\x00\x00'; }
send_raw may-stay half-header half_header

# 5. Connect and close at once, several times.
for _ in 1 2 3 4 5; do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to node 1"
  exec {fd}>&-
done

# 6. Random bytes again, many connections in a row, hanging up at once.
for i in 1 2 3 4 5 6 7 8; do
  send_raw hang-up "random-again-$i" head -c 4096 /dev/urandom
done

pid_alive "$pid" || fail "node 1 (pid $pid) died"
rss_kib=$(ps -o rss= -p "$pid" | tr -d ' ')
((rss_kib < 1024 * 1024)) || fail "node 1 uses ${rss_kib} KiB of memory after the oversized header"

# The node still serves clients, and the cluster is whole.
make_random_file "$TEST_DIR/after.bin" 200000
run_capture dfs_at 1 put "$TEST_DIR/after.bin" garbage/after.bin
((RC == 0)) || fail "put through node 1 after garbage input: $(last_run)"
run_capture dfs_at 1 get garbage/after.bin "$TEST_DIR/after.out"
((RC == 0)) || fail "get through node 1 after garbage input: $(last_run)"
assert_files_equal "$TEST_DIR/after.bin" "$TEST_DIR/after.out"
run_capture dfs_at 1 status --json
((RC == 0)) || fail "status through node 1 after garbage input: $(last_run)"
assert_eq 3 "$(json_up_members <"$OUT" | wc -l)" "members up as node 1 sees them after garbage input"
pid_alive "$pid" || fail "node 1 (pid $pid) died"
