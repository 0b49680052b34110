#!/bin/sh
# Before/after benchmark (not a test) of two kura binaries on PostgreSQL (issue 10): both
# serve at once, each on its own database of one durable PostgreSQL 15 cluster (temporary,
# unix socket, fsync and synchronous_commit on), and the loads alternate between them in
# batches, so that on a shared, noisy machine both see the same load. Per round and binary:
# 250 x 4 KiB PUT over one keep-alive connection (WebDAV, app password), then 4 KiB GET with
# wrk -t2 -c32 for 3 s. Prints the medians over ROUNDS (default 8) and every sample.
# Usage: bench/pg_ab.sh BEFORE_KURA AFTER_KURA   (e.g. a build of the previous commit and build/kura)
# Changes nothing outside /tmp.
set -eu
[ $# = 2 ] || { echo "usage: $0 BEFORE_KURA AFTER_KURA" >&2; exit 2; }
kura_before=$(realpath "$1"); kura_after=$(realpath "$2")
rounds=${ROUNDS:-8}
cd "$(dirname "$0")/.."
as=""; [ "$(id -u)" = 0 ] && as="runuser -u postgres --"
pgbin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d /tmp/kura-scaleab.XXXXXX); chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
head -c 4096 /dev/urandom > "$tmp/small.bin"
mkdir "$tmp/postgres"; [ -n "$as" ] && chown postgres: "$tmp/postgres"
$as "$pgbin/initdb" -D "$tmp/postgres/data" -U kura --auth=trust --encoding=UTF8 --locale=C >/dev/null 2>&1
$as "$pgbin/postgres" -D "$tmp/postgres/data" -c listen_addresses= -c "unix_socket_directories=$tmp/postgres" -c fsync=on -c synchronous_commit=on -c max_connections=200 >"$tmp/pg.log" 2>&1 &
pids="$pids $!"
pgurl() { echo "postgresql:///$1?host=$tmp/postgres&user=kura"; }
for _ in $(seq 100); do psql -qAt "$(pgurl postgres)" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
for b in before after; do
	psql -qAt "$(pgurl postgres)" -c "CREATE DATABASE k_$b TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
	if [ $b = before ]; then kura=$kura_before; else kura=$kura_after; fi
	pw=$("$kura" init --data "$tmp/$b" --demo --db-url "$(pgurl k_$b)" 2>/dev/null | sed -n 's/^password: //p')
	printf '\n[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$tmp/$b/kura.conf"
	[ "$(id -u)" != 0 ] || printf '[server]\nuser = root\n' >> "$tmp/$b/kura.conf"
	port=$(freeport)
	"$kura" serve --data "$tmp/$b" --listen "127.0.0.1:$port" --no-tls >/dev/null 2>"$tmp/$b.log" &
	pids="$pids $!"
	u="http://127.0.0.1:$port"; waitfor "$u/api/v1/status"
	login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' -d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
	csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-ab-pass-$$-x\"}" "$u/api/v1/me/password"
	secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"name":"b","scope":"read-write"}' "$u/api/v1/me/app-passwords" | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	a="Basic $(printf 'admin:%s' "$secret" | base64 -w0)"
	printf 'header = "Authorization: %s"\n' "$a" > "$tmp/$b.curlrc"
	printf 'wrk.headers["Authorization"] = "%s"\n' "$a" > "$tmp/$b.lua"
	echo "$u/dav/demo" > "$tmp/$b.url"
	curl -s -o /dev/null -K "$tmp/$b.curlrc" -H 'Expect:' -T "$tmp/small.bin" "$u/dav/demo/small.bin"
	: > "$tmp/$b.put"; : > "$tmp/$b.get"
done
for k in $(seq "$rounds"); do
	for b in before after; do
		base=$(cat "$tmp/$b.url")
		curl -s -o /dev/null -K "$tmp/$b.curlrc" -X MKCOL "$base/m$k/"
		t0=$(now)
		curl -s -o /dev/null -K "$tmp/$b.curlrc" -H 'Expect:' -T "$tmp/small.bin" "$base/m$k/f[1-250].bin"
		t1=$(now)
		echo "$t0 $t1" | awk '{printf "%.0f\n", 250 / ($2 - $1)}' >> "$tmp/$b.put"
		wrk -t2 -c32 -d3s -s "$tmp/$b.lua" "$base/small.bin" | awk '/Requests\/sec/ {print $2}' >> "$tmp/$b.get"
	done
done
for b in before after; do
	printf '%s: 250 x 4 KiB PUT one client (files/s) median %s of [%s]; 4 KiB GET wrk -c32 (req/s) median %s of [%s]\n' "$b" \
		"$(median < "$tmp/$b.put")" "$(tr '\n' ' ' < "$tmp/$b.put")" "$(median < "$tmp/$b.get")" "$(tr '\n' ' ' < "$tmp/$b.get")"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
