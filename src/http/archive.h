/*
 * The streaming ZIP writer (api_archive.c), shared by the folder and selection archives and
 * the data export (api_export.c). An archive is a list of entries collected before the first
 * byte: files of the tenant (decrypted as they are sent), folders, and generated streams
 * (content made while it is sent, size unknown until its end: ZIP64 header, 8-byte
 * descriptor). archive_send() writes it as the response body, without a temporary copy;
 * memory: the list of entries and one entry's header.
 */
#ifndef KURA_HTTP_ARCHIVE_H
#define KURA_HTTP_ARCHIVE_H
#include <sys/types.h>

#include <microhttpd.h>

#include "core/core.h"

struct archive;
struct db;
struct files;
struct request;

/* Next bytes of a generated entry into buf (up to max, > 0): > 0 bytes, 0 at its end, < 0 an
 * error (the response ends cut). Runs in MHD's callback: use db_thread() for reads. */
typedef ssize_t (*archive_stream_fn)(void *ctx, char *buf, size_t max);

/* An empty archive of the tenant's files, at most max_entries entries. NULL without memory. */
struct archive *archive_new(struct files *files, int64_t tenant_id, size_t max_entries);
struct archive *archive_free(struct archive *a);
size_t archive_entries(const struct archive *a);
/* The folder's live subtree (parents before children), paths after prefix ("" or "name/").
 * -E2BIG past max_entries. *ret_files and *ret_bytes grow by what it added. */
int archive_collect(struct db *db, struct archive *a, int64_t folder_id, const char *prefix,
		    int64_t *ret_files, int64_t *ret_bytes) KURA_WUR;
/* One live file of the tenant as prefix + path. */
int archive_add_file(struct archive *a, const char *prefix, const char *path, int64_t id, int64_t size,
		     int64_t modified_us) KURA_WUR;
/* A generated entry; the archive owns ctx from now on (free_fn, may be NULL, at the end,
 * also when this call fails). */
int archive_add_stream(struct archive *a, const char *path, int64_t modified_us, archive_stream_fn fn,
		       void *ctx, void (*free_fn)(void *ctx)) KURA_WUR;
/* Sends the archive as the answer (200 application/zip, attachment zipname); takes a over. */
enum MHD_Result archive_send(struct request *req, struct archive *a, const char *zipname);
#endif
