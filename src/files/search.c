/*
 * Search by name (issue 15): the tenant's files and folders whose name contains a query,
 * served by an index (migration 0015), never by scanning the tree.
 *
 * A query of KURA_SEARCH_TRIGRAM_MIN or more code points goes to the store's name index
 * (db_name_search; on SQLite the FTS5 table name_search, trigram tokenizer, case_sensitive
 * 0): a substring match of the whole query, for the tenant, without the trash. Shorter queries cannot use trigrams;
 * they are a prefix range over the index (tenant_id, lower(name)). Both are ordered by node
 * id, so paging is a keyset on the id. Names are stored NFC; the query is NFC'd here.
 *
 * SECURITY: the query is a bound parameter; for FTS5 the store quotes it as one phrase (a
 * '"' doubled, db_name_search), so no FTS5 syntax (AND, NEAR, *, column filters) of the
 * query reaches the parser as syntax. Every statement names the tenant. Bounded: KURA_SEARCH_QUERY_MAX code
 * points, KURA_SEARCH_PAGE_MAX results.
 */
#include <stdlib.h>

#include <utf8proc.h>

#include "core/limits.h"
#include "files/files_int.h"
#include "store/db.h"

/* NFC of q into a malloc'd string and its code points; -EINVAL when q is not acceptable. */
static int query_nfc(const char *q, char **ret, size_t *ret_n)
{
	utf8proc_uint8_t *out = NULL;
	const utf8proc_uint8_t *p;
	utf8proc_int32_t cp;
	utf8proc_ssize_t k;
	size_t n = 0;

	if (!q || !*q || strlen(q) > 4 * KURA_SEARCH_QUERY_MAX)
		return -EINVAL;
	if (utf8proc_map((const utf8proc_uint8_t *)q, 0, &out,
			 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE) < 0)
		return -EINVAL;
	for (p = out; *p; p += k) {
		k = utf8proc_iterate(p, -1, &cp);
		if (k <= 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			free(out);
			return -EINVAL;
		}
		n++;
	}
	if (n > KURA_SEARCH_QUERY_MAX) {
		free(out);
		return -EINVAL;
	}
	*ret = (char *)out;
	*ret_n = n;
	return 0;
}

int files_name_index(struct db *db, int64_t id, const char *name)
{
	return db_name_index(db, id, name);
}

int files_search(struct db *db, int64_t tenant_id, const char *q, int64_t after, size_t limit,
		 json_t **ret_items, bool *ret_more)
{
	char *nfc = NULL, *arg = NULL, *hi = NULL, path[KURA_FOLDER_DEPTH_MAX * (KURA_FILE_NAME_MAX + 1) + 1];
	struct db_stmt *st;
	struct file_node n;
	json_t *items = NULL;
	size_t n_cp = 0, len, i, count = 0;
	bool more = false;
	int r;

	if (!db || !ret_items || !ret_more || after < 0 || limit == 0 || limit > KURA_SEARCH_PAGE_MAX)
		return -EINVAL;
	r = query_nfc(q, &nfc, &n_cp);
	if (r < 0)
		return r;
	len = strlen(nfc);
	arg = malloc(2 * len + 3);
	hi = malloc(len + 5);
	items = json_array();
	if (!arg || !hi || !items) {
		r = -ENOMEM;
		goto out;
	}
	if (n_cp >= KURA_SEARCH_TRIGRAM_MIN) {
		st = db_name_search(db, tenant_id, nfc, after, (int64_t)limit + 1, arg, 2 * len + 3);
	} else {
		/* [prefix, prefix U+10FFFF): every lower(name) that starts with the prefix */
		for (i = 0; i < len; i++)
			arg[i] = nfc[i] >= 'A' && nfc[i] <= 'Z' ? (char)(nfc[i] - 'A' + 'a') : nfc[i];
		arg[len] = '\0';
		memcpy(hi, arg, len);
		memcpy(hi + len, "\xf4\x8f\xbf\xbf", 5);
		st = db_query(db, FILES_SEARCH_PREFIX_SQL, "ittii", tenant_id, arg, hi, after, (int64_t)limit + 1);
	}
	while ((r = db_step(st)) > 0) {
		json_t *o_json;

		if (count == limit) {
			more = true;
			break;
		}
		r = files_get_any(db, tenant_id, db_int(st, 0), &n);
		if (r < 0)
			break;
		o_json = files_node_json(db, tenant_id, &n);
		if (!o_json) {
			r = -ENOMEM;
			break;
		}
		json_array_append_new(items, o_json);
		count++;
	}
	db_done(st);
	if (r < 0)
		goto out;
	/* the paths, after the statement (one short recursive query each) */
	for (i = 0; i < json_array_size(items) && r == 0; i++) {
		json_t *it = json_array_get(items, i);

		r = files_node_path(db, tenant_id, json_integer_value(json_object_get(it, "id")), path,
				    sizeof(path));
		if (r == 0)
			r = json_object_set_new(it, "path", json_string(path)) ? -ENOMEM : 0;
	}
out:
	free(nfc);
	free(arg);
	free(hi);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	*ret_items = items;
	*ret_more = more;
	return 0;
}
