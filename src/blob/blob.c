/*
 * The blob store's seam: blob_open() picks the backend from [blob] in kura.conf (local files
 * under DIR/blobs unless url = s3://...), and every call of blob.h goes through the store's
 * ops table (blob_int.h). Also the fault injection both backends share.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include <sodium.h>

#include "blob/blob_int.h"
#include "core/config.h"
#include "core/log.h"

/* ---- fault injection ---- */

static atomic_uint fault_kind, fault_countdown;

void blob_fault_set(enum blob_fault kind, unsigned nth)
{
	atomic_store(&fault_countdown, nth);
	atomic_store(&fault_kind, (unsigned)kind);
}

bool blob_fault_hit(enum blob_fault kind)
{
	unsigned left;

	if (atomic_load(&fault_kind) != (unsigned)kind)
		return false;
	left = atomic_fetch_sub(&fault_countdown, 1);
	if (left == 1) {
		atomic_store(&fault_kind, BLOB_FAULT_NONE);
		return true;
	}
	return false;
}

void blob_fault_from_env(void)
{
#ifndef KURA_TEST_HOOKS
	const char *e = NULL;   /* a production build has no fault seam */
#else
	const char *e = getenv("KURA_TEST_BLOB_FAULT");
#endif
	uint32_t n;
	const char *colon;

	if (!e || !*e || !(colon = strchr(e, ':')) || safe_atou32(colon + 1, &n) < 0 || n == 0)
		return;
	if (!strncmp(e, "write:", 6))
		blob_fault_set(BLOB_FAULT_WRITE, n);
	else if (!strncmp(e, "fsync:", 6))
		blob_fault_set(BLOB_FAULT_FSYNC, n);
	else if (!strncmp(e, "rename:", 7))
		blob_fault_set(BLOB_FAULT_RENAME, n);
	else if (!strncmp(e, "pwrite:", 7))
		blob_fault_set(BLOB_FAULT_PWRITE, n);
	else
		return;
	log_warn("blob.fault", "KURA_TEST_BLOB_FAULT=%s: a blob operation will fail on purpose", e);
}

bool blob_id_valid(const char *id)
{
	size_t i;

	if (!id || strlen(id) != BLOB_ID_LEN)
		return false;
	for (i = 0; i < BLOB_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

void blob_new_id(char id[BLOB_ID_LEN + 1])
{
	unsigned char raw[BLOB_ID_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), id);
}

/* ---- choosing the backend ---- */

struct blob_store *blob_open(const struct config *cfg, const char *local_dir, char *err, size_t err_size)
{
	if (!cfg || !cfg->blob_url[0])
		return blob_open_local(local_dir, err, err_size);
	return blob_open_s3(&(struct blob_s3_settings){
		.url = cfg->blob_url, .endpoint = cfg->blob_endpoint, .region = cfg->blob_region,
		.access_key = cfg->blob_access_key, .secret_key = cfg->blob_secret_key,
		.addressing = cfg->blob_addressing, .ca_file = cfg->blob_ca_file,
		.part_mib = cfg->blob_part_mib, .timeout_s = cfg->blob_timeout_s }, err, err_size);
}

const char *blob_backend(const struct blob_store *bs)
{
	return bs ? bs->ops->name : "";
}

bool blob_shared(const struct blob_store *bs)
{
	return bs && bs->ops->shared;
}

/* ---- dispatch ---- */

struct blob_store *blob_close(struct blob_store *bs)
{
	if (bs)
		bs->ops->close(bs);
	return NULL;
}

int blob_writer_open(struct blob_store *bs, int64_t tenant_id, struct blob_writer **ret)
{
	if (!bs || !ret)
		return -EINVAL;
	return bs->ops->writer_open(bs, tenant_id, ret);
}

const char *blob_writer_id(const struct blob_writer *w)
{
	return w->ops->writer_id(w);
}

uint64_t blob_writer_size(const struct blob_writer *w)
{
	return w->ops->writer_size(w);
}

#ifdef KURA_TEST_HOOKS
void (*blob_test_on_write)(void *arg);
void *blob_test_on_write_arg;
#endif

int blob_write(struct blob_writer *w, const void *data, size_t n)
{
	if (!w)
		return -EINVAL;
#ifdef KURA_TEST_HOOKS
	if (blob_test_on_write)
		blob_test_on_write(blob_test_on_write_arg);
#endif
	return w->ops->write(w, data, n);
}

int blob_commit(struct blob_writer *w)
{
	if (!w)
		return -EINVAL;
	return w->ops->commit(w);
}

struct blob_writer *blob_abort(struct blob_writer *w)
{
	if (w)
		w->ops->abort(w);
	return NULL;
}

int blob_part_open(struct blob_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
		   struct blob_writer **ret)
{
	if (!bs || !ret)
		return -EINVAL;
	return bs->ops->part_open(bs, tenant_id, part_id, keep, ret);
}

int blob_part_sync(struct blob_writer *w)
{
	if (!w)
		return -EINVAL;
	return w->ops->part_sync(w);
}

int blob_part_delete(struct blob_store *bs, int64_t tenant_id, const char *part_id)
{
	if (!bs)
		return -EINVAL;
	return bs->ops->part_delete(bs, tenant_id, part_id);
}

int blob_reader_open(struct blob_store *bs, int64_t tenant_id, const char *id, struct blob_reader **ret)
{
	if (!bs || !ret)
		return -EINVAL;
	return bs->ops->reader_open(bs, tenant_id, id, ret);
}

uint64_t blob_reader_size(const struct blob_reader *r)
{
	return r->ops->reader_size(r);
}

int blob_read_at(struct blob_reader *r, uint64_t offset, void *buf, size_t n, size_t *ret_n)
{
	if (!r || !ret_n)
		return -EINVAL;
	return r->ops->read_at(r, offset, buf, n, ret_n);
}

struct blob_reader *blob_reader_close(struct blob_reader *r)
{
	if (r)
		r->ops->reader_close(r);
	return NULL;
}

int blob_sweep_tmp(struct blob_store *bs, unsigned *ret_n)
{
	if (!bs)
		return -EINVAL;
	return bs->ops->sweep_tmp(bs, ret_n);
}

int blob_foreach(struct blob_store *bs, blob_each_fn fn, void *ctx)
{
	if (!bs || !fn)
		return -EINVAL;
	return bs->ops->foreach(bs, fn, ctx);
}

int blob_delete(struct blob_store *bs, int64_t tenant_id, const char *id)
{
	if (!bs)
		return -EINVAL;
	return bs->ops->delete(bs, tenant_id, id);
}

int blob_delete_tenant(struct blob_store *bs, int64_t tenant_id, unsigned *ret_n)
{
	if (!bs || !ret_n)
		return -EINVAL;
	return bs->ops->delete_tenant(bs, tenant_id, ret_n);
}
