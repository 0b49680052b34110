#!/bin/sh
# Share access log benchmark (issue 15): the queries of GET /api/v1/shares/{id}/access (a
# page of 100) and of the share list's access count, over N_EVENTS access records spread
# over LINKS links of one tenant, with the index of 0018 and without it. A database made by
# `kura init --demo` (all migrations), rows added with sqlite3.
# Usage: bench/share_access.sh KURA_BINARY [N_EVENTS [LINKS]]   default 500000 1000
# Changes nothing outside /tmp.
set -eu
kura=$1; n=${2:-500000}; links=${3:-1000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-share-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$kura" init --data "$tmp/d" --demo >/dev/null 2>&1
db=$tmp/d/kura.db
sqlite3 "$db" "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
  INSERT INTO audit_events (tenant_id, seq, time_us, actor_type, actor, category, action, target, result,
  details, prev_hash, hash) SELECT 1, 1000000 + i, i, 'anonymous', 'link:' || (i % $links), 'access',
  'link.view', 'share:' || (i % $links), 'success', '{}', x'00', x'00' FROM c;"
page="SELECT seq FROM audit_events WHERE tenant_id = 1 AND seq > 0 AND time_us >= 0
  AND time_us <= 9223372036854775807 AND category = 'access' AND actor = 'link:7'
  AND target = 'share:7' ORDER BY seq LIMIT 100;"
count="SELECT COUNT(*) FROM audit_events WHERE tenant_id = 1 AND target = 'share:7'
  AND category = 'access' AND actor = 'link:7';"
echo "# $n access records, $links links, SQLite $(sqlite3 --version | cut -d' ' -f1)"
for what in "with index" "without index"; do
	[ "$what" = "without index" ] && sqlite3 "$db" "DROP INDEX audit_events_tenant_target;"
	printf '%s: page of 100, count: ' "$what"
	printf '.timer on\n%s\n%s\n' "$page" "$count" | sqlite3 "$db" | awk '/Run Time/ {printf "%s s  ", $4} END {print ""}'
done
