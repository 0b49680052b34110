#!/bin/sh
# Benchmark (issue 15): time until the first rows of a folder of N files (default 100,000)
# and of one of 10 are visible in Chromium (the portal's /files), and the time of a listing
# page of 1,000 (bench/portal_first_rows.mjs). kura serve --no-tls on loopback, the demo
# tenant. Needs node, oathtool, /usr/bin/chromium and tests/browser's node_modules. Give it a
# Release kura (cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE=).
#
#   bench/portal_first_rows.sh [build-release/kura]     (env N=100000 LOADS=7 CONN=4)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kura=${1:-$here/../build-release/kura}
[ -x "$kura" ] || { echo "no kura binary at $kura" >&2; exit 2; }
exec node "$here/portal_first_rows.mjs" "$(cd "$(dirname "$kura")" && pwd)/$(basename "$kura")"
