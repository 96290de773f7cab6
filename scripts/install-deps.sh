#!/usr/bin/env bash
# Installs every Debian package stackscope needs to build and test. Idempotent: does
# nothing when they are all present. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libelf-dev libdw-dev libcli11-dev nlohmann-json3-dev catch2
  libdeflate-dev                        # native frames: inflating compressed debug files (libc6-dbg)
  zlib1g-dev liblzma-dev libbz2-dev     # libdw.a's own dependencies (STACKSCOPE_STATIC_CLI)
  libmimalloc-dev                       # the CLI's allocator (STACKSCOPE_MIMALLOC)
  gdb                                   # gcore makes the test cores
  patchelf binutils                     # scripts/get-debian-python.sh (3.14 / 3.15 from Debian unstable)
  pybind11-dev python3-dev              # the GDB front-end, for gdb's embedded Python 3.11
  lldb-16 liblldb-16-dev                # the LLDB front-end
  strace util-linux                     # tests: which read path was taken; unshare (namespaces); bench/: syscalls per frame
  clang-14 libclang-rt-14-dev           # build-asan/: ASan+UBSan and the libFuzzer targets (tests/fuzz)
  clang-format-14                       # scripts/check-format.sh
  python3 python3-pytest python3-pytest-xdist python3-pytest-timeout python3-jsonschema
  python3-uvloop                        # tests: asyncio tasks on uvloop loops (test_tasks.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
