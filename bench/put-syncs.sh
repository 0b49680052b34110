#!/bin/sh
# Syncs per small PUT (not a test; issue 11): bench/put-syncs.sh KURA_BINARY starts that kura
# on loopback with a demo tenant, attaches strace -c (fsync, fdatasync) to every thread of the
# running server and sends 1,000 WebDAV PUTs of 4 KiB over one connection; prints the counts
# and how many blob files the data directory holds. Needs strace, curl, python3.
set -eu
BIN=$1
tmp=$(mktemp -d /tmp/inline-st.XXXXXX)
head -c 4096 /dev/urandom > "$tmp/small.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pw=$("$BIN" init --data "$tmp/d" --demo 2>/dev/null | sed -n 's/^password: //p')
printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n[server]\nuser = root\n' >> "$tmp/d/kura.conf"
"$BIN" serve --data "$tmp/d" --listen "127.0.0.1:$port" --no-tls 2>>"$tmp/log" &
kp=$!
u="http://127.0.0.1:$port"
for _ in $(seq 150); do curl -s -o /dev/null "$u/api/v1/status" && break; sleep 0.1; done
login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' -d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-st-pass-$$-x\"}" "$u/api/v1/me/password"
secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d '{"name":"bench","scope":"read-write"}' "$u/api/v1/me/app-passwords" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
printf 'header = "Authorization: Basic %s"\n' "$(printf 'admin:%s' "$secret" | base64 -w0)" > "$tmp/curlrc"
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
