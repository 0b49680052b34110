#!/bin/sh
# WebDAV benchmark (not a test): kura, Apache httpd mod_dav and nginx dav + dav-ext side by
# side on loopback, with the same data, in one run. Measures per server:
#   1 GiB PUT and GET (MB/s, curl), 4 KiB GET (wrk -t2 -c32 -d10s: req/s and p99),
#   PROPFIND Depth 1 on a folder of 1000 files (wrk + Lua: req/s), 1000 x 4 KiB PUT over one
#   keep-alive connection (curl URL glob: files/s).
# kura is measured with TLS off and on; encryption at rest is always on; it authenticates
# every request by app password (HTTP Basic). Apache and nginx run without authentication,
# as unprivileged configurations from a temporary directory (never the system services).
# Each figure is the median of RUNS runs (default 3). Usage: bench/webdav.sh [MiB] (default
# 1024). Installs apache2, nginx, libnginx-mod-http-dav-ext and wrk when missing. Prints a
# markdown table; changes nothing outside /tmp (and build/, which `make build` writes).
set -eu
cd "$(dirname "$0")/.."
mib=${1:-1024}
runs=${RUNS:-3}
dur=${DURATION:-10}
missing=""
for p in apache2 nginx libnginx-mod-http-dav-ext wrk curl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
make -s build >/dev/null
tmp=$(mktemp -d /tmp/kura-davbench.XXXXXX)
chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -f "$tmp/apache.pid" ] && kill "$(cat "$tmp/apache.pid")" 2>/dev/null || true
	[ -f "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null || true
	sleep 0.5
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for i in $(seq 100); do curl -sk -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

head -c $((mib * 1024 * 1024)) /dev/urandom > "$tmp/big.bin"
head -c 4096 /dev/urandom > "$tmp/small.bin"

# ---- kura: demo tenant, manager without MFA (a measurement, not a deployment), app password
pk=$(freeport)
pw=$(./build/kura init --data "$tmp/k" --demo 2>/dev/null | sed -n 's/^password: //p')
printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$tmp/k/kura.conf"
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$tmp/k/kura.conf"
start_kura() {  # $1: --no-tls or ""
	# shellcheck disable=SC2086
	./build/kura serve --data "$tmp/k" --listen "127.0.0.1:$pk" $1 2>>"$tmp/kura.log" &
	kpid=$!
	pids="$pids $kpid"
}
stop_kura() { kill "$kpid"; wait "$kpid" 2>/dev/null || true; }
start_kura --no-tls
ku="http://127.0.0.1:$pk"
waitfor "$ku/api/v1/status"
login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$ku/api/v1/session")
cookie=$(sed -n 's/^Set-Cookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-dav-pass-$$-x\"}" "$ku/api/v1/me/password"
secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d '{"name":"bench","scope":"read-write"}' "$ku/api/v1/me/app-passwords" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
kauth="Authorization: Basic $(printf 'admin:%s' "$secret" | base64 -w0)"

# ---- Apache httpd mod_dav (event MPM), as www-data from the temp dir
pa=$(freeport)
mkdir -p "$tmp/apache-data" && chown www-data: "$tmp/apache-data" "$tmp"
m=/usr/lib/apache2/modules
cat > "$tmp/apache.conf" <<EOF
ServerRoot $tmp
ServerName 127.0.0.1
Listen 127.0.0.1:$pa
PidFile $tmp/apache.pid
ErrorLog $tmp/apache.err
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dav_module $m/mod_dav.so
LoadModule dav_fs_module $m/mod_dav_fs.so
LoadModule mime_module $m/mod_mime.so
TypesConfig /etc/mime.types
User www-data
Group www-data
LimitRequestBody 0
KeepAliveTimeout 30
MaxKeepAliveRequests 0
DocumentRoot $tmp/apache-data
DavLockDB $tmp/apache-data/.davlock
<Directory $tmp/apache-data>
  Dav On
  Require all granted
</Directory>
EOF
apache2 -f "$tmp/apache.conf" -k start
au="http://127.0.0.1:$pa"
waitfor "$au/"

# ---- nginx dav + dav-ext, 2 workers, from the temp dir
pn=$(freeport)
mkdir -p "$tmp/nginx/tmp" "$tmp/nginx-data"
chown -R www-data: "$tmp/nginx" "$tmp/nginx-data"
cat > "$tmp/nginx/nginx.conf" <<EOF
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
  client_max_body_size 0;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$pn;
    root $tmp/nginx-data;
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
    }
  }
}
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
nu="http://127.0.0.1:$pn"
waitfor "$nu/"

cat > "$tmp/propfind.lua" <<'LUA'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml"
wrk.body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
LUA
: > "$tmp/none.lua"
# kura's credential: a curl config file and a wrk script line (no secret on a command line)
printf 'header = "%s"\n' "$kauth" > "$tmp/curlrc"
printf 'wrk.headers["Authorization"] = "%s"\n' "${kauth#Authorization: }" > "$tmp/auth.lua"
cat "$tmp/auth.lua" "$tmp/propfind.lua" > "$tmp/propfind-auth.lua"

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# measure NAME BASE CURLOPTS GETLUA PROPFINDLUA: medians into $tmp/res.NAME.{put,get,many,small,p99,pf}
measure() {
	name=$1 base=$2 copt=$3 glua=$4 plua=$5
	# shellcheck disable=SC2086
	curl -s -o /dev/null $copt -X MKCOL "$base/bench/" || true
	# shellcheck disable=SC2086
	curl -s -o /dev/null $copt -X MKCOL "$base/bench/many/" || true
	for k in put get many small p99 pf; do : > "$tmp/r.$k"; done
	for i in $(seq "$runs"); do
		# shellcheck disable=SC2086
		curl -s -o /dev/null $copt -H 'Expect:' -T "$tmp/big.bin" -w '%{speed_upload}\n' "$base/bench/big.bin" |
			awk '{printf "%.1f\n", $1/1e6}' >> "$tmp/r.put"
		# shellcheck disable=SC2086
		curl -s -o /dev/null $copt -w '%{speed_download}\n' "$base/bench/big.bin" |
			awk '{printf "%.1f\n", $1/1e6}' >> "$tmp/r.get"
		t0=$(date +%s.%N)
		# shellcheck disable=SC2086
		curl -s -o /dev/null $copt -H 'Expect:' -T "$tmp/small.bin" "$base/bench/many/f[1-1000].bin"
		t1=$(date +%s.%N)
		echo "$t0 $t1" | awk '{printf "%.0f\n", 1000/($2-$1)}' >> "$tmp/r.many"
	done
	# shellcheck disable=SC2086
	curl -s -o /dev/null $copt -T "$tmp/small.bin" "$base/bench/small.bin"
	for i in $(seq "$runs"); do
		wrk -t2 -c32 -d"${dur}s" --latency -s "$glua" "$base/bench/small.bin" > "$tmp/wrk.out"
		awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out" >> "$tmp/r.small"
		awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' "$tmp/wrk.out" >> "$tmp/r.p99"
		if grep -q 'Non-2xx' "$tmp/wrk.out"; then echo "warning: $name 4 KiB GET had non-2xx answers" >&2; fi
		wrk -t2 -c8 -d"${dur}s" -s "$plua" "$base/bench/many/" > "$tmp/wrk.out"
		awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out" >> "$tmp/r.pf"
		if grep -q 'Non-2xx' "$tmp/wrk.out"; then echo "warning: $name PROPFIND had non-2xx answers" >&2; fi
	done
	# shellcheck disable=SC2086
	code=$(curl -s -o "$tmp/pf.xml" -w '%{http_code}' $copt -X PROPFIND -H 'Depth: 1' "$base/bench/many/")
	n=$(grep -o '</[A-Za-z0-9]*:\{0,1\}response>' "$tmp/pf.xml" | wc -l)
	if [ "$code" != 207 ] || [ "$n" -lt 1001 ]; then
		echo "warning: $name PROPFIND answered $code with $n responses" >&2
	fi
	for k in put get many small p99 pf; do median < "$tmp/r.$k" > "$tmp/res.$name.$k"; done
}

measure apache "$au" "" "$tmp/none.lua" "$tmp/propfind.lua"
measure nginx "$nu" "" "$tmp/none.lua" "$tmp/propfind.lua"
measure kura "$ku/dav/demo" "-K $tmp/curlrc" "$tmp/auth.lua" "$tmp/propfind-auth.lua"
stop_kura
start_kura ""
kt="https://127.0.0.1:$pk"
waitfor "$kt/api/v1/status"
curl -sk -o /dev/null -K "$tmp/curlrc" -X DELETE "$kt/dav/demo/bench/"
measure kuratls "$kt/dav/demo" "-k -K $tmp/curlrc" "$tmp/auth.lua" "$tmp/propfind-auth.lua"

r() { cat "$tmp/res.$1.$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
alg=$(sqlite3 "$tmp/k/kura.db" "SELECT alg FROM file_nodes WHERE kind = 'file' LIMIT 1" 2>/dev/null || echo "?")
printf '\n| WebDAV, median of %s runs (%s MiB large file) | Apache mod_dav | nginx dav-ext | kura TLS off | kura TLS on | kura/Apache | kura/nginx | goal |\n' "$runs" "$mib"
printf '|---|---|---|---|---|---|---|---|\n'
row() {  # label key goal
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(r apache "$2")" "$(r nginx "$2")" "$(r kura "$2")" \
		"$(r kuratls "$2")" "$(ratio "$(r kura "$2")" "$(r apache "$2")")" "$(ratio "$(r kura "$2")" "$(r nginx "$2")")" "$3"
}
row "$mib MiB PUT (MB/s)" put ">= 1x Apache"
row "$mib MiB GET (MB/s)" get ">= 0.5x nginx"
row "4 KiB GET (req/s, wrk -t2 -c32)" small ">= 0.75x nginx"
row "4 KiB GET p99 (ms)" p99 ""
row "PROPFIND Depth 1, 1000 files (req/s, wrk -c8)" pf ">= 1x nginx"
row "1000 x 4 KiB PUT, one connection (files/s)" many ""
printf '(ratios use kura with TLS off; kura: app-password auth on every request, encryption at rest %s; %s cores: %s)\n' \
	"$alg" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
