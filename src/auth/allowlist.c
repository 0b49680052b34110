/*
 * Source-IP allowlist (C3) and client-address resolution behind trusted proxies (D3).
 *
 * A tenant holds up to KURA_IP_ALLOWLIST_MAX CIDR ranges and a flag saying whether they
 * apply to all users or only to managers. An empty list restricts nobody. The list is
 * checked at login, before the password is looked at, and on every request of a session or
 * an app password (server.c / http/access.c).
 *
 * SECURITY: ranges are parsed strictly with inet_pton (no inet_aton shorthand, no leading
 * zeros, no zone ids, no spaces), the prefix is plain decimal in range, and host bits must
 * be zero: "203.0.113.5/24" is refused with a hint rather than silently widened or masked,
 * so what is stored is what the manager meant. IPv4-mapped IPv6 ranges are refused and
 * IPv4-mapped client addresses are compared as IPv4, so one address has one spelling.
 * X-Forwarded-For is only believed when the TCP peer is a configured trusted proxy, and then
 * only the right-most entry that is not itself trusted is taken (entries further left are
 * whatever the client wrote). A malformed entry or too many hops make the address unknown
 * (""), which no range contains: the allowlist fails closed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "core/clock.h"
#include "store/db.h"
#include "tenant/tenant.h"

static bool is_v4_mapped(const unsigned char a[16])
{
	static const unsigned char pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* Does bit position prefix.. of addr hold only zeros? */
static bool host_bits_zero(const struct ipnet *n)
{
	unsigned bytes = n->family == 4 ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		unsigned first = i * 8;
		unsigned char mask;

		if (first + 8 <= n->prefix)
			continue;
		mask = first >= n->prefix ? 0xff : (unsigned char)(0xff >> (n->prefix - first));
		if (n->addr[i] & mask)
			return false;
	}
	return true;
}

static void mask_host_bits(struct ipnet *n)
{
	unsigned bytes = n->family == 4 ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		unsigned first = i * 8;

		if (first + 8 <= n->prefix)
			continue;
		n->addr[i] &= first >= n->prefix ? 0 : (unsigned char)(0xff << (8 - (n->prefix - first)));
	}
}

static int parse_bare(const char *text, size_t n, struct ipnet *ret)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(ret, 0, sizeof(*ret));
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (memchr(buf, ':', n)) {
		if (inet_pton(AF_INET6, buf, ret->addr) != 1)
			return -EINVAL;
		ret->family = 6;
		ret->prefix = 128;
	} else {
		if (inet_pton(AF_INET, buf, ret->addr) != 1)
			return -EINVAL;
		ret->family = 4;
		ret->prefix = 32;
	}
	return 0;
}

int ipnet_parse(const char *text, struct ipnet *ret, char *detail, size_t dsize)
{
	struct ipnet net, masked;
	const char *slash;
	size_t n, an;
	char canon[KURA_CIDR_TEXT_MAX];

	n = text ? strlen(text) : 0;
	if (n == 0 || n > KURA_CIDR_TEXT_MAX) {
		str_printf(detail, dsize, "must be an address range like 203.0.113.0/24 or 2001:db8::/32");
		return -EINVAL;
	}
	slash = strchr(text, '/');
	an = slash ? (size_t)(slash - text) : n;
	if (parse_bare(text, an, &net) < 0) {
		str_printf(detail, dsize, "\"%.64s\" is not an IPv4 or IPv6 address range", text);
		return -EINVAL;
	}
	if (slash) {
		const char *p = slash + 1;
		unsigned v = 0, max = net.family == 4 ? 32 : 128;
		size_t k, pn = strlen(p);

		if (pn == 0 || pn > 3 || (pn > 1 && p[0] == '0'))
			goto bad_prefix;
		for (k = 0; k < pn; k++) {
			if (p[k] < '0' || p[k] > '9')
				goto bad_prefix;
			v = v * 10 + (unsigned)(p[k] - '0');
		}
		if (v > max)
			goto bad_prefix;
		net.prefix = (uint8_t)v;
	}
	if (net.family == 6 && is_v4_mapped(net.addr)) {
		str_printf(detail, dsize, "\"%.64s\" is an IPv4-mapped IPv6 range; write it as IPv4", text);
		return -EINVAL;
	}
	if (!host_bits_zero(&net)) {
		masked = net;
		mask_host_bits(&masked);
		ipnet_format(&masked, canon, sizeof(canon));
		str_printf(detail, dsize, "\"%.64s\" has host bits set; did you mean %s?", text, canon);
		return -EINVAL;
	}
	*ret = net;
	return 0;
bad_prefix:
	str_printf(detail, dsize, "\"%.64s\": the prefix length must be 0-%d", text, net.family == 4 ? 32 : 128);
	return -EINVAL;
}

/* ::ffff:a.b.c.d is a.b.c.d */
static void unmap_v4(struct ipnet *a)
{
	if (a->family == 6 && is_v4_mapped(a->addr)) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = 4;
		a->prefix = 32;
	}
}

int ipaddr_parse(const char *text, struct ipnet *ret)
{
	struct ipnet a;

	if (!text || parse_bare(text, strlen(text), &a) < 0)
		return -EINVAL;
	unmap_v4(&a);
	*ret = a;
	return 0;
}

void ipnet_format(const struct ipnet *net, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->addr, a, sizeof(a)))
		a[0] = '\0';
	str_printf(buf, size, "%s/%u", a, (unsigned)net->prefix);
}

static void addr_format(const struct ipnet *a, char *buf, size_t size)
{
	char t[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, t, sizeof(t)))
		t[0] = '\0';
	str_copy(buf, size, t);
}

bool ipnet_contains(const struct ipnet *net, const struct ipnet *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != addr->family)
		return false;
	if (memcmp(net->addr, addr->addr, full))
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((net->addr[full] & mask) != (addr->addr[full] & mask))
			return false;
	}
	return true;
}

static bool in_any(const struct ipnet *nets, size_t n, const struct ipnet *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipnet_contains(&nets[i], addr))
			return true;
	return false;
}

int ipnet_parse_list(const char *csv, struct ipnet *ret, size_t max, size_t *ret_n, char *err,
		     size_t err_size)
{
	char item[KURA_CIDR_TEXT_MAX + 1], detail[160];
	const char *p = csv;
	size_t n = 0;

	*ret_n = 0;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len > KURA_CIDR_TEXT_MAX) {
			str_printf(err, err_size, "an empty or too long entry");
			return -EINVAL;
		}
		if (n == max) {
			str_printf(err, err_size, "more than %zu ranges", max);
			return -E2BIG;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (ipnet_parse(item, &ret[n], detail, sizeof(detail)) < 0) {
			str_copy(err, err_size, detail);
			return -EINVAL;
		}
		n++;
		p = end ? end + 1 : NULL;
	}
	*ret_n = n;
	return 0;
}

void client_address_resolve(const struct ipnet *trusted, size_t n_trusted, const char *peer,
			    const char *xff, char *ret, size_t size)
{
	struct ipnet a, last = { 0 };
	size_t end, hops = 0;

	str_copy(ret, size, peer);
	if (n_trusted == 0 || ipaddr_parse(peer, &a) < 0 || !in_any(trusted, n_trusted, &a))
		return;
	if (!xff || xff[strspn(xff, " \t")] == '\0')
		return;   /* no header: the proxy itself is the client */
	end = strlen(xff);
	if (end > KURA_XFF_MAX_BYTES)
		goto unknown;
	for (;;) {
		size_t start = end, s, e;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		s = start;
		e = end;
		while (s < e && (xff[s] == ' ' || xff[s] == '\t'))
			s++;
		while (e > s && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
			e--;
		if (++hops > KURA_XFF_MAX_HOPS)
			goto unknown;
		if (parse_bare(xff + s, e - s, &a) < 0)
			goto unknown;
		unmap_v4(&a);
		if (!in_any(trusted, n_trusted, &a)) {
			addr_format(&a, ret, size);
			return;
		}
		last = a;
		if (start == 0)
			break;
		end = start - 1;
	}
	addr_format(&last, ret, size);
	return;
unknown:
	str_copy(ret, size, "");
}

/* ---------------------------------------------------------------- the tenant's list */

int allowlist_get(struct db *db, int64_t tenant_id, struct allowlist *ret)
{
	char detail[160];
	struct db_stmt *st;
	int r;

	ret->n = 0;
	ret->apply_to_all = false;
	st = db_query(db, "SELECT ip_apply_to_all FROM tenant_security WHERE tenant_id = $1", "i", tenant_id);
	r = db_step(st);
	if (r > 0)
		ret->apply_to_all = db_int(st, 0) != 0;
	db_done(st);
	if (r < 0)
		return r;
	st = db_query(db, "SELECT cidr FROM tenant_ip_ranges WHERE tenant_id = $1 ORDER BY position LIMIT $2",
		      "ii", tenant_id, (int64_t)KURA_IP_ALLOWLIST_MAX);
	while ((r = db_step(st)) > 0) {
		/* stored rows were validated; one that no longer parses fails closed */
		if (ipnet_parse(db_text(st, 0), &ret->ranges[ret->n], detail, sizeof(detail)) < 0) {
			r = -EIO;
			break;
		}
		ret->n++;
	}
	db_done(st);
	return r < 0 ? r : 0;
}

bool allowlist_permits(const struct allowlist *al, const char *role, const char *address)
{
	struct ipnet a;

	if (al->n == 0)
		return true;
	if (strcmp(role, "manager") && !al->apply_to_all)
		return true;
	if (ipaddr_parse(address, &a) < 0)
		return false;
	return in_any(al->ranges, al->n, &a);
}

int allowlist_check(struct db *db, int64_t tenant_id, const char *role, const char *address)
{
	struct allowlist al;
	int r = allowlist_get(db, tenant_id, &al);

	if (r < 0)
		return r;
	return allowlist_permits(&al, role, address) ? 0 : -EACCES;
}

int allowlist_login_check(struct db *db, const char *tenant_code, const char *login,
			  const char *address, int64_t *ret_tenant_id)
{
	struct allowlist al;
	struct tenant t;
	struct db_stmt *st;
	int r;

	*ret_tenant_id = 0;
	if (tenant_find(db, tenant_code, &t) < 0 || strcmp(t.status, "active"))
		return 0;   /* the password step answers the generic 401 */
	*ret_tenant_id = t.id;
	r = allowlist_get(db, t.id, &al);
	if (r < 0)
		return r;
	if (allowlist_permits(&al, "manager", address))
		return 0;
	if (al.apply_to_all)
		return -EACCES;
	/* managers only: an unknown login is treated like a manager, so a 403 does not tell
	 * managers apart from logins that do not exist */
	st = db_query(db, "SELECT role FROM accounts WHERE tenant_id = $1 AND login = $2", "it", t.id, login);
	r = db_step(st);
	if (r > 0)
		r = strcmp(db_text(st, 0), "manager") ? 0 : -EACCES;
	else if (r == 0)
		r = -EACCES;
	db_done(st);
	return r;
}

json_t *allowlist_json(const struct allowlist *al)
{
	json_t *ranges = json_array();
	char buf[KURA_CIDR_TEXT_MAX];
	size_t i;

	for (i = 0; ranges && i < al->n; i++) {
		ipnet_format(&al->ranges[i], buf, sizeof(buf));
		json_array_append_new(ranges, json_string(buf));
	}
	return json_pack("{s:o, s:b}", "ranges", ranges ? ranges : json_array(), "apply_to_all_users",
			 al->apply_to_all);
}

int allowlist_replace(struct db *db, const struct actor *who, int64_t tenant_id,
		      const struct allowlist *next, const char *caller_address, bool confirm_lockout)
{
	struct allowlist old;
	struct ipnet a;
	char buf[KURA_CIDR_TEXT_MAX];
	json_t *details = NULL;
	int64_t now = clock_now_us();
	bool shuts_out;
	size_t i;
	int r;

	if (next->n > KURA_IP_ALLOWLIST_MAX)
		return -E2BIG;
	/* the list always applies to managers, so the caller (a manager) must stay inside */
	shuts_out = next->n > 0 &&
		    (ipaddr_parse(caller_address, &a) < 0 || !in_any(next->ranges, next->n, &a));
	if (shuts_out && !confirm_lockout)
		return -EPERM;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_lock_tenant(db, tenant_id);   /* the list is replaced as a whole */
	if (r == 0)
		r = allowlist_get(db, tenant_id, &old);
	if (r == 0)
		r = db_exec(db, "DELETE FROM tenant_ip_ranges WHERE tenant_id = $1", "i", tenant_id);
	for (i = 0; r == 0 && i < next->n; i++) {
		ipnet_format(&next->ranges[i], buf, sizeof(buf));
		r = db_exec(db, "INSERT INTO tenant_ip_ranges (tenant_id, position, cidr) VALUES ($1, $2, $3)",
			    "iit", tenant_id, (int64_t)i, buf);
	}
	if (r == 0)
		r = db_exec(db, "INSERT INTO tenant_security (tenant_id, ip_apply_to_all, updated_us)"
				" VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET"
				" ip_apply_to_all = excluded.ip_apply_to_all, updated_us = excluded.updated_us",
			    "iii", tenant_id, (int64_t)next->apply_to_all, now);
	if (r < 0)
		goto out;
	details = json_pack("{s:o, s:o, s:s, s:b}", "new", allowlist_json(next), "old", allowlist_json(&old),
			    "caller_address", caller_address, "lockout_confirmed", shuts_out);
	r = audit_record(db, &(struct audit_event){ .tenant_id = tenant_id, .actor = who,
				 .category = AUDIT_ADMINISTRATION, .action = "tenant.ip_allowlist.update",
				 .target = "tenant:ip-allowlist", .result = AUDIT_SUCCESS,
				 .details = details });
	if (r == 0)
		r = db_commit(db);
out:
	if (r < 0)
		db_rollback(db);
	json_decref(details);
	return r;
}
