#!/usr/bin/env bash
# Measures self-healing on a local cluster: how long after two nodes die the cluster is back to
# R copies of everything, and what fraction of the data moves to a node that joins.
#
#   scripts/measure-healing.sh [--data MiB] [--files N] [--down-after S] [--repair-rate RATE]
#                              [--dir D] [--base-port P]
#
# Defaults: 256 MiB in 64 files on 5 nodes (R=3, W=2), down_after 10 s (the default), repair
# rate 64MiB (the default). Prints the timings and writes them as JSON to D/healing.json.
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_mib=256 files=64 down_after=10 repair_rate=64MiB dir=$REPO_DIR/.healing base_port=7401
while (($#)); do
  case "$1" in
    --data) data_mib=$2 ;;
    --files) files=$2 ;;
    --down-after) down_after=$2 ;;
    --repair-rate) repair_rate=$2 ;;
    --dir) dir=$2 ;;
    --base-port) base_port=$2 ;;
    *) echo "measure-healing.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
bash "$REPO_DIR/scripts/build.sh" >/dev/null
command -v jq >/dev/null || { echo "measure-healing.sh: jq is missing (scripts/install-deps.sh)" >&2; exit 2; }
export DFS_BIN_DIR=${DFS_BIN_DIR:-$REPO_DIR/build/bin}
cluster() { bash "$REPO_DIR/scripts/cluster.sh" "$@" --dir "$dir"; }
dfs() { "$DFS_BIN_DIR/dfs" --node "127.0.0.1:$base_port" --secret-file "$dir/secret" "$@"; }
status() { dfs status --json; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# wait_for SECONDS JQ-CONDITION: polls `dfs status --json` until the condition holds.
wait_for() {
  local deadline=$((SECONDS + $1))
  until status | jq -e "$2" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "timed out waiting for: $2" >&2; status >&2; return 1; }
    sleep 0.2
  done
}

cluster stop >/dev/null 2>&1 || true
rm -rf "$dir"
trap 'cluster stop >/dev/null 2>&1 || true' EXIT
cluster start 5 --base-port "$base_port" --replicas 3 --write-quorum 2 \
  --set cluster.down_after="$down_after" --set cluster.repair_rate="$repair_rate" \
  --set cluster.anti_entropy_interval=2 >/dev/null
file_bytes=$((data_mib * 1024 * 1024 / files))
echo "putting $data_mib MiB in $files files of $file_bytes bytes..."
for ((i = 0; i < files; i++)); do
  head -c "$file_bytes" /dev/urandom | dfs put - "heal/f$i" >/dev/null
done
wait_for 60 '.under_replicated == 0 and .over_replicated == 0'
stored=$(status | jq '[.members[].bytes] | add')

echo "SIGKILL nodes 4 and 5 (down_after ${down_after}s, repair_rate $repair_rate)"
t0=$(now)
cluster kill 4 >/dev/null
cluster kill 5 >/dev/null
wait_for 120 '[.members[] | select(.name == "n4" or .name == "n5") | .state == "down"] | all'
t_down=$(now)
wait_for 1800 '.under_replicated == 0'
t_repaired=$(now)
repaired_bytes=$(status | jq '[.members[] | select(.state == "up") | .bytes] | add')

echo "restarting them, then adding a sixth node"
cluster restart 4 >/dev/null
cluster restart 5 >/dev/null
wait_for 600 '.over_replicated == 0 and .under_replicated == 0'
before=$(status | jq '[.members[].bytes] | add')
t_join=$(now)
cluster add >/dev/null
wait_for 600 '(.members[] | select(.name == "n6") | .bytes) > 0 and .over_replicated == 0 and .under_replicated == 0'
t_joined=$(now)
n6=$(status | jq '.members[] | select(.name == "n6") | .bytes')
after=$(status | jq '[.members[].bytes] | add')
fraction=$(awk -v a="$n6" -v b="$after" 'BEGIN { printf "%.3f", a / b }')

cat <<EOF | tee "$dir/healing.json"
{"data_mib": $data_mib, "files": $files, "stored_bytes": $stored, "down_after_s": $down_after,
 "repair_rate": "$repair_rate",
 "kill_to_down_s": $(elapsed "$t0" "$t_down"), "kill_to_under_replicated_0_s": $(elapsed "$t0" "$t_repaired"),
 "down_to_repaired_s": $(elapsed "$t_down" "$t_repaired"), "bytes_on_survivors": $repaired_bytes,
 "join_settled_s": $(elapsed "$t_join" "$t_joined"), "bytes_before_join": $before,
 "bytes_on_new_node": $n6, "bytes_after_join": $after, "moved_fraction": $fraction, "ideal_fraction": 0.167}
EOF
