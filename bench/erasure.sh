#!/bin/sh
# Erasure benchmark (issue 8, B3): the time to erase a tenant of N_FILES files of SIZE bytes
# (crypto-erase of its keys, the read-back check, deletion of its blobs and rows, the signed
# certificate) in one scheduler pass. Release build without sanitizers in build-bench/.
# Usage: bench/erasure.sh [N_FILES [SIZE]]   default 100000 4096
# The setup uploads every file through the files service (encrypted, durable: fsync per file),
# which takes much longer than the erasure. Changes nothing outside /tmp and build-bench/.
set -eu
cd "$(dirname "$0")/.."
n=${1:-100000}; size=${2:-4096}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target kuracore >/dev/null
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/erasure_bench.c build-bench/libkuracore.a \
	$(pkg-config --libs libmicrohttpd gnutls libsodium sqlite3 jansson libcurl inih liboath libqrencode libfido2 libcbor libxml-2.0 libutf8proc) -lpthread \
	-o build-bench/erasure_bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-erasure-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "# $(nproc) CPUs, $(uname -r), disk: $(df -h "$tmp" | awk 'NR==2 {print $1}')"
./build-bench/erasure_bench "$tmp" "$n" "$size" 2>"$tmp/log"
grep -h 'lifecycle.erasure' "$tmp/log" | sed 's/.*"msg":"\(.*\)"}/\1/'
