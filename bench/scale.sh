#!/bin/sh
# Scale-out benchmark (not a test) for issue 10: SQLite against PostgreSQL on one node, and two
# nodes behind haproxy on one PostgreSQL and one S3 store, in one run on loopback.
# Configurations (each on its own fresh database, blob store and kura nodes, one after the other):
#   sqlite        one node, SQLite kura.db, local blobs (the default deployment);
#   pg            one node, PostgreSQL 15, local blobs;
#   pg+s3         one node, PostgreSQL 15, blobs in S3 (s3rver from tests/s3 on loopback);
#   2 nodes       two nodes on that PostgreSQL and that S3 store, behind haproxy (round-robin).
# PostgreSQL is Debian's, initdb in a temporary directory, unix socket only, durable as in
# production (fsync = on, synchronous_commit = on, full_page_writes = on), run as the postgres
# user when root; one database per configuration, created TEMPLATE template0 with the "C"
# collation (docs/scale-out.md "The database").
# Workloads (every load stops by itself: a fixed count or wrk -d), WebDAV with an app password
# (HTTP Basic) on every request, encryption at rest, the durable audit chain:
#   audit   durable audit appends per second: wrk -t2 -c32 GET of a 4 KiB file with
#           If-None-Match of its ETag. Each answer is a 304 after authentication, a lookup and
#           one committed audit record (file.not_modified, F4), no content read. The figure is
#           the rows audit_events gained during the load divided by its duration (so only
#           committed records are counted);
#   get     4 KiB GET, wrk -t2 -c32 (each also commits a file.download record);
#   put     1,000 x 4 KiB PUT over one keep-alive connection (curl URL glob), files/s;
#   pf1k    PROPFIND Depth 1 on a folder of 1,000 files, wrk -t2 -c8.
# Env: RUNS (default 3; each figure is the median), DURATION (wrk seconds, default 5),
#      KURA_BUILD (default build: a RelWithDebInfo build without sanitizers made here;
#      REBUILD=0 uses the binary there), CONFIGS (default "sqlite pg pgs3 two"),
#      PGSS=1 (load pg_stat_statements and print, per PostgreSQL configuration, the statements
#      run per request of the 1,000-PUT and GET loads; slows PostgreSQL a little),
#      PROBE=1 (before the loads, strace -c the first node over 20 PUTs and 20 GETs: the
#      messages it sends per request, i.e. PostgreSQL round trips + HTTP answers + S3 requests),
#      PERF_PID_FILE (write the first node's pid there before each configuration's loads).
# Prints one markdown table (medians, ratios) with the load average at the start and the end;
# on a shared machine a figure is only comparable with one taken at a similar load.
# Needs: postgresql-15, haproxy, wrk, curl, node + tests/s3 (npm ci there). Changes nothing
# outside /tmp and the build directory.
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
dur=${DURATION:-5}
kb=${KURA_BUILD:-build}
configs=${CONFIGS:-sqlite pg pgs3 two}
pgbin=/usr/lib/postgresql/15/bin
for x in "$pgbin/postgres" /usr/sbin/haproxy /usr/bin/wrk tests/s3/node_modules/s3rver/bin/s3rver.js; do
	[ -e "$x" ] || { echo "missing: $x (scripts/deps.sh --test; npm ci in tests/s3)" >&2; exit 1; }
done
if [ ! -x "$kb/kura" ] || [ "${REBUILD:-1}" = 1 ]; then
	cmake -S . -B "$kb" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
	cmake --build "$kb" -j "$(nproc)" --target kura >/dev/null
fi
kura="$(pwd)/$kb/kura"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d /tmp/kura-scalebench.XXXXXX)
chmod 755 "$tmp"
pids=""
pgpid=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -n "$pgpid" ] && kill -INT "$pgpid" 2>/dev/null || true
	sleep 1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for i in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
head -c 4096 /dev/urandom > "$tmp/small.bin"

# ---- PostgreSQL 15, durable, unix socket only
as=""
if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
mkdir -p "$tmp/postgres"
[ -n "$as" ] && chown postgres: "$tmp/postgres"
$as "$pgbin/initdb" -D "$tmp/postgres/data" -U kura --auth=trust --encoding=UTF8 --locale=C --no-instructions \
	>"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log"; exit 1; }
pgss=""
[ "${PGSS:-0}" = 1 ] && pgss="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
# shellcheck disable=SC2086
$as "$pgbin/postgres" -D "$tmp/postgres/data" -c listen_addresses= -c "unix_socket_directories=$tmp/postgres" \
	-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=200 \
	-c shared_buffers=128MB -c log_min_messages=warning $pgss >"$tmp/postgres.log" 2>&1 &
pgpid=$!
pgurl() { echo "postgresql:///$1?host=$tmp/postgres&user=kura"; }
for i in $(seq 100); do psql -qAt "$(pgurl postgres)" -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
psql -qAt "$(pgurl postgres)" -c 'SELECT 1' >/dev/null
pgset=$(psql -qAt "$(pgurl postgres)" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method')")
psql_() { psql -qAt "$(pgurl "$1")" -c "$2"; }

# ---- s3rver, one bucket; each S3 configuration its own prefix
s3port=$(freeport)
node --openssl-legacy-provider tests/s3/node_modules/s3rver/bin/s3rver.js -d "$tmp/s3" -a 127.0.0.1 \
	-p "$s3port" --silent --configure-bucket kura >"$tmp/s3.log" 2>&1 &
pids="$pids $!"
waitfor "http://127.0.0.1:$s3port/"

# ---- wrk scripts (the credential in a file, never on a command line)
cat > "$tmp/propfind.lua" <<'LUA'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml"
wrk.body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
LUA
wrkrate() {  # wrk output file, label: req/s; warns on errors
	if grep -q -E 'Non-2xx|Socket errors' "$1"; then echo "warning: $2: $(grep -E 'Non-2xx|Socket errors' "$1" | tr '\n' ' ')" >&2; fi
	awk '/Requests\/sec/ {print $2}' "$1"
}

# node_conf DIR: the settings every node of a configuration gets ($blob set by the caller)
node_conf() {
	printf '\n[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$1/kura.conf"
	[ -n "$blob" ] && printf '%b' "$blob" >> "$1/kura.conf"
	# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
	[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$1/kura.conf"
}
# serve NAME: starts kura on $tmp/NAME, sets su to its base URL; its pid in $tmp/NAME.pid
serve() {
	port=$(freeport)
	"$kura" serve --data "$tmp/$1" --listen "127.0.0.1:$port" --no-tls >/dev/null 2>>"$tmp/$1.log" &
	echo $! > "$tmp/$1.pid"
	pids="$pids $!"
	su="http://127.0.0.1:$port"
	waitfor "$su/api/v1/status"
}
stop() { p=$(cat "$tmp/$1.pid"); kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
# credentials U: logs in as the demo manager on U, sets its password, makes an app password;
# writes $tmp/curlrc and $tmp/auth.lua
credentials() {
	u=$1
	login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
	csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-scale-pass-$$-x\"}" "$u/api/v1/me/password"
	secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d '{"name":"bench","scope":"read-write"}' "$u/api/v1/me/app-passwords" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	a="Basic $(printf 'admin:%s' "$secret" | base64 -w0)"
	printf 'header = "Authorization: %s"\n' "$a" > "$tmp/curlrc"
	printf 'wrk.headers["Authorization"] = "%s"\n' "$a" > "$tmp/auth.lua"
	cat "$tmp/auth.lua" "$tmp/propfind.lua" > "$tmp/propfind.auth.lua"
}
# audit_rows CONFIG: rows of audit_events (committed records)
audit_rows() {
	if [ "$1" = sqlite ]; then
		sqlite3 "$tmp/sqlite/kura.db" 'SELECT count(*) FROM audit_events'
	else
		psql_ "k_$1" 'SELECT count(*) FROM audit_events'
	fi
}
# pgss_report CONFIG LABEL REQUESTS: statements per request since the last reset
pgss_report() {
	[ "${PGSS:-0}" = 1 ] && [ "$1" != sqlite ] || return 0
	echo "-- $1, $2: statements per request (pg_stat_statements; $3 requests)" >> "$tmp/pgss.txt"
	psql_ "k_$1" "SELECT round(sum(calls)::numeric / $3, 2) || ' total, ' || round(sum(total_exec_time)::numeric / $3, 3) || ' ms server time' FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'k_$1')" >> "$tmp/pgss.txt"
	psql_ "k_$1" "SELECT round(calls::numeric / $3, 2) || '  ' || round(mean_exec_time::numeric, 3) || ' ms  ' || left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'k_$1') AND calls >= $3 / 2 ORDER BY calls DESC LIMIT 14" >> "$tmp/pgss.txt"
}
pgss_reset() { [ "${PGSS:-0}" = 1 ] && [ "$1" != sqlite ] && psql_ "k_$1" 'SELECT pg_stat_statements_reset()' >/dev/null || true; }

# probe CONFIG: system calls per request of the first node (strace -c on all its threads)
# for 20 PUTs and 20 GETs of 4 KiB, one after the other: sendto is one per message kura
# sends (a PostgreSQL round trip, an HTTP answer, an S3 request), fdatasync/fsync its own
probe() {
	pid=$(cat "$tmp/$1.pid")
	# shellcheck disable=SC2086
	curl -s -o /dev/null $cr -X MKCOL "$base/bench/probe/"
	for what in put get; do
		strace -f -c -e trace=sendto,recvfrom,sendmsg,writev,fsync,fdatasync -o "$tmp/strace.$what" \
			-p "$(ls "/proc/$pid/task" | paste -sd,)" 2>/dev/null &
		sp=$!
		sleep 1
		if [ $what = put ]; then
			# shellcheck disable=SC2086
			curl -s -o /dev/null $cr -H 'Expect:' -T "$tmp/small.bin" "$base/bench/probe/p[1-20].bin"
		else
			# shellcheck disable=SC2086
			curl -s -o /dev/null $cr "$base/bench/probe/p[1-20].bin"
		fi
		sleep 0.5
		kill -INT "$sp"; wait "$sp" 2>/dev/null || true
		printf '%s %s per request (20, strace -c):' "$1" "$what" >> "$tmp/probe.txt"
		awk '$NF ~ /^(sendto|recvfrom|sendmsg|writev|fsync|fdatasync)$/ {printf " %s %.1f", $NF, $4 / 20}' "$tmp/strace.$what" >> "$tmp/probe.txt"
		echo >> "$tmp/probe.txt"
	done
}
# run CONFIG: sets up CONFIG's nodes, seeds, measures; medians into $tmp/res.CONFIG.KEY
run() {
	c=$1 blob="" url=""
	case $c in pgs3 | two) blob="\n[blob]\nurl = s3://kura/$c\nendpoint = http://127.0.0.1:$s3port\naccess_key = S3RVER\nsecret_key = S3RVER\n" ;; esac
	if [ "$c" != sqlite ]; then
		psql_ postgres "CREATE DATABASE k_$c TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'"
		[ "${PGSS:-0}" = 1 ] && psql_ "k_$c" 'CREATE EXTENSION pg_stat_statements'
		pw=$("$kura" init --data "$tmp/$c" --demo --db-url "$(pgurl "k_$c")" 2>"$tmp/init.log" | sed -n 's/^password: //p')
	else
		pw=$("$kura" init --data "$tmp/$c" --demo 2>"$tmp/init.log" | sed -n 's/^password: //p')
	fi
	[ -n "$pw" ] || { cat "$tmp/init.log"; exit 1; }
	node_conf "$tmp/$c"
	serve "$c"
	u1=$su url=$su
	if [ "$c" = two ]; then
		# the second node: its own directory, the first node's keys and kura.conf
		"$kura" init --data "$tmp/two-b" >/dev/null 2>&1
		for k in master.key signing.key signing.pub signing-keys.pub kura.conf; do
			[ -f "$tmp/two/$k" ] && cp -p "$tmp/two/$k" "$tmp/two-b/$k"
		done
		serve two-b
		u2=$su
		hp=$(freeport)
		cat > "$tmp/haproxy.cfg" <<EOF
global
  maxconn 2000
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend f
  bind 127.0.0.1:$hp
  default_backend nodes
backend nodes
  balance roundrobin
  server n1 ${u1#http://}
  server n2 ${u2#http://}
EOF
		haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
		echo $! > "$tmp/haproxy.pid"
		pids="$pids $!"
		url="http://127.0.0.1:$hp"
		waitfor "$url/api/v1/status"
	fi
	credentials "$url"
	base="$url/dav/demo"
	cr="-K $tmp/curlrc"
	# seed: the 4 KiB file, the 1,000-file folder
	# shellcheck disable=SC2086
	curl -s -o /dev/null $cr -X MKCOL "$base/bench/"
	# shellcheck disable=SC2086
	curl -s -o /dev/null $cr -X MKCOL "$base/bench/f1k/"
	# shellcheck disable=SC2086
	curl -s -o /dev/null $cr -H 'Expect:' -T "$tmp/small.bin" "$base/bench/small.bin"
	# shellcheck disable=SC2086
	timeout 600 curl -s -o /dev/null $cr -H 'Expect:' -T "$tmp/small.bin" "$base/bench/f1k/f[1-1000].bin"
	# shellcheck disable=SC2086
	code=$(curl -s -o "$tmp/pf.xml" -w '%{http_code}' $cr -X PROPFIND -H 'Depth: 1' "$base/bench/f1k/")
	n=$(grep -o '</[A-Za-z0-9]*:\{0,1\}response>' "$tmp/pf.xml" | wc -l)
	[ "$code" = 207 ] && [ "$n" -ge 1001 ] || echo "warning: $c PROPFIND f1k answered $code with $n responses" >&2
	# shellcheck disable=SC2086
	etag=$(curl -s -I $cr "$base/bench/small.bin" | sed -n 's/^[Ee][Tt]ag: *\(.*\)\r$/\1/p')
	[ -n "$etag" ] || { echo "no ETag from $c" >&2; exit 1; }
	{ cat "$tmp/auth.lua"; printf 'wrk.headers["If-None-Match"] = %s\n' "'$etag'"; } > "$tmp/inm.lua"
	[ "${PROBE:-0}" = 1 ] && probe "$c"
	[ -n "${PERF_PID_FILE:-}" ] && cp "$tmp/$c.pid" "$PERF_PID_FILE"
	for k in audit get put pf1k; do : > "$tmp/r.$k"; done
	for i in $(seq "$runs"); do
		a0=$(audit_rows "$c"); t0=$(now)
		wrk -t2 -c32 -d"${dur}s" -s "$tmp/inm.lua" "$base/bench/small.bin" > "$tmp/wrk.out"
		t1=$(now); a1=$(audit_rows "$c")
		grep -q -E 'Socket errors' "$tmp/wrk.out" && echo "warning: $c audit: $(grep -E 'Socket errors' "$tmp/wrk.out")" >&2
		echo "$a0 $a1 $t0 $t1" | awk '{printf "%.0f\n", ($2 - $1) / ($4 - $3)}' >> "$tmp/r.audit"
		wrk -t2 -c32 -d"${dur}s" -s "$tmp/auth.lua" "$base/bench/small.bin" > "$tmp/wrk.out"
		wrkrate "$tmp/wrk.out" "$c 4 KiB GET" >> "$tmp/r.get"
		# shellcheck disable=SC2086
		curl -s -o /dev/null $cr -X MKCOL "$base/bench/m$i/"
		[ "$i" = 1 ] && pgss_reset "$c"
		t0=$(now)
		# shellcheck disable=SC2086
		timeout 600 curl -s -o /dev/null $cr -H 'Expect:' -T "$tmp/small.bin" "$base/bench/m$i/f[1-1000].bin"
		t1=$(now)
		[ "$i" = 1 ] && pgss_report "$c" "4 KiB PUT" 1000
		echo "$t0 $t1" | awk '{printf "%.0f\n", 1000 / ($2 - $1)}' >> "$tmp/r.put"
		wrk -t2 -c8 -d"${dur}s" --timeout 30s -s "$tmp/propfind.auth.lua" "$base/bench/f1k/" > "$tmp/wrk.out"
		wrkrate "$tmp/wrk.out" "$c PROPFIND 1k" >> "$tmp/r.pf1k"
	done
	# shellcheck disable=SC2086
	n=$(curl -s -o "$tmp/pf.xml" -w '%{http_code}' $cr -X PROPFIND -H 'Depth: 1' "$base/bench/m1/")
	[ "$n" = 207 ] && [ "$(grep -o '</[A-Za-z0-9]*:\{0,1\}response>' "$tmp/pf.xml" | wc -l)" -ge 1001 ] ||
		echo "warning: $c: the 1,000 PUTs are not all listed" >&2
	if [ "${PGSS:-0}" = 1 ] && [ "$c" != sqlite ]; then
		pgss_reset "$c"
		# shellcheck disable=SC2086
		curl -s -o /dev/null $cr "$base/bench/f1k/f[1-200].bin"
		pgss_report "$c" "4 KiB GET" 200
	fi
	for k in audit get put pf1k; do median < "$tmp/r.$k" > "$tmp/res.$c.$k"; done
	stop "$c"
	[ "$c" = two ] && { stop two-b; kill "$(cat "$tmp/haproxy.pid")" 2>/dev/null || true; }
	return 0
}
for c in $configs; do run "$c"; done

r() { cat "$tmp/res.$1.$2" 2>/dev/null || echo nan; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan") print "-"; else printf "%.2f", a / b }'; }
printf '\n| workload (median of %s runs) | SQLite | PostgreSQL | PostgreSQL + S3 | 2 nodes, PostgreSQL + S3, haproxy | PG / SQLite | 2 nodes / 1 node (S3) |\n' "$runs"
printf '|---|---|---|---|---|---|---|\n'
row() {
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(r sqlite "$2")" "$(r pg "$2")" "$(r pgs3 "$2")" "$(r two "$2")" \
		"$(ratio "$(r pg "$2")" "$(r sqlite "$2")")" "$(ratio "$(r two "$2")" "$(r pgs3 "$2")")"
}
row "durable audit appends/s (304 GETs, wrk -t2 -c32; audit_events rows gained / s)" audit
row "4 KiB GET, wrk -t2 -c32 (req/s)" get
row "1,000 x 4 KiB PUT, one keep-alive client (files/s)" put
row "PROPFIND Depth 1, 1,000 files, wrk -t2 -c8 (req/s)" pf1k
printf '\n(kura %s, RelWithDebInfo, TLS off on loopback, [server] threads default; PostgreSQL %s, %s; s3rver on loopback; wrk %ss; load average %s at the start, %s at the end; %s cores: %s)\n' \
	"${LABEL:-$(git describe --always --dirty 2>/dev/null || echo ?)}" \
	"$("$pgbin/postgres" --version | awk '{print $3}')" "$pgset" "$dur" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" \
	"$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
[ -f "$tmp/probe.txt" ] && { echo; cat "$tmp/probe.txt"; }
[ -f "$tmp/pgss.txt" ] && { echo; cat "$tmp/pgss.txt"; }
exit 0
