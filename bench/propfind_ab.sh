#!/bin/sh
# A/B benchmark (not a test) of WebDAV PROPFIND Depth 1 allprop on a folder of N small files
# (default 1,000 of 4 KiB, as bench/peers.sh): several kura binaries measured in turn on the
# same load, ROUNDS times, so that builds before and after a change share the machine's noise
# (docs/performance.md). For each run: req/s (wrk) and kura's CPU time per request (utime +
# stime of the server from /proc/PID/stat over the load / requests served).
# PEER=1 adds nginx with its dav-ext module serving the same N files from disk (bench/peers.sh's
# peer), measured in the same rounds: the goal's ratio taken without the drift of a long run.
# Usage: bench/propfind_ab.sh KURA_BIN [KURA_BIN...]
# Env: N (files, default 1000), C (connections, default 8), T (wrk threads, default 2),
#      DUR (seconds, default 3), ROUNDS (default 3), SIZE (file bytes, default 4096), PEER.
# Each server: a fresh demo tenant, an app password (HTTP Basic) on every request, TLS off.
# Every load stops by itself (wrk -d). Changes nothing outside a temporary directory.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KURA_BIN [KURA_BIN...]" >&2; exit 2; }
n=${N:-1000}; c=${C:-8}; t=${T:-2}; [ "$c" -lt "$t" ] && t=$c
dur=${DUR:-3}; rounds=${ROUNDS:-3}; size=${SIZE:-4096}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/kura-pfab.XXXXXX)
kpid=""
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null
	[ -f "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
head -c "$size" /dev/urandom > "$tmp/file.bin"
cat > "$tmp/pf.lua" <<'LUA'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml"
wrk.body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
LUA
one() {
	bin=$1 d="$tmp/k"
	rm -rf "$d"; mkdir -p "$d"
	kura_start "$bin" "$d/data"
	kpid=$KURA_PID u=$KURA_URL authz=$KURA_AUTHZ
	printf 'header = "Authorization: %s"\n' "$authz" > "$d/curlrc"
	curl -s -o /dev/null -K "$d/curlrc" -X MKCOL "$u/dav/demo/bench/"
	timeout 600 curl -s -o /dev/null -K "$d/curlrc" -H 'Expect:' -T "$tmp/file.bin" "$u/dav/demo/bench/f[1-$n].bin"
	bytes=$(curl -s -K "$d/curlrc" -X PROPFIND -H 'Depth: 1' "$u/dav/demo/bench/" | wc -c)
	{ printf 'wrk.headers["Authorization"] = "%s"\n' "$authz"; cat "$tmp/pf.lua"; } > "$d/auth.lua"
	c0=$(awk '{print $14 + $15}' "/proc/$kpid/stat")
	wrk -t"$t" -c"$c" -d"${dur}s" --timeout 30s -s "$d/auth.lua" "$u/dav/demo/bench/" > "$d/wrk.out"
	c1=$(awk '{print $14 + $15}' "/proc/$kpid/stat")
	tick=$(getconf CLK_TCK)
	awk -v n="$(basename "$bin")" -v c0="$c0" -v c1="$c1" -v tick="$tick" -v c="$c" -v bytes="$bytes" '
		/requests in/ {req = $1} /Requests\/sec/ {rate = $2} /Non-2xx/ {bad = $NF}
		END {printf "| %s | %d | %d | %.0f | %.0f |%s\n", n, c, bytes, rate, (c1 - c0) * 1e6 / tick / req, bad ? " non-2xx " bad : ""}' "$d/wrk.out"
	kill "$kpid"; wait "$kpid" 2>/dev/null || true; kpid=""
}
nginx_one() {
	wrk -t"$t" -c"$c" -d"${dur}s" --timeout 30s -s "$tmp/pf.lua" "$nu/bench/" > "$tmp/wrk.out"
	awk -v c="$c" -v bytes="$nbytes" '/Requests\/sec/ {rate = $2} /Non-2xx/ {bad = $NF}
		END {printf "| nginx | %d | %d | %.0f | |%s\n", c, bytes, rate, bad ? " non-2xx " bad : ""}' "$tmp/wrk.out"
}
if [ "${PEER:-0}" = 1 ]; then
	command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ] ||
		{ echo "PEER=1 needs nginx and libnginx-mod-http-dav-ext" >&2; exit 2; }
	mkdir -p "$tmp/nginx/tmp" "$tmp/nginx-data/bench"
	chmod 755 "$tmp"; chown -R www-data "$tmp/nginx-data" "$tmp/nginx/tmp" 2>/dev/null || true
	for i in $(seq "$n"); do cp "$tmp/file.bin" "$tmp/nginx-data/bench/f$i.bin"; done
	pn=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat > "$tmp/nginx/nginx.conf" <<NGX
load_module /usr/lib/nginx/modules/ngx_http_dav_ext_module.so;
user www-data;
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp;
  proxy_temp_path $tmp/nginx/tmp; fastcgi_temp_path $tmp/nginx/tmp;
  uwsgi_temp_path $tmp/nginx/tmp; scgi_temp_path $tmp/nginx/tmp;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$pn;
    root $tmp/nginx-data;
    location / { dav_ext_methods PROPFIND OPTIONS; }
  }
}
NGX
	nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
	nu=http://127.0.0.1:$pn
	for _ in $(seq 50); do curl -s -o /dev/null "$nu/" && break; sleep 0.1; done
	nbytes=$(curl -s -X PROPFIND -H 'Depth: 1' "$nu/bench/" | wc -c)
fi
echo "| kura | connections | answer bytes | PROPFIND req/s ($n files) | kura CPU us/request |"
echo "|---|---|---|---|---|"
for r in $(seq "$rounds"); do
	for b in "$@"; do one "$b"; done
	[ "${PEER:-0}" = 1 ] && nginx_one
done
