/*
 * Inside blob/: the backend seam. Each backend (blob_local.c, blob_s3.c) embeds these bases as
 * the first member of its own store, writer and reader, and fills one ops table; blob.c
 * dispatches the public calls of blob.h through it.
 */
#ifndef KURA_BLOB_BLOB_INT_H
#define KURA_BLOB_BLOB_INT_H
#include "blob/blob.h"

struct blob_ops {
	const char *name;                /* "local", "s3" */
	bool shared;                     /* other processes (nodes) may write to the same store */
	void (*close)(struct blob_store *bs);
	int (*writer_open)(struct blob_store *bs, int64_t tenant_id, struct blob_writer **ret);
	const char *(*writer_id)(const struct blob_writer *w);
	uint64_t (*writer_size)(const struct blob_writer *w);
	int (*write)(struct blob_writer *w, const void *data, size_t n);
	int (*commit)(struct blob_writer *w);
	void (*abort)(struct blob_writer *w);
	int (*part_open)(struct blob_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
			 struct blob_writer **ret);
	int (*part_sync)(struct blob_writer *w);
	int (*part_delete)(struct blob_store *bs, int64_t tenant_id, const char *part_id);
	int (*reader_open)(struct blob_store *bs, int64_t tenant_id, const char *id, struct blob_reader **ret);
	uint64_t (*reader_size)(const struct blob_reader *r);
	int (*read_at)(struct blob_reader *r, uint64_t offset, void *buf, size_t n, size_t *ret_n);
	void (*reader_close)(struct blob_reader *r);
	int (*sweep_tmp)(struct blob_store *bs, unsigned *ret_n);
	int (*foreach)(struct blob_store *bs, blob_each_fn fn, void *ctx);
	int (*delete)(struct blob_store *bs, int64_t tenant_id, const char *id);
	int (*delete_tenant)(struct blob_store *bs, int64_t tenant_id, unsigned *ret_n);
};

struct blob_store {
	const struct blob_ops *ops;
};
struct blob_writer {
	const struct blob_ops *ops;
};
struct blob_reader {
	const struct blob_ops *ops;
};

/* Fault injection shared by the backends (blob.c): true when this operation of this kind is
 * the one to fail; blob_fault_from_env() reads KURA_TEST_BLOB_FAULT once per open. */
bool blob_fault_hit(enum blob_fault kind);
void blob_fault_from_env(void);

struct blob_s3_settings {
	const char *url, *endpoint, *region, *access_key, *secret_key, *addressing, *ca_file;
	uint32_t part_mib, timeout_s;
};
/* SigV4 (AWS's "Authenticating Requests: Using the Authorization Header") over the headers
 * host, x-amz-content-sha256 and x-amz-date: the value of the Authorization header. path is
 * the URI-encoded path, query the canonical query string (sorted, encoded; "" none). */
struct blob_s3_sig {
	const char *method, *path, *query, *host, *payload_hash, *amz_date, *region, *access_key, *secret;
};
int blob_s3_sigv4(const struct blob_s3_sig *in, char *auth, size_t auth_size);
struct blob_store *blob_open_s3(const struct blob_s3_settings *s, char *err, size_t err_size);
#endif
