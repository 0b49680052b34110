#!/bin/sh
# PUT A/B (not a test; issue 11, docs/performance.md step 3): two kura binaries, BEFORE and
# AFTER (Release builds), both serving at once on loopback, each with a demo tenant and an app
# password; ROUNDS rounds alternate them on the same loads a few seconds apart: 1,000 PUTs of
# SIZE bytes (default 4096) over one keep-alive connection (curl URL glob) and 32 clients
# PUTting for DUR seconds (wrk -t2 -c32). On a shared machine only figures of one run compare.
# Needs curl, wrk, python3; as root the servers keep root ([server] user = root).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
BEFORE=${BEFORE:-/tmp/inline-before}; AFTER=${AFTER:-/tmp/inline-after}; ROUNDS=${ROUNDS:-3}; DUR=${DUR:-3}
SIZE=${SIZE:-4096}
tmp=$(mktemp -d /tmp/inline-ab.XXXXXX); pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$tmp"; }
trap cleanup EXIT
head -c "$SIZE" /dev/urandom > "$tmp/small.bin"
start() {
	name=$1 bin=$2 d="$tmp/$1"
	kura_start "$bin" "$d"
	pids="$pids $KURA_PID"; echo "$KURA_PID" > "$tmp/$name.pid"
	u=$KURA_URL a=$KURA_AUTHZ
	printf 'header = "Authorization: %s"\n' "$a" > "$tmp/$name.curlrc"
	cat > "$tmp/$name.put.lua" <<LUA
wrk.headers["Authorization"] = "$a"
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args) prefix = args[1] or wrk.path; local f = io.open("$tmp/small.bin", "rb"); body = f:read("*a"); f:close(); count = 0 end
function request() count = count + 1; return wrk.format("PUT", prefix .. "t" .. tid .. "-" .. count .. ".bin", nil, body) end
LUA
	echo "$u/dav/demo" > "$tmp/$name.url"
}
start before "$BEFORE"; start after "$AFTER"
for r in $(seq "$ROUNDS"); do
	for n in before after; do
		u=$(cat "$tmp/$n.url"); c="$tmp/$n.curlrc"
		curl -s -o /dev/null -K "$c" -X MKCOL "$u/s$r/"; curl -s -o /dev/null -K "$c" -X MKCOL "$u/c$r/"
		t0=$(date +%s.%N)
		curl -s -o /dev/null -K "$c" -H 'Expect:' -T "$tmp/small.bin" "$u/s$r/f[1-1000].bin"
		t1=$(date +%s.%N)
		one=$(echo "$t0 $t1" | awk '{printf "%.0f", 1000/($2-$1)}')
		wrk -t2 -c32 -d"${DUR}s" --timeout 30s -s "$tmp/$n.put.lua" "$u/c$r/" > "$tmp/wrk.out" 2>&1 || true; [ -n "${DEBUG:-}" ] && cat "$tmp/wrk.out"; conc=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$tmp/wrk.out")
		echo "round $r $n: 1 client $one files/s, 32 clients $conc files/s (load $(cut -d' ' -f1 /proc/loadavg))"
	done
done
