#!/bin/sh
# Syncs per small PUT (not a test; issue 11): bench/put-syncs.sh KURA_BINARY starts that kura
# on loopback with a demo tenant, attaches strace -c (fsync, fdatasync) to every thread of the
# running server and sends 1,000 WebDAV PUTs of 4 KiB over one connection; prints the counts
# and how many blob files the data directory holds. Needs strace, curl, python3.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
BIN=$1
tmp=$(mktemp -d /tmp/inline-st.XXXXXX)
head -c 4096 /dev/urandom > "$tmp/small.bin"
kura_start "$BIN" "$tmp/d"
kp=$KURA_PID u=$KURA_URL
printf 'header = "Authorization: %s"\n' "$KURA_AUTHZ" > "$tmp/curlrc"
curl -s -o /dev/null -K "$tmp/curlrc" -X MKCOL "$u/dav/demo/s/"
sleep 1
set --; for t in "/proc/$kp/task"/*; do set -- "$@" -p "${t##*/}"; done
strace -f -c -e trace=fsync,fdatasync -o "$tmp/st" "$@" &
sp=$!
sleep 1
curl -s -o /dev/null -K "$tmp/curlrc" -H 'Expect:' -T "$tmp/small.bin" "$u/dav/demo/s/f[1-1000].bin"
sleep 0.5
kill -INT $sp; wait $sp || true
cat "$tmp/st"
find "$tmp/d/blobs" -type f | wc -l | sed 's/^/blob files: /'
kill $kp; wait $kp || true
rm -rf "$tmp"
