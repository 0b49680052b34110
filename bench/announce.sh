#!/bin/sh
# Announcement delivery benchmark (issue 9): the time to deliver one announcement to N
# tenants (default 10000) with 3 active managers each, through the durable outbox to a real
# SMTP server on loopback (python3 -m aiosmtpd with its Sink handler: the whole SMTP dialogue,
# the message discarded), measured from `kura admin announce create` until the outbox is
# drained (`kura admin mail queue`: nothing queued or deferred, N*3 sent).
# Release build, tenants with the MAIL service (channel: mail to the managers).
#
# The tenants and managers are written into kura.db with sqlite3 while kura serve is stopped:
# the rows `kura admin tenant create` and an accepted invitation make (tenant, service, active
# manager account), without tenant keys and audit records, which delivery does not read.
# `kura admin tenant create` itself takes ~90 ms a tenant here (one fsync'd transaction and a
# process each, ~15 min for 10000): that measures tenant creation, not delivery. Set
# BENCH_ADMIN=1 to create the tenants with kura admin anyway (managers still by SQL: three
# active managers need three accepted invitations each).
#
# Usage: bench/announce.sh [tenants]     Prints a small table; changes nothing outside /tmp.
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000}
build=build-release
[ -x "$build/kura" ] || { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= >/dev/null &&
	cmake --build "$build" -j2 >/dev/null; }
kura=$PWD/$build/kura
/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || { echo "python3 cannot import aiosmtpd (apt-get install python3-aiosmtpd)"; exit 1; }
tmp=$(mktemp -d /tmp/kura-annbench.XXXXXX)
pid= spid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport)
sport=$(freeport)
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$sport" -c aiosmtpd.handlers.Sink 2>"$tmp/smtp.log" &
spid=$!
"$kura" init --data "$tmp/d" >/dev/null
printf '[log]\nlevel = warn\n[mail]\nsmtp_url = smtp://127.0.0.1:%s\nstarttls = off\npoll_seconds = 1\n' "$sport" \
	>> "$tmp/d/kura.conf"
# as root, kura serve keeps root only when told so (docs/operations.md "Running as root")
[ "$(id -u)" != 0 ] || printf '\n[server]\nuser = root\n' >> "$tmp/d/kura.conf"
serve() {
	"$kura" serve --data "$tmp/d" --listen "127.0.0.1:$port" --no-tls 2>>"$tmp/serve.log" &
	pid=$!
	for i in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/v1/status" >/dev/null && return; sleep 0.1; done
	echo "kura serve did not start"; cat "$tmp/serve.log"; exit 1
}
stop() { kill "$pid"; wait "$pid" || true; pid=; }
admin() { "$kura" admin --data "$tmp/d" --json "$@"; }

t0=$(date +%s.%N)
if [ "${BENCH_ADMIN:-0}" = 1 ]; then
	serve
	i=1
	while [ "$i" -le "$n" ]; do admin tenant create "b$i" --name "Bench $i" --service MAIL >/dev/null; i=$((i + 1)); done
	stop
	sql_tenants=""
else
	sql_tenants="
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $n)
INSERT INTO tenants (code, name, created_us, updated_us) SELECT 'b' || i, 'Bench ' || i, 0, 0 FROM k;
INSERT INTO tenant_services (tenant_id, service) SELECT id, 'MAIL' FROM tenants WHERE code LIKE 'b%';"
fi
sqlite3 "$tmp/d/kura.db" <<EOF
BEGIN;
$sql_tenants
WITH m(j) AS (VALUES (1), (2), (3))
INSERT INTO accounts (tenant_id, login, email, role, status, password_hash, created_us, updated_us)
  SELECT t.id, 'm' || m.j, 'm' || m.j || '@' || t.code || '.example.com', 'manager', 'active', NULL, 0, 0
  FROM tenants t, m WHERE t.code LIKE 'b%';
COMMIT;
EOF
t1=$(date +%s.%N)
serve
printf 'Tonight from 22:00 JST the storage is upgraded.\n\n- no downtime expected\n- details: [notes](https://kura.example/notes)\n' > "$tmp/body.md"
start=$(date +%s.%N)
admin announce create --kind maintenance --target all --title-ja "ストレージの更新" --title-en "Storage upgrade" \
	--body-ja-file "$tmp/body.md" --body-en-file "$tmp/body.md" >/dev/null
queued=$(date +%s.%N)
want=$((n * 3))
while :; do
	q=$(admin mail queue)
	sent=$(echo "$q" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sent"])')
	waiting=$(echo "$q" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["queued"] + d["deferred"])')
	failed=$(echo "$q" | python3 -c 'import json,sys; print(json.load(sys.stdin)["failed"])')
	[ "$waiting" -eq 0 ] && [ "$sent" -ge "$want" ] && break
	[ "$failed" -gt 0 ] && { echo "failed mails: $failed"; tail -5 "$tmp/serve.log"; exit 1; }
	sleep 0.2
done
done_t=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
stop
python3 - "$n" "$want" "$t0" "$t1" "$start" "$queued" "$done_t" "$sent" "$rss" <<'EOF'
import sys
n, want = int(sys.argv[1]), int(sys.argv[2])
t0, t1, start, queued, done = map(float, sys.argv[3:8])
sent, rss = int(sys.argv[8]), sys.argv[9]
print('| measure | value |\n|---|---|')
print(f'| tenants, 3 active managers each | {n} ({want} mails) |')
print(f'| creating them (sqlite3, one transaction) | {t1 - t0:.1f} s |')
print(f'| announce create --target all returns (delivered into the outbox: {n} tenant transactions) | {queued - start:.1f} s |')
print(f'| announce create until the outbox is drained (SMTP to aiosmtpd Sink on loopback) | {done - start:.1f} s |')
print(f'| outbox throughput (mails sent / drain time) | {sent / (done - start):.0f} mails/s |')
print(f'| SMTP part alone (mails / (drained - returned)) | {sent / max(done - queued, 1e-9):.0f} mails/s |')
print(f'| RSS of kura serve at the end | {rss} KiB |')
EOF
