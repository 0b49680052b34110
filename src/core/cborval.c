/*
 * CBOR pre-validation (cborval.h): a recursive walk over item headers that allocates nothing.
 * Recursion is bounded by max_depth, and every step consumes at least one byte, so a walk
 * ends after at most n steps.
 *
 * SECURITY: the input is hostile (WebAuthn attestation objects and authenticator data from
 * the network). Every declared length is compared with the bytes left, in 64-bit arithmetic
 * that cannot overflow (a length is never added to an offset before it is known to fit).
 */
#include "core/cborval.h"

#define MAJOR_UINT   0
#define MAJOR_NINT   1
#define MAJOR_BYTES  2
#define MAJOR_TEXT   3
#define MAJOR_ARRAY  4
#define MAJOR_MAP    5
#define MAJOR_TAG    6
#define MAJOR_SIMPLE 7
#define AI_INDEFINITE 31
#define BREAK        0xff

struct walk {
	const unsigned char *p;
	size_t n, off;
	unsigned max_depth;
};

static size_t left(const struct walk *w)
{
	return w->n - w->off;
}

/* Reads one item head: major type, additional information (31: indefinite length, or
 * break for major type 7) and argument (the value, length or count). */
static int head(struct walk *w, unsigned *ret_major, unsigned *ret_ai, uint64_t *ret_arg)
{
	unsigned ib, ai, i, k;
	uint64_t v = 0;

	if (left(w) < 1)
		return -EINVAL;
	ib = w->p[w->off++];
	ai = ib & 0x1f;
	*ret_major = ib >> 5;
	*ret_ai = ai;
	if (ai < 24) {
		v = ai;
	} else if (ai <= 27) {
		k = 1u << (ai - 24);
		if (left(w) < k)
			return -EINVAL;
		for (i = 0; i < k; i++)
			v = (v << 8) | w->p[w->off++];
	} else if (ai < AI_INDEFINITE) {
		return -EINVAL;   /* 28..30 are reserved */
	} else if (*ret_major == MAJOR_UINT || *ret_major == MAJOR_NINT || *ret_major == MAJOR_TAG) {
		return -EINVAL;   /* no indefinite integers or tags */
	}
	*ret_arg = v;
	return 0;
}

/* True (and consumed) when the next byte is a break. */
static bool take_break(struct walk *w)
{
	if (left(w) >= 1 && w->p[w->off] == BREAK) {
		w->off++;
		return true;
	}
	return false;
}

static int item(struct walk *w, unsigned level);

static int string_body(struct walk *w, unsigned major, uint64_t len, bool indefinite)
{
	unsigned cmajor, cai;
	uint64_t clen;
	int r;

	if (!indefinite) {
		if (len > left(w))
			return -EINVAL;
		w->off += (size_t)len;
		return 0;
	}
	/* chunks: definite strings of the same major type, then a break */
	while (!take_break(w)) {
		r = head(w, &cmajor, &cai, &clen);
		if (r < 0)
			return r;
		if (cmajor != major || cai == AI_INDEFINITE || clen > left(w))
			return -EINVAL;
		w->off += (size_t)clen;
	}
	return 0;
}

/* The members of a container at level (which the caller has checked against max_depth):
 * per_entry items each (1 for an array, 2 for a map), count times or up to a break. */
static int members(struct walk *w, unsigned level, unsigned per_entry, uint64_t count, bool indefinite)
{
	uint64_t i;
	unsigned j;
	int r;

	if (!indefinite) {
		/* every member is at least one byte: a count the bytes cannot hold is refused
		 * here, before libcbor would allocate for it */
		if (count > left(w) / per_entry)
			return -EINVAL;
		for (i = 0; i < count; i++)
			for (j = 0; j < per_entry; j++) {
				r = item(w, level);
				if (r < 0)
					return r;
			}
		return 0;
	}
	while (!take_break(w))
		for (j = 0; j < per_entry; j++) {
			r = item(w, level);   /* a break in a value position is refused by item() */
			if (r < 0)
				return r;
		}
	return 0;
}

/* One item whose enclosing containers number level. */
static int item(struct walk *w, unsigned level)
{
	unsigned major, ai;
	uint64_t arg;
	bool indefinite;
	int r = head(w, &major, &ai, &arg);

	if (r < 0)
		return r;
	indefinite = ai == AI_INDEFINITE;
	switch (major) {
	case MAJOR_UINT:
	case MAJOR_NINT:
		return 0;
	case MAJOR_BYTES:
	case MAJOR_TEXT:
		return string_body(w, major, arg, indefinite);
	case MAJOR_ARRAY:
	case MAJOR_MAP:
	case MAJOR_TAG:
		if (level >= w->max_depth)
			return -EINVAL;
		if (major == MAJOR_TAG)
			return item(w, level + 1);
		return members(w, level + 1, major == MAJOR_MAP ? 2 : 1, arg, indefinite);
	default:   /* MAJOR_SIMPLE */
		if (indefinite)
			return -EINVAL;   /* a break where an item belongs */
		if (ai == 24 && arg < 32)
			return -EINVAL;   /* two-byte simple values below 32 are not well-formed */
		return 0;
	}
}

int cborval_item(const unsigned char *p, size_t n, unsigned max_depth, size_t *ret_len)
{
	struct walk w = { .p = p, .n = n, .off = 0, .max_depth = max_depth };
	int r;

	if (!p && n)
		return -EINVAL;
	r = item(&w, 0);
	if (r < 0)
		return r;
	*ret_len = w.off;
	return 0;
}

int cborval_sequence(const unsigned char *p, size_t n, size_t n_items, unsigned max_depth)
{
	size_t off = 0, len, i;
	int r;

	for (i = 0; i < n_items; i++) {
		r = cborval_item(p + off, n - off, max_depth, &len);
		if (r < 0)
			return r;
		off += len;
	}
	return off == n ? 0 : -EINVAL;
}
