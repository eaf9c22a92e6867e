#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and integration) through CTest.
# Extra arguments go to ctest, e.g. `scripts/test.sh -R integration` or `scripts/test.sh -L unit`.
# The exit code is ctest's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh
cd build
exec ctest --output-on-failure -j2 "$@"
