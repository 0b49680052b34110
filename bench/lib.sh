# Shared by the benchmarks (sourced, not run): a kura serving a fresh demo tenant on loopback,
# with an app password for HTTP Basic on every request (what a WebDAV client uses).
# kura_start BIN DIR [EXTRA_CONF]: `BIN init --demo` into DIR, serve it (TLS off; as root it
# keeps root, docs/operations.md "Running as root"), change the demo manager's password and
# make an app password. Sets KURA_PID, KURA_URL (http://127.0.0.1:PORT) and KURA_AUTHZ (the
# Authorization value). EXTRA_CONF is appended to kura.conf before the start.
kura_start() {
	_bin=$1 _d=$2
	_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	_pw=$("$_bin" init --data "$_d" --demo 2>/dev/null | sed -n 's/^password: //p')
	printf '[log]\nlevel = warn\n[security]\nmfa_managers_default = optional\n' >> "$_d/kura.conf"
	[ "$(id -u)" != 0 ] || printf '[server]\nuser = root\n' >> "$_d/kura.conf"
	[ -z "${3:-}" ] || printf '%s\n' "$3" >> "$_d/kura.conf"
	${WRAP:-} "$_bin" serve --data "$_d" --listen "127.0.0.1:$_port" --no-tls 2>>"$_d.log" &
	KURA_PID=$!
	KURA_URL=http://127.0.0.1:$_port
	for _ in $(seq 150); do curl -s -o /dev/null "$KURA_URL/api/v1/status" && break; sleep 0.1; done
	_login=$(curl -s -D "$_d.h" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"demo\",\"login\":\"admin\",\"password\":\"$_pw\"}" "$KURA_URL/api/v1/session")
	_cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: \(kura_session=[^;]*\).*/\1/p' "$_d.h")
	_csrf=$(echo "$_login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
	curl -sf -o /dev/null -H "Cookie: $_cookie" -H "X-CSRF-Token: $_csrf" -H 'Content-Type: application/json' \
		-d "{\"current_password\":\"$_pw\",\"new_password\":\"Bench-pass-$$-$_port-x\"}" "$KURA_URL/api/v1/me/password"
	_secret=$(curl -s -H "Cookie: $_cookie" -H "X-CSRF-Token: $_csrf" -H 'Content-Type: application/json' \
		-d '{"name":"bench","scope":"read-write"}' "$KURA_URL/api/v1/me/app-passwords" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
	KURA_AUTHZ="Basic $(printf 'admin:%s' "$_secret" | base64 -w0)"
}
