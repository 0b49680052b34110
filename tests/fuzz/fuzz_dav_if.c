/*
 * libFuzzer target for if_parse() of src/http/dav.c (included to reach the static function):
 * the WebDAV If header (RFC 4918 10.4), with its resource tags re-validated by url_to_path().
 * The request is a stub: tenant "acme", Host "dav.example", plain HTTP; the header lookup
 * of dav.c is redirected to that stub. Besides the sanitizers, checks what an accepted
 * header promises if_evaluate(): 1..KURA_DAV_IF_LISTS_MAX lists of at least one condition,
 * at most KURA_DAV_IF_CONDITIONS_MAX conditions, stored contiguously in order; every
 * condition value is non-empty and cannot hold its closing bracket; either every list is
 * tagged or none is; a tag of this tenant is a clean tenant-relative path ("" or "/a/b",
 * no empty, "." or ".." segment, no control byte) and a foreign tag carries no path.
 */
#include <stdint.h>
#include <stdlib.h>

#include <microhttpd.h>

static const char *fuzz_lookup_value(struct MHD_Connection *con, enum MHD_ValueKind kind, const char *key);
#define MHD_lookup_connection_value fuzz_lookup_value
#include "../../src/http/dav.c"
#undef MHD_lookup_connection_value

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_lookup_value(struct MHD_Connection *con, enum MHD_ValueKind kind, const char *key)
{
	(void)con;
	(void)kind;
	return key && !strcasecmp(key, MHD_HTTP_HEADER_HOST) ? "dav.example" : NULL;
}

static void check_tag(const char *t)
{
	const char *seg;
	size_t i, n = strlen(t);

	if (n == 0)
		return;
	if (t[0] != '/' || t[n - 1] == '/' || strstr(t, "//"))
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			abort();
	for (seg = t + 1; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		size_t len = strcspn(seg, "/");

		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			abort();
	}
}

static void check(const struct if_header *ih)
{
	size_t i, j, next = 0, n_tagged = 0;

	if (ih->n_lists < 1 || ih->n_lists > KURA_DAV_IF_LISTS_MAX || ih->n_conds > KURA_DAV_IF_CONDITIONS_MAX)
		abort();
	for (i = 0; i < ih->n_lists; i++) {
		const struct if_list *l = &ih->lists[i];

		if (l->n < 1 || l->first != next || l->first + l->n > ih->n_conds)
			abort();
		next += l->n;
		if (l->tag || l->foreign)
			n_tagged++;
		if (l->foreign && l->tag)
			abort();
		if (l->tag)
			check_tag(l->tag);
		for (j = l->first; j < l->first + l->n; j++) {
			const struct if_cond *c = &ih->conds[j];

			if (!c->value || !c->value[0] || strchr(c->value, c->etag ? ']' : '>'))
				abort();
		}
	}
	if (next != ih->n_conds || (n_tagged != 0 && n_tagged != ih->n_lists))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_server srv;
	struct request req;
	struct dav d;
	struct if_header *ih = NULL;
	char *h;

	if (size > KURA_MAX_HEADER_BYTES)
		return 0;
	h = malloc(size + 1);
	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	memset(&srv, 0, sizeof(srv));
	memset(&req, 0, sizeof(req));
	memset(&d, 0, sizeof(d));
	req.srv = &srv;
	req.arena = arena_new();
	if (!req.arena) {
		free(h);
		return 0;
	}
	d.req = &req;
	d.tenant_code = "acme";
	if (if_parse(&d, h, &ih) == 0)
		check(ih);
	arena_free(req.arena);
	free(h);
	return 0;
}
