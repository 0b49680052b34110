#!/bin/sh
# The SQL statements of one 4 KiB WebDAV GET by app password (not a test; docs/performance.md
# step 11): kura BIN serves a fresh demo tenant (bench/lib.sh) with an LD_PRELOAD wrapper of
# SQLite's sqlite3_step that logs sqlite3_sql() of every statement at its first step; after
# a PUT and 3 warm-up GETs, N GETs (default 20) are counted. Prints the statements per GET
# without the per-connection PRAGMAs of connections opened meanwhile, and each statement's
# count. Needs a kura linked against the shared libsqlite3 (the Debian package) and cc.
# OP=put counts N PUTs of new 4 KiB files instead (each durable, as the benchmarks' PUTs).
# Usage: [OP=get|put] bench/sql_count.sh KURA_BIN [N]
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# -ge 1 ] || { echo "usage: $0 KURA_BIN [N]" >&2; exit 2; }
bin=$1 n=${2:-20} op=${OP:-get}
tmp=$(mktemp -d /tmp/kura-sqlcount.XXXXXX)
kpid=""
cleanup() { [ -n "$kpid" ] && kill "$kpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
cat > "$tmp/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sqlite3.h>
static int (*real_step)(sqlite3_stmt *);
static int fd = -1;
int sqlite3_step(sqlite3_stmt *s)
{
	if (!real_step)
		real_step = (int (*)(sqlite3_stmt *))dlsym(RTLD_NEXT, "sqlite3_step");
	if (fd < 0)
		fd = open(getenv("KURA_SQL_LOG"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0 && !sqlite3_stmt_busy(s)) {
		char buf[4096];
		const char *q = sqlite3_sql(s);
		int k = snprintf(buf, sizeof(buf), "%s\n", q ? q : "?");
		if (k > (int)sizeof(buf) - 1)
			k = (int)sizeof(buf), buf[k - 1] = '\n';
		for (char *c = buf; c < buf + k - 1; c++)
			if (*c == '\n')
				*c = ' ';
		if (write(fd, buf, (size_t)k) < 0) {}   /* one write: lines of threads do not mix */
	}
	return real_step(s);
}
C
cc -shared -fPIC -O2 -o "$tmp/shim.so" "$tmp/shim.c" -ldl
head -c 4096 /dev/urandom > "$tmp/file.bin"
WRAP="env LD_PRELOAD=$tmp/shim.so KURA_SQL_LOG=$tmp/sql.log"
kura_start "$bin" "$tmp/data"
kpid=$KURA_PID
curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" -X MKCOL "$KURA_URL/dav/demo/bench"
curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" -H 'Expect:' -T "$tmp/file.bin" "$KURA_URL/dav/demo/bench/file.bin"
for _ in 1 2 3; do curl -s -o /dev/null -H "Authorization: $KURA_AUTHZ" "$KURA_URL/dav/demo/bench/file.bin"; done
: > "$tmp/sql.log"
for i in $(seq "$n"); do
	if [ "$op" = put ]; then
		curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: $KURA_AUTHZ" -H 'Expect:' \
			-T "$tmp/file.bin" "$KURA_URL/dav/demo/bench/p$i.bin"
	else
		curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: $KURA_AUTHZ" "$KURA_URL/dav/demo/bench/file.bin"
	fi
done | sort | uniq -c | sed 's/^/answers: /'
kill "$kpid"; wait "$kpid" 2>/dev/null || true; kpid=""
grep -v '^PRAGMA [a-z_]*=[A-Za-z0-9]*;$\|^?$' "$tmp/sql.log" > "$tmp/steady.log" || true
echo "statements per $(echo "$op" | tr a-z A-Z): $(awk -v n="$n" 'END {printf "%.2f", NR / n}' "$tmp/steady.log")" \
	"($(wc -l < "$tmp/sql.log") in all, with the PRAGMAs of connections opened meanwhile)"
sort "$tmp/steady.log" | uniq -c | sort -rn | cut -c1-200
