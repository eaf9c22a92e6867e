#!/usr/bin/env bash
# Installs what is missing, then configures and builds dfs into build/ (binaries in build/bin/).
# Idempotent: a second run only rebuilds what changed.
#   BUILD_TYPE=Debug scripts/build.sh      (default RelWithDebInfo)
#   DFS_SKIP_DEPS=1 scripts/build.sh       (do not check/install Debian packages)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${DFS_SKIP_DEPS:-0} != 1 ]]; then
  bash scripts/install-deps.sh
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cmake --build build -j"$(nproc)"
echo "build.sh: built $(pwd)/build/bin/dfs-node and $(pwd)/build/bin/dfs"
