#!/bin/sh
# The fuzz corpus replay of `make test` (tests/fuzz/README.md). libFuzzer needs clang, and
# the main test build uses gcc, so the fuzz targets get a second build directory, build-fuzz,
# with CC=clang and -DKURA_SANITIZE=address,undefined,fuzzer-no-link; only kuracore and the
# fuzz targets are built there (target `fuzz`), and ctest replays each target's seed corpus
# once (-runs=0: every seed is a regression input).
# When clang or its libFuzzer runtime (libclang-rt-14-dev on Debian 12; scripts/deps.sh
# --test installs both) is missing, says so in a banner that cannot be missed: the replay did
# NOT run. That is an error under CI (CI=true), where deps.sh should have installed them.
# Usage: scripts/test-fuzz.sh [jobs]
set -eu
cd "$(dirname "$0")/.."
jobs=${1:-$(nproc)}
CLANG=${KURA_FUZZ_CC:-clang}

not_run() {
	cat >&2 <<MSG

########################################################################################
#  FUZZ CORPUS REPLAY DID NOT RUN: $1
#  The libFuzzer targets in tests/fuzz were NOT built and their corpora were NOT replayed.
#  Install clang and libclang-rt-14-dev (scripts/deps.sh --test) and run make test again.
########################################################################################

MSG
	if [ -n "${CI:-}" ]; then exit 1; fi
	exit 0
}

command -v "$CLANG" >/dev/null 2>&1 || not_run "no '$CLANG' on PATH"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
"$CLANG" -fsanitize=address,undefined,fuzzer "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1 ||
	not_run "'$CLANG' cannot link -fsanitize=fuzzer ($(head -c 300 "$probe/log" | tr '\n' ' '))"

CC="$CLANG" cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DKURA_SANITIZE=address,undefined,fuzzer-no-link >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz
cd build-fuzz
ctest --output-on-failure -j "$jobs" -R '^fuzz/'
