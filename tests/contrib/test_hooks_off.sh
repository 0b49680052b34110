#!/bin/sh
# A build without the tests has no KURA_TEST_* seams, even in a build directory first
# configured with them (CMake keeps an option's first value in its cache; security review,
# issue 11): configure with KURA_TESTS=ON, again with OFF, and read the cache.
# Usage: tests/contrib/test_hooks_off.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d /tmp/kura-hooks.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
cmake -S "$src" -B "$tmp" -DCMAKE_BUILD_TYPE=Release -DKURA_TESTS=ON > "$tmp/on.log" 2>&1 ||
	{ cat "$tmp/on.log"; exit 1; }
grep -q '^KURA_TEST_HOOKS:BOOL=ON$' "$tmp/CMakeCache.txt" || { echo "tests on: no seams?" >&2; exit 1; }
cmake -S "$src" -B "$tmp" -DKURA_TESTS=OFF > "$tmp/off.log" 2>&1 || { cat "$tmp/off.log"; exit 1; }
if ! grep -q '^KURA_TEST_HOOKS:BOOL=OFF$' "$tmp/CMakeCache.txt"; then
	echo "FAIL: -DKURA_TESTS=OFF kept the test seams: $(grep '^KURA_TEST_HOOKS' "$tmp/CMakeCache.txt")" >&2
	exit 1
fi
echo "ok: KURA_TESTS=OFF turns the test seams off in a reused build directory"
