#!/bin/sh
# Audit log benchmark: durable append rate (group commit), checkpoint, export and
# verification rates. Release build without sanitizers in build-bench/.
# Usage: bench/audit.sh [N_EVENTS [BATCH [WRITERS [TENANTS]]]]   default 1000000 1000 1 1
# Prints one line per phase; changes nothing outside /tmp and build-bench/.
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000000}; batch=${2:-1000}; writers=${3:-1}; tenants=${4:-1}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target kuracore >/dev/null
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/audit_bench.c build-bench/libkuracore.a \
	$(pkg-config --libs libmicrohttpd gnutls libsodium sqlite3 jansson libcurl inih liboath libqrencode libfido2 libcbor libxml-2.0) -lpthread \
	-o build-bench/audit_bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-audit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "# $(nproc) CPUs, $(uname -r), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1), disk: $(df -h "$tmp" | awk 'NR==2 {print $1}')"
./build-bench/audit_bench "$tmp" "$n" "$batch" "$writers" "$tenants"
