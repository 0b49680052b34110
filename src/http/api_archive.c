/*
 * ZIP download of a folder: GET /api/v1/folders/{id}/archive (issue 15; docs/api.md).
 *
 * The archive is written while it is sent (an MHD response callback): no temporary file,
 * memory for one entry's header and the list of entries. The tree is read once at the start
 * (one recursive query, at most KURA_ARCHIVE_ENTRIES_MAX entries), then each file is opened,
 * decrypted chunk by chunk (files_read checks every chunk's tag) and written as it comes.
 *
 * Format (APPNOTE 6.3.x): entries are *stored* (method 0), not deflated: what people
 * exchange is mostly compressed already (Office files, PDF, images, archives), deflate would
 * cost CPU on every download for little, and stored entries keep the sizes known before the
 * bytes. Every entry has general purpose bit 11 (names are UTF-8: Japanese names survive in
 * Windows Explorer and macOS Archive Utility) and bit 3 (CRC-32 and sizes in a data
 * descriptor after the data, since the CRC is known only once the bytes went out). ZIP64
 * (extra field 0x0001, 8-byte descriptor, ZIP64 end records) is used for an entry of 4 GiB
 * or more, an offset past 4 GiB, or more than 65535 entries; otherwise plain ZIP. Folders
 * are entries "name/" so empty ones survive. Times: the modification time in UTC (DOS time).
 *
 * Audit: one access record folder.archive (target the folder, details files, folders and
 * bytes) before the first byte, like file.download; the files inside are not recorded one
 * by one (the record names the folder and the count, which is what an access review asks).
 *
 * SECURITY: tenant-scoped lookups; names come from the database, where they are validated
 * (no '/', no "." or "..", no control characters), so no entry name can climb out of the
 * folder it is extracted into (zip slip). A chunk that fails its integrity check ends the
 * response with an error (the client gets a truncated archive, never wrong bytes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files.h"
#include "http/archive.h"
#include "http/http_int.h"
#include "store/db.h"

#define TENANT(req) ((req)->session.account.tenant_id)
#define U32_MAX_ZIP 0xffffffffULL
#define READ_PIECE (64 * 1024)
#define PENDING_MAX (128 + KURA_FOLDER_DEPTH_MAX * (KURA_FILE_NAME_MAX + 1))

struct entry {
	int64_t id, size, modified_us;   /* size: -1 while a stream's is not known */
	bool folder;
	bool z64;                      /* ZIP64 local header and descriptor (decided at its header) */
	char *path;                    /* "a/b" ("a/b/" for a folder) */
	uint32_t crc;
	uint64_t offset;               /* of its local header */
	archive_stream_fn stream;      /* generated content (export metadata, audit log), or NULL */
	void *stream_ctx;
	void (*stream_free)(void *ctx);
};

enum stage { ST_HEADER, ST_DATA, ST_STREAM, ST_DESC, ST_CENTRAL, ST_END, ST_DONE };

struct archive {
	struct files *files;
	int64_t tenant_id;
	struct entry *e;
	size_t n, cap, max, cur;
	enum stage stage;
	struct files_reader *rd;
	uint64_t data_pos;
	uint64_t written;              /* bytes of the archive so far */
	uint64_t cd_start, cd_size;
	unsigned char pending[PENDING_MAX];
	size_t pend_len, pend_pos;
	unsigned char *piece;          /* READ_PIECE */
};

/* ---- CRC-32 (ISO 3309, the ZIP one) ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian writers into the pending buffer ---- */

static void put16(struct archive *a, uint32_t v)
{
	a->pending[a->pend_len++] = (unsigned char)v;
	a->pending[a->pend_len++] = (unsigned char)(v >> 8);
}

static void put32(struct archive *a, uint32_t v)
{
	put16(a, v & 0xffff);
	put16(a, v >> 16);
}

static void put64(struct archive *a, uint64_t v)
{
	put32(a, (uint32_t)v);
	put32(a, (uint32_t)(v >> 32));
}

static void put_bytes(struct archive *a, const void *p, size_t n)
{
	memcpy(a->pending + a->pend_len, p, n);
	a->pend_len += n;
}

/* DOS date and time of UTC µs (1980..2107; earlier times are 1980-01-01). */
static void dos_time(int64_t us, uint32_t *ret_time, uint32_t *ret_date)
{
	int64_t s = us / 1000000, days = s / 86400, rem = s % 86400;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	if (us < 0 || y < 1980) {
		*ret_time = 0;
		*ret_date = (1 << 5) | 1;
		return;
	}
	if (y > 2107)
		y = 2107;
	*ret_time = (uint32_t)((rem / 3600) << 11 | ((rem % 3600) / 60) << 5 | (rem % 60) / 2);
	*ret_date = (uint32_t)((y - 1980) << 9 | m << 5 | d);
}

/* A stream's size is known only at its end: its header always takes the ZIP64 form, whose
 * zero sizes the 8-byte descriptor replaces (APPNOTE 4.3.9.2). */
static bool entry_zip64(const struct entry *e)
{
	return e->stream || (uint64_t)e->size >= U32_MAX_ZIP || e->offset >= U32_MAX_ZIP;
}

static void local_header(struct archive *a, struct entry *e)
{
	uint32_t t, d;
	size_t name_len = strlen(e->path);
	bool z = e->z64 = entry_zip64(e);

	dos_time(e->modified_us, &t, &d);
	a->pend_len = a->pend_pos = 0;
	put32(a, 0x04034b50);
	put16(a, z ? 45 : 20);          /* version needed */
	put16(a, 0x0808);               /* bit 3: data descriptor; bit 11: UTF-8 names */
	put16(a, 0);                    /* stored */
	put16(a, t);
	put16(a, d);
	put32(a, 0);                    /* CRC and sizes: in the descriptor */
	put32(a, z ? 0xffffffffu : 0);
	put32(a, z ? 0xffffffffu : 0);
	put16(a, (uint32_t)name_len);
	put16(a, z ? 20 : 0);
	put_bytes(a, e->path, name_len);
	if (z) {
		put16(a, 0x0001);
		put16(a, 16);
		put64(a, 0);
		put64(a, 0);
	}
}

static void descriptor(struct archive *a, struct entry *e)
{
	a->pend_len = a->pend_pos = 0;
	put32(a, 0x08074b50);
	put32(a, e->crc);
	if (e->z64) {
		put64(a, (uint64_t)e->size);
		put64(a, (uint64_t)e->size);
	} else {
		put32(a, (uint32_t)e->size);
		put32(a, (uint32_t)e->size);
	}
}

static void central(struct archive *a, struct entry *e)
{
	uint32_t t, d;
	size_t name_len = strlen(e->path);
	bool big = e->stream || (uint64_t)e->size >= U32_MAX_ZIP, far = e->offset >= U32_MAX_ZIP;
	unsigned extra = (big ? 16 : 0) + (far ? 8 : 0);

	dos_time(e->modified_us, &t, &d);
	a->pend_len = a->pend_pos = 0;
	put32(a, 0x02014b50);
	put16(a, (3 << 8) | 45);        /* made by: UNIX, 4.5 */
	put16(a, e->z64 ? 45 : 20);
	put16(a, 0x0808);
	put16(a, 0);
	put16(a, t);
	put16(a, d);
	put32(a, e->crc);
	put32(a, big ? 0xffffffffu : (uint32_t)e->size);
	put32(a, big ? 0xffffffffu : (uint32_t)e->size);
	put16(a, (uint32_t)name_len);
	put16(a, extra ? extra + 4 : 0);
	put16(a, 0);                    /* comment */
	put16(a, 0);                    /* disk */
	put16(a, 0);                    /* internal attributes */
	put32(a, e->folder ? (040755u << 16) | 0x10 : 0100644u << 16);
	put32(a, far ? 0xffffffffu : (uint32_t)e->offset);
	put_bytes(a, e->path, name_len);
	if (extra) {
		put16(a, 0x0001);
		put16(a, extra);
		if (big) {
			put64(a, (uint64_t)e->size);
			put64(a, (uint64_t)e->size);
		}
		if (far)
			put64(a, e->offset);
	}
}

static void end_records(struct archive *a)
{
	bool z = a->n > 0xffff || a->cd_start >= U32_MAX_ZIP || a->cd_size >= U32_MAX_ZIP;
	uint64_t z_at = a->cd_start + a->cd_size;

	a->pend_len = a->pend_pos = 0;
	if (z) {
		put32(a, 0x06064b50);   /* ZIP64 end of central directory */
		put64(a, 44);
		put16(a, (3 << 8) | 45);
		put16(a, 45);
		put32(a, 0);
		put32(a, 0);
		put64(a, a->n);
		put64(a, a->n);
		put64(a, a->cd_size);
		put64(a, a->cd_start);
		put32(a, 0x07064b50);   /* its locator */
		put32(a, 0);
		put64(a, z_at);
		put32(a, 1);
	}
	put32(a, 0x06054b50);
	put16(a, 0);
	put16(a, 0);
	put16(a, z ? 0xffff : (uint32_t)a->n);
	put16(a, z ? 0xffff : (uint32_t)a->n);
	put32(a, z ? 0xffffffffu : (uint32_t)a->cd_size);
	put32(a, z ? 0xffffffffu : (uint32_t)a->cd_start);
	put16(a, 0);
}

/* Moves to the next stage once the pending bytes are out; 0, or <0 to end with an error. */
static int advance(struct archive *a)
{
	struct entry *e;
	int r;

	switch (a->stage) {
	case ST_HEADER:
		e = &a->e[a->cur];
		if (e->folder) {
			e->crc = 0;
			a->stage = ST_DESC;
			descriptor(a, e);
			return 0;
		}
		if (e->stream) {
			e->crc = 0;
			e->size = 0;
			a->data_pos = 0;
			a->stage = ST_STREAM;
			return 0;
		}
		r = files_open(a->files, db_thread(), a->tenant_id, e->id, NULL, &a->rd);
		if (r < 0)
			return r;
		e->crc = 0;
		a->data_pos = 0;
		a->stage = ST_DATA;
		return 0;
	case ST_DATA:
	case ST_STREAM:
		a->rd = files_reader_close(a->rd);
		a->stage = ST_DESC;
		descriptor(a, &a->e[a->cur]);
		return 0;
	case ST_DESC:
		a->cur++;
		if (a->cur < a->n) {
			a->e[a->cur].offset = a->written;
			a->stage = ST_HEADER;
			local_header(a, &a->e[a->cur]);
			return 0;
		}
		a->cd_start = a->written;
		a->cur = 0;
		a->stage = ST_CENTRAL;
		if (a->n) {
			central(a, &a->e[0]);
			return 0;
		}
		/* fall through: an empty folder, no central directory */
		a->stage = ST_END;
		a->cd_size = 0;
		end_records(a);
		return 0;
	case ST_CENTRAL:
		a->cur++;
		if (a->cur < a->n) {
			central(a, &a->e[a->cur]);
			return 0;
		}
		a->cd_size = a->written - a->cd_start;
		a->stage = ST_END;
		end_records(a);
		return 0;
	case ST_END:
		a->stage = ST_DONE;
		return 0;
	case ST_DONE:
		return 0;
	}
	return -EINVAL;
}

static ssize_t archive_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct archive *a = cls;
	size_t out = 0;
	int r;

	(void)pos;
	while (out < max && a->stage != ST_DONE) {
		if (a->stage == ST_DATA) {
			struct entry *e = &a->e[a->cur];
			size_t want = max - out, got = 0;

			if (a->data_pos >= (uint64_t)e->size) {
				r = advance(a);
				if (r < 0)
					goto fail;
				continue;
			}
			if (want > READ_PIECE)
				want = READ_PIECE;
			if ((uint64_t)want > (uint64_t)e->size - a->data_pos)
				want = (size_t)((uint64_t)e->size - a->data_pos);
			r = files_read(a->rd, a->data_pos, buf + out, want, &got);
			if (r == 0 && got == 0)
				r = -EBADMSG;   /* shorter than recorded */
			if (r < 0)
				goto fail;
			e->crc = crc_update(e->crc, (const unsigned char *)buf + out, got);
			a->data_pos += got;
			a->written += got;
			out += got;
			continue;
		}
		if (a->stage == ST_STREAM) {
			struct entry *e = &a->e[a->cur];
			ssize_t got = e->stream(e->stream_ctx, buf + out, max - out);

			if (got < 0) {
				r = (int)got;
				goto fail;
			}
			if (got == 0) {
				r = advance(a);
				if (r < 0)
					goto fail;
				continue;
			}
			e->crc = crc_update(e->crc, (const unsigned char *)buf + out, (size_t)got);
			e->size += got;
			a->written += (uint64_t)got;
			out += (size_t)got;
			continue;
		}
		if (a->pend_pos < a->pend_len) {
			size_t k = a->pend_len - a->pend_pos;

			if (k > max - out)
				k = max - out;
			memcpy(buf + out, a->pending + a->pend_pos, k);
			a->pend_pos += k;
			a->written += k;
			out += k;
			continue;
		}
		r = advance(a);
		if (r < 0)
			goto fail;
	}
	if (out == 0 && a->stage == ST_DONE)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)out;
fail:
	log_error("files.archive", "archive of tenant %lld cut at entry %zu: %s", (long long)a->tenant_id,
		  a->cur, strerror(-r));
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void archive_free_cb(void *cls)
{
	archive_free(cls);
}

struct archive *archive_free(struct archive *a)
{
	size_t i;

	if (!a)
		return NULL;
	files_reader_close(a->rd);
	for (i = 0; i < a->n; i++) {
		free(a->e[i].path);
		if (a->e[i].stream_free)
			a->e[i].stream_free(a->e[i].stream_ctx);
	}
	free(a->e);
	free(a->piece);
	free(a);
	return NULL;
}

struct archive *archive_new(struct files *files, int64_t tenant_id, size_t max_entries)
{
	struct archive *a = calloc(1, sizeof(*a));

	pthread_once(&crc_once, crc_init);
	if (!a)
		return NULL;
	a->files = files;
	a->tenant_id = tenant_id;
	a->max = max_entries;
	return a;
}

size_t archive_entries(const struct archive *a)
{
	return a->n;
}

/* Room for one more entry. */
static struct entry *entry_add(struct archive *a, size_t *cap)
{
	if (a->n == a->max)
		return NULL;
	if (a->n == *cap) {
		struct entry *ne = realloc(a->e, (*cap ? *cap * 2 : 64) * sizeof(*ne));

		if (!ne)
			return NULL;
		a->e = ne;
		*cap = *cap ? *cap * 2 : 64;
	}
	memset(&a->e[a->n], 0, sizeof(a->e[0]));
	return &a->e[a->n];
}

/* The entry's path: prefix, path and "/" for a folder; -ENAMETOOLONG past what a header holds. */
/* A name may hold "\\", which some Windows extractors take for a separator ("..\\..\\x"
 * would climb out of the extraction folder): it becomes "_" in an entry's name. */
static void name_clean(char *path)
{
	for (char *p = path; *p; p++)
		if (*p == '\\')
			*p = '_';
}

static int entry_path(struct entry *e, const char *prefix, const char *path, bool folder)
{
	size_t len = strlen(prefix) + strlen(path) + 2;

	if (len > PENDING_MAX - 128)
		return -ENAMETOOLONG;
	e->path = malloc(len);
	if (!e->path)
		return -ENOMEM;
	str_printf(e->path, len, "%s%s%s", prefix, path, folder ? "/" : "");
	name_clean(e->path);
	return 0;
}

int archive_add_stream(struct archive *a, const char *path, int64_t modified_us, archive_stream_fn fn,
		       void *ctx, void (*free_fn)(void *ctx))
{
	struct entry *e = entry_add(a, &a->cap);
	int r;

	if (!e) {
		if (free_fn)
			free_fn(ctx);
		return a->n == a->max ? -E2BIG : -ENOMEM;
	}
	r = entry_path(e, "", path, false);
	if (r < 0) {
		if (free_fn)
			free_fn(ctx);
		return r;
	}
	e->size = -1;
	e->modified_us = modified_us;
	e->stream = fn;
	e->stream_ctx = ctx;
	e->stream_free = free_fn;
	a->n++;
	return 0;
}

int archive_add_file(struct archive *a, const char *prefix, const char *path, int64_t id, int64_t size,
		     int64_t modified_us)
{
	struct entry *e = entry_add(a, &a->cap);
	int r;

	if (!e)
		return a->n == a->max ? -E2BIG : -ENOMEM;
	r = entry_path(e, prefix, path, false);
	if (r < 0)
		return r;
	e->id = id;
	e->size = size;
	e->modified_us = modified_us;
	a->n++;
	return 0;
}

/* The folder's live subtree, parents before children, paths relative to it after prefix
 * ("" or "name/"). */
int archive_collect(struct db *db, struct archive *a, int64_t folder_id, const char *prefix,
		    int64_t *ret_files, int64_t *ret_bytes)
{
	int64_t tenant_id = a->tenant_id;
	size_t *cap = &a->cap;
	struct db_stmt *st = db_query(
		db,
		"WITH RECURSIVE sub(id, kind, path, size, modified_us) AS ("
		" SELECT id, kind, $4 || name, size, modified_us FROM file_nodes WHERE tenant_id = $1"
		" AND parent_id = $2 AND in_trash = 0"
		" UNION ALL SELECT n.id, n.kind, sub.path || '/' || n.name, n.size, n.modified_us"
		" FROM file_nodes n JOIN sub ON n.parent_id = sub.id WHERE n.tenant_id = $1"
		" AND n.in_trash = 0 AND sub.kind = 'folder')"
		" SELECT id, kind, path, size, modified_us FROM sub ORDER BY path LIMIT $3",
		"iiit", tenant_id, folder_id, (int64_t)(a->max - a->n) + 1, prefix);
	int r;

	while ((r = db_step(st)) > 0) {
		struct entry *e;
		const char *path = db_text(st, 2);
		bool folder = db_text(st, 1) && !strcmp(db_text(st, 1), "folder");

		e = entry_add(a, cap);
		if (!e) {
			r = a->n == a->max ? -E2BIG : -ENOMEM;
			break;
		}
		e->id = db_int(st, 0);
		e->folder = folder;
		e->size = folder ? 0 : db_int(st, 3);
		e->modified_us = db_int(st, 4);
		if (!path || strlen(path) + 2 > PENDING_MAX - 128) {
			r = -ENAMETOOLONG;
			break;
		}
		e->path = malloc(strlen(path) + 2);
		if (!e->path) {
			r = -ENOMEM;
			break;
		}
		str_printf(e->path, strlen(path) + 2, "%s%s", path, folder ? "/" : "");
		name_clean(e->path);
		a->n++;
		if (!folder) {
			(*ret_files)++;
			*ret_bytes += e->size;
		}
	}
	db_done(st);
	return r < 0 ? r : 0;
}

/* Starts the stream of a collected archive (takes a over). */
enum MHD_Result archive_send(struct request *req, struct archive *a, const char *zipname)
{
	char *disp;

	if (a->n) {
		a->e[0].offset = 0;
		a->stage = ST_HEADER;
		local_header(a, &a->e[0]);
	} else {
		a->stage = ST_END;
		end_records(a);
	}
	disp = zipname ? http_content_disposition(req->arena, zipname) : NULL;
	if (disp)
		http_add_header(req, "Content-Disposition", disp);
	http_add_header(req, "Cache-Control", "no-store");
	return http_respond_stream(req, 200, "application/zip", archive_read, a, archive_free_cb);
}

static enum MHD_Result api_folder_archive(struct request *req)
{
	const char *s = req->params[0];
	struct archive *a = NULL;
	struct file_node folder;
	int64_t id = 0, n_files = 0, bytes = 0;
	json_t *d = NULL;
	char *zipname;
	int r;

	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	if (!strcmp(s, "root"))
		r = files_root(req->db, TENANT(req), &id);
	else
		r = s[0] >= '1' && s[0] <= '9' && safe_atoi64(s, &id) == 0 ? 0 : -ENOENT;
	if (r == 0)
		r = files_get(req->db, TENANT(req), id, &folder);
	if (r == 0 && folder.kind != NODE_FOLDER)
		r = -ENOENT;
	if (r < 0)
		return http_files_error(req, r, "id");
	a = archive_new(req->srv->files, TENANT(req), KURA_ARCHIVE_ENTRIES_MAX);
	if (!a)
		return http_internal_error(req, -ENOMEM);
	r = archive_collect(req->db, a, folder.id, "", &n_files, &bytes);
	if (r == -E2BIG) {
		archive_free(a);
		return http_problem(req, 413, "archive-too-large",
				    "the folder holds more than 10000 files and folders: download parts of it", NULL);
	}
	if (r < 0) {
		archive_free(a);
		return http_internal_error(req, r);
	}
	d = json_pack("{s:I, s:I, s:I}", "files", (json_int_t)n_files, "folders",
		      (json_int_t)((int64_t)a->n - n_files), "bytes", (json_int_t)bytes);
	r = files_audit(req->db, &req->actor, a->tenant_id, AUDIT_ACCESS, "folder.archive", folder.id,
			AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0) {
		archive_free(a);
		return http_files_error(req, r, "id");
	}
	zipname = arena_printf(req->arena, "%s.zip", folder.parent_id ? folder.name : "files");
	return archive_send(req, a, zipname);
}

/* A selection of live files and folders (each with its subtree) as one ZIP; the items'
 * names are the top level. Each id is looked up in the session's tenant (another tenant's
 * is 404 like one that does not exist); the whole selection is recorded once
 * (selection.archive, with how its ids came: query or body) before the first byte. */
static enum MHD_Result selection_send(struct request *req, const int64_t *id_list, size_t n_ids, const char *via)
{
	struct archive *a = NULL;
	int64_t n_files = 0, bytes = 0;
	size_t i;
	json_t *d = NULL, *jids = NULL;
	char *prefix;
	int r = 0;

	a = archive_new(req->srv->files, TENANT(req), KURA_ARCHIVE_ENTRIES_MAX);
	jids = json_array();
	if (!a || !jids) {
		archive_free(a);
		json_decref(jids);
		return http_internal_error(req, -ENOMEM);
	}
	for (i = 0; i < n_ids && r == 0; i++) {
		struct file_node n;
		struct entry *e;
		size_t j;

		r = files_get(req->db, a->tenant_id, id_list[i], &n);
		if (r == 0 && !n.parent_id)
			r = -ENOENT;   /* the root: use the folder archive */
		for (j = 0; r == 0 && j < a->n; j++) {
			size_t len = strlen(n.name);

			if (!strncmp(a->e[j].path, n.name, len) && (a->e[j].path[len] == '\0' || a->e[j].path[len] == '/'))
				r = -EEXIST;   /* two items of the same name */
		}
		if (r < 0)
			break;
		json_array_append_new(jids, json_integer(n.id));
		e = entry_add(a, &a->cap);
		if (!e) {
			r = a->n == a->max ? -E2BIG : -ENOMEM;
			break;
		}
		e->id = n.id;
		e->folder = n.kind == NODE_FOLDER;
		e->size = e->folder ? 0 : n.size;
		e->modified_us = n.modified_us;
		e->path = malloc(strlen(n.name) + 2);
		if (!e->path) {
			r = -ENOMEM;
			break;
		}
		str_printf(e->path, strlen(n.name) + 2, "%s%s", n.name, e->folder ? "/" : "");
		name_clean(e->path);
		a->n++;
		if (!e->folder) {
			n_files++;
			bytes += n.size;
			continue;
		}
		prefix = arena_printf(req->arena, "%s/", n.name);
		r = prefix ? archive_collect(req->db, a, n.id, prefix, &n_files, &bytes) : -ENOMEM;
	}
	if (r < 0) {
		archive_free(a);
		json_decref(jids);
		if (r == -E2BIG)
			return http_problem(req, 413, "archive-too-large",
					    "the selection holds more than 10000 files and folders", NULL);
		if (r == -EEXIST)
			return http_problem(req, 409, "conflict", "two selected items have the same name", "ids");
		return http_files_error(req, r, "ids");
	}
	d = json_pack("{s:o, s:I, s:I, s:I, s:s}", "ids", jids, "files", (json_int_t)n_files, "folders",
		      (json_int_t)((int64_t)a->n - n_files), "bytes", (json_int_t)bytes, "ids_in", via);
	r = http_audit(req, a->tenant_id, AUDIT_ACCESS, "selection.archive", "nodes", AUDIT_SUCCESS, d);
	json_decref(d);
	if (r < 0) {
		archive_free(a);
		return http_files_error(req, r, "ids");
	}
	return archive_send(req, a, "files.zip");
}


/* GET /api/v1/archive?ids=1,2,3: the ids in the query, so a browser starts it as a plain
 * download link (as many as fit into KURA_MAX_URL_BYTES). */
static enum MHD_Result api_selection_archive(struct request *req)
{
	const char *ids = http_query(req, "ids"), *p;
	int64_t id_list[KURA_ARCHIVE_SELECTION_MAX];
	size_t n_ids = 0, k;
	int r = 0;

	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	for (p = ids; p && *p && r == 0;) {
		char num[24];
		size_t len = strcspn(p, ",");

		if (n_ids == KURA_ARCHIVE_SELECTION_MAX || len == 0 || len >= sizeof(num))
			r = -EINVAL;
		else {
			memcpy(num, p, len);
			num[len] = '\0';
			if (num[0] < '1' || num[0] > '9' || safe_atoi64(num, &id_list[n_ids]) < 0)
				r = -EINVAL;
			for (k = 0; r == 0 && k < n_ids; k++)
				if (id_list[k] == id_list[n_ids])
					r = -EINVAL;
			n_ids++;
		}
		p += len;
		if (*p == ',' && *++p == '\0')
			r = -EINVAL;
	}
	if (r < 0 || n_ids == 0)
		return http_problem(req, 400, "invalid-field", "ids: 1 to 1000 distinct node ids, comma-separated", "ids");
	return selection_send(req, id_list, n_ids, "query");
}

/* POST /api/v1/archive {"ids": [1, 2, 3]}: the same with the ids in the body, so a large
 * selection is bounded by KURA_ARCHIVE_SELECTION_MAX alone, not by the request target. A
 * POST with the session's CSRF token like any other (dispatch()), though it changes nothing
 * but the audit log. */
static enum MHD_Result api_selection_archive_post(struct request *req)
{
	json_t *ids = NULL, *v;
	const struct field spec[] = {
		{ .name = "ids", .kind = FIELD_ARRAY, .required = true, .max_items = KURA_ARCHIVE_SELECTION_MAX,
		  .item = FIELD_INT, .min = 1, .max = INT64_MAX, .item_index = true, .ret_array = &ids },
	};
	int64_t id_list[KURA_ARCHIVE_SELECTION_MAX];
	enum MHD_Result res;
	size_t n_ids = 0, i, k;

	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	json_array_foreach(ids, i, v) {
		id_list[n_ids] = json_integer_value(v);
		for (k = 0; k < n_ids; k++)
			if (id_list[k] == id_list[n_ids])
				return http_problem(req, 400, "invalid-field", "ids: each id at most once", "ids");
		n_ids++;
	}
	if (n_ids == 0)
		return http_problem(req, 400, "invalid-field", "ids: 1 to 1000 distinct node ids", "ids");
	return selection_send(req, id_list, n_ids, "body");
}

const struct route api_archive_routes[] = {
	{ "GET", "/api/v1/folders/*/archive", api_folder_archive, 0, PERM_FILES_READ },
	{ "GET", "/api/v1/archive", api_selection_archive, 0, PERM_FILES_READ },
	{ "POST", "/api/v1/archive", api_selection_archive_post, R_BODY, PERM_FILES_READ },
};
const size_t api_archive_n_routes = ARRAY_SIZE(api_archive_routes);
