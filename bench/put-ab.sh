#!/bin/sh
# PUT A/B (not a test; issue 11, docs/performance.md step 3): two kura binaries, BEFORE and
# AFTER (Release builds), both serving at once on loopback, each with a demo tenant and an app
# password; ROUNDS rounds alternate them on the same loads a few seconds apart: 1,000 PUTs of
# SIZE bytes (default 4096) over one keep-alive connection (curl URL glob) and 32 clients
# PUTting for DUR seconds (wrk -t2 -c32). On a shared machine only figures of one run compare.
# Needs curl, wrk, python3; as root the servers keep root ([server] user = root).
set -eu
BEFORE=${BEFORE:-/tmp/inline-before}; AFTER=${AFTER:-/tmp/inline-after}; ROUNDS=${ROUNDS:-3}; DUR=${DUR:-3}
SIZE=${SIZE:-4096}
tmp=$(mktemp -d /tmp/inline-ab.XXXXXX); pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$tmp"; }
trap cleanup EXIT
head -c "$SIZE" /dev/urandom > "$tmp/small.bin"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
start() {
	name=$1 bin=$2 d="$tmp/$1" port=$(freeport)
	pw=$("$bin" init --data "$d" --demo 2>/dev/null | sed -n 's/^password: //p')
	printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n[server]\nuser = root\n' >> "$d/kura.conf"
	${WRAP:-} "$bin" serve --data "$d" --listen "127.0.0.1:$port" --no-tls 2>>"$tmp/$name.log" &
	pids="$pids $!"; echo $! > "$tmp/$name.pid"
	u="http://127.0.0.1:$port"; waitfor "$u/api/v1/status"
	login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' -d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
	csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-ab-pass-$$-x\"}" "$u/api/v1/me/password"
	secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d '{"name":"bench","scope":"read-write"}' "$u/api/v1/me/app-passwords" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	a="Basic $(printf 'admin:%s' "$secret" | base64 -w0)"
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
