/* Shared by the files of the files module; not part of its interface. */
#ifndef KURA_FILES_FILES_INT_H
#define KURA_FILES_FILES_INT_H
#include <pthread.h>

#include "audit/audit.h"
#include "files/files.h"
#include "store/db.h"

struct files {
	struct blob_store *bs;
	struct keyring_rt *kr;
	pthread_t purger;
	bool purger_running, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int64_t uploads_busy[KURA_UPLOADS_INFLIGHT_MAX];   /* uploads.c: rows being written (0: free) */
};

/* The node columns read by files_read_node, as SQL text. */
#define FILES_NODE_COLS \
	"id, parent_id, kind, name, size, content_type, etag, created_by_name, created_us," \
	" modified_us, trashed_us, trashed_by_name, in_trash"
/* A db_row_fn (store/db.h): FILES_NODE_COLS into the struct file_node at row. */
db_row_fn files_read_node;
/* The same columns from column c on (a second node in one row). */
void files_read_node_at(struct db_stmt *st, int c, struct file_node *ret);
/* FILES_NODE_COLS of the table alias a. */
#define FILES_NODE_COLS_OF(a)                                                                      \
	a ".id, " a ".parent_id, " a ".kind, " a ".name, " a ".size, " a ".content_type, " a ".etag, " \
	a ".created_by_name, " a ".created_us, " a ".modified_us, " a ".trashed_us, " a                \
	".trashed_by_name, " a ".in_trash"
/* The content columns a reader needs (struct file_content), as SQL text, and of alias a. */
#define FILES_CONTENT_COLS "blob_id, key_version, wrapped_key, inline_data"
#define FILES_CONTENT_COLS_OF(a) a ".blob_id, " a ".key_version, " a ".wrapped_key, " a ".inline_data"
/* FILES_CONTENT_COLS from column c on into *ret (tenant_id, the statement's tenant): a row
 * without a usable key is ret->bad, not an error; -ENOMEM only. */
int files_read_content_at(struct db_stmt *st, int c, int64_t tenant_id, struct file_content *ret) KURA_WUR;
/* WebDAV paths of up to RESOLVE_JOINED folders above their last segment resolve in one
 * statement (files_dav.c resolve_joined): RESOLVE_SQL_<segments>, the parent and the node
 * in one row ($1 the tenant, then the segments in NFC). unit/test_files checks their plans. */
#define RESOLVE_JOINED 3
/* CROSS JOIN: SQLite keeps the order (root, then each folder by its name: index searches);
 * left to itself, without statistics, it scanned the tenant's nodes from the last folder */
#define RESOLVE_COLS(last) "SELECT " FILES_NODE_COLS_OF("n" #last) ", " FILES_NODE_COLS_OF("l")
#define RESOLVE_SEL(last) RESOLVE_COLS(last) " FROM file_nodes n0"
/* RESOLVE_CONTENT_SQL_<segments>: the same, with the last segment's FILES_CONTENT_COLS
 * after its node (a GET: files_dav_resolve_content) */
#define RESOLVE_SEL_CONTENT(last) RESOLVE_COLS(last) ", " FILES_CONTENT_COLS_OF("l") " FROM file_nodes n0"
#define RESOLVE_J(i) " CROSS JOIN file_nodes n" #i
#define RESOLVE_LEAF(last, p)                                                                      \
	" LEFT JOIN file_nodes l ON l.tenant_id = $1 AND l.parent_id = n" #last ".id AND l.name = $" #p \
	" AND l.in_trash = 0 WHERE n0.tenant_id = $1 AND n0.parent_id IS NULL AND n0.in_trash = 0"
#define RESOLVE_C(i, prev, p)                                                                       \
	" AND n" #i ".tenant_id = $1 AND n" #i ".parent_id = n" #prev ".id AND n" #i ".name = $" #p \
	" AND n" #i ".in_trash = 0 AND n" #i ".kind = 'folder'"
#define RESOLVE_TAIL_1 RESOLVE_LEAF(0, 2)
#define RESOLVE_TAIL_2 RESOLVE_J(1) RESOLVE_LEAF(1, 3) RESOLVE_C(1, 0, 2)
#define RESOLVE_TAIL_3 RESOLVE_J(1) RESOLVE_J(2) RESOLVE_LEAF(2, 4) RESOLVE_C(1, 0, 2) RESOLVE_C(2, 1, 3)
#define RESOLVE_TAIL_4                                                                   \
	RESOLVE_J(1) RESOLVE_J(2) RESOLVE_J(3) RESOLVE_LEAF(3, 5) RESOLVE_C(1, 0, 2) RESOLVE_C(2, 1, 3) \
	RESOLVE_C(3, 2, 4)
#define RESOLVE_SQL_1 RESOLVE_SEL(0) RESOLVE_TAIL_1
#define RESOLVE_SQL_2 RESOLVE_SEL(1) RESOLVE_TAIL_2
#define RESOLVE_SQL_3 RESOLVE_SEL(2) RESOLVE_TAIL_3
#define RESOLVE_SQL_4 RESOLVE_SEL(3) RESOLVE_TAIL_4
#define RESOLVE_CONTENT_SQL_1 RESOLVE_SEL_CONTENT(0) RESOLVE_TAIL_1
#define RESOLVE_CONTENT_SQL_2 RESOLVE_SEL_CONTENT(1) RESOLVE_TAIL_2
#define RESOLVE_CONTENT_SQL_3 RESOLVE_SEL_CONTENT(2) RESOLVE_TAIL_3
#define RESOLVE_CONTENT_SQL_4 RESOLVE_SEL_CONTENT(3) RESOLVE_TAIL_4
/* Any node of the tenant, in trash or not. */
int files_get_any(struct db *db, int64_t tenant_id, int64_t id, struct file_node *ret) KURA_WUR;
/* Creates the tenant's quota row when missing (inside the caller's transaction). */
int files_quota_row(struct db *db, int64_t tenant_id) KURA_WUR;
/* Depth of a folder (root = 0) and whether needle is among its ancestors (itself
 * included): one recursive query. -ENOENT when the folder does not exist. */
int files_ancestry(struct db *db, int64_t tenant_id, int64_t folder_id, int64_t needle,
		   int64_t *ret_depth, bool *ret_found);

/* ---- issue 14: quota of metadata, names, depth, locks, free-space reserve ---- */
/* Bytes of a name as it may arrive before NFC normalisation (NFD is longer). */
#define FILES_NAME_INPUT_MAX (4 * KURA_FILE_NAME_MAX)
/* What dead properties cost the quota: KURA_QUOTA_ITEM_BYTES per row plus the bytes of its
 * namespace, name and value. Steps st, which selects (ns, name, xml), to its end and releases
 * it. Counted in C: the byte length of text has no spelling both SQLite 3.40 and PostgreSQL
 * know (octet_length is SQLite >= 3.43; CAST(… AS BLOB) is SQLite's). */
int files_props_cost(struct db_stmt *st, int64_t *ret) KURA_WUR;
/* Changes content usage and metadata usage together (inside the caller's transaction,
 * creating the quota row when missing); -EDQUOT when a positive total would pass the quota. */
int files_charge(struct db *db, int64_t tenant_id, int64_t content_delta, int64_t meta_delta) KURA_WUR;
/* Levels of live items below id (0: a file or an empty folder). */
int files_subtree_height(struct db *db, int64_t tenant_id, int64_t id, int64_t *ret_height) KURA_WUR;
/* The tenant-relative path ("" root, "/a/b") of a node; -ENAMETOOLONG beyond size. */
int files_node_path(struct db *db, int64_t tenant_id, int64_t id, char *buf, size_t size) KURA_WUR;
/* The short-query search of files_search (search.c; the substring search is the store's,
 * db_name_search), here so that unit/test_files can check its plan uses the index:
 * $1 tenant, $2 folded prefix, $3 its upper bound, $4 after, $5 limit; node ids. */
#define FILES_SEARCH_PREFIX_SQL \
	"SELECT id FROM file_nodes WHERE tenant_id = $1 AND in_trash = 0" \
	" AND lower(name) >= $2 AND lower(name) < $3 AND parent_id IS NOT NULL AND id > $4" \
	" ORDER BY id LIMIT $5"
/* Is blob $2 of tenant $1 referenced (the start-up sweep, files.c)? By a file whose content is
 * that blob (an inline file's blob_id names no blob: files_content.c), or by a report's sealed
 * attachment (reports/reports.c). The index file_nodes_blob holds only such files (migration
 * 0033); unit/test_files checks the plan uses it. */
#define FILES_BLOB_REFERENCED_SQL \
	"SELECT 1 FROM file_nodes WHERE tenant_id = $1 AND blob_id = $2" \
	" AND inline_data IS NULL UNION ALL" \
	" SELECT 1 FROM report_attachments WHERE tenant_id = $1 AND blob_id = $2 LIMIT 1"
/* The statements of files_list_sorted: [sort][desc][label] (unit/test_files checks their
 * plans read one index range in order, without a sort step). */
extern const char *const files_list_sql[3][2][2];
/* Records node id's name in the search index name_search (search.c), replacing what the
 * index held for that id; inside the caller's transaction. */
int files_name_index(struct db *db, int64_t id, const char *name) KURA_WUR;
/* Forgets the WebDAV locks on node id's path and below (files_dav.c). */
int files_locks_drop_node(struct db *db, int64_t tenant_id, int64_t id) KURA_WUR;
/* -ENOSPC when writing need more bytes would leave less free space than the reserve
 * (files_set_reserve); 0 when there is room or no reserve is set. */
int files_space_check(int64_t need) KURA_WUR;
#endif
