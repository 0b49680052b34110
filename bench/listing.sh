#!/bin/sh
# Benchmark (issue 15): server time per page of 1000 of a folder listing, in a folder of
# N files (default 100000) and in one of 10, for each sort. Not a timed test: it prints
# figures for docs and notes. Builds nothing; give it a kura binary (a Release build:
# cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURA_SANITIZE= -DKURA_TESTS=OFF).
#
#   bench/listing.sh [build/kura] [N]
#
# The files are made through the API (PUT of 1 byte each) over one keep-alive connection
# (bench/listing.py, python3's http.client), never by writing SQL; the server time of a page
# is its duration_us in the access log (http.request), the median over every page of each
# sort (and p90). Runs in a temporary directory, removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kura=${1:-$here/../build/kura}
n=${2:-100000}
[ -x "$kura" ] || { echo "no kura binary at $kura" >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/kura-bench-XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kura" init --data "$dir/data" >/dev/null 2>&1
printf '\n[server]\npublic_url = http://127.0.0.1:%s\n[security]\npwhash_ops = 1\npwhash_mem_kib = 8192\n[mail]\nsmtp_url = smtp://127.0.0.1:9\n' "$port" >>"$dir/data/kura.conf"
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$dir/data/kura.conf"
"$kura" serve --data "$dir/data" --listen "127.0.0.1:$port" --no-tls 2>"$dir/server.log" &
pid=$!
python3 "$here/listing.py" "$kura" "$dir/data" "http://127.0.0.1:$port" "$n" "$dir/server.log"
