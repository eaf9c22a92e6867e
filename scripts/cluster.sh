#!/usr/bin/env bash
# Launches, stops and inspects a local dfs cluster on 127.0.0.1.
#
#   cluster.sh start N [--dir D] [--base-port P] [--replicas R] [--write-quorum W]
#                      [--chunk-size S] [--log-level L]
#       writes D/secret (dfs keygen, unless present) and D/nodeI/node.ini for I = 1..N, starts
#       every node in the background (node I listens on 127.0.0.1:P+I-1, logs to D/nodeI/node.log)
#       and returns once every node sees every node as "up".
#       Defaults: D = ./.cluster, P = 7001, R = 3 (at most N), W = 2 (at most R), S = 4MiB.
#   cluster.sh stop      [--dir D]   SIGTERM every node, wait for it to exit, SIGKILL stragglers
#   cluster.sh status    [--dir D] [--json]   which nodes run here, then `dfs status` via one of them
#   cluster.sh kill I    [--dir D]   SIGKILL node I
#   cluster.sh restart I [--dir D]   start node I again (stopping it first if it runs), wait for it
#   cluster.sh logs I    [--dir D]   print node I's log (without I: every node's log)
#   cluster.sh wait      [--dir D]   wait until every running node sees every running node up
#   cluster.sh add       [--dir D]   start one more node (N+1) that joins the running cluster
#
# `start` also takes --set SECTION.KEY=VALUE (repeatable): any other dfs-node key for every
# node's INI, e.g. --set cluster.down_after=2; `add` uses the same settings.
#
# The directory remembers the cluster (D/cluster.env), so later commands need only --dir. The
# binaries come from $DFS_BIN_DIR, else from <repo>/build/bin. Environment: DFS_CLUSTER_DIR
# (default for --dir), DFS_START_TIMEOUT (seconds to wait for "up", default 30),
# DFS_STOP_TIMEOUT (seconds to wait after SIGTERM, default 20).

# A && B || C below always means "fail unless A and B".
# shellcheck disable=SC2015
set -euo pipefail

readonly PROG=cluster.sh
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR

die() {
  echo "$PROG: $*" >&2
  exit 1
}
usage_error() {
  echo "$PROG: $*" >&2
  echo "usage: $PROG start N [--dir D] [--base-port P] [--replicas R] [--write-quorum W]" \
    "[--chunk-size S] [--log-level L] [--set SECTION.KEY=VALUE] | stop | status | kill I | restart I | logs [I] | wait | add" >&2
  exit 2
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------------------------------------
# Arguments: a subcommand, its positional arguments, and options anywhere.

cmd=""
positional=()
opt_dir=${DFS_CLUSTER_DIR:-./.cluster}
opt_base_port=7001
opt_replicas=3
opt_write_quorum=2
opt_chunk_size=4MiB
opt_log_level=info
opt_json=0
opt_sets=()
while (($#)); do
  case "$1" in
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    --dir | --base-port | --replicas | --write-quorum | --chunk-size | --log-level | --set)
      (($# >= 2)) || usage_error "$1 needs a value"
      case "$1" in
        --dir) opt_dir=$2 ;;
        --base-port) opt_base_port=$2 ;;
        --replicas) opt_replicas=$2 ;;
        --write-quorum) opt_write_quorum=$2 ;;
        --chunk-size) opt_chunk_size=$2 ;;
        --log-level) opt_log_level=$2 ;;
        --set) opt_sets+=("$2") ;;
      esac
      shift 2
      ;;
    --dir=* | --base-port=* | --replicas=* | --write-quorum=* | --chunk-size=* | --log-level=* | --set=*)
      value=${1#*=}
      case "$1" in
        --dir=*) opt_dir=$value ;;
        --base-port=*) opt_base_port=$value ;;
        --replicas=*) opt_replicas=$value ;;
        --write-quorum=*) opt_write_quorum=$value ;;
        --chunk-size=*) opt_chunk_size=$value ;;
        --log-level=*) opt_log_level=$value ;;
        --set=*) opt_sets+=("$value") ;;
      esac
      shift
      ;;
    --json)
      opt_json=1
      shift
      ;;
    -*) usage_error "unknown option: $1" ;;
    *)
      if [[ -z $cmd ]]; then cmd=$1; else positional+=("$1"); fi
      shift
      ;;
  esac
done
[[ -n $cmd ]] || usage_error "no command given"

# ---------------------------------------------------------------------------------------------
# The cluster directory and what it remembers.

mkdir_dir() {
  mkdir -p "$opt_dir"
  DIR=$(cd "$opt_dir" && pwd)
}
use_existing_dir() {
  [[ -d $opt_dir ]] || die "no cluster directory $opt_dir (start one with: $PROG start N --dir $opt_dir)"
  DIR=$(cd "$opt_dir" && pwd)
  [[ -f $DIR/cluster.env ]] || die "$DIR has no cluster.env: not a cluster directory (start one first)"
  # shellcheck source=/dev/null
  source "$DIR/cluster.env"
  NODES=$CLUSTER_NODES
  BASE_PORT=$CLUSTER_BASE_PORT
  BIN_DIR=${DFS_BIN_DIR:-$CLUSTER_BIN_DIR}
}
write_env() {
  {
    echo "# written by scripts/cluster.sh start; read by its other commands"
    printf 'CLUSTER_NODES=%q\n' "$NODES"
    printf 'CLUSTER_BASE_PORT=%q\n' "$BASE_PORT"
    printf 'CLUSTER_REPLICAS=%q\n' "$REPLICAS"
    printf 'CLUSTER_WRITE_QUORUM=%q\n' "$WRITE_QUORUM"
    printf 'CLUSTER_CHUNK_SIZE=%q\n' "$opt_chunk_size"
    printf 'CLUSTER_BIN_DIR=%q\n' "$BIN_DIR"
    printf 'CLUSTER_LOG_LEVEL=%q\n' "$opt_log_level"
    printf 'CLUSTER_SETS=(%s)\n' "$(printf '%q ' "${opt_sets[@]+"${opt_sets[@]}"}")"
  } >"$DIR/cluster.env.tmp"
  mv "$DIR/cluster.env.tmp" "$DIR/cluster.env"
}
check_binaries() {
  local b
  for b in dfs-node dfs; do
    [[ -x $BIN_DIR/$b ]] || die "no $BIN_DIR/$b; build first (scripts/build.sh) or set DFS_BIN_DIR"
  done
}

node_dir() { echo "$DIR/node$1"; }
node_port() { echo $((BASE_PORT + $1 - 1)); }
node_addr() { echo "127.0.0.1:$(node_port "$1")"; }
node_ini() { echo "$DIR/node$1/node.ini"; }
node_log() { echo "$DIR/node$1/node.log"; }
node_pidfile() { echo "$DIR/node$1/node.pid"; }

check_index() {
  local i=${1:-}
  [[ -n $i ]] || usage_error "$cmd needs a node number"
  is_uint "$i" && ((i >= 1 && i <= NODES)) || die "no node $i in this cluster (nodes 1..$NODES)"
}

# A pid counts as ours only while it runs dfs-node with this node's config: a stale pid file
# never makes us signal an unrelated process. A zombie (exited, not yet reaped) is not alive.
pid_is_node() {
  local pid=$1 ini=$2 args
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A zombie's cmdline is empty.
  args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $args == *"$ini"* ]]
}
node_pid() {
  local f
  f=$(node_pidfile "$1")
  [[ -f $f ]] && cat "$f"
  return 0
}
node_alive() {
  pid_is_node "$(node_pid "$1")" "$(node_ini "$1")"
}
live_nodes() {
  local i
  for ((i = 1; i <= NODES; i++)); do
    if node_alive "$i"; then echo "$i"; fi
  done
}

dfs_at() {
  local i=$1
  shift
  timeout 10 "$BIN_DIR/dfs" --node "$(node_addr "$i")" --secret-file "$DIR/secret" "$@"
}

# Names of the members that a `dfs status --json` document (on stdin) lists with state "up".
up_members() {
  tr -d '\r\n' | sed 's/}/}\n/g' |
    grep -E '"state"[[:space:]]*:[[:space:]]*"up"' |
    sed -n 's/.*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' || true
}

# True when every running node answers `status` and lists every running node as up.
LAST_STATUS=""
cluster_ready() {
  local live i j json up
  live=$(live_nodes)
  [[ -n $live ]] || return 1
  for i in $live; do
    json=$(dfs_at "$i" status --json 2>&1) || {
      LAST_STATUS="node $i: $json"
      return 1
    }
    up=$(up_members <<<"$json")
    for j in $live; do
      if ! grep -qx "n$j" <<<"$up"; then
        LAST_STATUS="node $i does not see n$j up yet: $json"
        return 1
      fi
    done
  done
  return 0
}

print_log_tails() {
  local i log
  for i in "$@"; do
    log=$(node_log "$i")
    [[ -f $log ]] || continue
    echo "---- last lines of $log ----" >&2
    tail -n 25 "$log" >&2
  done
}

# Waits until cluster_ready; fails early if one of the nodes in $@ (which must run) exits.
wait_ready() {
  local timeout=${DFS_START_TIMEOUT:-30} i
  local deadline=$((SECONDS + timeout))
  while :; do
    for i in "$@"; do
      if ! node_alive "$i"; then
        echo "$PROG: node $i ($(node_addr "$i")) exited during start-up" >&2
        print_log_tails "$i"
        return 1
      fi
    done
    if cluster_ready; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      echo "$PROG: the cluster in $DIR did not come up within ${timeout}s" >&2
      echo "$PROG: last answer: $LAST_STATUS" >&2
      # shellcheck disable=SC2046
      print_log_tails $(seq 1 "$NODES")
      return 1
    fi
    sleep 0.2
  done
}

port_busy() {
  command -v ss >/dev/null 2>&1 || return 1
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}
# port_still_busy PORT: busy for another 10 s. A node killed a moment ago may still hold its
# port: the kernel frees its memory before it closes its sockets, which takes a while for a big
# (e.g. AddressSanitizer) process that already looks gone.
port_still_busy() {
  local deadline=$((SECONDS + 10))
  while port_busy "$1"; do
    ((SECONDS < deadline)) || return 0
    sleep 0.1
  done
  return 1
}

launch_node() {
  local i=$1 ini log pid
  ini=$(node_ini "$i")
  log=$(node_log "$i")
  echo "=== $(date '+%F %T') starting dfs-node --config $ini" >>"$log"
  # setsid: the node gets its own session, so a Ctrl-C meant for the calling script does not
  # reach it. A background job of a non-interactive shell is no group leader, so setsid execs
  # in place and $! is the node's pid.
  setsid "$BIN_DIR/dfs-node" --config "$ini" </dev/null >>"$log" 2>&1 &
  pid=$!
  echo "$pid" >"$(node_pidfile "$i")"
  # Until the forked shell has exec'd, its cmdline is ours, not the node's: wait for the exec
  # (or the end of the process) so that node_alive is right from here on.
  local deadline=$((SECONDS + 5))
  while kill -0 "$pid" 2>/dev/null && ! pid_is_node "$pid" "$ini" && ((SECONDS < deadline)); do
    sleep 0.01
  done
}

stop_nodes() {
  local timeout=${DFS_STOP_TIMEOUT:-20} i pid
  local -a targets=() left=()
  for i in "$@"; do
    if node_alive "$i"; then
      pid=$(node_pid "$i")
      kill -TERM "$pid" 2>/dev/null || true
      targets+=("$i")
    fi
  done
  local deadline=$((SECONDS + timeout))
  while :; do
    left=()
    for i in "${targets[@]}"; do
      if node_alive "$i"; then left+=("$i"); fi
    done
    ((${#left[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for i in "${left[@]}"; do
        echo "$PROG: node $i did not exit within ${timeout}s of SIGTERM; sending SIGKILL" >&2
        kill -KILL "$(node_pid "$i")" 2>/dev/null || true
      done
      break
    fi
    sleep 0.1
  done
  for i in "${targets[@]}"; do
    echo "stopped node $i (pid $(node_pid "$i"))"
  done
  for i in "$@"; do
    node_alive "$i" || rm -f "$(node_pidfile "$i")"
  done
}

# ---------------------------------------------------------------------------------------------
# Commands

# write_node_ini I BOOTSTRAP: node I's INI, with the --set keys after the standard ones.
write_node_ini() {
  local i=$1 addrs=$2 set key value
  mkdir -p "$(node_dir "$i")/data"
  {
    cat <<EOF
# written by scripts/cluster.sh
[node]
name = n$i
listen = $(node_addr "$i")
data_dir = $(node_dir "$i")/data

[cluster]
name = dfs-local
secret_file = $DIR/secret
bootstrap = $addrs
replicas = $REPLICAS
write_quorum = $WRITE_QUORUM

[storage]
chunk_size = $opt_chunk_size

[log]
level = $opt_log_level
EOF
    for set in "${opt_sets[@]+"${opt_sets[@]}"}"; do
      key=${set%%=*}
      value=${set#*=}
      [[ $key == *.* && $set == *=* ]] || die "--set $set: expected SECTION.KEY=VALUE"
      printf '\n[%s]\n%s = %s\n' "${key%%.*}" "${key#*.}" "$value"
    done
  } >"$(node_ini "$i")"
}

cmd_add() {
  use_existing_dir
  check_binaries
  REPLICAS=$CLUSTER_REPLICAS
  WRITE_QUORUM=$CLUSTER_WRITE_QUORUM
  opt_chunk_size=$CLUSTER_CHUNK_SIZE
  opt_log_level=$CLUSTER_LOG_LEVEL
  opt_sets=("${CLUSTER_SETS[@]+"${CLUSTER_SETS[@]}"}")
  local i=$((NODES + 1)) addrs="" j
  port_still_busy "$(node_port "$i")" && die "port $(node_port "$i") (node $i) is already in use"
  for ((j = 1; j <= i; j++)); do
    addrs+="${addrs:+,}$(node_addr "$j")"
  done
  write_node_ini "$i" "$addrs"
  NODES=$i
  write_env
  launch_node "$i"
  # shellcheck disable=SC2046
  wait_ready $(live_nodes) || exit 1
  echo "node $i (n$i) joined at $(node_addr "$i")"
}

cmd_start() {
  local n=${positional[0]:-} i addrs=""
  [[ -n $n ]] || usage_error "start needs the number of nodes"
  is_uint "$n" && ((n >= 1 && n <= 100)) || usage_error "start: N must be 1..100, not '$n'"
  is_uint "$opt_base_port" || usage_error "--base-port must be a number, not '$opt_base_port'"
  ((opt_base_port >= 1 && opt_base_port + n - 1 <= 65535)) ||
    usage_error "--base-port $opt_base_port: ports would leave 1..65535"
  is_uint "$opt_replicas" && ((opt_replicas >= 1)) ||
    usage_error "--replicas must be at least 1, not '$opt_replicas'"
  is_uint "$opt_write_quorum" && ((opt_write_quorum >= 1)) ||
    usage_error "--write-quorum must be at least 1, not '$opt_write_quorum'"

  mkdir_dir
  if [[ -f $DIR/cluster.env ]]; then
    (
      use_existing_dir
      [[ -z $(live_nodes) ]]
    ) || die "a cluster is already running in $DIR; stop it first ($PROG stop --dir $opt_dir)"
  fi

  NODES=$n
  BASE_PORT=$opt_base_port
  REPLICAS=$((opt_replicas < n ? opt_replicas : n))
  WRITE_QUORUM=$((opt_write_quorum < REPLICAS ? opt_write_quorum : REPLICAS))
  BIN_DIR=${DFS_BIN_DIR:-$REPO_DIR/build/bin}
  BIN_DIR=$(cd "$BIN_DIR" 2>/dev/null && pwd) || die "no binary directory ${DFS_BIN_DIR:-$REPO_DIR/build/bin}; build first (scripts/build.sh)"
  check_binaries

  if [[ ! -s $DIR/secret ]]; then
    "$BIN_DIR/dfs" keygen "$DIR/secret" >/dev/null || die "dfs keygen $DIR/secret failed"
  fi
  for ((i = 1; i <= n; i++)); do
    addrs+="${addrs:+,}$(node_addr "$i")"
  done
  for ((i = 1; i <= n; i++)); do
    write_node_ini "$i" "$addrs"
  done
  write_env

  for ((i = 1; i <= n; i++)); do
    if port_still_busy "$(node_port "$i")"; then
      die "port $(node_port "$i") (node $i) is already in use; pick another --base-port"
    fi
  done
  for ((i = 1; i <= n; i++)); do
    launch_node "$i"
  done
  # shellcheck disable=SC2046
  if ! wait_ready $(seq 1 "$n"); then
    # shellcheck disable=SC2046
    stop_nodes $(seq 1 "$n") >/dev/null
    exit 1
  fi
  echo "cluster of $n nodes up in $DIR: $addrs (replicas $REPLICAS, write quorum $WRITE_QUORUM)"
}

cmd_stop() {
  use_existing_dir
  # shellcheck disable=SC2046
  stop_nodes $(seq 1 "$NODES")
}

cmd_status() {
  use_existing_dir
  local i first=""
  for ((i = 1; i <= NODES; i++)); do
    if node_alive "$i"; then
      [[ -n $first ]] || first=$i
      ((opt_json)) || echo "node $i  n$i  $(node_addr "$i")  running (pid $(node_pid "$i"))"
    else
      ((opt_json)) || echo "node $i  n$i  $(node_addr "$i")  not running"
    fi
  done
  [[ -n $first ]] || die "no node of $DIR is running"
  ((opt_json)) || echo "--- dfs --node $(node_addr "$first") status"
  local -a extra=()
  ((opt_json)) && extra=(--json)
  "$BIN_DIR/dfs" --node "$(node_addr "$first")" --secret-file "$DIR/secret" status "${extra[@]}"
}

cmd_kill() {
  use_existing_dir
  local i=${positional[0]:-} pid
  check_index "$i"
  node_alive "$i" || die "node $i is not running"
  pid=$(node_pid "$i")
  kill -KILL "$pid"
  local deadline=$((SECONDS + 10))
  while node_alive "$i" && ((SECONDS < deadline)); do sleep 0.05; done
  node_alive "$i" && die "node $i (pid $pid) survived SIGKILL"
  rm -f "$(node_pidfile "$i")"
  echo "killed node $i (pid $pid)"
}

cmd_restart() {
  use_existing_dir
  local i=${positional[0]:-}
  check_index "$i"
  check_binaries
  if node_alive "$i"; then
    stop_nodes "$i"
  fi
  if port_still_busy "$(node_port "$i")"; then
    die "port $(node_port "$i") (node $i) is in use by another process"
  fi
  launch_node "$i"
  wait_ready "$i" || exit 1
  echo "node $i up again at $(node_addr "$i") (pid $(node_pid "$i"))"
}

cmd_logs() {
  use_existing_dir
  local i=${positional[0]:-}
  if [[ -z $i ]]; then
    for ((i = 1; i <= NODES; i++)); do
      echo "==== node $i: $(node_log "$i")"
      cat "$(node_log "$i")" 2>/dev/null || true
    done
    return
  fi
  check_index "$i"
  [[ -f $(node_log "$i") ]] || die "node $i has no log yet"
  cat "$(node_log "$i")"
}

cmd_wait() {
  use_existing_dir
  check_binaries
  [[ -n $(live_nodes) ]] || die "no node of $DIR is running"
  # shellcheck disable=SC2046
  wait_ready $(live_nodes) || exit 1
  echo "every running node sees every running node up"
}

case "$cmd" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill) cmd_kill ;;
  restart) cmd_restart ;;
  logs) cmd_logs ;;
  wait) cmd_wait ;;
  add) cmd_add ;;
  *) usage_error "unknown command: $cmd" ;;
esac
