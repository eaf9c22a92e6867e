#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a local 3-node cluster in ./.cluster and
# walks through put / ls / stat / get through another node / rm, printing every command first.
# The cluster keeps running afterwards (scripts/cluster.sh stop ends it), unless --stop is given.
#
#   scripts/run.sh            build, start, demo, leave the cluster running
#   scripts/run.sh --stop     the same, then stop the cluster
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

stop_at_end=0
for arg in "$@"; do
  case "$arg" in
    --stop) stop_at_end=1 ;;
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *)
      echo "run.sh: unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

if [[ -t 1 ]]; then
  bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
else
  bold="" dim="" reset=""
fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
# show CMD...: prints the command as one could type it, then runs it.
show() {
  printf '%s$ %s%s\n' "$bold" "$*" "$reset"
  "$@"
}

say "Installing dependencies and building (scripts/build.sh)"
bash scripts/build.sh

# From here on, `dfs` is the freshly built client, talking to the demo cluster with its secret.
export DFS_BIN_DIR=$ROOT/build/bin
export PATH=$DFS_BIN_DIR:$PATH
export DFS_SECRET_FILE=$ROOT/.cluster/secret
unset DFS_NODE DFS_CLUSTER_DIR

if [[ -f .cluster/cluster.env ]]; then
  say "Stopping the cluster left over from an earlier run"
  bash scripts/cluster.sh stop --dir .cluster || true
fi
rm -rf .cluster

on_failure() {
  local rc=$?
  ((rc == 0)) && return
  echo >&2
  echo "run.sh: the demo failed (exit $rc)." >&2
  if [[ -f .cluster/cluster.env ]]; then
    if ((stop_at_end)); then
      bash scripts/cluster.sh stop --dir .cluster >/dev/null 2>&1 || true
    else
      echo "run.sh: node logs: scripts/cluster.sh logs I (I = 1..3); stop: scripts/cluster.sh stop" >&2
    fi
  fi
}
trap on_failure EXIT

say "Starting a local cluster of 3 nodes on 127.0.0.1:7001..7003"
show scripts/cluster.sh start 3

demo=.cluster/demo
mkdir -p "$demo"
say "Making sample files in ./$demo"
head -c $((10 * 1024 * 1024 + 12345)) /dev/urandom >"$demo/random.bin"
{
  echo "Hello from dfs."
  echo "This file was written through node 1 and read back through node 3."
  date
} >"$demo/hello.txt"
show ls -l "$demo"

say "Storing both files through node 1"
show dfs --node 127.0.0.1:7001 put "$demo/random.bin" demo/random.bin
show dfs --node 127.0.0.1:7001 put "$demo/hello.txt" demo/hello.txt

say "Listing and inspecting them (through node 2)"
show dfs --node 127.0.0.1:7002 ls
show dfs --node 127.0.0.1:7002 ls demo/ --json
show dfs --node 127.0.0.1:7002 stat demo/random.bin

say "Reading them back through node 3"
show dfs --node 127.0.0.1:7003 get demo/random.bin "$demo/random.copy"
show dfs --node 127.0.0.1:7003 get demo/hello.txt -
show cmp "$demo/random.bin" "$demo/random.copy"
echo "identical: $demo/random.bin and $demo/random.copy ($(stat -c %s "$demo/random.copy") bytes)"

say "Removing demo/hello.txt (through node 2), then trying to read it (through node 1)"
show dfs --node 127.0.0.1:7002 rm demo/hello.txt
rc=0
show dfs --node 127.0.0.1:7001 get demo/hello.txt - || rc=$?
if ((rc == 0)); then
  echo "run.sh: demo/hello.txt can still be read after rm" >&2
  exit 1
fi
echo "(exit code $rc: the file is gone, as expected)"
show dfs --node 127.0.0.1:7001 ls

say "The cluster's state"
show dfs --node 127.0.0.1:7001 status

if ((stop_at_end)); then
  say "Stopping the cluster"
  show scripts/cluster.sh stop
  exit 0
fi

cat <<EOF

${bold}The cluster is still running${reset} (3 nodes, data and logs in $ROOT/.cluster). To use it:

  export PATH="$DFS_BIN_DIR:\$PATH" DFS_SECRET_FILE="$ROOT/.cluster/secret"
  dfs --node 127.0.0.1:7002 put some-file my/key
  dfs --node 127.0.0.1:7003 get my/key copy-of-some-file
  dfs ls; dfs status                  ${dim}(--node defaults to 127.0.0.1:7001)${reset}
  scripts/cluster.sh status           ${dim}which nodes run, and the cluster's view${reset}
  scripts/cluster.sh kill 2           ${dim}SIGKILL node 2; scripts/cluster.sh restart 2 brings it back${reset}
  scripts/cluster.sh logs 1           ${dim}node 1's log${reset}

Stop it with: scripts/cluster.sh stop
EOF
