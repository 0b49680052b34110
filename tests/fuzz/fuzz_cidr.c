/*
 * libFuzzer target for the address-range parsers of src/auth/allowlist.c: ipnet_parse() (a
 * tenant's IP allowlist entry, strict CIDR), ipnet_parse_list() ([server] trusted_proxies)
 * and ipaddr_parse() (a client address). Checks on an accepted range: family 4 or 6, prefix
 * within 0..32 / 0..128, host bits zero, not IPv4-mapped IPv6; the canonical text parses
 * again to the same range, and the range contains its own network address; a refusal
 * explains itself. An accepted list holds at most its maximum of such ranges. An accepted
 * address has prefix 32 or 128 and is never IPv4-mapped IPv6 (one address, one spelling).
 */
#include <stdint.h>
#include <stdlib.h>

#include "auth/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void check_net(const struct ipnet *n)
{
	struct ipnet again, addr;
	char text[KURA_CIDR_TEXT_MAX], detail[160];
	unsigned max, i;

	if (n->family != 4 && n->family != 6)
		abort();
	max = n->family == 4 ? 32 : 128;
	if (n->prefix > max)
		abort();
	if (n->family == 6 && !memcmp(n->addr, v4_mapped, sizeof(v4_mapped)))
		abort();
	for (i = n->prefix; i < max; i++)
		if (n->addr[i / 8] & (0x80 >> (i % 8)))
			abort();
	if (n->family == 4)
		for (i = 4; i < 16; i++)
			if (n->addr[i])
				abort();
	ipnet_format(n, text, sizeof(text));
	if (ipnet_parse(text, &again, detail, sizeof(detail)) < 0 || memcmp(&again, n, sizeof(*n)))
		abort();
	addr = *n;
	addr.prefix = (uint8_t)max;
	if (!ipnet_contains(n, &addr))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipnet net, list[KURA_TRUSTED_PROXIES_MAX];
	char *s, detail[160], err[256];
	size_t n = 0, i;
	int r;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&net, 0, sizeof(net));
	detail[0] = '\0';
	r = ipnet_parse(s, &net, detail, sizeof(detail));
	if (r == 0)
		check_net(&net);
	else if (r != -EINVAL || !detail[0] || strnlen(detail, sizeof(detail)) == sizeof(detail))
		abort();
	err[0] = '\0';
	r = ipnet_parse_list(s, list, ARRAY_SIZE(list), &n, err, sizeof(err));
	if (r == 0) {
		if (n > ARRAY_SIZE(list))
			abort();
		for (i = 0; i < n; i++)
			check_net(&list[i]);
	} else if ((r != -EINVAL && r != -E2BIG) || !err[0] || n != 0) {
		abort();
	}
	if (ipaddr_parse(s, &net) == 0) {
		if ((net.family == 4 && net.prefix != 32) || (net.family == 6 && net.prefix != 128))
			abort();
		check_net(&net);
	}
	free(s);
	return 0;
}
