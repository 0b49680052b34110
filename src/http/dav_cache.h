/*
 * PROPFIND answers kept per process (issue 11; docs/performance.md step 16, docs/webdav.md):
 * the whole multistatus of a Depth 1 allprop request on a folder (copied as it went out),
 * keyed by the tenant's id and code and the folder's path, and labelled with the tenant's
 * tree generation (file_quotas.tree_gen, migration 0036) read BEFORE anything the answer
 * was built from (on SQLite in the request's read snapshot; PostgreSQL runs each statement
 * on its own, and then this order is what makes it hold: what was read after the
 * generation is at least as new as it). An answer is served again only to a request that
 * read the same generation, so it is never older than the database at that request:
 * every write of the nodes, their dead properties or the locks moves the generation in its
 * own transaction,
 * whoever makes it. dav.c keeps only answers in which no lock shows (a lock's timeout
 * counts down), that are not cut at the listing's limit, and no test seam shaped.
 *
 * Bounded by KURA_DAV_CACHE_BYTES, KURA_DAV_CACHE_ENTRIES and KURA_DAV_CACHE_ENTRY_BYTES, and
 * by KURA_DAV_CACHE_LIVE_BYTES for what responses still hold after it left the table;
 * the least recently used answer makes room, and one unused for KURA_DAV_CACHE_AGE_S goes
 * at the next look-up. Thread-safe. An answer is shared read-only
 * and reference-counted: one taken out stays valid until it is released, even once evicted.
 */
#ifndef KURA_HTTP_DAV_CACHE_H
#define KURA_HTTP_DAV_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct dav_answer;

/* The answer kept for (tenant_id, tenant_code, path) at gen, with a reference the caller
 * releases; NULL when none is kept at that generation (gen 0 is never kept). */
struct dav_answer *dav_cache_get(int64_t tenant_id, const char *tenant_code, const char *path, int64_t gen);
/* Keeps body (malloc'd, len bytes; ownership passes here) as the answer for the key at gen,
 * whose generation was read at read_us (dav_cache_clock_us), in place of any answer kept
 * for the key before, and returns a reference to it for the caller to send and release.
 * When it is not kept (gen 0, over a bound, or the answer kept for the key was read later
 * than this one) the reference is to an answer kept nowhere, freed at its release. NULL
 * only when out of memory (body is freed then). */
struct dav_answer *dav_cache_put(int64_t tenant_id, const char *tenant_code, const char *path, int64_t gen,
				 int64_t read_us, char *body, size_t len);
/* CLOCK_MONOTONIC in microseconds: when a request read its generation. */
int64_t dav_cache_clock_us(void);
const char *dav_answer_body(const struct dav_answer *a, size_t *ret_len);
/* Drops a reference (a libmicrohttpd free callback: takes the answer as void *). */
void dav_answer_release(void *a);

/* At most KURA_DAV_CACHE_BUILDS answers are copied to be kept at once: true when this caller may
 * copy one (then dav_cache_build_end), false when it sends its answer without a copy. */
bool dav_cache_build_begin(void);
void dav_cache_build_end(void);

/* What is kept, for tests and the metrics. */
struct dav_cache_stats {
	size_t entries, bytes;
	size_t live;                   /* bytes of every answer not yet freed, kept or held */
	uint64_t hits, misses;
};
void dav_cache_stats(struct dav_cache_stats *ret);
/* Forgets the answers unused for more than age_s seconds (what each look-up does with
 * KURA_DAV_CACHE_AGE_S). */
void dav_cache_drop_unused(int64_t age_s);
/* Forgets every answer (kura serve's end; tests). */
void dav_cache_clear(void);
#endif
