#!/usr/bin/env bash
# Installs from Debian what building and testing dfs needs, skipping what is already installed.
# Runs `apt-get update` once, and only when something is missing. Works as root; otherwise uses
# sudo when it exists.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

# Build: compiler, CMake + make, CAF 0.17 (core, io), OpenSSL 3, Boost.Program_options.
# Tests and scripts: openssl, ss (iproute2), ps/pgrep (procps), setsid (util-linux), coreutils,
# jq (the self-healing tests read the CLI's JSON: member states, copies, holdings).
# Fuzzing (scripts/fuzz.sh): clang, and libclang-rt-14-dev for libFuzzer and the sanitizer
# runtimes (libclang_rt.fuzzer-x86_64.a).
packages=(
  g++
  cmake
  make
  libcaf-dev
  libssl-dev
  libboost-program-options-dev
  openssl
  iproute2
  procps
  util-linux
  coreutils
  jq
  tcpdump # tests/integration/test_tls_capture.sh captures the cluster's traffic on lo
  python3  # Debian's /usr/bin/python3 runs the soak (scripts/soak/) and its checker's tests
  nftables # the soak's network partitions (drop rules inside each node's namespace)
  faketime # the soak steps one node's wall clock while it runs (libfaketime)
  clang
  libclang-rt-14-dev
)

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  -h | --help)
    sed -n '2,/^[^#]*$/s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  "") ;;
  *)
    echo "install-deps.sh: unknown argument: $1 (try --help)" >&2
    exit 2
    ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: this is not a Debian-like system (no dpkg-query/apt-get);" \
    "install these yourself: ${packages[*]}" >&2
  exit 0
fi

is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == "install ok installed" ]]
}

missing=()
for pkg in "${packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps.sh: missing: ${missing[*]}"
if ((check_only)); then
  exit 1
fi

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps.sh: not root and no sudo; as root, run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps.sh: installed ${missing[*]}"
