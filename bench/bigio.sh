#!/bin/sh
# A/B benchmark (not a test) of large transfers for issue 11: two kura binaries served side
# by side, 256 MiB PUT and GET (WebDAV, app password) alternated over ROUNDS rounds, the
# order of the two swapped every round, with dd conv=fsync and one core's AES-256-GCM rate
# taken in each round and kura's peak RSS (VmHWM) per transfer. The GET is timed into
# /dev/null and then fetched again untimed and compared with cmp (bench/peers.sh does the
# same; docs/performance.md "How the large GET is measured").
# Usage: A=/tmp/old-kura B=build-release/kura [ROUNDS=6] [MIB=256] bench/bigio.sh
# Prints one line per round and the medians; changes nothing outside /tmp.
set -eu
A=${A:?the kura before (a binary)}; B=${B:?the kura after}
rounds=${ROUNDS:-6}; mib=${MIB:-256}
tmp=$(mktemp -d /tmp/kura-bigio.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
start_kura() {  # NAME BINARY
	d="$tmp/$1" port=$(freeport)
	pw=$("$2" init --data "$d" --demo 2>/dev/null | sed -n 's/^password: //p')
	printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$d/kura.conf"
	[ "$(id -u)" != 0 ] || printf '[server]\nuser = root\n' >> "$d/kura.conf"
	"$2" serve --data "$d" --listen "127.0.0.1:$port" --no-tls 2>>"$tmp/$1.log" &
	pids="$pids $!"; echo $! > "$tmp/$1.pid"
	u="http://127.0.0.1:$port"
	waitfor "$u/api/v1/status"
	login=$(curl -s -D "$tmp/h" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$pw\"}" "$u/api/v1/session")
	cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$tmp/h")
	csrf=$(echo "$login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -sf -o /dev/null -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d "{\"current_password\":\"$pw\",\"new_password\":\"Bench-bigio-pass-$$-x\"}" "$u/api/v1/me/password"
	secret=$(curl -s -H "Cookie: $cookie" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
		-d '{"name":"bench","scope":"read-write"}' "$u/api/v1/me/app-passwords" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	# the credential goes into a file (curl -K), never a command line
	printf 'header = "Authorization: Basic %s"\n' "$(printf 'admin:%s' "$secret" | base64 -w0)" > "$tmp/$1.curlrc"
	echo "$u/dav/demo" > "$tmp/$1.url"
	curl -s -o /dev/null -K "$tmp/$1.curlrc" -X MKCOL "$u/dav/demo/big/"
}
start_kura A "$A"; start_kura B "$B"
head -c $((mib * 1024 * 1024)) /dev/urandom > "$tmp/big.bin"
hwm() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
for i in $(seq "$rounds"); do
	dd=$(dd if=/dev/zero of="$tmp/dd.bin" bs=1M count="$mib" conv=fsync 2>&1 |
		awk '/copied/ {for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1); printf "%.0f", $1 / s / 1e6}')
	rm -f "$tmp/dd.bin"
	aes=$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 1 2>/dev/null |
		awk 'END {v = $NF; sub("k", "", v); printf "%.0f", v * 1000 / 1e6}')
	line="round $i: dd $dd, AES $aes MB/s"
	order="A B"; [ $((i % 2)) = 0 ] && order="B A"
	for s in $order; do
		u=$(cat "$tmp/$s.url"); pid=$(cat "$tmp/$s.pid")
		echo 5 > "/proc/$pid/clear_refs"
		put=$(curl -s -o /dev/null -K "$tmp/$s.curlrc" -H 'Expect:' -T "$tmp/big.bin" -w '%{speed_upload}' \
			"$u/big/b$i.bin" | awk '{printf "%.0f", $1 / 1e6}')
		rp=$(hwm "$pid"); echo 5 > "/proc/$pid/clear_refs"
		get=$(curl -s -o /dev/null -K "$tmp/$s.curlrc" -w '%{speed_download}' "$u/big/b$i.bin" |
			awk '{printf "%.0f", $1 / 1e6}')
		rg=$(hwm "$pid")
		curl -s -K "$tmp/$s.curlrc" "$u/big/b$i.bin" | cmp -s - "$tmp/big.bin" || echo "warning: $s GET differs" >&2
		echo "$put" >> "$tmp/put.$s"; echo "$get" >> "$tmp/get.$s"
		line="$line | $s PUT $put MB/s (peak RSS $rp MiB), GET $get MB/s ($rg MiB)"
	done
	echo "$line"
done
median() { sort -g "$1" | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
printf 'medians: PUT A %s, B %s MB/s; GET A %s, B %s MB/s (load average %s)\n' "$(median "$tmp/put.A")" \
	"$(median "$tmp/put.B")" "$(median "$tmp/get.A")" "$(median "$tmp/get.B")" "$(cut -d' ' -f1-3 /proc/loadavg)"
