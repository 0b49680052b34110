#!/bin/sh
# ctest contrib/systemd-analyze: systemd's own rating of contrib/kura.service
# (`systemd-analyze security --offline=yes`) must be 2.0 or lower; prints the rating and the
# settings it still counts against the unit. Fails, never skips, without systemd-analyze.
# As a check of the check, the same unit with its [Service] sandbox removed must rate above 2.0.
# usage: systemd_analyze.sh path/to/kura.service
set -eu
unit=$1
max=2.0
command -v systemd-analyze >/dev/null || { echo "contrib/systemd-analyze: FAIL: systemd-analyze is missing (Debian package systemd)" >&2; exit 1; }
[ -f "$unit" ] || { echo "contrib/systemd-analyze: FAIL: no unit at $unit" >&2; exit 1; }

rate() {
	# "→ Overall exposure level for kura.service: 1.2 OK 🙂"
	systemd-analyze security --offline=yes "$1" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/kura.service
systemd-analyze security --offline=yes "$unit" > "$tmp/report" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/report")
[ -n "$score" ] || { cat "$tmp/report" >&2; echo "contrib/systemd-analyze: FAIL: no rating in the output above" >&2; exit 1; }
echo "systemd-analyze security --offline=yes $(basename "$unit"): exposure $score (at most $max)"
grep '✗' "$tmp/report" | sed 's/  */ /g; s/^/  still counted: /' || true

# the same unit without its sandbox: only what starts the service is kept
sed -n '1,/^\[Service\]/p' "$unit" > "$out"
grep -E '^(Type|User|Group|ExecStart)=' "$unit" >> "$out"
weak=$(rate "$out")
[ -n "$weak" ] && ! le "$weak" "$max" || { echo "contrib/systemd-analyze: FAIL: the unit without its sandbox rates ${weak:-nothing}: the rating is not read right" >&2; exit 1; }
echo "  (the same unit without its sandbox: $weak)"

le "$score" "$max" || { echo "contrib/systemd-analyze: FAIL: exposure $score is above $max" >&2; exit 1; }
echo "contrib/systemd-analyze: ok"
