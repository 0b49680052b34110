#!/bin/sh
# Disk writes per small PUT (not a test; docs/performance.md step 17): bench/sync_writes.sh
# KURA_BIN [KURA_BIN...] starts each kura on loopback with a demo tenant (bench/lib.sh), counts
# the block requests the kernel issues while 1,000 WebDAV PUTs of 4 KiB go over one
# connection (perf's block:block_rq_issue tracepoint, system-wide: run it on a quiet
# machine), and prints per PUT: the data writes, the synchronous metadata writes ("WSM": on
# ext4 without a journal, the inode written by an fdatasync whose file's times changed) and
# the files/s of that run. First the same count for the kernel alone: 1,000 overwrites of
# 60 KiB + fdatasync of a file in the data directory's filesystem, with and without an fstat
# of it after each sync (on Linux 6.13 and later a file whose times were read gets a
# fine-grained time at its next write). Needs perf (root), curl, python3.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KURA_BIN [KURA_BIN...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "needs perf" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kura-syncw.XXXXXX)
kpid=""
cleanup() { [ -n "$kpid" ] && kill "$kpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
head -c 4096 /dev/urandom > "$tmp/small.bin"
# count WS and WSM requests in a perf script listing
count() { perf script -i "$1" -F trace 2>/dev/null | awk '{print $2}' | sort | uniq -c |
	awk '$2 == "WS" {ws = $1} $2 == "WSM" {wsm = $1} END {printf "%d %d\n", ws, wsm}'; }
cat > "$tmp/loop.py" <<'PY'
import os, sys, time
fn, stat = sys.argv[1], sys.argv[2] == "1"
fd = os.open(fn, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, b"\0" * (4 << 20)); os.fsync(fd)
buf, off, ts = os.urandom(61440), 0, []
for i in range(1000):
    if off + len(buf) > (4 << 20): off = 0
    os.pwrite(fd, buf, off); off += len(buf)
    t = time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter() - t)
    if stat: os.fstat(fd)
ts.sort(); print(round(ts[500] * 1e6))
PY
echo "| what | data writes | metadata writes | per | fdatasync median us or files/s |"
echo "|---|---|---|---|---|"
for s in 0 1; do
	perf record -q -a -e block:block_rq_issue -o "$tmp/p.data" -- python3 "$tmp/loop.py" "$tmp/f" "$s" > "$tmp/py.out" 2>/dev/null
	c=$(count "$tmp/p.data")
	echo "| overwrite + fdatasync$( [ "$s" = 1 ] && echo ' + fstat') | ${c% *} | ${c#* } | 1,000 syncs | $(cat "$tmp/py.out") us |"
done
for bin in "$@"; do
	rm -rf "$tmp/d"; mkdir -p "$tmp/d"
	kura_start "$bin" "$tmp/d/data"
	kpid=$KURA_PID
	printf 'header = "Authorization: %s"\n' "$KURA_AUTHZ" > "$tmp/curlrc"
	curl -s -o /dev/null -K "$tmp/curlrc" -X MKCOL "$KURA_URL/dav/demo/s/"
	curl -s -o /dev/null -K "$tmp/curlrc" -H 'Expect:' -T "$tmp/small.bin" "$KURA_URL/dav/demo/s/w[1-100].bin"
	perf record -q -a -e block:block_rq_issue -o "$tmp/p.data" -- \
		curl -s -o /dev/null -w '%{time_total}\n' -K "$tmp/curlrc" -H 'Expect:' -T "$tmp/small.bin" \
		"$KURA_URL/dav/demo/s/f[1-1000].bin" > "$tmp/times" 2>/dev/null
	c=$(count "$tmp/p.data")
	rate=$(awk '{s += $1} END {printf "%.0f", NR / s}' "$tmp/times")
	echo "| $(basename "$bin"): 4 KiB PUT | ${c% *} | ${c#* } | 1,000 PUTs | $rate files/s |"
	kill "$kpid"; wait "$kpid" 2>/dev/null || true; kpid=""
done
