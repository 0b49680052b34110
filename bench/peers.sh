#!/bin/sh
# Peer benchmark (not a test) for issue 11: kura against the servers a user would pick instead,
# in one run on loopback, with the same files:
#   kura    Release build, app password (HTTP Basic) on every request, encryption at rest and
#           the durable audit chain on (they cannot be turned off);
#   rclone  `rclone serve webdav` on a crypt remote over a local directory, Basic auth
#           (encrypts; does not fsync, keeps no access log);
#   nginx   Debian nginx with dav + dav-ext, no auth, plaintext (the upper bound).
# Workloads (every load stops by itself: a fixed count or wrk -d):
#   4 KiB GET (wrk -t2 -c32), PROPFIND Depth 1 on 1,000 and 10,000 files (wrk -t2 -c8),
#   1,000 x 4 KiB PUT over one keep-alive connection (curl URL glob), 256 MiB PUT and GET
#   (curl; the GET timed into /dev/null, then fetched again untimed and compared with cmp:
#   curl writing the body into a file capped every server at ~1 GB/s, nginx included),
#   32 concurrent clients each PUTting 4 KiB files (wrk -t2 -c32 with a PUT script),
#   plus the disk's fsynced write rate (dd conv=fsync) and one core's AES-256-GCM rate
#   (openssl speed -evp aes-256-gcm -bytes 16384), and kura's peak RSS under each load
#   (VmHWM, reset through /proc/PID/clear_refs before each load).
# Scaling: 4 KiB GET and 4 KiB PUT with 1, 4 and 32 connections (kura and nginx; SCALING=0 skips).
# Env: RUNS (default 3; each figure is the median), DURATION (wrk seconds, default 5),
#      MIB (large file, default 256), TLS=1 (all three servers behind TLS, self-signed),
#      KURA_BUILD (default build-bench: a Release build made here; REBUILD=0 uses the kura
#      binary already there, e.g. one built from an older commit), LABEL (what the footer
#      calls the kura measured; default git describe), PERF_PID_FILE (write kura's pid there,
#      to attach perf/strace by hand), BASELINE (a second kura binary measured in the same
#      run, e.g. one built from an older commit: columns "kura before" and "kura/before").
# The machine's load average is printed at the start and the end: on a shared machine a
# figure is only comparable with one taken at a similar load.
# Installs nginx, libnginx-mod-http-dav-ext, rclone, wrk when missing (apt, as
# bench/webdav.sh). Prints a markdown table with ratios and the goals met; changes nothing
# outside /tmp and the build directory.
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
dur=${DURATION:-5}
mib=${MIB:-256}
tls=${TLS:-0}
scaling=${SCALING:-1}
kb=${KURA_BUILD:-build-bench}
missing=""
for p in nginx libnginx-mod-http-dav-ext rclone wrk curl openssl python3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -x "$kb/kura" ] || [ "${REBUILD:-1}" = 1 ]; then
	cmake -S . -B "$kb" -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
	cmake --build "$kb" -j "$(nproc)" --target kura >/dev/null
fi
kura="$kb/kura"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d /tmp/kura-peerbench.XXXXXX)
chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -f "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null || true
	sleep 0.5
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for i in $(seq 150); do curl -sk -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
scheme=http; [ "$tls" = 1 ] && scheme=https

head -c $((mib * 1024 * 1024)) /dev/urandom > "$tmp/big.bin"
head -c 4096 /dev/urandom > "$tmp/small.bin"
if [ "$tls" = 1 ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
fi

# ---- machine figures: the disk's fsynced write rate, one core's AES-256-GCM
dd if=/dev/zero of="$tmp/dd.bin" bs=1M count="$mib" conv=fsync 2>&1 |
	awk '/copied/ {for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1); printf "%.1f\n", $1 / s / 1e6}' > "$tmp/res.dd"
rm -f "$tmp/dd.bin"
openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null |
	awk 'END {v = $NF; sub("k", "", v); printf "%.1f\n", v * 1000 / 1e6}' > "$tmp/res.aes"

# ---- kura: demo tenant, manager without MFA (a measurement, not a deployment), app password
# start_kura NAME BINARY: serves $tmp/NAME; sets NAME's pid, base URL and Authorization value
start_kura() {
	name=$1 bin=$2 d="$tmp/$1"
	port=$(freeport)
	pw=$("$bin" init --data "$d" --demo 2>/dev/null | sed -n 's/^password: //p')
	printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$d/kura.conf"
	# as root the server would drop to the user "kura" (docs/operations.md "Running as root")
	[ "$(id -u)" != 0 ] || printf '[server]\nuser = root\n' >> "$d/kura.conf"
	ktls=--no-tls
	if [ "$tls" = 1 ]; then
		ktls=""
		printf '[server]\ntls_cert = %s\ntls_key = %s\n' "$tmp/cert.pem" "$tmp/key.pem" >> "$d/kura.conf"
	fi
	# shellcheck disable=SC2086
	"$bin" serve --data "$d" --listen "127.0.0.1:$port" $ktls 2>>"$tmp/$name.log" &
	pid=$!
	pids="$pids $pid"
	u="$scheme://127.0.0.1:$port"
	waitfor "$u/api/v1/status"
	login=$(curl -sk -D "$tmp/h" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
	csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -skf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-peer-pass-$$-x\"}" "$u/api/v1/me/password"
	secret=$(curl -sk -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d '{"name":"bench","scope":"read-write"}' "$u/api/v1/me/app-passwords" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	echo "$pid" > "$tmp/$name.pid"
	echo "$u/dav/demo" > "$tmp/$name.url"
	echo "Basic $(printf 'admin:%s' "$secret" | base64 -w0)" > "$tmp/$name.authz"
}
start_kura kura "$kura"
kpid=$(cat "$tmp/kura.pid")
[ -n "${PERF_PID_FILE:-}" ] && echo "$kpid" > "$PERF_PID_FILE"
# BASELINE=path/to/kura: a second kura (e.g. built from an older commit) in the same run,
# so a before/after comparison shares the machine's load
servers="nginx rclone kura"
if [ -n "${BASELINE:-}" ]; then
	start_kura kura0 "$BASELINE"
	servers="nginx rclone kura0 kura"
fi

# ---- rclone serve webdav on a crypt remote over a local directory, Basic auth
pr=$(freeport)
mkdir -p "$tmp/rclone-data"
rpass="bench-$$-rclone"
cat > "$tmp/rclone.conf" <<EOF
[base]
type = local

[crypt]
type = crypt
remote = base:$tmp/rclone-data
password = $(rclone obscure "bench-crypt-$$")
filename_encryption = standard
EOF
rtls=""; [ "$tls" = 1 ] && rtls="--cert $tmp/cert.pem --key $tmp/key.pem"
# shellcheck disable=SC2086
rclone --config "$tmp/rclone.conf" serve webdav crypt: --addr "127.0.0.1:$pr" \
	--user bench --pass "$rpass" $rtls 2>>"$tmp/rclone.log" &
pids="$pids $!"
rauth="Basic $(printf 'bench:%s' "$rpass" | base64 -w0)"
ru="$scheme://127.0.0.1:$pr"
waitfor "$ru/"

# ---- nginx dav + dav-ext, 2 workers, from the temp dir
pn=$(freeport)
mkdir -p "$tmp/nginx/tmp" "$tmp/nginx-data"
chown -R www-data: "$tmp/nginx" "$tmp/nginx-data"
nlisten="127.0.0.1:$pn"
nssl=""
if [ "$tls" = 1 ]; then
	nlisten="$nlisten ssl"
	nssl="ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;"
fi
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
    listen $nlisten;
    $nssl
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
nu="$scheme://127.0.0.1:$pn"
waitfor "$nu/"

# ---- wrk scripts; a credential goes into a file (curl -K, wrk script), never a command line
cat > "$tmp/propfind.lua" <<'LUA'
wrk.method = "PROPFIND"
wrk.headers["Depth"] = "1"
wrk.headers["Content-Type"] = "application/xml"
wrk.body = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
LUA
# PUT of distinct 4 KiB files: each connection's thread numbers its own names
cat > "$tmp/put.lua" <<LUA
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
  prefix = args[1]
  local f = io.open("$tmp/small.bin", "rb"); body = f:read("*a"); f:close()
  count = 0
end
function request()
  count = count + 1
  return wrk.format("PUT", prefix .. "t" .. tid .. "-" .. count .. ".bin", nil, body)
end
LUA
for s in $servers; do
	case $s in kura*) a=$(cat "$tmp/$s.authz") ;; rclone) a=$rauth ;; nginx) a="" ;; esac
	: > "$tmp/$s.curlrc"; : > "$tmp/$s.auth.lua"
	if [ -n "$a" ]; then
		printf 'header = "Authorization: %s"\n' "$a" > "$tmp/$s.curlrc"
		printf 'wrk.headers["Authorization"] = "%s"\n' "$a" > "$tmp/$s.auth.lua"
	fi
	printf 'insecure\n' >> "$tmp/$s.curlrc"
	cat "$tmp/$s.auth.lua" "$tmp/propfind.lua" > "$tmp/$s.propfind.lua"
	cat "$tmp/$s.auth.lua" "$tmp/put.lua" > "$tmp/$s.put.lua"
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
rss_reset() { [ "$1" = kura ] && echo 5 > "/proc/$kpid/clear_refs" 2>/dev/null || true; }
rss_take() {  # name key: kura's peak RSS (MiB) since the last reset, the highest of the runs
	[ "$1" = kura ] || return 0
	awk '/^VmHWM/ {printf "%.0f\n", $2 / 1024}' "/proc/$kpid/status" >> "$tmp/rss.$2"
}
wrkrate() {  # wrk output file: req/s, warn on errors
	if grep -q -E 'Non-2xx|Socket errors' "$1"; then echo "warning: $2: $(grep -E 'Non-2xx|Socket errors' "$1" | tr '\n' ' ')" >&2; fi
	awk '/Requests\/sec/ {print $2}' "$1"
}
# seed NAME BASE: the folders and files every load uses
seed() {
	name=$1 base=$2 c="-K $tmp/$1.curlrc"
	for d in bench bench/f1k bench/f10k bench/c bench/big; do
		# shellcheck disable=SC2086
		curl -s -o /dev/null $c -X MKCOL "$base/$d/" || true
	done
	# shellcheck disable=SC2086
	curl -s -o /dev/null $c -H 'Expect:' -T "$tmp/small.bin" "$base/bench/small.bin"
	# shellcheck disable=SC2086
	timeout 600 curl -s -o /dev/null $c -H 'Expect:' -T "$tmp/small.bin" "$base/bench/f1k/f[1-1000].bin"
	# shellcheck disable=SC2086
	timeout 600 curl -s -o /dev/null $c -H 'Expect:' -T "$tmp/small.bin" "$base/bench/f10k/f[1-10000].bin"
	for dir in f1k f10k; do
		want=1001; [ $dir = f10k ] && want=10001
		# shellcheck disable=SC2086
		code=$(curl -s -o "$tmp/pf.xml" -w '%{http_code}' $c -X PROPFIND -H 'Depth: 1' "$base/bench/$dir/")
		n=$(grep -o '</[A-Za-z0-9]*:\{0,1\}response>' "$tmp/pf.xml" | wc -l)
		[ "$code" = 207 ] && [ "$n" -ge "$want" ] || echo "warning: $name PROPFIND $dir answered $code with $n responses" >&2
	done
}
# measure NAME BASE: medians into $tmp/res.NAME.KEY, kura's peak RSS into $tmp/rss.KEY
measure() {
	name=$1 base=$2 c="-K $tmp/$1.curlrc"
	for k in put get many small pf1k pf10k conc; do : > "$tmp/r.$k"; : > "$tmp/rss.$k"; done
	for i in $(seq "$runs"); do
		rss_reset "$name"
		# shellcheck disable=SC2086
		timeout 300 curl -s -o /dev/null $c -H 'Expect:' -T "$tmp/big.bin" -w '%{speed_upload}\n' \
			"$base/bench/big/big$i.bin" | awk '{printf "%.1f\n", $1/1e6}' >> "$tmp/r.put"
		rss_take "$name" put; rss_reset "$name"
		# timed into /dev/null: curl writing 256 MiB into a file is the limit otherwise
		# (docs/performance.md "How the large GET is measured"); checked by a second GET
		# shellcheck disable=SC2086
		timeout 300 curl -s -o /dev/null $c -w '%{speed_download}\n' "$base/bench/big/big$i.bin" |
			awk '{printf "%.1f\n", $1/1e6}' >> "$tmp/r.get"
		rss_take "$name" get
		# shellcheck disable=SC2086
		timeout 300 curl -s $c "$base/bench/big/big$i.bin" | cmp -s - "$tmp/big.bin" ||
			echo "warning: $name 256 MiB GET differs" >&2
		# shellcheck disable=SC2086
		curl -s -o /dev/null $c -X MKCOL "$base/bench/m$i/" || true
		rss_reset "$name"
		t0=$(now)
		# shellcheck disable=SC2086
		timeout 300 curl -s -o /dev/null $c -H 'Expect:' -T "$tmp/small.bin" "$base/bench/m$i/f[1-1000].bin"
		t1=$(now)
		rss_take "$name" many
		echo "$t0 $t1" | awk '{printf "%.0f\n", 1000/($2-$1)}' >> "$tmp/r.many"
		rss_reset "$name"
		wrk -t2 -c32 -d"${dur}s" -s "$tmp/$name.auth.lua" "$base/bench/small.bin" > "$tmp/wrk.out"
		wrkrate "$tmp/wrk.out" "$name 4 KiB GET" >> "$tmp/r.small"
		rss_take "$name" small
		for dir in f1k f10k; do
			rss_reset "$name"
			wrk -t2 -c8 -d"${dur}s" --timeout 30s -s "$tmp/$name.propfind.lua" "$base/bench/$dir/" > "$tmp/wrk.out"
			wrkrate "$tmp/wrk.out" "$name PROPFIND $dir" >> "$tmp/r.pf${dir#f}"
			rss_take "$name" "pf${dir#f}"
		done
		rss_reset "$name"
		wrk -t2 -c32 -d"${dur}s" --timeout 30s -s "$tmp/$name.put.lua" "$base/bench/c/" > "$tmp/wrk.out" 2>&1 || true
		wrkrate "$tmp/wrk.out" "$name 32-client PUT" >> "$tmp/r.conc"
		rss_take "$name" conc
	done
	for k in put get many small pf1k pf10k conc; do
		median < "$tmp/r.$k" > "$tmp/res.$name.$k"
		[ "$name" = kura ] && sort -g "$tmp/rss.$k" | tail -1 > "$tmp/res.rss.$k"
	done
	return 0
}
# wrk's PUT script takes the path part of BASE (after host:port) as its prefix
prefix_of() { echo "$1" | sed 's|^[a-z]*://[^/]*||'; }

base_of() { case $1 in kura*) cat "$tmp/$1.url" ;; rclone) echo "$ru" ;; nginx) echo "$nu" ;; esac; }
for s in $servers; do seed "$s" "$(base_of "$s")"; done
# the PUT script's prefix: the path part of the server's base
measure_all() {
	for s in $servers; do
		b=$(base_of "$s")
		P=$(prefix_of "$b")
		sed -i "s|^  prefix = .*|  prefix = \"$P/bench/c/\"|" "$tmp/$s.put.lua"
		measure "$s" "$b"
	done
}
measure_all
if [ "$scaling" = 1 ]; then
	for s in nginx kura; do
		b=$(base_of "$s")
		P=$(prefix_of "$b")
		for n in 1 4 32; do
			cp "$tmp/$s.put.lua" "$tmp/$s.put$n.lua"
			sed -i "s|^  prefix = .*|  prefix = \"$P/bench/s$n/\"|" "$tmp/$s.put$n.lua"
		done
		for n in 1 4 32; do
			t=2; [ "$n" = 1 ] && t=1
			wrk -t$t -c"$n" -d"${dur}s" -s "$tmp/$s.auth.lua" "$b/bench/small.bin" > "$tmp/wrk.out"
			wrkrate "$tmp/wrk.out" "$s GET c$n" > "$tmp/res.$s.sget$n"
			curl -s -o /dev/null -K "$tmp/$s.curlrc" -X MKCOL "$b/bench/s$n/" || true
			wrk -t$t -c"$n" -d"${dur}s" --timeout 30s -s "$tmp/$s.put$n.lua" "$b/bench/s$n/" > "$tmp/wrk.out" 2>&1 || true
			wrkrate "$tmp/wrk.out" "$s PUT c$n" > "$tmp/res.$s.sput$n"
		done
	done
fi

r() { cat "$tmp/res.$1.$2" 2>/dev/null || echo nan; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
ge() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { exit !(b + 0 > 0 && a + 0 >= f * b) }'; }
met=0; total=0
: > "$tmp/verdicts"
goal() {  # cond...: "met" or "missed", counted in a file ($(...) runs in a subshell)
	if "$@"; then echo met | tee -a "$tmp/verdicts"; else echo '**missed**' | tee -a "$tmp/verdicts"; fi
}
both() { ge "$1" "$2" "$3" && ge "$4" "$5" "$6"; }
K() { r kura "$1"; }; R() { r rclone "$1"; }; N() { r nginx "$1"; }
dd_=$(cat "$tmp/res.dd"); aes=$(cat "$tmp/res.aes")
tl="off"; [ "$tls" = 1 ] && tl="on (all three)"
b0h=""; b0s=""
if [ -n "${BASELINE:-}" ]; then b0h=" kura before | kura/before |"; b0s="---|---|"; fi
printf '\n| workload (median of %s runs, TLS %s) | kura | rclone crypt | nginx dav | kura/rclone | kura/nginx | goal | |%s\n' "$runs" "$tl" "$b0h"
printf '|---|---|---|---|---|---|---|---|%s\n' "$b0s"
row() {  # label key goaltext verdict
	b0=""
	[ -n "${BASELINE:-}" ] && b0=" $(r kura0 "$2") | $(ratio "$(K "$2")" "$(r kura0 "$2")") |"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |%s\n' "$1" "$(K "$2")" "$(R "$2")" "$(N "$2")" \
		"$(ratio "$(K "$2")" "$(R "$2")")" "$(ratio "$(K "$2")" "$(N "$2")")" "$3" "$4" "$b0"
}
row "4 KiB GET, wrk -t2 -c32 (req/s)" small ">= 3x rclone, >= 0.5x nginx" \
	"$(goal both "$(K small)" "$(R small)" 3 "$(K small)" "$(N small)" 0.5)"
row "PROPFIND Depth 1, 1,000 files, wrk -c8 (req/s)" pf1k ">= 2x nginx" "$(goal ge "$(K pf1k)" "$(N pf1k)" 2)"
row "PROPFIND Depth 1, 10,000 files, wrk -c8 (req/s)" pf10k ">= 2x nginx" "$(goal ge "$(K pf10k)" "$(N pf10k)" 2)"
row "1,000 x 4 KiB PUT, one keep-alive client (files/s)" many ">= 1.5x rclone, >= 0.5x nginx" \
	"$(goal both "$(K many)" "$(R many)" 1.5 "$(K many)" "$(N many)" 0.5)"
row "$mib MiB PUT (MB/s)" put ">= 0.8x dd conv=fsync ($dd_ MB/s): $(ratio "$(K put)" "$dd_")x" \
	"$(goal ge "$(K put)" "$dd_" 0.8)"
row "$mib MiB GET (MB/s)" get ">= 0.5x AES-256-GCM one core ($aes MB/s): $(ratio "$(K get)" "$aes")x" \
	"$(goal ge "$(K get)" "$aes" 0.5)"
row "32 clients, 4 KiB PUT each, wrk -c32 (files/s)" conc ">= nginx sequential ($(N many)/s): $(ratio "$(K conc)" "$(N many)")x" \
	"$(goal ge "$(K conc)" "$(N many)" 1)"
met=$(grep -c '^met' "$tmp/verdicts" || true); total=$(wc -l < "$tmp/verdicts")
printf '\ngoals met: %s of %s\n' "$met" "$total"
printf '\n| kura peak RSS (MiB) | %s MiB PUT | %s MiB GET | 1,000 PUT | 4 KiB GET | PROPFIND 1k | PROPFIND 10k | 32-client PUT |\n' "$mib" "$mib"
printf '|---|---|---|---|---|---|---|---|\n'
printf '| kura | %s | %s | %s | %s | %s | %s | %s |\n' "$(r rss put)" "$(r rss get)" "$(r rss many)" \
	"$(r rss small)" "$(r rss pf1k)" "$(r rss pf10k)" "$(r rss conc)"
if [ "$scaling" = 1 ]; then
	printf '\n| scaling, 4 KiB (req/s or files/s) | 1 conn | 4 conns | 32 conns |\n|---|---|---|---|\n'
	for s in kura nginx; do
		printf '| %s GET | %s | %s | %s |\n' "$s" "$(r $s sget1)" "$(r $s sget4)" "$(r $s sget32)"
		printf '| %s PUT | %s | %s | %s |\n' "$s" "$(r $s sput1)" "$(r $s sput4)" "$(r $s sput32)"
	done
fi
printf '\n(kura %s, TLS %s; app password on every request, encryption at rest, durable audit; dd and openssl on the same disk and core; load average %s at the start, %s at the end; %s cores: %s)\n' \
	"${LABEL:-$(git describe --always --dirty 2>/dev/null || echo ?)}" "$tl" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
