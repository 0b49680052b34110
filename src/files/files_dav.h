/*
 * Files service additions for WebDAV (W2): path resolution, listing, COPY (content copied
 * blob by blob, one transaction for the whole tree), MOVE with overwrite, dead properties
 * and write locks (RFC 4918). Same rules as files.h: every function takes the tenant id,
 * every query names it, every change is one transaction with its audit record.
 *
 * Paths here are tenant-relative and already decoded and validated by the caller: "" is
 * the tenant's root, "/a/b" a node below it (no trailing slash, no empty, "." or ".."
 * segments).
 */
#ifndef KURA_FILES_FILES_DAV_H
#define KURA_FILES_FILES_DAV_H
#include "files/files.h"

/* ---- paths and listing ---- */
/* The live node at path: one indexed lookup per segment. -ENOENT when a segment is missing,
 * -ENOTDIR when a file stands where a folder must be. */
int files_dav_resolve(struct db *db, int64_t tenant_id, const char *path,
		      struct file_node *ret) KURA_WUR;
/* files_dav_resolve, and for a file its content columns (files.h struct file_content) in
 * the same statement (a path of up to four segments: one statement for a GET's node, key
 * and inline content, which files_open_at takes); *ret_c holds malloc'd memory until
 * files_open_at or files_content_clear (nothing on failure or for a folder). */
int files_dav_resolve_content(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret,
			      struct file_content *ret_c) KURA_WUR;
/* The most members one listing holds: KURA_DAV_LIST_MAX, or in a test build the smaller
 * KURA_TEST_DAV_LIST_MAX from the environment (read once). */
size_t files_dav_list_max(void);
/* The parent folder of path (non-empty, "/a/b") into *ret_parent, and the node at path
 * into *ret, one lookup per segment (files_dav_resolve of both would walk the parent's
 * segments twice): 0 both; -ENOENT the parent is a folder and holds no such name
 * (*ret_parent valid); -ENOTDIR the parent is missing or not a folder. */
int files_dav_resolve_leaf(struct db *db, int64_t tenant_id, const char *path, struct file_node *ret_parent,
			   struct file_node *ret) KURA_WUR;
typedef int (*files_dav_node_fn)(void *ctx, const struct file_node *n);
/* Calls fn for each live child of a folder, ordered by name (one query), at most
 * files_dav_list_max(): *ret_more says the folder has more (a folder of exactly the limit
 * does not). fn returning <0 stops with that value. */
int files_dav_children(struct db *db, int64_t tenant_id, int64_t folder_id, files_dav_node_fn fn,
		       void *ctx, bool *ret_more) KURA_WUR;

/* One member as PROPFIND lists it: only the columns a multistatus shows. */
struct files_dav_entry {
	int64_t id, size, created_us, modified_us;
	bool folder;
	const char *name, *content_type, *etag;   /* never NULL; valid during the callback only */
};
typedef int (*files_dav_entry_fn)(void *ctx, const struct files_dav_entry *e);
/* The same walk as files_dav_children (one indexed query, ordered by name) reading eight
 * columns instead of every node column. At most files_dav_list_max() members go to fn:
 * *ret_more says the folder has more (the listing is truncated; a folder of exactly the
 * limit is not). fn returning <0 stops with that value. */
int files_dav_entries(struct db *db, int64_t tenant_id, int64_t folder_id, files_dav_entry_fn fn,
		      void *ctx, bool *ret_more) KURA_WUR;
/* Its statement ($1 tenant, $2 folder, $3 limit), here so that unit/test_files can check
 * its plan: every column it names is in file_nodes_dav (migration 0031), so SQLite reads the
 * members from that index alone, never a row of file_nodes (whose rows hold inline
 * content). A column added here must be added to that index too, or the plan test fails. */
#define FILES_DAV_ENTRIES_SQL \
	"SELECT id, kind, name, size, content_type, etag, created_us, modified_us" \
	" FROM file_nodes WHERE tenant_id = $1 AND parent_id = $2 AND in_trash = 0" \
	" ORDER BY name LIMIT $3"

/* ---- dead properties ---- */
struct files_dav_prop {
	int64_t node_id;
	const char *ns, *name, *xml;    /* valid during the callback only */
};
typedef int (*files_dav_prop_fn)(void *ctx, const struct files_dav_prop *p);
/* Dead properties of node_id, and with with_children those of its live children too
 * (one query), ordered by node id. */
int files_dav_props(struct db *db, int64_t tenant_id, int64_t node_id, bool with_children,
		    files_dav_prop_fn fn, void *ctx) KURA_WUR;
struct files_dav_propop {
	bool remove;
	const char *ns, *name;          /* ns "" for none */
	const char *xml;                /* set: the serialized element */
};
/* Applies all operations in order, all or nothing, in one transaction with one audit record.
 * -EINVAL bad name, -EFBIG a value over KURA_DAV_PROP_BYTES_MAX, -E2BIG more than
 * KURA_DAV_PROPS_PER_NODE properties would remain. */
int files_dav_proppatch(struct db *db, const struct actor *who, int64_t tenant_id, int64_t node_id,
			const struct files_dav_propop *ops, size_t n) KURA_WUR;

/* ---- copy and move ---- */
/* Copies node src_id to (dst_parent, dst_name): a file's content, a folder alone
 * (!recursive, Depth 0) or its whole live subtree, with dead properties. An existing
 * destination is moved to the trash first when overwrite, else -EEXIST. -ELOOP when the
 * destination is inside the source, -EDQUOT over quota, -E2BIG over KURA_DAV_COPY_NODES_MAX
 * nodes or KURA_FOLDER_DEPTH_MAX. *ret_created: no destination existed. */
int files_dav_copy(struct files *f, struct db *db, const struct actor *who, int64_t tenant_id,
		   int64_t src_id, int64_t dst_parent, const char *dst_name, bool recursive,
		   bool overwrite, bool *ret_created) KURA_WUR;
/* files_move with an existing destination trashed first when overwrite (else -EEXIST), in
 * the same transaction. */
int files_dav_move(struct db *db, const struct actor *who, int64_t tenant_id, int64_t src_id,
		   int64_t dst_parent, const char *dst_name, bool overwrite, bool *ret_created) KURA_WUR;

/* ---- write locks ---- */
#define FILES_DAV_TOKEN_LEN 45          /* "urn:uuid:" + 36 */
struct files_dav_lock {
	char token[FILES_DAV_TOKEN_LEN + 1];
	const char *path;               /* borrowed (create) or valid during a callback */
	bool infinite, shared;
	char owner_xml[KURA_DAV_LOCK_OWNER_MAX + 1];   /* serialized <D:owner> element or "" */
	int64_t account_id;
	int64_t timeout_s, expires_us;
};
enum files_dav_lock_scope {
	FILES_DAV_LOCKS_ON = 1,         /* locks on path, or Depth infinity on an ancestor */
	FILES_DAV_LOCKS_BELOW = 2,      /* locks on members below path */
	/* with ON: also the locks on path's parent (a change of its membership), in the same
	 * query, after the others (path not ""; as ON on the parent: an infinite lock on an
	 * ancestor of the parent already applies to path) */
	FILES_DAV_LOCKS_PARENT = 4,
};
typedef int (*files_dav_lock_fn)(void *ctx, const struct files_dav_lock *l);
/* Unexpired locks by scope (a mask of enum files_dav_lock_scope). */
int files_dav_locks(struct db *db, int64_t tenant_id, const char *path, unsigned scope,
		    files_dav_lock_fn fn, void *ctx) KURA_WUR;
/* Creates a lock on l->path for who (a new token into l->token, expiry from l->timeout_s)
 * after checking, in the same transaction, that no lock conflicts: -EAGAIN when one does,
 * -E2BIG over KURA_DAV_LOCKS_PER_TENANT. Audit record "dav.lock". */
int files_dav_lock_create(struct db *db, const struct actor *who, int64_t tenant_id,
			  struct files_dav_lock *l) KURA_WUR;
/* Extends the lock token that applies to path (FILES_DAV_LOCKS_ON) by timeout_s; fills
 * *ret (its path points to static storage of the caller's buffer path). -ENOENT when no such
 * lock applies, -EPERM when another account holds it. */
int files_dav_lock_refresh(struct db *db, const struct actor *who, int64_t tenant_id,
			   const char *path, const char *token, int64_t timeout_s,
			   struct files_dav_lock *ret, char *ret_root, size_t root_size) KURA_WUR;
/* Removes lock token when it applies to path: -ENOENT when it does not, -EPERM when another
 * account holds it. Audit record "dav.unlock". */
int files_dav_unlock(struct db *db, const struct actor *who, int64_t tenant_id, const char *path,
		     const char *token) KURA_WUR;
/* Every unexpired lock of the tenant ordered by path, at most KURA_LOCKS_LIST_MAX
 * (*ret_more when there are more), for managers (PERM_LOCKS_ADMIN). */
int files_dav_locks_all(struct db *db, int64_t tenant_id, files_dav_lock_fn fn, void *ctx,
			bool *ret_more) KURA_WUR;
/* A manager breaks lock token, whoever holds it: -ENOENT when the tenant has no such
 * unexpired lock. Audit record "dav.lock.break" with the holder's account id. */
int files_dav_lock_break(struct db *db, const struct actor *who, int64_t tenant_id,
			 const char *token, struct files_dav_lock *ret, char *ret_path,
			 size_t path_size) KURA_WUR;
/* For a change that carries no lock token (an upload through the portal, tus or an upload
 * link): -ENOLCK when an unexpired WebDAV lock applies to the file name in folder parent_id
 * (a lock on it or an infinite one on a folder above it) or, for a new file (!replace), a
 * lock on the folder itself, whose membership changes (RFC 4918 7.5, 9.7). One indexed
 * query when the tenant holds no lock; the folder's path is built only when it holds one. */
int files_dav_locks_refuse(struct db *db, int64_t tenant_id, int64_t parent_id, const char *name,
			   bool replace) KURA_WUR;
/* Forgets the locks on path and below (the resource there was deleted or moved away). */
int files_dav_locks_drop(struct db *db, int64_t tenant_id, const char *path) KURA_WUR;
#endif
