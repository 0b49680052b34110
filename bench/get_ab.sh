#!/bin/sh
# A/B benchmark (not a test) of 4 KiB WebDAV GETs (OP=put: PUTs of distinct 4 KiB files,
# each acknowledged PUT durable): several kura binaries measured in turn on
# the same load, ROUNDS times, so that builds before and after a change share the machine's
# noise (docs/performance.md). For each run: req/s (wrk) and kura's CPU time per request
# (utime + stime of the server from /proc/PID/stat over the load / requests served): a figure
# that depends much less on the neighbours' load than the rate does.
# Usage: bench/get_ab.sh KURA_BIN [KURA_BIN...]
# Env: C (connections, default 32), T (wrk threads, default 2; 1 when C=1), DUR (seconds,
#      default 5), ROUNDS (default 2), SIZE (file bytes, default 4096), OP (get or put),
#      CONF (lines appended to each kura.conf, e.g. "[server]\nthreads = 32").
# Each server: a fresh demo tenant, an app password (HTTP Basic) on every request, TLS off.
# Every load stops by itself (wrk -d). Changes nothing outside a temporary directory.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KURA_BIN [KURA_BIN...]" >&2; exit 2; }
c=${C:-32}; t=${T:-2}; [ "$c" -lt "$t" ] && t=$c
dur=${DUR:-5}; rounds=${ROUNDS:-2}; size=${SIZE:-4096}; op=${OP:-get}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kura-getab.XXXXXX)
kpid=""
cleanup() { [ -n "$kpid" ] && kill "$kpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
head -c "$size" /dev/urandom > "$tmp/file.bin"
# OP=put: each wrk thread numbers its own names (as bench/peers.sh)
cat > "$tmp/put.lua" <<LUA
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
  local f = io.open("$tmp/file.bin", "rb"); body = f:read("*a"); f:close()
  count = 0
end
function request()
  count = count + 1
  return wrk.format("PUT", "/dav/demo/bench/t" .. tid .. "-" .. count .. ".bin", nil, body)
end
LUA
one() {
	bin=$1 d="$tmp/k"
	rm -rf "$d"; mkdir -p "$d"
	kura_start "$bin" "$d/data" "${CONF:-}"
	kpid=$KURA_PID u=$KURA_URL authz=$KURA_AUTHZ
	curl -s -o /dev/null -H "Authorization: $authz" -X MKCOL "$u/dav/demo/bench"
	curl -s -o /dev/null -H "Authorization: $authz" -H 'Expect:' -T "$tmp/file.bin" "$u/dav/demo/bench/file.bin"
	printf 'wrk.headers["Authorization"] = "%s"\n' "$authz" > "$d/auth.lua"
	[ "$op" = put ] && cat "$tmp/put.lua" >> "$d/auth.lua"
	c0=$(awk '{print $14 + $15}' "/proc/$kpid/stat")
	wrk -t"$t" -c"$c" -d"${dur}s" -s "$d/auth.lua" "$u/dav/demo/bench/file.bin" > "$d/wrk.out"
	c1=$(awk '{print $14 + $15}' "/proc/$kpid/stat")
	tick=$(getconf CLK_TCK)
	awk -v n="$(basename "$bin")" -v c0="$c0" -v c1="$c1" -v tick="$tick" -v c="$c" '
		/requests in/ {req = $1} /Requests\/sec/ {rate = $2} /Non-2xx/ {bad = $NF}
		END {printf "| %s | %d | %.0f | %.0f |%s\n", n, c, rate, (c1 - c0) * 1e6 / tick / req, bad ? " non-2xx " bad : ""}' "$d/wrk.out"
	kill "$kpid"; wait "$kpid" 2>/dev/null || true; kpid=""
}
echo "| kura | connections | $size-byte $op req/s | kura CPU us/request |"
echo "|---|---|---|---|"
for r in $(seq "$rounds"); do
	for b in "$@"; do one "$b"; done
done
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(nproc) cores)"
