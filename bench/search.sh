#!/bin/sh
# Benchmark (issue 15): search by name (GET /api/v1/search) over N file names (default
# 1,000,000), median and p99 per query for ASCII, Japanese and no-match queries. Not a timed
# test: it prints figures for docs/files.md "Benchmarks". Give it a Release kura binary
# (cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE=).
#
#   bench/search.sh [build-release/kura] [N]      (env THREADS=4 REPEAT=200)
#
# The files are real files made through the API (PUT of a few bytes each, THREADS keep-alive
# connections: bench/seed.py), never SQL. TLS off (--no-tls, loopback). Runs in a temporary
# directory, removed at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kura=${1:-$here/../build-release/kura}
n=${2:-1000000}
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
python3 "$here/search.py" "$kura" "$dir/data" "http://127.0.0.1:$port" "$n" "$dir/server.log"
