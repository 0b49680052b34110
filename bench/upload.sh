#!/bin/sh
# Benchmark (issue 15): 1 GiB upload through tus in Chromium (the portal) and with curl (tus
# POST + PATCH), against a WebDAV PUT of the same file with curl: MB/s, the median of RUNS
# (default 3). kura serve --no-tls on loopback, the demo tenant (bench/upload.mjs). Needs
# node, curl, oathtool, /usr/bin/chromium and tests/browser's node_modules (npm ci there).
# Give it a Release kura:
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= && cmake --build build-release -j2
#
#   bench/upload.sh [build-release/kura]        (env RUNS=3 SIZE_MIB=1024)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kura=${1:-$here/../build-release/kura}
[ -x "$kura" ] || { echo "no kura binary at $kura" >&2; exit 2; }
exec node "$here/upload.mjs" "$(cd "$(dirname "$kura")" && pwd)/$(basename "$kura")"
