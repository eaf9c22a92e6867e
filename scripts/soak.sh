#!/usr/bin/env bash
# The nemesis soak: a 5-node cluster in network namespaces (R=3), clients doing puts,
# overwrites, gets, rms, stats and lists on a few hundred keys, and a nemesis that combines
# kill -9 and restart, SIGSTOP past down_after, a flapping node, partitions, a full disk,
# flipped chunk bytes and clock steps on a schedule drawn from the seed. Then the faults stop, the cluster must converge
# on its own, every key is read through every node, the disks are read, and the history
# checker (scripts/soak/checker.py) reports every violation of README's "Guarantees".
#
#   scripts/soak.sh --duration SECONDS --seed N [--write-quorum W] [--replicas R] [--nodes N]
#                   [--clients C] [--keys K] [--faults kill,pause,flap,partition,fill,flip,clock]
#                   [--dir D] [--keep] [--no-build]
#
# Prints the operations done, the faults injected, the convergence times and each violation;
# exits 0 only when there was none and the cluster converged. Needs root (namespaces, nftables,
# tmpfs). The run directory (default .soak/seed-N-PID) keeps history.jsonl and each node's log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h | --help)
      sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
      exit 0
      ;;
    *) args+=("$a") ;;
  esac
done

if [[ ${DFS_SKIP_DEPS:-0} != 1 ]]; then
  bash scripts/install-deps.sh
fi
if ((build)); then
  DFS_SKIP_DEPS=1 bash scripts/build.sh >/dev/null
fi
exec /usr/bin/python3 scripts/soak/soak.py --bin-dir "${DFS_BIN_DIR:-build/bin}" "${args[@]}"
