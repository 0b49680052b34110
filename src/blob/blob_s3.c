/*
 * S3-compatible blob backend (issue 10): AWS S3, MinIO, Ceph RGW, anything that speaks the
 * S3 REST API with Signature Version 4.
 *
 * Layout in the bucket, under [blob] url = s3://BUCKET/PREFIX (keys "PREFIX/..." or, without
 * a prefix, "..."):
 *   PREFIX/<tenant_id>/<id>                          a committed blob (ciphertext)
 *   PREFIX/<tenant_id>/.part-<part_id>/<offset:020>  one synced piece of a resumable upload
 * Put: bytes gather in a buffer of [blob] part_mib. A blob that fits is one PutObject at
 * commit; a larger one becomes a multipart upload (CreateMultipartUpload at the first full
 * buffer, UploadPart for each, CompleteMultipartUpload at commit). S3 shows neither until
 * the PutObject or the Complete has answered 200, and both are durable then: blob.h's
 * contract holds. A failure aborts the multipart upload (AbortMultipartUpload); if even that
 * cannot reach the service, the unfinished upload is invisible under any key and
 * blob_sweep_tmp() (or the bucket's AbortIncompleteMultipartUpload rule) removes it.
 * Parts (resumable uploads): each blob_part_sync() writes what was appended since the last
 * one as a piece named by its offset; blob_part_open() lists the pieces, keeps the first
 * `keep` bytes (a piece across that point is read back and rewritten shorter) and deletes
 * the rest; the commit streams the pieces, in order, into a new blob through the put above
 * (a second transfer: UploadPartCopy would save it but needs pieces of at least 5 MiB,
 * which tus clients do not promise) and then deletes them, as the local rename does.
 * Get: HEAD for the size, then ranged GETs (Range: bytes=a-b) through a read-ahead window.
 * List: ListObjectsV2 with continuation tokens (blob_foreach, the tenant's erasure).
 * Every request is signed by hand with SigV4 (payload SHA-256 in x-amz-content-sha256),
 * retried on connection errors, 5xx and 429/SlowDown with exponential backoff and jitter
 * (KURA_S3_ATTEMPTS, KURA_S3_BACKOFF_MS..KURA_S3_BACKOFF_MAX_MS) and bounded in time
 * ([blob] timeout_seconds). Connections are kept for reuse (KURA_S3_HANDLES_MAX).
 * kura backup's hold (BLOB_BACKUP_HOLD) has no meaning here: deletions delete, and kura
 * backup refuses an S3 store (docs/scale-out.md: bucket versioning instead).
 *
 * SECURITY: only ciphertext is ever sent (the files module encrypts first). Keys are built
 * from the configured prefix (validated by config.c: no character needs escaping), decimal
 * tenant ids and ids of checked shape; no caller string reaches a URL. The secret key stays
 * in this struct (zeroed on close), is used only to derive the signing key and never logged;
 * error messages name the S3 error code, not the request's headers. TLS is verified (the
 * system's CAs or [blob] ca_file); plain http is accepted by config.c only for loopback.
 * Every answer is bounded: XML answers by KURA_S3_RESPONSE_MAX, object bytes by the range
 * asked for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "blob/blob_int.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "core/log.h"

#define S3_KEY_MAX 512
#define S3_UPLOAD_ID_MAX 1024
#define S3_TOKEN_MAX 2048
#define S3_READAHEAD (4u * 1024 * 1024)   /* one GET serves this much of a download */
#define S3_BUF_FIRST (64u * 1024)         /* a put buffer starts here and doubles up to part_mib */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define PART_PREFIX ".part-"

struct s3_store {
	struct blob_store base;
	char bucket[64], prefix[CONFIG_STR];
	char scheme[8], hostport[CONFIG_STR];   /* of the endpoint */
	char host[CONFIG_STR + 64];             /* Host: hostport or BUCKET.hostport */
	char region[64], access_key[CONFIG_STR], secret[CONFIG_STR], ca_file[CONFIG_STR];
	bool virtual_host;
	size_t part_size;
	long timeout_s;
	pthread_mutex_t lock;                      /* idle[] */
	CURL *idle[KURA_S3_HANDLES_MAX];
	unsigned n_idle;
};

struct s3_writer {
	struct blob_writer base;
	struct s3_store *s;
	int64_t tenant_id;
	bool failed, part;
	uint64_t size;             /* bytes of the blob (or part) so far */
	char id[BLOB_ID_LEN + 1];
	char key[S3_KEY_MAX];
	unsigned char *buf;        /* bytes not yet sent */
	size_t n, cap;
	char upload_id[S3_UPLOAD_ID_MAX];   /* "" until the blob needs a multipart upload */
	unsigned n_parts;
	struct dbuf complete;      /* CompleteMultipartUpload's body, part by part */
	char part_id[BLOB_ID_LEN + 1];
	uint64_t buf_start;        /* part: the offset of buf[0] */
};

struct s3_reader {
	struct blob_reader base;
	struct s3_store *s;
	uint64_t size;
	char key[S3_KEY_MAX];
	unsigned char *win;        /* read-ahead window: win_len bytes at win_off */
	uint64_t win_off;
	size_t win_len;
};

static const struct blob_ops s3_ops;

/* ---- one request ---- */

struct s3_req {
	const char *method;
	const char *key;           /* object key, NULL for the bucket */
	const char *query;         /* canonical query string (sorted, encoded) or NULL */
	const void *body;
	size_t body_len;
	const char *range;         /* "bytes=A-B" or NULL */
	/* the answer */
	long status;
	unsigned char *sink;       /* object bytes go here (at most sink_cap)... */
	size_t sink_cap, sink_len;
	struct dbuf resp;          /* ...else the (XML) body, bounded */
	char etag[256];
	curl_off_t length;         /* Content-Length, -1 unknown */
	size_t sent;               /* read callback position */
	bool overflow;
};

static void req_init(struct s3_req *q, const char *method, const char *key, const char *query)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->query = query;
	q->length = -1;
	dbuf_init(&q->resp, KURA_S3_RESPONSE_MAX);
}

static void req_done(struct s3_req *q)
{
	dbuf_free(&q->resp);
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct s3_req *q = user;
	size_t n = size * nmemb, left = q->body_len - q->sent;

	if (n > left)
		n = left;
	if (n)
		memcpy(ptr, (const unsigned char *)q->body + q->sent, n);
	q->sent += n;
	return n;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct s3_req *q = user;
	size_t n = size * nmemb;

	if (q->sink && q->status / 100 == 2) {
		if (n > q->sink_cap - q->sink_len) {
			q->overflow = true;
			return 0;   /* more than the range asked for: stop */
		}
		memcpy(q->sink + q->sink_len, ptr, n);
		q->sink_len += n;
		return n;
	}
	if (dbuf_add(&q->resp, ptr, n) < 0) {
		q->overflow = true;
		return 0;
	}
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct s3_req *q = user;
	size_t n = size * nmemb, k;

	if (n > 9 && !strncmp(ptr, "HTTP/", 5)) {
		/* a new answer (after a 100 Continue or a redirect): its status line */
		long st = 0;

		for (k = 0; k < n && ptr[k] != ' '; k++)
			;
		for (k++; k < n && ptr[k] >= '0' && ptr[k] <= '9'; k++)
			st = st * 10 + (ptr[k] - '0');
		q->status = st;
	} else if (n > 5 && !strncasecmp(ptr, "etag:", 5)) {
		for (k = 5; k < n && (ptr[k] == ' ' || ptr[k] == '\t'); k++)
			;
		size_t e = n;

		while (e > k && (ptr[e - 1] == '\r' || ptr[e - 1] == '\n' || ptr[e - 1] == ' '))
			e--;
		if (e - k < sizeof(q->etag)) {
			memcpy(q->etag, ptr + k, e - k);
			q->etag[e - k] = '\0';
		}
	}
	return n;
}

static void hex_sha256(const void *data, size_t n, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, n);
	hex_encode(h, sizeof(h), out);
}

static void hmac(unsigned char out[32], const unsigned char *key, size_t key_len, const char *msg)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* RFC 3986 unreserved characters kept, everything else %XX (SigV4's UriEncode). */
static int uri_encode(struct dbuf *b, const char *s, bool keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
			dbuf_add(b, s, 1);
		else
			dbuf_printf(b, "%%%c%c", hexd[c >> 4], hexd[c & 15]);
	}
	return dbuf_error(b);
}

/* The path of the request: /BUCKET/KEY (path style) or /KEY (virtual host). */
static int req_path(const struct s3_store *s, const char *key, struct dbuf *b)
{
	if (!s->virtual_host) {
		dbuf_puts(b, "/");
		dbuf_puts(b, s->bucket);
		if (key)
			dbuf_puts(b, "/");
	} else {
		dbuf_puts(b, "/");
	}
	if (key)
		uri_encode(b, key, true);
	return dbuf_error(b);
}

int blob_s3_sigv4(const struct blob_s3_sig *in, char *auth, size_t auth_size)
{
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	char date[9], canon_hash[65], sig_hex[65], kstart[CONFIG_STR + 8];
	struct dbuf c;
	int r;

	if (strlen(in->amz_date) != 16)
		return -EINVAL;
	memcpy(date, in->amz_date, 8);
	date[8] = '\0';
	dbuf_init(&c, 64 * 1024);
	dbuf_printf(&c, "%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\n"
			"host;x-amz-content-sha256;x-amz-date\n%s",
		    in->method, in->path, in->query ? in->query : "", in->host, in->payload_hash, in->amz_date,
		    in->payload_hash);
	r = dbuf_error(&c);
	if (r == 0)
		hex_sha256(dbuf_str(&c), dbuf_len(&c), canon_hash);
	dbuf_reset(&c);
	dbuf_printf(&c, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", in->amz_date, date, in->region,
		    canon_hash);
	if (r == 0)
		r = dbuf_error(&c);
	if (r == 0)
		r = str_printf(kstart, sizeof(kstart), "AWS4%s", in->secret);
	if (r == 0) {
		hmac(k1, (const unsigned char *)kstart, strlen(kstart), date);
		hmac(k2, k1, sizeof(k1), in->region);
		hmac(k3, k2, sizeof(k2), "s3");
		hmac(k4, k3, sizeof(k3), "aws4_request");
		hmac(sig, k4, sizeof(k4), dbuf_str(&c));
		hex_encode(sig, sizeof(sig), sig_hex);
		r = str_printf(auth, auth_size,
			       "AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
			       "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s",
			       in->access_key, date, in->region, sig_hex);
	}
	sodium_memzero(kstart, sizeof(kstart));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(k3, sizeof(k3));
	sodium_memzero(k4, sizeof(k4));
	dbuf_free(&c);
	return r;
}

/* The Authorization header of the request. */
static int sign(const struct s3_store *s, const struct s3_req *q, const char *path, const char *amz_date,
		const char *payload_hash, char *auth, size_t auth_size)
{
	int r = str_copy(auth, auth_size, "Authorization: ");

	if (r == 0)
		r = blob_s3_sigv4(&(struct blob_s3_sig){ .method = q->method, .path = path, .query = q->query,
							 .host = s->host, .payload_hash = payload_hash,
							 .amz_date = amz_date, .region = s->region,
							 .access_key = s->access_key, .secret = s->secret },
				  auth + strlen(auth), auth_size - strlen(auth));
	return r;
}

static CURL *handle_get(struct s3_store *s)
{
	CURL *h = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->n_idle)
		h = s->idle[--s->n_idle];
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void handle_put(struct s3_store *s, CURL *h)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_idle < KURA_S3_HANDLES_MAX) {
		s->idle[s->n_idle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (h)
		curl_easy_cleanup(h);
}

static bool retryable_status(long st, const struct s3_req *q)
{
	return st == 500 || st == 502 || st == 503 || st == 504 || st == 429 ||
	       (st == 200 && q->resp.n && strstr(dbuf_str(&q->resp), "<Error>"));   /* Complete's late error */
}

static bool retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void backoff(unsigned attempt)
{
	uint32_t delay = KURA_S3_BACKOFF_MS;
	struct timespec ts;

	while (attempt-- > 1 && delay < KURA_S3_BACKOFF_MAX_MS)
		delay *= 2;
	if (delay > KURA_S3_BACKOFF_MAX_MS)
		delay = KURA_S3_BACKOFF_MAX_MS;
	delay = delay / 2 + randombytes_uniform(delay / 2 + 1);   /* jitter: several nodes spread out */
	ts.tv_sec = delay / 1000;
	ts.tv_nsec = (long)(delay % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The value of <tag>...</tag> from the first such element at or after *pos (before end),
 * entities decoded; *pos moves past it. -ENOENT when there is none. */
static int xml_value(const char **pos, const char *end, const char *tag, char *out, size_t out_size)
{
	char open[64], close[66];
	const char *a, *b, *p;
	size_t n = 0;

	str_printf(open, sizeof(open), "<%s>", tag);
	str_printf(close, sizeof(close), "</%s>", tag);
	a = *pos ? strstr(*pos, open) : NULL;
	if (!a || a >= end)
		return -ENOENT;
	a += strlen(open);
	b = strstr(a, close);
	if (!b || b > end)
		return -ENOENT;
	for (p = a; p < b; p++) {
		char c = *p;

		if (c == '&') {
			static const struct { const char *ent; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
			};
			size_t i;

			for (i = 0; i < ARRAY_SIZE(ents); i++)
				if (!strncmp(p, ents[i].ent, strlen(ents[i].ent)))
					break;
			if (i == ARRAY_SIZE(ents))
				return -EBADMSG;
			c = ents[i].c;
			p += strlen(ents[i].ent) - 1;
		}
		if (n + 1 >= out_size)
			return -E2BIG;
		out[n++] = c;
	}
	out[n] = '\0';
	*pos = b + strlen(close);
	return 0;
}

/* Sends the request, retrying what may pass (connection errors, 5xx, 429/SlowDown) up to
 * KURA_S3_ATTEMPTS times. 0 with q->status set (any final HTTP answer), -EIO when none came. */
static int s3_do(struct s3_store *s, struct s3_req *q)
{
	char payload_hash[65], amz_date[17], auth[1024], hdr[CONFIG_STR + 128], range[96];
	char curl_err[CURL_ERROR_SIZE];
	struct dbuf path, url;
	unsigned attempt;
	CURLcode c = CURLE_OK;
	int r;

	if (q->body_len)
		hex_sha256(q->body, q->body_len, payload_hash);
	else
		str_copy(payload_hash, sizeof(payload_hash), EMPTY_SHA256);
	dbuf_init(&path, S3_KEY_MAX * 3 + 128);
	dbuf_init(&url, S3_KEY_MAX * 3 + S3_TOKEN_MAX * 3 + 512);
	r = req_path(s, q->key, &path);
	dbuf_printf(&url, "%s://%s%s%s%s", s->scheme, s->host, dbuf_str(&path), q->query && *q->query ? "?" : "",
		    q->query ? q->query : "");
	if (r == 0)
		r = dbuf_error(&url);
	for (attempt = 1; r == 0 && attempt <= KURA_S3_ATTEMPTS; attempt++) {
		struct curl_slist *headers = NULL, *tmp;
		struct tm tm;
		time_t now = time(NULL);
		CURL *h;

		if (attempt > 1)
			backoff(attempt - 1);
		h = handle_get(s);
		if (!h) {
			r = -ENOMEM;
			break;
		}
		q->status = 0;
		q->sent = 0;
		q->sink_len = 0;
		q->overflow = false;
		q->etag[0] = '\0';
		dbuf_reset(&q->resp);
		gmtime_r(&now, &tm);
		strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
		r = sign(s, q, dbuf_str(&path), amz_date, payload_hash, auth, sizeof(auth));
		if (r < 0) {
			handle_put(s, h);
			break;
		}
		str_printf(hdr, sizeof(hdr), "Host: %s", s->host);
		headers = curl_slist_append(headers, hdr);
		str_printf(hdr, sizeof(hdr), "x-amz-date: %s", amz_date);
		if (headers && (tmp = curl_slist_append(headers, hdr)))
			headers = tmp;
		str_printf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", payload_hash);
		if (headers && (tmp = curl_slist_append(headers, hdr)))
			headers = tmp;
		if (headers && (tmp = curl_slist_append(headers, auth)))
			headers = tmp;
		if (headers && (tmp = curl_slist_append(headers, "Expect:")))
			headers = tmp;
		if (q->range) {
			str_printf(range, sizeof(range), "Range: %s", q->range);
			if (headers && (tmp = curl_slist_append(headers, range)))
				headers = tmp;
		}
		sodium_memzero(auth, sizeof(auth));
		curl_err[0] = '\0';
		curl_easy_setopt(h, CURLOPT_URL, dbuf_str(&url));
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)KURA_S3_CONNECT_TIMEOUT_S);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, s->timeout_s);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
		if (s->ca_file[0])
			curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
		if (!strcmp(q->method, "HEAD")) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (!strcmp(q->method, "PUT") || !strcmp(q->method, "POST")) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, q);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
		} else if (strcmp(q->method, "GET")) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
		}
		c = headers ? curl_easy_perform(h) : CURLE_OUT_OF_MEMORY;
		curl_slist_free_all(headers);
		if (c == CURLE_OK) {
			long st = 0;
			curl_off_t len = -1;

			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
			curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
			q->status = st;
			q->length = len;
		}
		handle_put(s, h);
		if (c == CURLE_OK && !retryable_status(q->status, q))
			break;
		if (c != CURLE_OK && c != CURLE_WRITE_ERROR && !retryable_curl(c)) {
			log_error("blob.s3", "%s %s: %s", q->method, q->key ? q->key : s->bucket,
				  curl_err[0] ? curl_err : curl_easy_strerror(c));
			r = -EIO;
			break;
		}
		if (c == CURLE_WRITE_ERROR && q->overflow) {
			log_error("blob.s3", "%s %s: the answer is larger than asked for", q->method,
				  q->key ? q->key : s->bucket);
			r = -EIO;
			break;
		}
		if (c != CURLE_OK)
			log_warn("blob.s3", "%s %s: %s (try %u of %u)", q->method, q->key ? q->key : s->bucket,
				 curl_err[0] ? curl_err : curl_easy_strerror(c), attempt, KURA_S3_ATTEMPTS);
		else
			log_warn("blob.s3", "%s %s: HTTP %ld (try %u of %u)", q->method, q->key ? q->key : s->bucket,
				 q->status, attempt, KURA_S3_ATTEMPTS);
		if (attempt == KURA_S3_ATTEMPTS)
			r = -EIO;
	}
	dbuf_free(&path);
	dbuf_free(&url);
	return r;
}

/* Maps a final answer to 0 (2xx) or an errno, logging S3's error code. */
static int s3_status(const struct s3_store *s, const struct s3_req *q, const char *what)
{
	char code[128] = "";
	const char *p = dbuf_str(&q->resp);

	if (q->status / 100 == 2 && !(q->resp.n && strstr(p, "<Error>")))
		return 0;
	if (q->status == 404)
		return -ENOENT;
	xml_value(&p, p + dbuf_len(&q->resp), "Code", code, sizeof(code));
	log_error("blob.s3", "%s %s: HTTP %ld %s", what, q->key ? q->key : s->bucket, q->status, code);
	if (q->status == 403)
		return -EACCES;
	if (q->status == 416)
		return -ERANGE;
	return -EIO;
}

/* One request whose answer is 2xx or an error code. */
static int s3_simple(struct s3_store *s, const char *method, const char *key, const char *query,
		     const void *body, size_t body_len, struct s3_req *ret_q)
{
	struct s3_req q;
	int r;

	req_init(&q, method, key, query);
	q.body = body;
	q.body_len = body_len;
	r = s3_do(s, &q);
	if (r == 0)
		r = s3_status(s, &q, method);
	if (ret_q && r == 0)
		*ret_q = q;
	else
		req_done(&q);
	return r;
}

/* ---- keys ---- */

static int tenant_key(const struct s3_store *s, int64_t tenant_id, const char *rest, char *buf, size_t size)
{
	if (tenant_id <= 0)
		return -EINVAL;
	return str_printf(buf, size, "%s%s%lld/%s", s->prefix, s->prefix[0] ? "/" : "", (long long)tenant_id, rest);
}

static int blob_key(const struct s3_store *s, int64_t tenant_id, const char *id, char *buf, size_t size)
{
	if (!blob_id_valid(id))
		return -EINVAL;
	return tenant_key(s, tenant_id, id, buf, size);
}

static int piece_dir(const struct s3_store *s, int64_t tenant_id, const char *part_id, char *buf, size_t size)
{
	char rest[64];

	if (!blob_id_valid(part_id))
		return -EINVAL;
	str_printf(rest, sizeof(rest), PART_PREFIX "%s/", part_id);
	return tenant_key(s, tenant_id, rest, buf, size);
}

/* ---- list ---- */

typedef int (*list_fn)(void *ctx, const char *key, int64_t mtime_us, uint64_t size);

static int64_t parse_time(const char *v)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;

	if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) * 1000000;
}

/* Calls fn for every key under prefix (ListObjectsV2, 1000 a page, continuation tokens). */
static int s3_list(struct s3_store *s, const char *prefix, list_fn fn, void *ctx)
{
	char token[S3_TOKEN_MAX] = "", key[S3_KEY_MAX], mod[64], size[32], trunc[8];
	struct dbuf query;
	int r = 0;

	dbuf_init(&query, S3_TOKEN_MAX * 3 + S3_KEY_MAX * 3 + 128);
	do {
		struct s3_req q;
		const char *p, *end, *c;

		dbuf_reset(&query);
		if (token[0]) {
			dbuf_puts(&query, "continuation-token=");
			uri_encode(&query, token, false);
			dbuf_puts(&query, "&");
		}
		dbuf_puts(&query, "list-type=2&max-keys=1000&prefix=");
		uri_encode(&query, prefix, false);
		r = dbuf_error(&query);
		if (r < 0)
			break;
		r = s3_simple(s, "GET", NULL, dbuf_str(&query), NULL, 0, &q);
		if (r < 0)
			break;
		p = dbuf_str(&q.resp);
		end = p + dbuf_len(&q.resp);
		c = p;
		trunc[0] = '\0';
		token[0] = '\0';
		{
			const char *t = p;

			if (xml_value(&t, end, "IsTruncated", trunc, sizeof(trunc)) == 0 && !strcmp(trunc, "true")) {
				t = p;
				if (xml_value(&t, end, "NextContinuationToken", token, sizeof(token)) < 0)
					token[0] = '\0';
			}
		}
		while (r == 0 && (c = strstr(c, "<Contents>")) != NULL) {
			const char *ce = strstr(c, "</Contents>"), *f;
			int64_t sz = 0;

			if (!ce) {
				r = -EBADMSG;
				break;
			}
			f = c;
			if (xml_value(&f, ce, "Key", key, sizeof(key)) < 0) {
				c = ce;
				continue;
			}
			f = c;
			mod[0] = size[0] = '\0';
			xml_value(&f, ce, "LastModified", mod, sizeof(mod));
			f = c;
			xml_value(&f, ce, "Size", size, sizeof(size));
			if (safe_atoi64(size, &sz) < 0 || sz < 0)
				sz = 0;
			r = fn(ctx, key, parse_time(mod), (uint64_t)sz);
			c = ce;
		}
		req_done(&q);
		if (r == 0 && !strcmp(trunc, "true") && !token[0])
			r = -EBADMSG;   /* truncated without a way on: stop rather than loop */
	} while (r == 0 && token[0]);
	dbuf_free(&query);
	return r;
}

/* ---- store ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void s3_close(struct blob_store *bs);

struct blob_store *blob_open_s3(const struct blob_s3_settings *set, char *err, size_t err_size)
{
	struct s3_store *s;
	const char *u, *slash, *hp;
	struct s3_req q;
	int r;

	pthread_once(&curl_once, curl_init);
	if (curl_rc != CURLE_OK) {
		str_copy(err, err_size, "cannot initialise libcurl");
		return NULL;
	}
	if (!set || strncmp(set->url, "s3://", 5) || set->part_mib < KURA_S3_PART_MIB_MIN ||
	    set->part_mib > KURA_S3_PART_MIB_MAX) {
		str_copy(err, err_size, "[blob] url must be s3://BUCKET[/PREFIX]");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		str_copy(err, err_size, "out of memory");
		return NULL;
	}
	s->base.ops = &s3_ops;
	pthread_mutex_init(&s->lock, NULL);
	u = set->url + 5;
	slash = strchr(u, '/');
	hp = strstr(set->endpoint, "://");
	r = 0;
	if (!hp || (size_t)(slash ? slash - u : (ptrdiff_t)strlen(u)) >= sizeof(s->bucket))
		r = -EINVAL;
	if (r == 0) {
		memcpy(s->bucket, u, slash ? (size_t)(slash - u) : strlen(u));
		r = str_copy(s->prefix, sizeof(s->prefix), slash ? slash + 1 : "");
	}
	if (r == 0 && (size_t)(hp - set->endpoint) < sizeof(s->scheme)) {
		memcpy(s->scheme, set->endpoint, (size_t)(hp - set->endpoint));
		r = str_copy(s->hostport, sizeof(s->hostport), hp + 3);
	} else if (r == 0) {
		r = -EINVAL;
	}
	s->virtual_host = set->addressing && !strcmp(set->addressing, "virtual");
	if (r == 0)
		r = s->virtual_host ? str_printf(s->host, sizeof(s->host), "%s.%s", s->bucket, s->hostport)
				    : str_copy(s->host, sizeof(s->host), s->hostport);
	if (r == 0)
		r = str_copy(s->region, sizeof(s->region), set->region);
	if (r == 0)
		r = str_copy(s->access_key, sizeof(s->access_key), set->access_key);
	if (r == 0)
		r = str_copy(s->secret, sizeof(s->secret), set->secret_key);
	if (r == 0)
		r = str_copy(s->ca_file, sizeof(s->ca_file), set->ca_file ? set->ca_file : "");
	if (r < 0) {
		str_copy(err, err_size, "[blob] settings do not fit");
		goto fail;
	}
	s->part_size = (size_t)set->part_mib * 1024 * 1024;
	s->timeout_s = (long)set->timeout_s;
	/* the bucket must answer now: a wrong endpoint, key or bucket stops the start, not the
	 * first upload */
	req_init(&q, "GET", NULL, "list-type=2&max-keys=1&prefix=");
	r = s3_do(s, &q);
	if (r == 0)
		r = s3_status(s, &q, "bucket check");
	req_done(&q);
	if (r < 0) {
		str_printf(err, err_size, "S3 bucket %s at %s does not answer a listing (%s); check [blob] url, "
			   "endpoint, region and the keys", s->bucket, set->endpoint,
			   r == -ENOENT ? "no such bucket" : r == -EACCES ? "access denied" : "request failed");
		goto fail;
	}
	blob_fault_from_env();
	log_info("blob.open", "blob store: S3 bucket %s%s%s at %s (%s addressing, %u MiB parts)", s->bucket,
		 s->prefix[0] ? " prefix " : "", s->prefix, set->endpoint, s->virtual_host ? "virtual" : "path",
		 set->part_mib);
	return &s->base;
fail:
	s3_close(&s->base);
	return NULL;
}

static void s3_close(struct blob_store *bs)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	unsigned i;

	for (i = 0; i < s->n_idle; i++)
		curl_easy_cleanup(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	sodium_memzero(s->secret, sizeof(s->secret));
	free(s);
}

/* ---- put ---- */

static struct s3_writer *writer_new(struct s3_store *s, int64_t tenant_id)
{
	struct s3_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->base.ops = &s3_ops;
	w->s = s;
	w->tenant_id = tenant_id;
	dbuf_init(&w->complete, (size_t)KURA_S3_PARTS_MAX * 400 + 256);
	blob_new_id(w->id);
	return w;
}

static void writer_free(struct s3_writer *w)
{
	dbuf_free(&w->complete);
	free(w->buf);
	free(w);
}

static int s3_writer_open(struct blob_store *bs, int64_t tenant_id, struct blob_writer **ret)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	struct s3_writer *w;
	int r;

	if (tenant_id <= 0)
		return -EINVAL;
	w = writer_new(s, tenant_id);
	if (!w)
		return -ENOMEM;
	r = blob_key(s, tenant_id, w->id, w->key, sizeof(w->key));
	if (r < 0) {
		writer_free(w);
		return r;
	}
	*ret = &w->base;
	return 0;
}

static const char *s3_writer_id(const struct blob_writer *bw)
{
	return ((const struct s3_writer *)(const void *)bw)->id;
}

static uint64_t s3_writer_size(const struct blob_writer *bw)
{
	return ((const struct s3_writer *)(const void *)bw)->size;
}

/* Sends the full buffer as the next part of the multipart upload (started now if need be). */
static int upload_part(struct s3_writer *w)
{
	char query[S3_UPLOAD_ID_MAX * 3 + 64];
	struct dbuf qb;
	struct s3_req q;
	int r;

	if (!w->upload_id[0]) {
		const char *p, *end;

		r = s3_simple(w->s, "POST", w->key, "uploads=", NULL, 0, &q);
		if (r < 0)
			return r;
		p = dbuf_str(&q.resp);
		end = p + dbuf_len(&q.resp);
		r = xml_value(&p, end, "UploadId", w->upload_id, sizeof(w->upload_id));
		req_done(&q);
		if (r < 0 || !w->upload_id[0]) {
			log_error("blob.s3", "CreateMultipartUpload %s: no UploadId in the answer", w->key);
			w->upload_id[0] = '\0';
			return -EIO;
		}
		dbuf_puts(&w->complete, "<CompleteMultipartUpload>");
	}
	if (w->n_parts >= KURA_S3_PARTS_MAX)
		return -EFBIG;
	dbuf_init(&qb, sizeof(query));
	dbuf_printf(&qb, "partNumber=%u&uploadId=", w->n_parts + 1);
	uri_encode(&qb, w->upload_id, false);
	r = dbuf_error(&qb);
	if (r == 0)
		r = str_copy(query, sizeof(query), dbuf_str(&qb));
	dbuf_free(&qb);
	if (r < 0)
		return r;
	req_init(&q, "PUT", w->key, query);
	q.body = w->buf;
	q.body_len = w->n;
	r = s3_do(w->s, &q);
	if (r == 0)
		r = s3_status(w->s, &q, "UploadPart");
	if (r == 0 && !q.etag[0])
		r = -EIO;
	if (r == 0) {
		w->n_parts++;
		dbuf_printf(&w->complete, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", w->n_parts,
			    q.etag);
		r = dbuf_error(&w->complete);
	}
	req_done(&q);
	if (r == 0)
		w->n = 0;
	return r;
}

static void abort_upload(struct s3_writer *w)
{
	struct dbuf qb;

	if (!w->upload_id[0])
		return;
	dbuf_init(&qb, S3_UPLOAD_ID_MAX * 3 + 16);
	dbuf_puts(&qb, "uploadId=");
	uri_encode(&qb, w->upload_id, false);
	if (dbuf_error(&qb) == 0 && s3_simple(w->s, "DELETE", w->key, dbuf_str(&qb), NULL, 0, NULL) < 0)
		log_warn("blob.s3", "unfinished upload of %s left to the sweep", w->key);
	dbuf_free(&qb);
	w->upload_id[0] = '\0';
}

/* Sends a piece of a part: buf at buf_start. */
static int flush_piece(struct s3_writer *w)
{
	char key[S3_KEY_MAX], dir[S3_KEY_MAX];
	int r;

	if (w->n == 0)
		return 0;
	r = piece_dir(w->s, w->tenant_id, w->part_id, dir, sizeof(dir));
	if (r == 0)
		r = str_printf(key, sizeof(key), "%s%020llu", dir, (unsigned long long)w->buf_start);
	if (r == 0)
		r = s3_simple(w->s, "PUT", key, NULL, w->buf, w->n, NULL);
	if (r == 0) {
		w->buf_start += w->n;
		w->n = 0;
	}
	return r;
}

static int s3_write(struct blob_writer *bw, const void *data, size_t n)
{
	struct s3_writer *w = (struct s3_writer *)(void *)bw;
	const unsigned char *p = data;
	int r;

	if (w->failed)
		return -EINVAL;
	if (blob_fault_hit(BLOB_FAULT_WRITE)) {   /* the nth blob_write, as the nth write(2) locally */
		w->failed = true;
		return -ENOSPC;
	}
	while (n > 0) {
		size_t k;

		if (w->n == w->cap && w->cap < w->s->part_size) {
			size_t cap = w->cap ? w->cap * 2 : S3_BUF_FIRST;
			unsigned char *nb;

			if (cap > w->s->part_size)
				cap = w->s->part_size;
			nb = realloc(w->buf, cap);
			if (!nb) {
				w->failed = true;
				return -ENOMEM;
			}
			w->buf = nb;
			w->cap = cap;
		}
		if (w->n == w->cap) {
			r = w->part ? flush_piece(w) : upload_part(w);
			if (r < 0) {
				w->failed = true;
				return r;
			}
		}
		k = w->cap - w->n;
		if (k > n)
			k = n;
		memcpy(w->buf + w->n, p, k);
		w->n += k;
		w->size += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int commit_part(struct s3_writer *w);

static int s3_commit(struct blob_writer *bw)
{
	struct s3_writer *w = (struct s3_writer *)(void *)bw;
	int r;

	if (w->part)
		return commit_part(w);
	if (w->failed) {
		r = -EIO;
		goto out;
	}
	if (blob_fault_hit(BLOB_FAULT_FSYNC) || blob_fault_hit(BLOB_FAULT_RENAME)) {
		r = -EIO;
		goto out;
	}
	if (!w->upload_id[0]) {
		/* fits one buffer: one PutObject, visible and durable when it answers */
		r = s3_simple(w->s, "PUT", w->key, NULL, w->buf, w->n, NULL);
		goto out;
	}
	r = w->n ? upload_part(w) : 0;
	if (r == 0) {
		struct dbuf qb;

		dbuf_puts(&w->complete, "</CompleteMultipartUpload>");
		dbuf_init(&qb, S3_UPLOAD_ID_MAX * 3 + 16);
		dbuf_puts(&qb, "uploadId=");
		uri_encode(&qb, w->upload_id, false);
		r = dbuf_error(&w->complete);
		if (r == 0)
			r = dbuf_error(&qb);
		if (r == 0)
			r = s3_simple(w->s, "POST", w->key, dbuf_str(&qb), dbuf_str(&w->complete),
				      dbuf_len(&w->complete), NULL);
		dbuf_free(&qb);
		if (r == -ENOENT && s3_simple(w->s, "HEAD", w->key, NULL, NULL, 0, NULL) == 0)
			r = 0;   /* a retried Complete whose first try went through (its answer was lost) */
		if (r == 0)
			w->upload_id[0] = '\0';   /* complete: nothing to abort */
	}
out:
	if (r < 0) {
		log_error("blob.s3", "the blob %s of tenant %lld was not stored: %s", w->id, (long long)w->tenant_id,
			  strerror(-r));
		abort_upload(w);
	}
	writer_free(w);
	return r < 0 ? (r == -ENOENT ? -EIO : r) : 0;
}

static void s3_abort(struct blob_writer *bw)
{
	struct s3_writer *w = (struct s3_writer *)(void *)bw;

	if (!w->part)
		abort_upload(w);
	writer_free(w);   /* a part's synced pieces stay */
}

/* ---- parts ---- */

struct piece {
	uint64_t off, size;
};

struct pieces {
	const char *dir;
	struct dbuf list;   /* struct piece[] in listing order (keys sort by offset) */
	int bad;
};

static int piece_cb(void *ctx, const char *key, int64_t mtime_us, uint64_t size)
{
	struct pieces *ps = ctx;
	struct piece p = { 0, size };
	const char *name = key + strlen(ps->dir);
	int64_t off;

	(void)mtime_us;
	if (strncmp(key, ps->dir, strlen(ps->dir)) || strlen(name) != 20 || safe_atoi64(name, &off) < 0 || off < 0) {
		ps->bad++;
		return 0;
	}
	p.off = (uint64_t)off;
	return dbuf_add(&ps->list, &p, sizeof(p));
}

static int list_pieces(struct s3_store *s, const char *dir, struct pieces *ps)
{
	ps->dir = dir;
	ps->bad = 0;
	dbuf_init(&ps->list, (size_t)KURA_S3_PARTS_MAX * 16 * sizeof(struct piece));
	return s3_list(s, dir, piece_cb, ps);
}

static int delete_piece(struct s3_store *s, const char *dir, uint64_t off)
{
	char key[S3_KEY_MAX];
	int r = str_printf(key, sizeof(key), "%s%020llu", dir, (unsigned long long)off);

	return r < 0 ? r : s3_simple(s, "DELETE", key, NULL, NULL, 0, NULL);
}

/* Reads [off, off + n) of key into buf (n exactly, else -EIO). */
static int get_range(struct s3_store *s, const char *key, uint64_t off, void *buf, size_t n)
{
	char range[64];
	struct s3_req q;
	int r;

	if (n == 0)
		return 0;
	str_printf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
		   (unsigned long long)(off + n - 1));
	req_init(&q, "GET", key, NULL);
	q.range = range;
	q.sink = buf;
	q.sink_cap = n;
	r = s3_do(s, &q);
	if (r == 0)
		r = s3_status(s, &q, "GET");
	if (r == 0 && q.sink_len != n) {
		log_error("blob.s3", "GET %s: %zu bytes of %zu", key, q.sink_len, n);
		r = -EIO;
	}
	req_done(&q);
	return r;
}

static int s3_part_open(struct blob_store *bs, int64_t tenant_id, const char *part_id, uint64_t keep,
			struct blob_writer **ret)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char dir[S3_KEY_MAX];
	struct pieces ps = { 0 };
	struct s3_writer *w = NULL;
	const struct piece *p;
	uint64_t at = 0;
	size_t i, n;
	int r;

	if (keep > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = piece_dir(s, tenant_id, part_id, dir, sizeof(dir));
	if (r < 0)
		return r;
	w = writer_new(s, tenant_id);
	if (!w)
		return -ENOMEM;
	w->part = true;
	str_copy(w->part_id, sizeof(w->part_id), part_id);
	r = blob_key(s, tenant_id, w->id, w->key, sizeof(w->key));
	if (r == 0)
		r = list_pieces(s, dir, &ps);
	if (r < 0)
		goto out;
	p = (const struct piece *)(const void *)dbuf_str(&ps.list);
	n = dbuf_len(&ps.list) / sizeof(*p);
	/* the pieces in order: contiguous from 0 up to the end of what was synced */
	for (i = 0; i < n && p[i].off == at && at < keep; i++)
		at += p[i].size;
	if (at < keep) {
		r = keep == 0 ? 0 : -ENOENT;   /* shorter than recorded: lost */
		if (r < 0)
			goto out;
	}
	/* i pieces cover [0, at) with at >= keep; the last may reach past keep: read back its
	 * kept head into the buffer (rewritten at the next sync), then drop it and the rest */
	if (at > keep) {
		const struct piece *last = &p[i - 1];
		size_t head = (size_t)(keep - last->off);

		w->cap = w->s->part_size;
		w->buf = malloc(w->cap);
		if (!w->buf) {
			r = -ENOMEM;
			goto out;
		}
		if (head) {
			char key[S3_KEY_MAX];

			r = str_printf(key, sizeof(key), "%s%020llu", dir, (unsigned long long)last->off);
			if (r == 0)
				r = get_range(s, key, 0, w->buf, head);
		}
		if (r < 0)
			goto out;
		w->n = head;
		w->buf_start = last->off;
		i--;
	} else {
		w->buf_start = keep;
	}
	for (; r == 0 && i < n; i++)
		r = delete_piece(s, dir, p[i].off);
	if (r < 0)
		goto out;
	w->size = keep;
	*ret = &w->base;
	w = NULL;
out:
	dbuf_free(&ps.list);
	if (w)
		writer_free(w);
	return r;
}

static int s3_part_sync(struct blob_writer *bw)
{
	struct s3_writer *w = (struct s3_writer *)(void *)bw;
	int r;

	if (!w->part || w->failed)
		return -EINVAL;
	if (blob_fault_hit(BLOB_FAULT_FSYNC)) {
		w->failed = true;
		return -EIO;
	}
	r = flush_piece(w);
	if (r < 0) {
		w->failed = true;   /* like a failed fsync: the writer is done */
		return -EIO;
	}
	return 0;
}

/* The part's pieces, in order, into a new blob under w->id; then the pieces go. */
static int commit_part(struct s3_writer *w)
{
	struct s3_store *s = w->s;
	char dir[S3_KEY_MAX], key[S3_KEY_MAX];
	struct pieces ps = { 0 };
	struct s3_writer *out = NULL;
	const struct piece *p;
	unsigned char *buf = NULL;
	uint64_t at = 0;
	size_t i, n;
	int r;

	r = w->failed ? -EIO : flush_piece(w);
	if (r == 0)
		r = piece_dir(s, w->tenant_id, w->part_id, dir, sizeof(dir));
	if (r == 0)
		r = list_pieces(s, dir, &ps);
	if (r < 0)
		goto done;
	out = writer_new(s, w->tenant_id);
	buf = malloc(S3_READAHEAD);
	if (!out || !buf) {
		r = -ENOMEM;
		goto done;
	}
	str_copy(out->id, sizeof(out->id), w->id);
	str_copy(out->key, sizeof(out->key), w->key);
	p = (const struct piece *)(const void *)dbuf_str(&ps.list);
	n = dbuf_len(&ps.list) / sizeof(*p);
	for (i = 0; r == 0 && i < n; i++) {
		uint64_t done_here = 0;

		if (p[i].off != at) {
			r = -EIO;   /* a hole: never happens through blob_part_open */
			break;
		}
		r = str_printf(key, sizeof(key), "%s%020llu", dir, (unsigned long long)p[i].off);
		while (r == 0 && done_here < p[i].size) {
			size_t k = p[i].size - done_here > S3_READAHEAD ? S3_READAHEAD : (size_t)(p[i].size - done_here);

			r = get_range(s, key, done_here, buf, k);
			if (r == 0)
				r = s3_write(&out->base, buf, k);
			done_here += k;
		}
		at += p[i].size;
	}
	if (r == 0 && at != w->size)
		r = -EIO;
	if (r == 0) {
		r = s3_commit(&out->base);
		out = NULL;
	}
	if (r == 0)
		for (i = 0; i < n; i++)
			if (delete_piece(s, dir, p[i].off) < 0)
				log_warn("blob.s3", "a piece of part %s is left behind", w->part_id);
done:
	if (out)
		s3_abort(&out->base);
	free(buf);
	dbuf_free(&ps.list);
	writer_free(w);
	return r;
}

static int s3_part_delete(struct blob_store *bs, int64_t tenant_id, const char *part_id)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char dir[S3_KEY_MAX];
	struct pieces ps = { 0 };
	const struct piece *p;
	size_t i, n;
	int r = piece_dir(s, tenant_id, part_id, dir, sizeof(dir));

	if (r < 0)
		return r;
	r = list_pieces(s, dir, &ps);
	p = (const struct piece *)(const void *)dbuf_str(&ps.list);
	n = dbuf_len(&ps.list) / sizeof(*p);
	if (r == 0 && n == 0 && ps.bad == 0)
		r = -ENOENT;
	for (i = 0; r == 0 && i < n; i++)
		r = delete_piece(s, dir, p[i].off);
	dbuf_free(&ps.list);
	return r;
}

/* ---- get ---- */

static int s3_reader_open(struct blob_store *bs, int64_t tenant_id, const char *id, struct blob_reader **ret)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	struct s3_reader *rd;
	struct s3_req q;
	int r;

	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->base.ops = &s3_ops;
	rd->s = s;
	r = blob_key(s, tenant_id, id, rd->key, sizeof(rd->key));
	if (r < 0) {
		free(rd);
		return r;
	}
	req_init(&q, "HEAD", rd->key, NULL);
	r = s3_do(s, &q);
	if (r == 0)
		r = s3_status(s, &q, "HEAD");
	if (r == 0 && q.length < 0)
		r = -EIO;
	if (r == 0)
		rd->size = (uint64_t)q.length;
	req_done(&q);
	if (r < 0) {
		free(rd);
		return r;
	}
	*ret = &rd->base;
	return 0;
}

static uint64_t s3_reader_size(const struct blob_reader *br)
{
	return ((const struct s3_reader *)(const void *)br)->size;
}

static int s3_read_at(struct blob_reader *br, uint64_t offset, void *buf, size_t n, size_t *ret_n)
{
	struct s3_reader *rd = (struct s3_reader *)(void *)br;
	size_t want;
	int r;

	if (offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (offset >= rd->size || n == 0) {
		*ret_n = 0;
		return 0;
	}
	want = rd->size - offset < n ? (size_t)(rd->size - offset) : n;
	if (rd->win && offset >= rd->win_off && offset + want <= rd->win_off + rd->win_len) {
		memcpy(buf, rd->win + (offset - rd->win_off), want);
		*ret_n = want;
		return 0;
	}
	if (want >= S3_READAHEAD) {
		r = get_range(rd->s, rd->key, offset, buf, want);
	} else {
		size_t wl = rd->size - offset < S3_READAHEAD ? (size_t)(rd->size - offset) : S3_READAHEAD;

		if (!rd->win && !(rd->win = malloc(S3_READAHEAD)))
			return -ENOMEM;
		rd->win_len = 0;
		r = get_range(rd->s, rd->key, offset, rd->win, wl);
		if (r == 0) {
			rd->win_off = offset;
			rd->win_len = wl;
			memcpy(buf, rd->win, want);
		}
	}
	if (r == 0)
		*ret_n = want;
	return r == -ENOENT || r == -ERANGE ? -EIO : r;
}

static void s3_reader_close(struct blob_reader *br)
{
	struct s3_reader *rd = (struct s3_reader *)(void *)br;

	free(rd->win);
	free(rd);
}

/* ---- delete, list ---- */

static int s3_delete(struct blob_store *bs, int64_t tenant_id, const char *id)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char key[S3_KEY_MAX];
	int r = blob_key(s, tenant_id, id, key, sizeof(key));

	/* DELETE answers 204 for a missing key too; blob.h promises -ENOENT for it */
	if (r == 0)
		r = s3_simple(s, "HEAD", key, NULL, NULL, 0, NULL);
	if (r == 0)
		r = s3_simple(s, "DELETE", key, NULL, NULL, 0, NULL);
	return r;
}

struct each_ctx {
	struct s3_store *s;
	blob_each_fn fn;
	void *ctx;
	const char *prefix;   /* PREFIX/ (or ""), plen bytes */
	size_t plen;
};

/* PREFIX/<tenant>/<id> → fn; everything else (pieces, foreign keys) is passed over. */
static int each_cb(void *ctx, const char *key, int64_t mtime_us, uint64_t size)
{
	struct each_ctx *e = ctx;
	const char *rest, *slash;
	char tid[24];
	int64_t tenant;

	(void)size;
	/* the listing asked for the prefix, but its answer is the server's: a key without it
	 * (shorter, or another's) is passed over, never read past */
	if (strncmp(key, e->prefix, e->plen) != 0)
		return 0;
	rest = key + e->plen;
	slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof(tid) || rest[0] < '1' || rest[0] > '9')
		return 0;
	memcpy(tid, rest, (size_t)(slash - rest));
	tid[slash - rest] = '\0';
	if (safe_atoi64(tid, &tenant) < 0 || tenant <= 0 || !blob_id_valid(slash + 1))
		return 0;
	return e->fn(e->ctx, tenant, slash + 1, mtime_us);
}

static int s3_foreach(struct blob_store *bs, blob_each_fn fn, void *ctx)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char prefix[S3_KEY_MAX];
	struct each_ctx e = { s, fn, ctx, prefix, 0 };

	str_printf(prefix, sizeof(prefix), "%s%s", s->prefix, s->prefix[0] ? "/" : "");
	e.plen = strlen(prefix);
	return s3_list(s, prefix, each_cb, &e);
}

struct del_ctx {
	struct s3_store *s;
	unsigned n;
	const char *prefix;   /* the tenant's PREFIX/<tenant>/: nothing else is deleted */
};

static int del_cb(void *ctx, const char *key, int64_t mtime_us, uint64_t size)
{
	struct del_ctx *d = ctx;
	int r;

	(void)mtime_us;
	(void)size;
	if (strncmp(key, d->prefix, strlen(d->prefix)) != 0)
		return 0;   /* the server's answer named a key outside the tenant's prefix */
	r = s3_simple(d->s, "DELETE", key, NULL, NULL, 0, NULL);
	if (r == 0)
		d->n++;
	return r == -ENOENT ? 0 : r;
}

/* Unfinished multipart uploads under prefix started before before_s (0: all) are aborted.
 * A service without ListMultipartUploads (s3rver) leaves them to the bucket's
 * AbortIncompleteMultipartUpload rule: 0 with nothing done. */
static int abort_uploads(struct s3_store *s, const char *prefix, time_t before_s, unsigned *ret_n)
{
	char key[S3_KEY_MAX], upload[S3_UPLOAD_ID_MAX], init[64];
	struct dbuf query;
	struct s3_req q;
	const char *c, *end;
	int r;

	*ret_n = 0;
	dbuf_init(&query, S3_KEY_MAX * 3 + 64);
	dbuf_puts(&query, "prefix=");
	uri_encode(&query, prefix, false);
	dbuf_puts(&query, "&uploads=");
	r = dbuf_error(&query);
	req_init(&q, "GET", NULL, dbuf_str(&query));
	if (r == 0)
		r = s3_do(s, &q);
	if (r == 0 && (q.status == 501 || q.status == 400)) {
		log_info("blob.s3", "the service cannot list unfinished uploads: leave them to the bucket's "
				    "AbortIncompleteMultipartUpload rule");
		goto out;
	}
	if (r == 0)
		r = s3_status(s, &q, "ListMultipartUploads");
	c = dbuf_str(&q.resp);
	end = c + dbuf_len(&q.resp);
	while (r == 0 && (c = strstr(c, "<Upload>")) != NULL) {
		const char *ue = strstr(c, "</Upload>"), *f = c;
		struct dbuf qb;

		if (!ue)
			break;
		init[0] = '\0';
		if (xml_value(&f, ue, "Key", key, sizeof(key)) < 0 ||
		    (f = c, xml_value(&f, ue, "UploadId", upload, sizeof(upload))) < 0) {
			c = ue;
			continue;
		}
		f = c;
		xml_value(&f, ue, "Initiated", init, sizeof(init));
		c = ue;
		if (before_s && parse_time(init) / 1000000 >= before_s)
			continue;
		dbuf_init(&qb, S3_UPLOAD_ID_MAX * 3 + 16);
		dbuf_puts(&qb, "uploadId=");
		uri_encode(&qb, upload, false);
		if (dbuf_error(&qb) == 0 && s3_simple(s, "DELETE", key, dbuf_str(&qb), NULL, 0, NULL) == 0)
			(*ret_n)++;
		dbuf_free(&qb);
	}
	(void)end;
out:
	req_done(&q);
	dbuf_free(&query);
	return r;
}

static int s3_delete_tenant(struct blob_store *bs, int64_t tenant_id, unsigned *ret_n)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char prefix[S3_KEY_MAX];
	struct del_ctx d = { s, 0, prefix };
	unsigned aborted = 0;
	int r;

	*ret_n = 0;
	r = tenant_key(s, tenant_id, "", prefix, sizeof(prefix));
	if (r == 0)
		r = abort_uploads(s, prefix, 0, &aborted);
	if (r == 0)
		r = s3_list(s, prefix, del_cb, &d);
	*ret_n = d.n + aborted;
	return r;
}

/* No temporary objects exist on S3; an unfinished multipart upload is the crash's leftover.
 * The store is shared by every node, so only those older than KURA_BLOB_TMP_STALE_S go
 * (another node may be uploading right now). */
static int s3_sweep_tmp(struct blob_store *bs, unsigned *ret_n)
{
	struct s3_store *s = (struct s3_store *)(void *)bs;
	char prefix[S3_KEY_MAX];
	unsigned n = 0;
	int r;

	str_printf(prefix, sizeof(prefix), "%s%s", s->prefix, s->prefix[0] ? "/" : "");
	r = abort_uploads(s, prefix, time(NULL) - KURA_BLOB_TMP_STALE_S, &n);
	if (n)
		log_info("blob.sweep", "aborted %u unfinished multipart upload(s)", n);
	if (ret_n)
		*ret_n = n;
	return r;
}

static const struct blob_ops s3_ops = {
	.name = "s3", .shared = true,
	.close = s3_close, .writer_open = s3_writer_open, .writer_id = s3_writer_id,
	.writer_size = s3_writer_size, .write = s3_write, .commit = s3_commit, .abort = s3_abort,
	.part_open = s3_part_open, .part_sync = s3_part_sync, .part_delete = s3_part_delete,
	.reader_open = s3_reader_open, .reader_size = s3_reader_size, .read_at = s3_read_at,
	.reader_close = s3_reader_close, .sweep_tmp = s3_sweep_tmp, .foreach = s3_foreach,
	.delete = s3_delete, .delete_tenant = s3_delete_tenant,
};
