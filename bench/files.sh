#!/bin/sh
# Files benchmark: one PUT and one GET of SIZE MiB (default 1024 = 1 GiB) through the files API
# (PUT /api/v1/folders/root/files/NAME, GET /api/v1/files/ID/content) with curl, kura TLS off
# (--no-tls on loopback), encryption at rest on (the algorithm this machine picks is shown).
# The demo manager logs in with a password only (mfa_managers_default = optional: a
# throughput measurement, not a deployment). Release build. Usage: bench/files.sh [MiB]. Prints a table; changes nothing outside /tmp.
# BENCH_BLOB=s3 keeps the blobs in S3: s3rver (tests/s3, npm ci there first) on loopback,
# [blob] url = s3://kura/bench, 8 MiB parts (issue 10; docs/scale-out.md).
set -eu
cd "$(dirname "$0")/.."
mib=${1:-1024}
make -s build >/dev/null
tmp=$(mktemp -d /tmp/kura-bench.XXXXXX)
s3pid=
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "$s3pid" ] && kill $s3pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pw=$(./build/kura init --data "$tmp/d" --demo 2>/dev/null | sed -n 's/^password: //p')
printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$tmp/d/kura.conf"
store=local
if [ "${BENCH_BLOB:-}" = s3 ]; then
	s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	node --openssl-legacy-provider tests/s3/node_modules/s3rver/bin/s3rver.js -d "$tmp/s3" -a 127.0.0.1 \
		-p "$s3port" --silent --configure-bucket kura >"$tmp/s3.log" 2>&1 &
	s3pid=$!
	for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$s3port/" && break; sleep 0.1; done
	printf '[blob]\nurl = s3://kura/bench\nendpoint = http://127.0.0.1:%s\naccess_key = S3RVER\nsecret_key = S3RVER\n' \
		"$s3port" >> "$tmp/d/kura.conf"
	store="S3 (s3rver on loopback)"
fi
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$tmp/d/kura.conf"
./build/kura serve --data "$tmp/d" --listen "127.0.0.1:$port" --no-tls 2>"$tmp/serve.log" &
pid=$!
url="http://127.0.0.1:$port"
for i in $(seq 50); do curl -s "$url/api/v1/status" >/dev/null && break; sleep 0.1; done
login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$url/api/v1/session")
cookie=$(sed -n 's/^Set-Cookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
[ -n "$cookie" ] || { echo "login failed"; cat "$tmp/serve.log"; exit 1; }
# the demo admin must set its own password first
curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-files-pass-$$-x\"}" "$url/api/v1/me/password"
head -c $((mib * 1024 * 1024)) /dev/urandom > "$tmp/in.bin"
sync
put=$(curl -s -o "$tmp/put.json" -w '%{http_code} %{time_total} %{speed_upload}' -X PUT \
	-H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/octet-stream' \
	-H 'Expect:' -T "$tmp/in.bin" "$url/api/v1/folders/root/files/bench.bin")
id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["id"])' "$tmp/put.json")
get=$(curl -s -o "$tmp/out.bin" -w '%{http_code} %{time_total} %{speed_download}' -H "Cookie: $cookie" \
	"$url/api/v1/files/$id/content")
same=$(cmp -s "$tmp/in.bin" "$tmp/out.bin" && echo yes || echo NO)
alg=$(sqlite3 "$tmp/d/kura.db" "SELECT alg FROM file_nodes WHERE id = $id" 2>/dev/null || echo "?")
mbs() { echo "$1" | awk '{printf "%.1f", $3 / 1e6}'; }
secs() { echo "$1" | awk '{printf "%.2f", $2}'; }
code() { echo "$1" | awk '{print $1}'; }
printf '\n| %s MiB, kura TLS off, encryption on (%s), blobs: %s | status | seconds | MB/s |\n|---|---|---|---|\n' "$mib" "$alg" "$store"
printf '| PUT /api/v1/folders/root/files/bench.bin | %s | %s | %s |\n' "$(code "$put")" "$(secs "$put")" "$(mbs "$put")"
printf '| GET /api/v1/files/%s/content | %s | %s | %s |\n' "$id" "$(code "$get")" "$(secs "$get")" "$(mbs "$get")"
printf '| download identical to upload | %s | | |\n' "$same"
printf '(%s cores: %s)\n' "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
