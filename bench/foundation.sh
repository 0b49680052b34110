#!/bin/sh
# Foundation benchmark (issue 2): idle RSS of `kura serve`, and requests/s of
# GET /api/v1/me with an existing session over HTTPS keep-alive
# (wrk, 2 threads, 32 connections, 10 s). Release build, TLS on, default Argon2id cost.
# Usage: bench/foundation.sh [seconds]     Prints a small table; changes nothing outside /tmp.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { sudo= ; [ "$(id -u)" -ne 0 ] && sudo=sudo; $sudo apt-get install -y -qq wrk >/dev/null; }
make -s build >/dev/null
tmp=$(mktemp -d /tmp/kura-bench.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pw=$(./build/kura init --data "$tmp/d" --demo 2>/dev/null | sed -n 's/^password: //p')
printf '[log]\nlevel = warn\n' >> "$tmp/d/kura.conf"
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$tmp/d/kura.conf"
./build/kura serve --data "$tmp/d" --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
pid=$!
url="https://localhost:$port"
for i in $(seq 50); do curl -s --cacert "$tmp/d/tls/cert.pem" "$url/api/v1/status" >/dev/null && break; sleep 0.1; done
sleep 2
rss_idle=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
cookie=$(curl -s --cacert "$tmp/d/tls/cert.pem" -D - -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$url/api/v1/session" |
	sed -n 's/^Set-Cookie: \(kura_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "login failed"; cat "$tmp/serve.log"; exit 1; }
curl -sf --cacert "$tmp/d/tls/cert.pem" -H "Cookie: $cookie" "$url/api/v1/me" >/dev/null
out=$(wrk -t2 -c32 -d"${secs}s" --latency -H "Cookie: $cookie" "$url/api/v1/me")
rss_load=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "$out" | sed 's/^/    /'
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
p50=$(echo "$out" | awk '$1=="50%" {print $2}')
p99=$(echo "$out" | awk '$1=="99%" {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
printf '\n| measure | value |\n|---|---|\n'
printf '| idle RSS of kura serve | %s KiB |\n' "$rss_idle"
printf '| RSS after the load | %s KiB |\n' "$rss_load"
printf '| GET /api/v1/me, HTTPS keep-alive, wrk -t2 -c32 -d%ss | %s req/s (p50 %s, p99 %s) |\n' "$secs" "$rps" "$p50" "$p99"
printf '| non-2xx answers | %s |\n' "${non2xx:-0}"
