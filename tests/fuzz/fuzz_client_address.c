/*
 * libFuzzer target for client_address_resolve() (src/auth/allowlist.c): the client address
 * behind trusted proxies from X-Forwarded-For. Input: three lines, the trusted proxy ranges
 * (as [server] trusted_proxies; a list that does not parse counts as none), the TCP peer, and
 * the X-Forwarded-For value (all headers joined; absent when there is no third line).
 * Checks: the answer is terminated within its buffer; when no proxy is trusted or the peer
 * is not trusted it is the peer, unchanged; otherwise it is the peer (no header), ""
 * (unknown: malformed entry, too many hops, too long) or the canonical spelling of an address
 * named in the header, which is untrusted unless every entry of the header is trusted.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#include "auth/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool trusted_addr(const struct ipnet *t, size_t n, const struct ipnet *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipnet_contains(&t[i], a))
			return true;
	return false;
}

/* Does every comma-separated entry of xff parse as an address inside t? */
static bool all_trusted(const struct ipnet *t, size_t n, const char *xff)
{
	char item[128];
	const char *p = xff;

	for (;;) {
		size_t len = strcspn(p, ","), s = 0, e = len;
		struct ipnet a;

		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e - s >= sizeof(item))
			return false;
		memcpy(item, p + s, e - s);
		item[e - s] = '\0';
		if (ipaddr_parse(item, &a) < 0 || !trusted_addr(t, n, &a))
			return false;
		if (!p[len])
			return true;
		p += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipnet trusted[KURA_TRUSTED_PROXIES_MAX], peer_a, got;
	char *s, *peer, *xff, *nl, err[256], out[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN + 8];
	size_t n_trusted = 0;

	if (size > KURA_XFF_MAX_BYTES + 1024)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	nl = strchr(s, '\n');
	if (!nl)
		goto out;
	*nl = '\0';
	peer = nl + 1;
	xff = strchr(peer, '\n');
	if (xff)
		*xff++ = '\0';
	if (ipnet_parse_list(s, trusted, ARRAY_SIZE(trusted), &n_trusted, err, sizeof(err)) < 0)
		n_trusted = 0;
	memset(out, 0xa5, sizeof(out));
	client_address_resolve(trusted, n_trusted, peer, xff, out, sizeof(out));
	if (strnlen(out, sizeof(out)) == sizeof(out))
		abort();
	if (n_trusted == 0 || ipaddr_parse(peer, &peer_a) < 0 || !trusted_addr(trusted, n_trusted, &peer_a)) {
		if (strncmp(out, peer, sizeof(out) - 1))
			abort();
		goto out;
	}
	if (!xff || !xff[strspn(xff, " \t")]) {
		if (strcmp(out, peer))
			abort();
		goto out;
	}
	if (!out[0])
		goto out;
	/* an address from the header, in canonical form */
	if (ipaddr_parse(out, &got) < 0 || !inet_ntop(got.family == 4 ? AF_INET : AF_INET6, got.addr, canon,
						       sizeof(canon)) || strcmp(canon, out))
		abort();
	if (trusted_addr(trusted, n_trusted, &got) && !all_trusted(trusted, n_trusted, xff))
		abort();
out:
	free(s);
	return 0;
}
