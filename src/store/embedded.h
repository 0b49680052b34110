/* The SQL migrations, embedded in the binary at build time by cmake/embed.cmake. (The
 * common-password list embedded beside them belongs to crypto: crypto/crypto_int.h.) */
#ifndef KURA_STORE_EMBEDDED_H
#define KURA_STORE_EMBEDDED_H
#include <stddef.h>

struct embedded_file {
	const char *name;  /* file name, e.g. "0001_init.sql" */
	const char *text;  /* NUL-terminated contents */
	size_t len;
};

extern const struct embedded_file embedded_migrations[];
extern const size_t embedded_n_migrations;
/* PostgreSQL's twins (src/store/migrations-pg, the same names) */
extern const struct embedded_file embedded_pg_migrations[];
extern const size_t embedded_n_pg_migrations;
#endif
