/*
 * libFuzzer target for decode_path() and route_match() of src/http/server.c (included to
 * reach the static functions). Input: a raw request target. Besides the sanitizers, checks
 * what an accepted path promises the router: it starts with '/', holds no control byte or
 * backslash, is clean UTF-8, has no empty, "." or ".." segment, and decoding is done once
 * (re-decoding an accepted path never makes it longer). Every route pattern of the composed
 * table is then matched against it; parameters must be non-empty and free of '/'.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/http/server.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	size_t n = strlen(p), i;
	const char *seg;

	if (p[0] != '/')
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			abort();
	}
	if (!utf8_is_clean_text(p, n))
		abort();
	if (n == 1)
		return;
	if (p[n - 1] == '/' || strstr(p, "//"))
		abort();
	for (seg = p + 1; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		size_t len = strcspn(seg, "/");

		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *table;
	struct request req;
	char *raw, *path;
	size_t i, j, n;

	if (size > KURA_MAX_URL_BYTES)
		return 0;
	raw = malloc(size + 1);
	if (!raw)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	memset(&req, 0, sizeof(req));
	req.arena = arena_new();
	if (!req.arena) {
		free(raw);
		return 0;
	}
	path = decode_path(req.arena, raw);
	if (path) {
		check_path(path);
		if (strlen(path) > strcspn(raw, "?#"))
			abort();
		table = http_routes(&n);
		for (i = 0; i < n; i++) {
			if (!route_matches(&table[i], NULL, path, &req) || (table[i].flags & R_DAV))
				continue;
			for (j = 0; j < req.n_params; j++)
				if (!req.params[j][0] || strchr(req.params[j], '/'))
					abort();
		}
	}
	arena_free(req.arena);
	free(raw);
	return 0;
}
