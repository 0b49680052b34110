#!/bin/sh
# Argon2id cost with kura's default parameters (ms per hash and per verification), through
# kura's crypto module, release build in build-bench/. Usage: bench/pwhash.sh [runs]
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target kuracore >/dev/null
# shellcheck disable=SC2046
cc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/pwhash.c build-bench/libkuracore.a \
	$(pkg-config --libs libmicrohttpd gnutls libsodium sqlite3 jansson libcurl inih liboath libqrencode libfido2 libcbor libxml-2.0) -lpthread \
	-o build-bench/pwhash_bench
./build-bench/pwhash_bench "${1:-11}"
