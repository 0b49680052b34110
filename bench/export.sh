#!/bin/sh
# Export and backup benchmark (issue 8): a tenant of GIB GiB (BIG files of equal size plus SMALL
# files of 4 KiB) is uploaded through the files API, then
#   GET /api/v1/export?scope=tenant   rate (MB/s of ZIP) and the server's peak RSS during it
#   kura backup --data DIR --to DEST  rate, the backup process's peak RSS, then a second,
#                                     incremental run (nothing new to copy)
# Release build without sanitizers (build-release/), kura TLS off (--no-tls on loopback),
# encryption at rest on. The server's peak RSS is VmHWM after clear_refs (reset just before
# the export), so uploads do not count. BENCH_CHECK=1 also saves the ZIP and runs unzip -tq.
# Usage: bench/export.sh [GIB [BIG [SMALL]]]   default 4 16 2000. Changes nothing outside
# /tmp (or $TMPDIR) and build-release/.
set -eu
cd "$(dirname "$0")/.."
gib=${1:-4}; big=${2:-16}; small=${3:-2000}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target kura >/dev/null
kura=./build-release/kura
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-export-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$pid" ] && wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
pw=$($kura init --data "$tmp/d" --demo 2>/dev/null | sed -n 's/^password: //p')
printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$tmp/d/kura.conf"
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$tmp/d/kura.conf"
$kura serve --data "$tmp/d" --listen "127.0.0.1:$port" --no-tls 2>"$tmp/serve.log" &
pid=$!
url="http://127.0.0.1:$port"
for i in $(seq 50); do curl -s "$url/api/v1/status" >/dev/null && break; sleep 0.1; done
login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$url/api/v1/session")
cookie=$(sed -n 's/^Set-Cookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
[ -n "$cookie" ] || { echo "login failed"; cat "$tmp/serve.log"; exit 1; }
curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
	-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-export-pass-$$-x\"}" "$url/api/v1/me/password"
# room for the tenant (the default quota is 10 GiB)
$kura admin --data "$tmp/d" tenant set-quota demo $(( (gib + 1) * 1024 * 1024 * 1024 )) >/dev/null

# the tenant's data: BIG files of GIB/BIG GiB (one random source, each stored encrypted under
# its own key), SMALL files of 4 KiB in 20 folders
each=$(( gib * 1024 / big ))
head -c $((each * 1024 * 1024)) /dev/urandom > "$tmp/big.bin"
head -c 4096 /dev/urandom > "$tmp/small.bin"
up() {
	curl -sf -o /dev/null -X PUT -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" \
		-H 'Content-Type: application/octet-stream' -H 'Expect:' -T "$1" "$url/api/v1/folders/$2/files/$3"
}
t0=$(date +%s.%N)
for i in $(seq "$big"); do up "$tmp/big.bin" root "big-$i.bin"; done
for d in $(seq 20); do
	curl -sf -o "$tmp/dir.json" -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d "{\"name\":\"folder-$d\"}" "$url/api/v1/folders/root/children"
	dirid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/dir.json")
	n=$(( small / 20 )); [ "$d" -le $(( small % 20 )) ] && n=$((n + 1))
	for i in $(seq "$n"); do up "$tmp/small.bin" "$dirid" "s-$i.bin"; done
done
t1=$(date +%s.%N)
bytes=$(( big * each * 1024 * 1024 + small * 4096 ))
rm -f "$tmp/big.bin"

# the export, with the server's peak RSS reset just before it
rss_before=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
echo 5 > /proc/$pid/clear_refs
if [ "${BENCH_CHECK:-0}" = 1 ]; then out="$tmp/export.zip"; else out=/dev/null; fi
exp=$(curl -s -o "$out" -w '%{http_code} %{time_total} %{size_download}' -H "Cookie: $cookie" \
	"$url/api/v1/export?scope=tenant")
peak=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
check=skipped
if [ "${BENCH_CHECK:-0}" = 1 ]; then
	check=$(unzip -tq "$out" >/dev/null 2>&1 && echo "unzip -tq ok" || echo "unzip -tq FAILED")
	rm -f "$out"
fi

# the backup while serving, then an incremental one
bk() { /usr/bin/time -f '%e %M' -o "$tmp/time" $kura backup --data "$tmp/d" --to "$tmp/bk" > "$tmp/bk.out"; }
bk
b1=$(cat "$tmp/time"); c1=$(sed -n 's/^copied: \([0-9]*\).*/\1/p' "$tmp/bk.out")
sleep 1
bk
b2=$(cat "$tmp/time"); c2=$(sed -n 's/^copied: \([0-9]*\).*/\1/p' "$tmp/bk.out")
db=$(du -k "$tmp/d/kura.db" | cut -f1)

echo "# $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/^Mem/ {print $2}') GB RAM, $(uname -r), disk $(df -h "$tmp" | awk 'NR==2 {print $1}')"
printf '\n| tenant: %s GiB, %s files of %s MiB + %s of 4 KiB | result |\n|---|---|\n' "$gib" "$big" "$each" "$small"
echo "$t0 $t1 $bytes" | awk '{printf "| upload (setup, curl PUT one at a time) | %.1f MB/s (%.0f s) |\n", $3 / ($2 - $1) / 1e6, $2 - $1}'
echo "$exp" | awk '{printf "| GET /api/v1/export?scope=tenant | HTTP %s, %.2f GB ZIP in %.1f s: **%.1f MB/s** |\n", $1, $3 / 1e9, $2, $3 / $2 / 1e6}'
printf '| kura serve RSS before the export / peak during it | %s MiB / **%s MiB** |\n' "$((rss_before / 1024))" "$((peak / 1024))"
printf '| ZIP check | %s |\n' "$check"
echo "$b1 $bytes $c1" | awk '{printf "| kura backup while serving (first: %s blobs copied) | %.1f s, %.1f MB/s, peak RSS %d MiB |\n", $4, $1, $3 / $1 / 1e6, $2 / 1024}'
echo "$b2 $c2" | awk '{printf "| kura backup again (incremental: %s blobs copied) | %.1f s, peak RSS %d MiB |\n", $3, $1, $2 / 1024}'
printf '| database | %s KiB |\n' "$db"
