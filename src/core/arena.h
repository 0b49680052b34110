/*
 * Per-request memory (after nginx pools): allocations and cleanups owned by one request,
 * released together by arena_free(). Nothing a request allocates outlives it by accident.
 */
#ifndef KURA_CORE_ARENA_H
#define KURA_CORE_ARENA_H
#include "core/core.h"

struct arena;
typedef void (*arena_cleanup_fn)(void *data);

struct arena *arena_new(void);
struct arena *arena_free(struct arena *a);
/* Zeroed memory, aligned for any type. NULL on failure. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) KURA_PRINTF(2, 3);
/* Runs fn(data) at arena_free, in reverse order of registration. */
int arena_cleanup_add(struct arena *a, arena_cleanup_fn fn, void *data);
#endif
