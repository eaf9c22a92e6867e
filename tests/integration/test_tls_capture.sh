#!/usr/bin/env bash
# Nothing readable crosses the wire: traffic captured on the loopback interface during a put
# and a get (client links and the nodes' own links, from before the nodes start) holds no copy
# of a marker file's bytes and not the key's name.
#
# The detector is proven on the same steps run with TLS switched off everywhere ([cluster]
# tls = off on the nodes, DFS_TLS=off on the client): there the marker must show up, and the
# key must show up on more connections than the client opened (i.e. on a link between nodes
# too). The capture is tcpdump's (Debian package tcpdump; needs root or CAP_NET_RAW); without
# it, the test falls back to recording the client's link through bin/dfs-relay (the nodes' own
# links are then not covered, and the test says so; DFS_TEST_NO_TCPDUMP=1 forces that).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RELAY_BIN=$DFS_BIN_DIR/dfs-relay
[[ -x $RELAY_BIN ]] || fail "$RELAY_BIN is missing (build the dfs-relay target)"

# 64 random hex digits, repeated to 1 MiB: distinctive, and printable (so the key and marker
# are found with grep -a in a binary capture whatever bytes surround them).
MARKER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
((${#MARKER} == 64)) || fail "could not make a marker"
MARKER_HEAD=${MARKER:0:20}
KEY="capture/key-name-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
MARKER_FILE=$TEST_DIR/marker.bin
{ yes "$MARKER" | tr -d '\n' | head -c $((1024 * 1024)) >"$MARKER_FILE"; } 2>/dev/null || true # yes: SIGPIPE
[[ $(stat -c %s "$MARKER_FILE") == 1048576 ]] || fail "could not write the marker file"

# Can tcpdump capture on lo here? (Debian's tcpdump drops privileges to its own user after
# opening the device unless told -Z root; the scratch directory may not be writable for it.)
# DFS_TEST_NO_TCPDUMP=1 forces the fallback (to test the test).
USE_TCPDUMP=0
if [[ ${DFS_TEST_NO_TCPDUMP:-0} != 1 ]] && command -v tcpdump >/dev/null 2>&1; then
  if timeout 3 tcpdump -i lo -c 1 -w /dev/null -Z root 'tcp port 1' >/dev/null 2>"$TEST_DIR/probe.err" ||
    grep -q "listening on" "$TEST_DIR/probe.err"; then
    USE_TCPDUMP=1
  fi
fi
if ((USE_TCPDUMP)); then
  log "capturing with tcpdump on lo (client links and links between nodes)"
else
  why=$(head -c 300 "$TEST_DIR/probe.err" 2>/dev/null || true)
  [[ ${DFS_TEST_NO_TCPDUMP:-0} == 1 ]] && why="DFS_TEST_NO_TCPDUMP=1"
  log "WARNING: tcpdump cannot capture here (${why:-not installed});" \
    "falling back to dfs-relay --record on the client's link only: the links between nodes are NOT checked"
fi

# count_in FILE PATTERN: how many lines of FILE (binary) contain PATTERN.
count_in() { grep -a -c -F -- "$2" "$1" || true; }

# The unordered port pairs (one per TCP connection) in a capture, one "A B" per line.
capture_connections() {
  tcpdump -nn -r "$1" 2>/dev/null |
    sed -n 's/.* IP [0-9.]*\.\([0-9]*\) > [0-9.]*\.\([0-9]*\):.*/\1 \2/p' |
    awk '{ if ($1 < $2) print $1, $2; else print $2, $1 }' | sort -u
}

# How many TCP connections of a capture carry PATTERN.
connections_with() {
  local pcap=$1 pattern=$2 a b n=0
  while read -r a b; do
    # grep -c reads to the end: with -q, tcpdump's SIGPIPE would fail the pipeline (pipefail).
    if (($(tcpdump -r "$pcap" -w - "tcp port $a and tcp port $b" 2>/dev/null | grep -a -c -F -- "$pattern" || true) > 0)); then
      n=$((n + 1))
    fi
  done < <(capture_connections "$pcap")
  echo "$n"
}

# one_round MODE (tls | plain): a fresh 3-node cluster, captured from before its start; one put
# through node 1 and one get through node 2 (both through the relay to node 1 in the fallback).
# Leaves the capture (or the relay's recordings) in $TEST_DIR/MODE and sets CAPTURE_FILES to
# the files to search.
CAPTURE_FILES=()
one_round() {
  local mode=$1 dir=$TEST_DIR/$1 capture_pid="" relay_pid="" i filter="" client_node get_node
  local -a sets=()
  mkdir -p "$dir"
  if [[ $mode == plain ]]; then
    export DFS_TLS=off # the client, and scripts/cluster.sh's readiness checks
    sets=(--set cluster.tls=off)
  else
    unset DFS_TLS
  fi
  # start_cluster, but with the capture started between choosing the ports and starting nodes.
  CLUSTER_DIR=$dir/cluster
  BASE_PORT=$(pick_base_port 13)
  SECRET_FILE=$CLUSTER_DIR/secret
  for i in 0 1 2; do
    filter+="${filter:+ or }tcp port $((BASE_PORT + i))"
  done
  if ((USE_TCPDUMP)); then
    # -U: every packet is written at once; -B: a large buffer, so a burst drops nothing.
    tcpdump -i lo -nn -U -B 16384 -s 0 -Z root -w "$dir/lo.pcap" "$filter" \
      >"$dir/tcpdump.out" 2>"$dir/tcpdump.err" &
    capture_pid=$!
    track_pid "$capture_pid"
    wait_until 20 grep -q "listening on" "$dir/tcpdump.err" ||
      fail "tcpdump did not start: $(cat "$dir/tcpdump.err")"
  fi
  log "[$mode] starting 3 nodes on 127.0.0.1:$BASE_PORT..$((BASE_PORT + 2))"
  bash "$CLUSTER_SH" start 3 --dir "$CLUSTER_DIR" --base-port "$BASE_PORT" --chunk-size 64KiB \
    "${sets[@]}" >"$dir/cluster-start.out" 2>&1 ||
    fail "[$mode] scripts/cluster.sh start failed: $(cat "$dir/cluster-start.out")"

  client_node=$(node_addr 1) get_node=$(node_addr 2)
  if ((!USE_TCPDUMP)); then
    "$RELAY_BIN" --listen "127.0.0.1:$((BASE_PORT + 10))" --target "$(node_addr 1)" \
      --record "$dir/relay" >"$dir/relay.out" 2>"$dir/relay.err" &
    relay_pid=$!
    track_pid "$relay_pid"
    wait_until 10 grep -q "listening on" "$dir/relay.out" || fail "dfs-relay did not start: $(cat "$dir/relay.err")"
    client_node=127.0.0.1:$((BASE_PORT + 10)) get_node=127.0.0.1:$((BASE_PORT + 10))
  fi

  run_capture timeout 60 "$DFS_CLI" --node "$client_node" --secret-file "$SECRET_FILE" put "$MARKER_FILE" "$KEY"
  ((RC == 0)) || fail "[$mode] put: $(last_run)"
  run_capture timeout 60 "$DFS_CLI" --node "$get_node" --secret-file "$SECRET_FILE" get "$KEY" "$dir/marker.out"
  ((RC == 0)) || fail "[$mode] get: $(last_run)"
  assert_files_equal "$MARKER_FILE" "$dir/marker.out"
  if [[ $mode == tls ]]; then
    # The nodes spoke TLS among themselves as well (no node refused another).
    for i in 1 2 3; do
      ! grep -q "refusing a" "$CLUSTER_DIR/node$i/node.log" ||
        fail "[tls] node $i refused a peer: $(grep 'refusing a' "$CLUSTER_DIR/node$i/node.log")"
    done
  else
    grep -qi "tls" "$CLUSTER_DIR/node1/node.log" || fail "[plain] node 1 did not warn that TLS is off"
  fi

  DFS_STOP_TIMEOUT=10 cluster_sh stop >/dev/null
  CAPTURE_FILES=()
  if ((USE_TCPDUMP)); then
    kill -TERM "$capture_pid"
    wait "$capture_pid" 2>/dev/null || true
    log "[$mode] tcpdump: $(tr '\n' ' ' <"$dir/tcpdump.err")"
    local dropped
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$dir/tcpdump.err")
    [[ $dropped == 0 ]] || fail "[$mode] the capture is incomplete: tcpdump says '$dropped' packets dropped by the kernel"
    CAPTURE_FILES=("$dir/lo.pcap")
  else
    kill -TERM "$relay_pid"
    wait "$relay_pid" 2>/dev/null || true
    CAPTURE_FILES=("$dir"/relay/*)
  fi
  unset DFS_TLS
}

total_count() {
  local pattern=$1 f n=0
  for f in "${CAPTURE_FILES[@]}"; do
    n=$((n + $(count_in "$f" "$pattern")))
  done
  echo "$n"
}

# -- the detector: with TLS off, the marker and the key are on the wire ---------------------
one_round plain
plain_marker=$(total_count "$MARKER")
plain_key=$(total_count "$KEY")
log "[plain] capture: $(du -cb "${CAPTURE_FILES[@]}" | tail -n 1 | cut -f1) bytes; lines with the marker: $plain_marker, with the key: $plain_key"
((plain_marker > 0)) || fail "[plain] the marker was not found in the plaintext capture: the detector is broken"
((plain_key > 0)) || fail "[plain] the key name was not found in the plaintext capture: the detector is broken"
if ((USE_TCPDUMP)); then
  # The client opened exactly two connections that carry the key (the put and the get); more
  # means the key was also seen on a link between nodes (manifests travel there).
  plain_conns=$(connections_with "${CAPTURE_FILES[0]}" "$KEY")
  log "[plain] connections carrying the key: $plain_conns (the client's: 2)"
  ((plain_conns > 2)) ||
    fail "[plain] the key was seen on $plain_conns connections only: links between nodes are not in the capture"
fi

# -- the real thing: with TLS, nothing -------------------------------------------------------
one_round tls
tls_bytes=$(du -cb "${CAPTURE_FILES[@]}" | tail -n 1 | cut -f1)
log "[tls] capture: $tls_bytes bytes"
# A put of 1 MiB to 3 replicas and a get of it: at least 3 MiB crossed the captured ports.
((tls_bytes > 3 * 1024 * 1024)) || ((!USE_TCPDUMP)) ||
  fail "[tls] the capture holds only $tls_bytes bytes: it missed traffic"
for pattern in "$MARKER" "$MARKER_HEAD" "$KEY"; do
  n=$(total_count "$pattern")
  ((n == 0)) || fail "[tls] '$pattern' appears in $n places of the TLS capture (${CAPTURE_FILES[*]})"
done
if ((USE_TCPDUMP)); then
  tls_conns=$(capture_connections "${CAPTURE_FILES[0]}" | wc -l)
  log "[tls] connections captured: $tls_conns"
  # 3 links between nodes, 2 client connections, and the readiness checks' status calls.
  ((tls_conns >= 5)) || fail "[tls] only $tls_conns connections captured"
fi
log "ok: no marker byte run and no key name in $tls_bytes captured bytes of TLS traffic"
