#!/bin/sh
# The WAL frames and system calls of one 4 KiB WebDAV GET or PUT (not a test;
# docs/performance.md step 13): kura BIN serves a fresh demo tenant (bench/lib.sh); after a
# PUT and 3 warm-up GETs, strace attaches to the server and N requests (default 200) are
# sent one after another with curl (each request its own commit: the frames are those of
# one request), then again under wrk with C connections for DUR seconds (default 32 and 3:
# the group commit shares pages between the records of a batch). Prints per request the
# WAL frames (4096-byte pwrite64 to kura.db-wal), all pwrite64, pread64 and fdatasync.
# Needs strace and wrk.
# Usage: [OP=get|put] [C=32] [DUR=3] bench/wal_frames.sh KURA_BIN [N]
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KURA_BIN [N]" >&2; exit 2; }
bin=$1 n=${2:-200} op=${OP:-get} c=${C:-32} dur=${DUR:-3}
tmp=$(mktemp -d /tmp/kura-walframes.XXXXXX)
kpid="" spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "$kpid" ] && kill "$kpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
head -c 4096 /dev/urandom > "$tmp/file.bin"
kura_start "$bin" "$tmp/data"
kpid=$KURA_PID
curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" -X MKCOL "$KURA_URL/dav/demo/bench"
curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" -H 'Expect:' -T "$tmp/file.bin" "$KURA_URL/dav/demo/bench/file.bin"
for _ in 1 2 3; do curl -s -o /dev/null "$KURA_URL/dav/demo/bench/file.bin" -H "Authorization: $KURA_AUTHZ"; done
cat > "$tmp/put.lua" <<LUA
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
  local f = io.open("$tmp/file.bin", "rb"); body = f:read("*a"); f:close()
  count = 0
end
function request()
  count = count + 1
  return wrk.format("PUT", "/dav/demo/bench/w" .. tid .. "-" .. count .. ".bin", nil, body)
end
LUA
printf 'wrk.headers["Authorization"] = "%s"\n' "$KURA_AUTHZ" > "$tmp/wrk.lua"
[ "$op" = put ] && cat "$tmp/put.lua" >> "$tmp/wrk.lua"
# strace -o FILE: one line per call, fds with their paths
trace() {
	strace -f -y -qq -e trace=pwrite64,pread64,fdatasync -o "$tmp/trace" -p "$kpid" &
	spid=$!
	sleep 1
}
untrace() {
	sleep 0.5
	kill -INT "$spid"; wait "$spid" 2>/dev/null || true; spid=""
}
report() {   # $1 label, $2 requests
	awk -v label="$1" -v n="$2" '
		/pwrite64\(/ {pw++; if (index($0, "kura.db-wal>") && $0 ~ /, 4096, [0-9]+\) += 4096/) fr++}
		/pread64\(/ {pr++} /fdatasync\(/ {fs++}
		END {printf "%s: %d requests, per request %.2f WAL frames, %.2f pwrite64, %.2f pread64, %.2f fdatasync\n",
			label, n, fr / n, pw / n, pr / n, fs / n}' "$tmp/trace"
}
trace
for i in $(seq "$n"); do
	if [ "$op" = put ]; then
		curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" -H 'Expect:' -T "$tmp/file.bin" "$KURA_URL/dav/demo/bench/s$i.bin"
	else
		curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" "$KURA_URL/dav/demo/bench/file.bin"
	fi
done
untrace
report "$(basename "$bin") $op C=1" "$n"
trace
wrk -t2 -c"$c" -d"${dur}s" -s "$tmp/wrk.lua" "$KURA_URL/dav/demo/bench/file.bin" > "$tmp/wrk.out"
untrace
req=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
report "$(basename "$bin") $op C=$c" "$req"
