#!/bin/sh
# Shared-state benchmark (issue 10): per-call cost of the per-address throttle and the job
# leases on SQLite (durable commits). Release build without sanitizers in build-bench/.
# Usage: bench/cluster_state.sh [N]   default 20000
# Prints one line per operation; changes nothing outside /tmp and build-bench/.
set -eu
cd "$(dirname "$0")/.."
n=${1:-20000}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target kuracore >/dev/null
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/cluster_state_bench.c build-bench/libkuracore.a \
	$(pkg-config --libs libmicrohttpd gnutls libsodium sqlite3 jansson libcurl inih liboath libqrencode libfido2 libcbor libxml-2.0 libutf8proc libseccomp) -lpthread \
	-o build-bench/cluster_state_bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-cluster-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "# $(nproc) CPUs, $(uname -r), disk: $(df -h "$tmp" | awk 'NR==2 {print $1}')"
./build-bench/cluster_state_bench "$tmp" "$n"
