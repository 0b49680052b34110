/*
 * WebDAV (W2; RFC 4918 class 1 and 2, RFC 4331 quota properties) at /dav/<tenant>/...,
 * on the files service. docs/webdav.md describes what is supported and how.
 *
 * Every /dav/ request reaches dav_begin() through dispatch() (server.c), which already
 * decoded and validated the path, authenticated the app password (HTTP Basic only, with a
 * Basic challenge on 401), checked the allowlist and the app password's scope, and
 * authorized files.read (GET, HEAD, PROPFIND, OPTIONS) or files.write (everything else).
 * dav_begin checks the URL's tenant against the credential's, evaluates the If header and
 * the locks, then either starts a streaming PUT (api_files.c's upload) or takes a bounded
 * XML body and acts when it is complete (dav_end). Reads are access audit records here;
 * changes are audited by the files service in their own transactions.
 *
 * SECURITY: the tenant in the URL must be the app password's tenant (else 404, recorded),
 * and all data access goes through the files service with the credential's tenant id, never
 * the URL's. Destination (COPY, MOVE) and the resource tags of If are re-validated like
 * nginx's ngx_http_dav_module does: an absolute URI must name this server's scheme and Host,
 * the path is decoded and checked by the same strict decoder as request paths, and it must
 * lie under the same /dav/<tenant>/ root, so a Destination into another tenant is refused
 * (403, recorded). Depth and Overwrite accept only their RFC values. XML bodies are bounded
 * and parsed without DTDs or entities (dav_xml.c). Lock tokens count as submitted only from
 * the If header and only for the account that holds the lock; nobody else unlocks it here
 * (managers break locks through the API, with an interactive session). Paths are put in
 * Unicode NFC before anything looks at them, so NFD and NFC spellings of one name are one
 * resource and one lock path; the files service refuses bidirectional controls in names.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libxml/tree.h>
#include <utf8proc.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files_dav.h"
#include "http/dav_cache.h"
#include "http/dav_int.h"
#include "http/http_int.h"
#include "store/db.h"

#define TENANT(req) ((req)->session.account.tenant_id)
#define XML_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
#define XML_CT "application/xml; charset=utf-8"

struct if_cond {
	bool not, etag;
	char *value;                   /* state token without <>, or the entity tag as given */
};
struct if_list {
	const char *tag;               /* tenant-relative path, NULL: the request URI */
	bool foreign;                  /* the tag names no resource of this tenant */
	size_t first, n;
};
struct if_header {
	struct if_cond conds[KURA_DAV_IF_CONDITIONS_MAX];
	struct if_list lists[KURA_DAV_IF_LISTS_MAX];
	size_t n_conds, n_lists;
};

struct dav {
	struct request *req;
	const char *tenant_code;
	char *path;                    /* tenant-relative: "" root, "/a/b" */
	bool slash;                    /* the URL ended in "/" */
	struct if_header *ifh;         /* NULL when there is no If header */
	char *body;
	size_t body_len;
	bool body_too_large;
	char *blocked;                 /* the root of the lock that refused a PUT at its commit */
	bool put_deferred;             /* a small PUT: its path resolved at the commit (begin_put) */
};

static void add_allow(struct request *req);   /* the methods of the table (dav_methods) */

static const char *hdr(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, name);
}

/* ---------------------------------------------------------------- responses */

static enum MHD_Result send_buf(struct request *req, unsigned status, struct dbuf *b)
{
	struct MHD_Response *resp;

	size_t n = 0;
	char *p;

	if (dbuf_error(b)) {
		dbuf_free(b);
		return http_problem(req, 507, "insufficient-storage", "the answer is too large", NULL);
	}
	p = dbuf_take(b, &n);
	if (!p)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(p);
		return MHD_NO;
	}
	return http_respond_response(req, status, XML_CT, resp);
}

/* A kept (or just built) PROPFIND answer, sent from its own bytes; the reference goes
 * with the response (dav_cache.h). */
static enum MHD_Result send_answer(struct request *req, struct dav_answer *a)
{
	struct MHD_Response *resp;
	size_t n;
	const char *body = dav_answer_body(a, &n);

	resp = MHD_create_response_from_buffer_with_free_callback_cls(n, (void *)body, dav_answer_release, a);
	if (!resp) {
		dav_answer_release(a);
		return MHD_NO;
	}
	return http_respond_response(req, 207, XML_CT, resp);
}

/* <D:error> with one precondition element, and an href inside it when given. */
static enum MHD_Result dav_error(struct request *req, unsigned status, const char *cond,
				 const char *href)
{
	struct dbuf b;

	dbuf_init(&b, 64 * 1024);
	dbuf_puts(&b, XML_HEAD "<D:error xmlns:D=\"DAV:\"><D:");
	dbuf_puts(&b, cond);
	if (href) {
		dbuf_puts(&b, "><D:href>");
		dav_esc(&b, href);
		dbuf_puts(&b, "</D:href></D:");
		dbuf_puts(&b, cond);
		dbuf_puts(&b, ">");
	} else {
		dbuf_puts(&b, "/>");
	}
	dbuf_puts(&b, "</D:error>\n");
	return send_buf(req, status, &b);
}

static enum MHD_Result plain(struct request *req, unsigned status, const char *text)
{
	char line[256];

	str_printf(line, sizeof(line), "%s\n", text);
	return http_respond(req, status, "text/plain; charset=utf-8", line, strlen(line));
}

/* The URL of a tenant-relative path, percent-encoded; "/" after collections. */
static void put_href_code(struct dbuf *b, const char *tenant_code, const char *path, bool folder)
{
	dbuf_puts(b, DAV_PREFIX);
	dav_pct(b, tenant_code);
	dav_pct(b, path);
	if (folder)
		dbuf_puts(b, "/");
}

static void put_href(struct dbuf *b, const struct dav *d, const char *path, bool folder)
{
	put_href_code(b, d->tenant_code, path, folder);
}

static char *href_of(const struct dav *d, const char *path, bool folder)
{
	struct dbuf b;
	char *s;

	dbuf_init(&b, 4 * KURA_MAX_URL_BYTES);
	put_href(&b, d, path, folder);
	s = dbuf_error(&b) ? NULL : arena_strdup(d->req->arena, dbuf_str(&b));
	dbuf_free(&b);
	return s;
}

static int audit_access(struct dav *d, const char *action, enum audit_result res, json_t *det)
{
	char target[KURA_AUDIT_TARGET_MAX];
	int r;

	str_printf(target, sizeof(target), "dav:%.500s", *d->path ? d->path : "/");
	r = http_audit(d->req, 0, AUDIT_ACCESS, action, target, res, det);
	json_decref(det);
	return r;
}

/* ---------------------------------------------------------------- paths */

/* parent of "/a/b" is "/a"; of "/a" is "" */
static char *parent_of(struct arena *a, const char *path, const char **ret_name)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return NULL;
	*ret_name = slash + 1;
	return arena_strndup(a, path, (size_t)(slash - path));
}

static bool is_below(const char *path, const char *root)
{
	size_t n = strlen(root);

	return !strncmp(path, root, n) && path[n] == '/';
}

/* A /dav/ path (decoded) to tenant-relative: -ENOENT when it is not under /dav/<code>/. */
static int rel_path(struct arena *a, const char *decoded, const char *code, char **ret, bool *ret_slash)
{
	const char *t, *rest;
	size_t n, cn = strlen(code);
	utf8proc_uint8_t *nfc;
	char *p;

	if (strncmp(decoded, DAV_PREFIX, strlen(DAV_PREFIX)))
		return -ENOENT;
	t = decoded + strlen(DAV_PREFIX);
	n = strcspn(t, "/");
	if (n != cn || strncmp(t, code, cn))
		return -EACCES;
	rest = t + n;
	/* Unicode NFC, as the files service stores names: a client that sends NFD (macOS) names
	 * the same resource, and lock paths compare equal (NFC keeps '/' where it is) */
	if (files_is_ascii(rest, strlen(rest))) {
		p = arena_strdup(a, rest);   /* ASCII is its own NFC */
	} else {
		nfc = utf8proc_NFC((const utf8proc_uint8_t *)rest);
		if (!nfc)
			return -EINVAL;
		p = arena_strdup(a, (const char *)nfc);
		free(nfc);
	}
	if (!p)
		return -ENOMEM;
	n = strlen(p);
	*ret_slash = n > 0 && p[n - 1] == '/';
	if (*ret_slash)
		p[n - 1] = '\0';
	*ret = p;
	return 0;
}

/* Destination or an If resource tag: an absolute URI of this server (scheme and Host as the
 * request's) or an absolute path, decoded strictly, under this tenant's /dav/ root.
 * -EXDEV another server, -EACCES another tenant or outside /dav/, -EINVAL malformed. */
static int url_to_path(struct dav *d, const char *uri, char **ret, bool *ret_slash)
{
	struct request *req = d->req;
	const char *scheme = req->srv->tls ? "https://" : "http://", *path = uri, *host;
	char *decoded;
	int r;

	if (!uri || !*uri || strlen(uri) > KURA_MAX_URL_BYTES)
		return -EINVAL;
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		size_t sn = strlen(scheme), hn;

		if (strncasecmp(uri, scheme, sn))
			return -EXDEV;
		host = uri + sn;
		hn = strcspn(host, "/");
		path = host + hn;
		if (!hdr(req, MHD_HTTP_HEADER_HOST) || strlen(hdr(req, MHD_HTTP_HEADER_HOST)) != hn ||
		    strncasecmp(hdr(req, MHD_HTTP_HEADER_HOST), host, hn))
			return -EXDEV;
	}
	if (*path != '/' || strpbrk(path, "?#"))
		return -EINVAL;
	decoded = http_decode_path(req->arena, path);
	if (!decoded)
		return -EINVAL;
	r = rel_path(req->arena, decoded, d->tenant_code, ret, ret_slash);
	return r == -ENOENT ? -EACCES : r;
}

/* ---------------------------------------------------------------- If header */

static bool skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	return **p != '\0';
}

static char *take_until(struct arena *a, const char **p, char end)
{
	const char *s = *p, *e = strchr(s, end);

	if (!e)
		return NULL;
	*p = e + 1;
	return arena_strndup(a, s, (size_t)(e - s));
}

/* RFC 4918 10.4: If = 1*No-tag-list | 1*Tagged-list. -EINVAL when malformed. */
static int if_parse(struct dav *d, const char *h, struct if_header **ret)
{
	struct arena *a = d->req->arena;
	struct if_header *ih = arena_alloc(a, sizeof(*ih));
	const char *p = h, *tag = NULL;
	bool foreign = false, tagged = false, any = false;

	if (!ih)
		return -ENOMEM;
	while (skip_ws(&p)) {
		if (*p == '<') {
			char *uri, *path;
			bool slash;
			int r;

			if (any && !tagged)
				return -EINVAL;
			p++;
			uri = take_until(a, &p, '>');
			if (!uri)
				return -EINVAL;
			tagged = true;
			r = url_to_path(d, uri, &path, &slash);
			if (r == -EINVAL)
				return -EINVAL;
			foreign = r < 0;
			tag = r < 0 ? NULL : path;
			continue;
		}
		if (*p != '(' || (tagged && !tag && !foreign) || ih->n_lists == KURA_DAV_IF_LISTS_MAX)
			return -EINVAL;
		p++;
		ih->lists[ih->n_lists] = (struct if_list){ tag, foreign, ih->n_conds, 0 };
		while (skip_ws(&p) && *p != ')') {
			struct if_cond *c;

			if (ih->n_conds == KURA_DAV_IF_CONDITIONS_MAX)
				return -EINVAL;
			c = &ih->conds[ih->n_conds];
			memset(c, 0, sizeof(*c));
			if (!strncasecmp(p, "Not", 3)) {
				c->not = true;
				p += 3;
				if (!skip_ws(&p))
					return -EINVAL;
			}
			if (*p == '<') {
				p++;
				c->value = take_until(a, &p, '>');
			} else if (*p == '[') {
				p++;
				c->etag = true;
				c->value = take_until(a, &p, ']');
			}
			if (!c->value || !*c->value)
				return -EINVAL;
			ih->n_conds++;
			ih->lists[ih->n_lists].n++;
		}
		if (*p != ')' || ih->lists[ih->n_lists].n == 0)
			return -EINVAL;
		p++;
		ih->n_lists++;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*ret = ih;
	return 0;
}

struct token_find {
	const char *token;
	bool found;
};

static int token_cb(void *ctx, const struct files_dav_lock *l)
{
	struct token_find *t = ctx;

	if (!strcmp(l->token, t->token))
		t->found = true;
	return 0;
}

/* Does the list hold for its resource? */
static int if_list_true(struct dav *d, const struct if_list *l, bool *ret)
{
	struct request *req = d->req;
	const char *path = l->tag ? l->tag : d->path;
	struct file_node n;
	char etag[64] = "";
	bool exists = false;
	size_t i;
	int r;

	*ret = false;
	if (l->foreign)
		return 0;
	r = files_dav_resolve(req->db, TENANT(req), path, &n);
	if (r == 0) {
		exists = true;
		if (n.kind == NODE_FILE)
			str_printf(etag, sizeof(etag), "\"%s\"", n.etag);
	} else if (r != -ENOENT && r != -ENOTDIR) {
		return r;
	}
	for (i = l->first; i < l->first + l->n; i++) {
		const struct if_cond *c = &d->ifh->conds[i];
		bool v = false;

		if (c->etag) {
			const char *tag = c->value;

			if (!strncmp(tag, "W/", 2))
				tag += 2;
			v = exists && *etag && !strcmp(tag, etag);
		} else {
			struct token_find tf = { c->value, false };

			r = files_dav_locks(req->db, TENANT(req), path, FILES_DAV_LOCKS_ON, token_cb, &tf);
			if (r < 0)
				return r;
			v = tf.found;
		}
		if (v == c->not)
			return 0;
	}
	*ret = true;
	return 0;
}

/* 0 when there is no If header or one of its lists holds; 412 when none does. */
static int if_evaluate(struct dav *d, unsigned *ret_status)
{
	size_t i;
	int r;

	*ret_status = 0;
	if (!d->ifh)
		return 0;
	for (i = 0; i < d->ifh->n_lists; i++) {
		bool ok = false;

		r = if_list_true(d, &d->ifh->lists[i], &ok);
		if (r < 0)
			return r;
		if (ok)
			return 0;
	}
	*ret_status = 412;
	return 0;
}

static bool token_submitted(const struct dav *d, const char *token)
{
	size_t i;

	if (!d->ifh)
		return false;
	for (i = 0; i < d->ifh->n_conds; i++)
		if (!d->ifh->conds[i].etag && !d->ifh->conds[i].not && !strcmp(d->ifh->conds[i].value, token))
			return true;
	return false;
}

/* ---------------------------------------------------------------- locks */

struct lock_check {
	struct dav *d;
	char *blocked;                 /* root path of the first lock not submitted */
};

static int lock_check_cb(void *ctx, const struct files_dav_lock *l)
{
	struct lock_check *c = ctx;

	if (token_submitted(c->d, l->token) && l->account_id == c->d->req->actor.account_id)
		return 0;
	c->blocked = arena_strdup(c->d->req->arena, l->path);
	return -EAGAIN;
}

/* The locks a change of path needs: on it (and below it for a subtree), and on its parent
 * when the parent's membership changes (one query). *ret_blocked names a lock's root when
 * one was not submitted. */
static int locks_allow(struct dav *d, const char *path, bool subtree, bool membership, char **ret_blocked)
{
	struct request *req = d->req;
	struct lock_check c = { d, NULL };
	int r;

	*ret_blocked = NULL;
	r = files_dav_locks(req->db, TENANT(req), path,
			    FILES_DAV_LOCKS_ON | (subtree ? FILES_DAV_LOCKS_BELOW : 0) |
				    (membership && *path ? FILES_DAV_LOCKS_PARENT : 0),
			    lock_check_cb, &c);
	if (r == -EAGAIN) {
		*ret_blocked = c.blocked ? c.blocked : (char *)"";
		return 0;
	}
	return r;
}

static enum MHD_Result locked(struct dav *d, const char *root)
{
	json_t *det = json_pack("{s:s, s:s}", "method", d->req->method, "lock_root", *root ? root : "/");
	int r = audit_access(d, "dav.locked", AUDIT_DENIED, det);

	(void)r;   /* the refusal stands either way */
	return dav_error(d->req, 423, "lock-token-submitted", href_of(d, root, false));
}

/* Checks locks for a change; answers and returns false when refused. */
static bool may_change(struct dav *d, const char *path, bool subtree, bool membership, enum MHD_Result *res)
{
	char *blocked = NULL;
	int r = locks_allow(d, path, subtree, membership, &blocked);

	if (r < 0) {
		*res = http_internal_error(d->req, r);
		return false;
	}
	if (blocked) {
		*res = locked(d, blocked);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- errors */

static enum MHD_Result files_fail(struct dav *d, int r)
{
	switch (r) {
	case -ENOENT:
		return plain(d->req, 404, "Not found");
	case -ENOTDIR:
		return plain(d->req, 409, "Conflict: a parent is not a collection");
	case -EEXIST:
		return plain(d->req, 412, "Precondition failed: the destination exists");
	case -ELOOP:
	case -EPERM:
		return plain(d->req, 403, "Forbidden: the destination is the source or inside it, or the root");
	case -E2BIG:
		return plain(d->req, 403, "Forbidden: too many items or folders nested too deep");
	case -EAGAIN:
		http_add_header(d->req, "Retry-After", "1");
		return plain(d->req, 503, "Service unavailable: the tenant key changed meanwhile; retry");
	case -EDQUOT:
		return dav_error(d->req, 507, "quota-not-exceeded", NULL);
	default:
		return http_files_error(d->req, r, NULL);
	}
}

/* ---------------------------------------------------------------- PROPFIND */

enum live {
	LP_CREATIONDATE, LP_DISPLAYNAME, LP_GETCONTENTLENGTH, LP_GETCONTENTTYPE, LP_GETETAG,
	LP_GETLASTMODIFIED, LP_RESOURCETYPE, LP_SUPPORTEDLOCK, LP_LOCKDISCOVERY,
	LP_QUOTA_AVAILABLE, LP_QUOTA_USED, LP_COUNT
};
static const char *const live_names[LP_COUNT] = {
	"creationdate", "displayname", "getcontentlength", "getcontenttype", "getetag",
	"getlastmodified", "resourcetype", "supportedlock", "lockdiscovery",
	"quota-available-bytes", "quota-used-bytes",
};

static int live_index(const char *ns, const char *name)
{
	int i;

	if (strcmp(ns, DAV_NS))
		return -1;
	for (i = 0; i < LP_COUNT; i++)
		if (!strcmp(live_names[i], name))
			return i;
	return -1;
}

struct pname {
	const char *ns, *name;
	int live;
};

struct dead {
	int64_t node_id;
	char *ns, *name, *xml;
};

struct lockrow {
	char token[FILES_DAV_TOKEN_LEN + 1];
	char *path, *owner_xml;
	bool infinite, shared;
	int64_t expires_us;
};

/* A member as the answer shows it (strings in the propfind's arena). */
struct pfentry {
	int64_t id, size, created_us, modified_us;
	const char *name, *ctype, *etag;
	bool folder;
};

/* Streamed in pieces of about PF_CHUNK bytes; an answer that fits in the first piece goes
 * out whole, with a Content-Length, as before streaming. */
#define PF_CHUNK (64 * 1024)

/*
 * One PROPFIND: what the answer needs is read before anything is sent (members, dead
 * properties, locks, quota: one query each), then the answer is written piece by piece as
 * MHD asks for it (pf_read), so at most one piece and the compact member list are held,
 * not the whole multistatus. It owns its arena: a streamed answer outlives the request's.
 */
struct propfind {
	struct arena *a;
	struct dav *d;                 /* NULL once streaming: the request may be gone */
	const char *tenant_code;
	enum { PF_ALLPROP, PF_PROPNAME, PF_PROP } mode;
	struct pname *names;
	size_t n_names;
	struct dead *dead;             /* ordered by node id (files_dav_props) */
	size_t n_dead, cap_dead;
	struct lockrow *locks;
	size_t n_locks, cap_locks;
	int64_t quota, used;
	int64_t gen;                   /* the tenant's tree generation (0: none read) */
	int64_t gen_read_us;           /* when it was read (dav_cache_put: the newer answer stays) */
	bool cache_ok;                 /* Depth 1 allprop, no test seam: an answer to keep */
	const char *base;              /* path of the resource the request names */
	struct pfentry self;
	const char *self_href;         /* the resource's href, without a folder's "/" */
	struct dbuf members;           /* struct pfentry of each member, by name */
	size_t n_members, next;        /* next member to write */
	const char *last_ctype;        /* the previous member's, shared when equal */
	char *child_prefix;            /* href of base with "/", percent-encoded once */
	struct dbuf out, missing, path;
	size_t out_pos;                /* bytes of out handed to MHD */
	uint64_t total;                /* bytes of the whole answer so far */
	bool self_done, done;
	bool truncated;                /* the folder has more members than the listing holds */
	bool slow;                     /* test seam: put_live for every member */
	size_t fault_after;            /* test seam: fail after this many members (0: never) */
	bool direct;                   /* allprop, no lock: members straight into MHD's buffer */
	char *scratch;                 /* one member's response (raw_allprop into pf->out) */
	size_t scratch_cap;
	int64_t tday;                  /* the day of the date templates below; INT64_MIN: none */
	bool tday_ok;                  /* the templates hold (a year in 0..9999) */
	char tutc[CLOCK_RFC3339_LEN + 8], thttp[40];
};

static int dead_cb(void *ctx, const struct files_dav_prop *p)
{
	struct propfind *pf = ctx;
	struct arena *a = pf->a;

	if (pf->n_dead == pf->cap_dead) {
		size_t cap = pf->cap_dead ? pf->cap_dead * 2 : 64;
		struct dead *nd = arena_alloc(a, cap * sizeof(*nd));

		if (!nd)
			return -ENOMEM;
		if (pf->n_dead)
			memcpy(nd, pf->dead, pf->n_dead * sizeof(*nd));
		pf->dead = nd;
		pf->cap_dead = cap;
	}
	if (pf->n_dead && pf->dead[pf->n_dead - 1].node_id > p->node_id)
		return -EINVAL;   /* dead_first's binary search needs the query's order */
	pf->dead[pf->n_dead] = (struct dead){ p->node_id, arena_strdup(a, p->ns), arena_strdup(a, p->name),
					     arena_strdup(a, p->xml) };
	if (!pf->dead[pf->n_dead].xml)
		return -ENOMEM;
	pf->n_dead++;
	return 0;
}

static int lockrow_cb(void *ctx, const struct files_dav_lock *l)
{
	struct propfind *pf = ctx;
	struct arena *a = pf->a;
	struct lockrow *lr;

	if (pf->n_locks == pf->cap_locks) {
		size_t cap = pf->cap_locks ? pf->cap_locks * 2 : 8;
		struct lockrow *nl = arena_alloc(a, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		if (pf->n_locks)
			memcpy(nl, pf->locks, pf->n_locks * sizeof(*nl));
		pf->locks = nl;
		pf->cap_locks = cap;
	}
	lr = &pf->locks[pf->n_locks++];
	str_copy(lr->token, sizeof(lr->token), l->token);
	lr->path = arena_strdup(a, l->path);
	lr->owner_xml = arena_strdup(a, l->owner_xml);
	lr->infinite = l->infinite;
	lr->shared = l->shared;
	lr->expires_us = l->expires_us;
	return lr->path && lr->owner_xml ? 0 : -ENOMEM;
}

static int member_cb(void *ctx, const struct files_dav_entry *e)
{
	struct propfind *pf = ctx;
	struct pfentry m = { e->id, e->size, e->created_us, e->modified_us, NULL, NULL, NULL, e->folder };

	m.name = arena_strdup(pf->a, e->name);
	m.etag = arena_strdup(pf->a, e->etag);
	if (pf->last_ctype && !strcmp(pf->last_ctype, e->content_type))
		m.ctype = pf->last_ctype;   /* most members of a folder share one type */
	else
		m.ctype = pf->last_ctype = arena_strdup(pf->a, e->content_type);
	if (!m.name || !m.etag || !m.ctype)
		return -ENOMEM;
	if (dbuf_add(&pf->members, &m, sizeof(m)) < 0)
		return -ENOMEM;
	pf->n_members++;
	return 0;
}

/* Appends a string literal without measuring it. */
#define PUTL(b, lit) dbuf_add((b), (lit), sizeof(lit) - 1)

/* v in decimal into p (at most 20 bytes); the end */
static char *raw_i64(char *p, int64_t v)
{
	char t[24], *q = t + sizeof(t);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--q = '-';
	memcpy(p, q, (size_t)(t + sizeof(t) - q));
	return p + (t + sizeof(t) - q);
}

static void put_i64(struct dbuf *b, int64_t v)
{
	char t[24];

	dbuf_add(b, t, (size_t)(raw_i64(t, v) - t));
}

static void put_activelock(struct dbuf *b, const char *tenant_code, const char *root, bool infinite,
			   bool shared, const char *owner_xml, const char *token, int64_t expires_us)
{
	int64_t left = (expires_us - clock_now_us()) / 1000000;

	dbuf_printf(b, "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope><D:%s/></D:lockscope>"
		       "<D:depth>%s</D:depth>", shared ? "shared" : "exclusive", infinite ? "infinity" : "0");
	dbuf_puts(b, owner_xml);
	dbuf_printf(b, "<D:timeout>Second-%lld</D:timeout><D:locktoken><D:href>", (long long)(left > 0 ? left : 0));
	dav_esc(b, token);
	dbuf_puts(b, "</D:href></D:locktoken><D:lockroot><D:href>");
	put_href_code(b, tenant_code, root, false);
	dbuf_puts(b, "</D:href></D:lockroot></D:activelock>");
}

/* The locks that apply to path; the empty element (as Apache mod_dav writes it) when none. */
static void put_lockdiscovery(struct propfind *pf, struct dbuf *b, const char *path)
{
	bool any = false;
	size_t i;

	for (i = 0; i < pf->n_locks; i++) {
		const struct lockrow *l = &pf->locks[i];

		if (strcmp(l->path, path) && !(l->infinite && is_below(path, l->path)) &&
		    !(l->infinite && !*l->path && *path))
			continue;
		if (!any)
			PUTL(b, "<D:lockdiscovery>");
		any = true;
		put_activelock(b, pf->tenant_code, l->path, l->infinite, l->shared, l->owner_xml, l->token,
			       l->expires_us);
	}
	if (any)
		PUTL(b, "</D:lockdiscovery>");
	else
		PUTL(b, "<D:lockdiscovery/>");
}

/* Writes live property i of n into b (value, or the empty element for names only). false
 * when the resource does not have it. path is NULL when no lock applies below base. */
static bool put_live(struct propfind *pf, struct dbuf *b, const struct pfentry *n, const char *path,
		     int i, bool name_only)
{
	const bool file = !n->folder;
	char t[64];

	if (!file && (i == LP_GETCONTENTLENGTH || i == LP_GETCONTENTTYPE || i == LP_GETETAG))
		return false;
	if (name_only) {
		PUTL(b, "<D:");
		dbuf_puts(b, live_names[i]);
		PUTL(b, "/>");
		return true;
	}
	switch (i) {
	case LP_CREATIONDATE:
		clock_format_utc(n->created_us, t, sizeof(t));
		PUTL(b, "<D:creationdate>");
		dbuf_puts(b, t);
		PUTL(b, "</D:creationdate>");
		break;
	case LP_DISPLAYNAME:
		PUTL(b, "<D:displayname>");
		dav_esc(b, *n->name ? n->name : pf->tenant_code);
		PUTL(b, "</D:displayname>");
		break;
	case LP_GETCONTENTLENGTH:
		PUTL(b, "<D:getcontentlength>");
		put_i64(b, n->size);
		PUTL(b, "</D:getcontentlength>");
		break;
	case LP_GETCONTENTTYPE:
		PUTL(b, "<D:getcontenttype>");
		dav_esc(b, *n->ctype ? n->ctype : "application/octet-stream");
		PUTL(b, "</D:getcontenttype>");
		break;
	case LP_GETETAG:
		/* a '"' in character data needs no escape (Apache mod_dav writes it plain) */
		PUTL(b, "<D:getetag>\"");
		dbuf_puts(b, n->etag);
		PUTL(b, "\"</D:getetag>");
		break;
	case LP_GETLASTMODIFIED:
		http_date_format(n->modified_us, t, sizeof(t));
		PUTL(b, "<D:getlastmodified>");
		dbuf_puts(b, t);
		PUTL(b, "</D:getlastmodified>");
		break;
	case LP_RESOURCETYPE:
		if (file)
			PUTL(b, "<D:resourcetype/>");
		else
			PUTL(b, "<D:resourcetype><D:collection/></D:resourcetype>");
		break;
	case LP_SUPPORTEDLOCK:
		PUTL(b, "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
			"<D:locktype><D:write/></D:locktype></D:lockentry><D:lockentry><D:lockscope>"
			"<D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
			"</D:supportedlock>");
		break;
	case LP_LOCKDISCOVERY:
		if (path)
			put_lockdiscovery(pf, b, path);
		else
			PUTL(b, "<D:lockdiscovery/>");
		break;
	case LP_QUOTA_AVAILABLE:
		PUTL(b, "<D:quota-available-bytes>");
		put_i64(b, pf->quota > pf->used ? pf->quota - pf->used : 0);
		PUTL(b, "</D:quota-available-bytes>");
		break;
	case LP_QUOTA_USED:
		PUTL(b, "<D:quota-used-bytes>");
		put_i64(b, pf->used);
		PUTL(b, "</D:quota-used-bytes>");
		break;
	default:
		return false;
	}
	return true;
}

static void put_empty_prop(struct dbuf *b, const char *ns, const char *name)
{
	if (!strcmp(ns, DAV_NS)) {
		dbuf_printf(b, "<D:%s/>", name);
	} else if (!*ns) {
		/* no namespace: a prefix cannot be bound to "", so no prefix and no default */
		dbuf_printf(b, "<%s xmlns=\"\"/>", name);
	} else {
		dbuf_printf(b, "<R:%s xmlns:R=\"", name);
		dav_esc(b, ns);
		dbuf_puts(b, "\"/>");
	}
}

/* Index of the first dead property of node_id (pf->n_dead when it has none): a binary
 * search, so a folder whose every member has properties costs n log n, not n². */
static size_t dead_first(const struct propfind *pf, int64_t node_id)
{
	size_t lo = 0, hi = pf->n_dead;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pf->dead[mid].node_id < node_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < pf->n_dead && pf->dead[lo].node_id == node_id ? lo : pf->n_dead;
}

static const struct dead *dead_find(const struct propfind *pf, size_t first, int64_t node_id,
				    const char *ns, const char *name)
{
	size_t i;

	for (i = first; i < pf->n_dead && pf->dead[i].node_id == node_id; i++)
		if (!strcmp(pf->dead[i].ns, ns) && !strcmp(pf->dead[i].name, name))
			return &pf->dead[i];
	return NULL;
}

/* ---- allprop without locks, the common listing: one member's live properties written
 * straight into a buffer sized for them, then appended once. The same bytes as put_live
 * (test_dav_methods compares answers against a slow-path spelling). */

#define RAWL(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static char *raw_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/* dav_esc into p (at most 6 bytes per input byte) */
static char *raw_esc(char *p, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': p = RAWL(p, "&amp;"); break;
		case '<': p = RAWL(p, "&lt;"); break;
		case '>': p = RAWL(p, "&gt;"); break;
		case '"': p = RAWL(p, "&quot;"); break;
		case '\'': p = RAWL(p, "&apos;"); break;
		default: *p++ = *s; break;
		}
	}
	return p;
}

/* dav_pct into p (at most 3 bytes per input byte) */
static char *raw_pct(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

static void two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* The two dates of a member from templates of its day (clock_format_utc and
 * http_date_format of the day's midnight, fixed-width), with the time of day written over
 * the zeros: no calendar arithmetic per member. Another day makes new templates; a year
 * the formatters refuse falls back to them. */
static bool day_templates(struct propfind *pf, int64_t us)
{
	int64_t day = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);

	if (day != pf->tday) {
		pf->tday = day;
		pf->tday_ok = clock_format_utc(day * 86400000000LL, pf->tutc, sizeof(pf->tutc)) == 0 &&
			      strlen(pf->tutc) == sizeof("2026-11-22T02:33:19.123456Z") - 1 &&
			      clock_format_http(day * 86400000000LL, pf->thttp, sizeof(pf->thttp)) == 0 &&
			      strlen(pf->thttp) == sizeof("Sun, 06 Nov 1994 08:49:37 GMT") - 1;
	}
	return pf->tday_ok;
}

static char *raw_utc(struct propfind *pf, char *p, int64_t us)
{
	int64_t in_day;
	unsigned s, usec, i;

	if (!day_templates(pf, us)) {
		char t[64] = "";

		clock_format_utc(us, t, sizeof(t));
		return raw_str(p, t);
	}
	in_day = us - pf->tday * 86400000000LL;
	s = (unsigned)(in_day / 1000000);
	usec = (unsigned)(in_day % 1000000);
	memcpy(p, pf->tutc, sizeof("2026-11-22T02:33:19.123456Z") - 1);
	two(p + 11, s / 3600);
	two(p + 14, s / 60 % 60);
	two(p + 17, s % 60);
	for (i = 0; i < 6; i++, usec /= 10)
		p[25 - i] = (char)('0' + usec % 10);
	return p + sizeof("2026-11-22T02:33:19.123456Z") - 1;
}

static char *raw_http(struct propfind *pf, char *p, int64_t us)
{
	unsigned s;

	if (!day_templates(pf, us)) {
		char t[64] = "";

		http_date_format(us, t, sizeof(t));
		return raw_str(p, t);
	}
	s = (unsigned)((us - pf->tday * 86400000000LL) / 1000000);
	memcpy(p, pf->thttp, sizeof("Sun, 06 Nov 1994 08:49:37 GMT") - 1);
	two(p + 17, s / 3600);
	two(p + 20, s / 60 % 60);
	two(p + 23, s % 60);
	return p + sizeof("Sun, 06 Nov 1994 08:49:37 GMT") - 1;
}

/* A bound on what raw_allprop writes for n: the fixed markup (under 850 bytes: the
 * supportedlock element, the tags, a size of 20 digits, two dates of at most 63 bytes
 * each) in 1,024, and each string at its longest escaping (percent-encoding 3 bytes per
 * byte, XML 6). first is n's first dead property (dead_first). */
static size_t allprop_need(const struct propfind *pf, const struct pfentry *n, const char *href_prefix,
			   const char *href_name, size_t first)
{
	const char *dn = *n->name ? n->name : pf->tenant_code;
	const char *ct = *n->ctype ? n->ctype : "application/octet-stream";
	size_t need = 1024 + strlen(href_prefix) + 3 * strlen(href_name) + 6 * strlen(dn) + 6 * strlen(ct) +
		      strlen(n->etag), i;

	for (i = first; i < pf->n_dead && pf->dead[i].node_id == n->id; i++)
		need += strlen(pf->dead[i].xml);
	return need;
}

/* n's whole response into p (allprop_need bytes available), in put_live's order and
 * spelling, for allprop when no lock applies (lockdiscovery is empty); the end. */
static char *raw_allprop(struct propfind *pf, char *p, const struct pfentry *n, const char *href_prefix,
			 const char *href_name, size_t first)
{
	const char *dn = *n->name ? n->name : pf->tenant_code;
	const char *ct = *n->ctype ? n->ctype : "application/octet-stream";
	size_t i;

	p = RAWL(p, "<D:response><D:href>");
	p = raw_str(p, href_prefix);
	p = raw_pct(p, href_name);
	if (n->folder)
		*p++ = '/';
	p = RAWL(p, "</D:href><D:propstat><D:prop><D:creationdate>");
	p = raw_utc(pf, p, n->created_us);
	p = RAWL(p, "</D:creationdate><D:displayname>");
	p = raw_esc(p, dn);
	p = RAWL(p, "</D:displayname>");
	if (!n->folder) {
		p = RAWL(p, "<D:getcontentlength>");
		p = raw_i64(p, n->size);
		p = RAWL(p, "</D:getcontentlength><D:getcontenttype>");
		p = raw_esc(p, ct);
		p = RAWL(p, "</D:getcontenttype><D:getetag>\"");
		p = raw_str(p, n->etag);
		p = RAWL(p, "\"</D:getetag>");
	}
	p = RAWL(p, "<D:getlastmodified>");
	p = raw_http(pf, p, n->modified_us);
	p = RAWL(p, "</D:getlastmodified>");
	if (n->folder)
		p = RAWL(p, "<D:resourcetype><D:collection/></D:resourcetype>");
	else
		p = RAWL(p, "<D:resourcetype/>");
	p = RAWL(p, "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope>"
		    "<D:locktype><D:write/></D:locktype></D:lockentry><D:lockentry><D:lockscope>"
		    "<D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
		    "</D:supportedlock><D:lockdiscovery/>");
	for (i = first; i < pf->n_dead && pf->dead[i].node_id == n->id; i++)
		p = raw_str(p, pf->dead[i].xml);
	return RAWL(p, "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n");
}

/* One <D:response> for n into pf->out. href_prefix + href_name make its href (the name
 * percent-encoded here); path is its tenant-relative path, needed only when locks apply
 * (NULL otherwise). */
static int put_one(struct propfind *pf, const struct pfentry *n, const char *href_prefix,
		   const char *href_name, const char *path)
{
	struct dbuf *b = &pf->out, *m = &pf->missing;
	size_t i, first = pf->n_dead ? dead_first(pf, n->id) : 0;
	int k;

	if (!dbuf_error(m))   /* a failure sticks: the answer fails */
		dbuf_reset(m);
	if (pf->mode == PF_ALLPROP && !path && !pf->slow) {
		/* one pass into the scratch buffer, appended once; a failure (no memory for the
		 * scratch) fails the answer, never leaves a member half written in a 207 */
		size_t need = allprop_need(pf, n, href_prefix, href_name, first);
		char *e;

		if (need > pf->scratch_cap) {
			char *np = realloc(pf->scratch, need);

			if (!np)
				return -ENOMEM;
			pf->scratch = np;
			pf->scratch_cap = need;
		}
		e = raw_allprop(pf, pf->scratch, n, href_prefix, href_name, first);
		dbuf_add(b, pf->scratch, (size_t)(e - pf->scratch));
		return dbuf_error(b) ? -E2BIG : 0;
	}
	PUTL(b, "<D:response><D:href>");
	dbuf_puts(b, href_prefix);
	dav_pct(b, href_name);
	if (n->folder)
		PUTL(b, "/");
	PUTL(b, "</D:href><D:propstat><D:prop>");
	if (pf->mode == PF_PROP) {
		for (i = 0; i < pf->n_names; i++) {
			const struct pname *pn = &pf->names[i];
			const struct dead *dp;

			if (pn->live >= 0 && put_live(pf, b, n, path, pn->live, false))
				continue;
			if (pn->live < 0 && (dp = dead_find(pf, first, n->id, pn->ns, pn->name))) {
				dbuf_puts(b, dp->xml);
				continue;
			}
			put_empty_prop(m, pn->ns, pn->name);
		}
	} else {
		for (k = 0; k < LP_COUNT; k++) {
			if (pf->mode == PF_ALLPROP && (k == LP_QUOTA_AVAILABLE || k == LP_QUOTA_USED))
				continue;   /* RFC 4331 3: not in allprop */
			put_live(pf, b, n, path, k, pf->mode == PF_PROPNAME);
		}
		for (i = first; i < pf->n_dead && pf->dead[i].node_id == n->id; i++) {
			if (pf->mode == PF_PROPNAME)
				put_empty_prop(b, pf->dead[i].ns, pf->dead[i].name);
			else
				dbuf_puts(b, pf->dead[i].xml);
		}
	}
	PUTL(b, "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>");
	if (dbuf_len(m)) {
		PUTL(b, "<D:propstat><D:prop>");
		dbuf_add(b, dbuf_str(m), dbuf_len(m));
		PUTL(b, "</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>");
	}
	PUTL(b, "</D:response>\n");
	return dbuf_error(b) || dbuf_error(m) ? -E2BIG : 0;
}

/*
 * The end of a listing cut at files_dav_list_max() members (KURA_DAV_LIST_MAX): a response
 * for the Request-URI with 507 and DAV:number-of-matches-within-limits, the form RFC 6578
 * 3.6 gives a truncated sync-collection (RFC 4918 itself names no limit for PROPFIND; RFC
 * 5323 marks a truncated SEARCH the same way). The answer stays a 207 with the members that
 * fit, so a client that knows the marker reads "more exist", never "the rest were deleted".
 * It repeats the collection's href, which RFC 4918 14.24 says an href MUST NOT do: the
 * marker is defined for the Request-URI, and a second response is how clients meet it.
 */
static void put_truncated(struct propfind *pf)
{
	struct dbuf *b = &pf->out;

	PUTL(b, "<D:response><D:href>");
	dbuf_puts(b, pf->self_href);
	PUTL(b, "/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>"
		"<D:error><D:number-of-matches-within-limits/></D:error><D:responsedescription>");
	dbuf_printf(b, "The collection has more than %zu members; the first %zu by name are listed",
		    pf->n_members, pf->n_members);
	PUTL(b, "</D:responsedescription></D:response>\n");
}

/* Appends the next responses to pf->out until it holds PF_CHUNK bytes or the answer is
 * complete (then with its closing tag, and pf->done). */
static int pf_fill(struct propfind *pf)
{
	int r = 0;

	if (!pf->self_done) {
		PUTL(&pf->out, XML_HEAD "<D:multistatus xmlns:D=\"DAV:\">\n");
		r = put_one(pf, &pf->self, pf->self_href, "", pf->n_locks ? pf->base : NULL);
		pf->self_done = true;
	}
	while (r == 0 && pf->next < pf->n_members && dbuf_len(&pf->out) < PF_CHUNK) {
		const struct pfentry *m = (const struct pfentry *)dbuf_data(&pf->members) + pf->next;
		const char *path = NULL;

		if (pf->fault_after && pf->next >= pf->fault_after)
			return -EIO;   /* KURA_TEST_DAV_PROPFIND_FAULT */
		if (pf->n_locks) {
			dbuf_reset(&pf->path);
			dbuf_puts(&pf->path, pf->base);
			PUTL(&pf->path, "/");
			dbuf_puts(&pf->path, m->name);
			if (dbuf_error(&pf->path))
				return -E2BIG;
			path = dbuf_str(&pf->path);
		}
		r = put_one(pf, m, pf->child_prefix, m->name, path);
		pf->next++;
	}
	if (r == 0 && pf->next == pf->n_members) {
		if (pf->truncated)
			put_truncated(pf);
		PUTL(&pf->out, "</D:multistatus>\n");
		pf->done = true;
	}
	if (r == 0 && dbuf_error(&pf->out))
		r = -E2BIG;
	if (r == 0 && (pf->total += dbuf_len(&pf->out)) > KURA_DAV_RESPONSE_MAX)
		r = -E2BIG;
	return r;
}

static void pf_free(void *cls)
{
	struct propfind *pf = cls;

	if (!pf)
		return;
	dbuf_free(&pf->members);
	dbuf_free(&pf->out);
	dbuf_free(&pf->missing);
	dbuf_free(&pf->path);
	free(pf->scratch);
	arena_free(pf->a);
}

/* Writes whole members into buf (max bytes) while they fit, with raw_allprop (pf->direct:
 * allprop, no lock applies, no test seam): the bytes of put_one's fast path without the
 * copies through the scratch buffer and pf->out. The bytes written (0: the next member does
 * not fit, or none is left), or -EIO from the KURA_TEST_DAV_PROPFIND_FAULT seam. */
static ssize_t pf_direct(struct propfind *pf, char *buf, size_t max)
{
	const struct pfentry *ms = (const struct pfentry *)dbuf_data(&pf->members);
	char *p = buf;

	while (pf->next < pf->n_members) {
		const struct pfentry *m = ms + pf->next;
		size_t first = pf->n_dead ? dead_first(pf, m->id) : 0;

		if (pf->fault_after && pf->next >= pf->fault_after)
			return -EIO;
		if (allprop_need(pf, m, pf->child_prefix, m->name, first) > max - (size_t)(p - buf))
			break;
		p = raw_allprop(pf, p, m, pf->child_prefix, m->name, first);
		pf->next++;
	}
	return p - buf;
}

/*
 * MHD's reader of a streamed answer (chunked). A failure after the status line went out
 * cannot become an error status any more: END_WITH_ERROR makes MHD close the connection
 * without the last chunk, so the client sees a broken transfer, never a short multistatus
 * that looks complete (the closing tag is only written after the last member).
 */
static ssize_t pf_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct propfind *pf = cls;
	size_t n;
	int r;

	(void)pos;
	if (pf->direct && pf->out_pos == dbuf_len(&pf->out) && !pf->done) {
		ssize_t k = pf_direct(pf, buf, max);

		if (k > 0 && (pf->total += (uint64_t)k) > KURA_DAV_RESPONSE_MAX)
			k = -E2BIG;
		if (k < 0) {
			log_warn("dav.propfind", "answer broken off after %zu of %zu members: %s", pf->next,
				 pf->n_members, strerror((int)-k));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (k > 0)
			return k;
		/* the next member does not fit in buf, or the closing tag is left: pf_fill */
	}
	while (pf->out_pos == dbuf_len(&pf->out)) {
		if (pf->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		dbuf_reset(&pf->out);
		pf->out_pos = 0;
		r = pf_fill(pf);
		if (r < 0) {
			log_warn("dav.propfind", "answer broken off after %zu of %zu members: %s", pf->next,
				 pf->n_members, strerror(-r));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	n = dbuf_len(&pf->out) - pf->out_pos;
	if (n > max)
		n = max;
	memcpy(buf, dbuf_str(&pf->out) + pf->out_pos, n);
	pf->out_pos += n;
	return (ssize_t)n;
}

static int propfind_parse(struct propfind *pf)
{
	struct dav *d = pf->d;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, c, p;
	size_t n = 0;
	int r;

	pf->mode = PF_ALLPROP;
	if (d->body_len == 0)
		return 0;
	r = dav_xml_parse(d->body, d->body_len, &doc);
	if (r < 0)
		return r;
	root = xmlDocGetRootElement(doc);
	r = -EINVAL;
	if (!dav_xml_is(root, "propfind"))
		goto out;
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (dav_xml_is(c, "allprop")) {
			pf->mode = PF_ALLPROP;
			r = 0;
		} else if (dav_xml_is(c, "propname")) {
			pf->mode = PF_PROPNAME;
			r = 0;
		} else if (dav_xml_is(c, "prop")) {
			pf->mode = PF_PROP;
			for (p = c->children; p; p = p->next)
				if (p->type == XML_ELEMENT_NODE)
					n++;
			pf->names = arena_alloc(pf->a, (n ? n : 1) * sizeof(*pf->names));
			if (!pf->names) {
				r = -ENOMEM;
				goto out;
			}
			for (p = c->children; p; p = p->next) {
				struct pname *pn;

				if (p->type != XML_ELEMENT_NODE)
					continue;
				pn = &pf->names[pf->n_names++];
				pn->ns = arena_strdup(pf->a, dav_xml_ns(p));
				pn->name = arena_strdup(pf->a, (const char *)p->name);
				if (!pn->ns || !pn->name) {
					r = -ENOMEM;
					goto out;
				}
				pn->live = live_index(pn->ns, pn->name);
			}
			r = 0;
		}
	}
out:
	xmlFreeDoc(doc);
	return r;
}

/* A bound on the whole answer's bytes (allprop, no lock): each response's allprop_need, and
 * the head and the closing tag. */
static size_t pf_whole_need(struct propfind *pf)
{
	const struct pfentry *ms = (const struct pfentry *)dbuf_data(&pf->members);
	size_t need = 256 + allprop_need(pf, &pf->self, pf->self_href, "",
					 pf->n_dead ? dead_first(pf, pf->self.id) : 0);

	for (size_t i = 0; i < pf->n_members && need <= (size_t)KURA_DAV_CACHE_ENTRY_BYTES; i++)
		need += allprop_need(pf, &ms[i], pf->child_prefix, ms[i].name,
				     pf->n_dead ? dead_first(pf, ms[i].id) : 0);
	return need;
}

/* The whole answer in one buffer (malloc'd, *ret_len bytes): pf_fill's pieces end to end. */
static int pf_whole(struct propfind *pf, char **ret, size_t *ret_len)
{
	struct dbuf all;
	int r = 0;

	dbuf_init(&all, (size_t)KURA_DAV_CACHE_ENTRY_BYTES);
	while (r == 0 && !pf->done) {
		dbuf_reset(&pf->out);
		r = pf_fill(pf);
		if (r == 0 && dbuf_add(&all, dbuf_data(&pf->out), dbuf_len(&pf->out)) < 0)
			r = -E2BIG;
	}
	if (r == 0 && !(*ret = dbuf_take(&all, ret_len)))
		r = -ENOMEM;
	if (r < 0)
		dbuf_free(&all);
	return r;
}

/* Test seams: KURA_TEST_DAV_PROPFIND_FAULT=N breaks a streamed answer off after N
 * members; KURA_TEST_DAV_PROPFIND_SLOW=1 writes every member through put_live (the
 * reference spelling the fast path must match byte for byte). */
static size_t pf_fault_after(bool *ret_slow)
{
#ifdef KURA_TEST_HOOKS
	const char *e = getenv("KURA_TEST_DAV_PROPFIND_FAULT");
	uint32_t v;

	*ret_slow = getenv("KURA_TEST_DAV_PROPFIND_SLOW") != NULL;
	if (e && safe_atou32(e, &v) == 0)
		return v;
#else
	*ret_slow = false;   /* a production build has no seam */
#endif
	return 0;
}

/* Reads what the answer needs (before the audit record: a failure here serves nothing).
 * With pf->cache_ok the tenant's tree generation comes first, and *ret_hit is the answer
 * kept at that generation when there is one: then nothing else is read. It MUST be read
 * before the path, the properties, the locks and the members (dav_cache.h: on PostgreSQL,
 * where each statement has its own snapshot, that order is what keeps an answer from
 * being labelled newer than what it shows). */
static enum MHD_Result propfind_load(struct propfind *pf, bool *deep, bool *ok, struct dav_answer **ret_hit)
{
	struct dav *d = pf->d;
	struct request *req = d->req;
	struct file_node n;
	struct dbuf href;
	bool need_dead, quota_read = false;
	size_t i;
	int r;

	*ok = false;
	*ret_hit = NULL;
	if (pf->cache_ok) {
		pf->gen_read_us = dav_cache_clock_us();
		r = files_quota_gen(req->db, TENANT(req), &pf->quota, &pf->used, &pf->gen);
		if (r < 0)
			return http_internal_error(req, r);
		quota_read = true;
		*ret_hit = dav_cache_get(TENANT(req), d->tenant_code, d->path, pf->gen);
		if (*ret_hit) {
			*ok = true;
			return MHD_YES;
		}
	}
	r = files_dav_resolve(req->db, TENANT(req), d->path, &n);
	if (r < 0)
		return files_fail(d, r == -ENOTDIR ? -ENOENT : r);
	*deep = *deep && n.kind == NODE_FOLDER;
	pf->self = (struct pfentry){ n.id, n.size, n.created_us, n.modified_us, arena_strdup(pf->a, n.name),
				     arena_strdup(pf->a, n.content_type), arena_strdup(pf->a, n.etag),
				     n.kind == NODE_FOLDER };
	pf->base = arena_strdup(pf->a, d->path);
	pf->tenant_code = arena_strdup(pf->a, d->tenant_code);
	/* hrefs percent-encoded once: the resource's (its own href, "/" added by put_one for a
	 * folder) and its members' prefix (base and "/": a member adds its encoded name) */
	dbuf_init(&href, 4 * KURA_MAX_URL_BYTES);
	put_href_code(&href, d->tenant_code, d->path, false);
	pf->self_href = dbuf_error(&href) ? NULL : arena_strdup(pf->a, dbuf_str(&href));
	PUTL(&href, "/");
	pf->child_prefix = dbuf_error(&href) ? NULL : arena_strdup(pf->a, dbuf_str(&href));
	dbuf_free(&href);
	if (!pf->self.name || !pf->self.ctype || !pf->self.etag || !pf->base || !pf->tenant_code ||
	    !pf->self_href || !pf->child_prefix)
		return http_internal_error(req, -ENOMEM);
	need_dead = pf->mode != PF_PROP;
	for (i = 0; i < pf->n_names; i++)
		if (pf->names[i].live < 0)
			need_dead = true;
	if (need_dead && (r = files_dav_props(req->db, TENANT(req), n.id, *deep, dead_cb, pf)) < 0)
		return http_internal_error(req, r);
	r = files_dav_locks(req->db, TENANT(req), d->path, FILES_DAV_LOCKS_ON | FILES_DAV_LOCKS_BELOW,
			    lockrow_cb, pf);
	if (r == 0 && !quota_read)
		r = files_quota(req->db, TENANT(req), &pf->quota, &pf->used);
	if (r == 0 && *deep)   /* the first files_dav_list_max() members; pf_fill marks the rest */
		r = files_dav_entries(req->db, TENANT(req), n.id, member_cb, pf, &pf->truncated);
	if (r < 0)
		return http_internal_error(req, r);
	*ok = true;
	return MHD_YES;
}

static enum MHD_Result do_propfind(struct dav *d)
{
	struct request *req = d->req;
	const char *depth = hdr(req, "Depth");
	struct arena *a;
	struct propfind *pf;
	struct dav_answer *hit = NULL;
	enum MHD_Result res;
	bool deep, ok;
	int r;

	if (!depth || !strcasecmp(depth, "infinity"))
		return dav_error(req, 403, "propfind-finite-depth", NULL);
	if (strcmp(depth, "0") && strcmp(depth, "1"))
		return plain(req, 400, "Bad Request: Depth is 0, 1 or infinity");
	deep = depth[0] == '1';
	a = arena_new();
	pf = a ? arena_alloc(a, sizeof(*pf)) : NULL;
	if (!pf) {
		arena_free(a);
		return http_internal_error(req, -ENOMEM);
	}
	memset(pf, 0, sizeof(*pf));
	pf->a = a;
	pf->d = d;
	dbuf_init(&pf->members, (size_t)KURA_DAV_LIST_MAX * sizeof(struct pfentry));
	dbuf_init(&pf->out, KURA_DAV_RESPONSE_MAX);
	dbuf_init(&pf->missing, KURA_DAV_RESPONSE_MAX);
	dbuf_init(&pf->path, 4 * KURA_MAX_URL_BYTES);
	pf->fault_after = pf_fault_after(&pf->slow);
	pf->tday = INT64_MIN;
	r = propfind_parse(pf);
	if (r == -E2BIG) {
		pf_free(pf);
		return plain(req, 413, "Request Entity Too Large: the XML body is nested too deep or too large");
	}
	if (r < 0) {
		pf_free(pf);
		return plain(req, 400, "Bad Request: the body is not a valid DAV:propfind");
	}
	pf->cache_ok = deep && pf->mode == PF_ALLPROP && !pf->slow && !pf->fault_after;
	res = propfind_load(pf, &deep, &ok, &hit);
	if (!ok) {
		pf_free(pf);
		return res;
	}
	if (hit) {
		/* the answer kept at the generation this request read: recorded as a listing */
		pf_free(pf);
		r = audit_access(d, "dav.propfind", AUDIT_SUCCESS, json_pack("{s:s}", "depth", "1"));
		if (r < 0) {
			dav_answer_release(hit);
			return http_internal_error(req, r);   /* not recorded, not served */
		}
		return send_answer(req, hit);
	}
	/* the members are read before the record: a truncated listing says so in it */
	r = audit_access(d, "dav.propfind", AUDIT_SUCCESS,
			 pf->truncated ? json_pack("{s:s, s:b, s:I}", "depth", "1", "truncated", 1, "members",
						   (json_int_t)pf->n_members)
				       : json_pack("{s:s}", "depth", deep ? "1" : "0"));
	if (r < 0) {
		pf_free(pf);
		return http_internal_error(req, r);   /* not recorded, not served */
	}
	if (pf->truncated)
		log_warn("dav.propfind", "tenant %lld folder %lld has more than %zu members: listed the first %zu,"
			 " ending with 507 number-of-matches-within-limits", (long long)TENANT(req),
			 (long long)pf->self.id, pf->n_members, pf->n_members);
	/* an answer to keep is written whole here (CPU only: no client holds a place of
	 * KURA_DAV_CACHE_BUILDS while it reads slowly), kept at the generation read before
	 * its members (dav_cache.h), and sent from the kept bytes */
	if (pf->cache_ok && deep && !pf->n_locks && !pf->truncated && pf->gen != 0 &&
	    pf_whole_need(pf) <= (size_t)KURA_DAV_CACHE_ENTRY_BYTES && dav_cache_build_begin()) {
		char *body = NULL;
		size_t len = 0;

		r = pf_whole(pf, &body, &len);
		dav_cache_build_end();
		if (r == 0)
			hit = dav_cache_put(TENANT(req), pf->tenant_code, pf->base, pf->gen, pf->gen_read_us,
					    body, len);
		pf_free(pf);
		if (r == -E2BIG)
			return http_problem(req, 507, "insufficient-storage", "the answer is too large", NULL);
		if (r < 0 || !hit)
			return http_internal_error(req, r < 0 ? r : -ENOMEM);
		return send_answer(req, hit);
	}
	r = pf_fill(pf);
	if (r < 0) {
		/* nothing sent yet: a clear status instead of a broken transfer */
		pf_free(pf);
		if (r == -E2BIG)
			return http_problem(req, 507, "insufficient-storage", "the answer is too large", NULL);
		return http_internal_error(req, r);
	}
	if (pf->done) {
		/* the whole answer is in the first piece: sent with a Content-Length */
		enum MHD_Result ret = send_buf(req, 207, &pf->out);

		pf_free(pf);
		return ret;
	}
	pf->d = NULL;   /* from here on the answer outlives nothing of the request */
	pf->direct = pf->mode == PF_ALLPROP && !pf->n_locks && !pf->slow;
	return http_respond_stream(req, 207, XML_CT, pf_read, pf, pf_free);
}

/* ---------------------------------------------------------------- PROPPATCH */

static enum MHD_Result do_proppatch(struct dav *d)
{
	struct request *req = d->req;
	struct files_dav_propop *ops = NULL;
	size_t n_ops = 0, cap = 0, i;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, c, p, q;
	struct file_node n;
	bool protected_any = false;
	enum MHD_Result res;
	unsigned status;
	struct dbuf b;
	int r;

	r = files_dav_resolve(req->db, TENANT(req), d->path, &n);
	if (r < 0)
		return files_fail(d, r == -ENOTDIR ? -ENOENT : r);
	if (!may_change(d, d->path, false, false, &res))
		return res;
	r = dav_xml_parse(d->body ? d->body : "", d->body_len, &doc);
	if (r < 0)
		return plain(req, r == -E2BIG ? 413 : 400, "Bad Request: the body is not a valid DAV:propertyupdate");
	root = xmlDocGetRootElement(doc);
	if (!dav_xml_is(root, "propertyupdate")) {
		xmlFreeDoc(doc);
		return plain(req, 400, "Bad Request: the body is not a DAV:propertyupdate");
	}
	for (c = root->children; c; c = c->next) {
		bool remove = dav_xml_is(c, "remove");

		if (!remove && !dav_xml_is(c, "set"))
			continue;
		for (p = c->children; p; p = p->next) {
			if (!dav_xml_is(p, "prop"))
				continue;
			for (q = p->children; q; q = q->next) {
				struct files_dav_propop *op;

				if (q->type != XML_ELEMENT_NODE)
					continue;
				if (n_ops == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct files_dav_propop *no = arena_alloc(req->arena, nc * sizeof(*no));

					if (!no || nc > 4 * KURA_DAV_PROPS_PER_NODE) {
						xmlFreeDoc(doc);
						return plain(req, 413, "Request Entity Too Large: too many properties");
					}
					if (n_ops)
						memcpy(no, ops, n_ops * sizeof(*no));
					ops = no;
					cap = nc;
				}
				op = &ops[n_ops++];
				op->remove = remove;
				op->ns = arena_strdup(req->arena, dav_xml_ns(q));
				op->name = arena_strdup(req->arena, (const char *)q->name);
				op->xml = NULL;
				if (!remove) {
					char *x = dav_xml_serialize(q, KURA_DAV_PROP_BYTES_MAX);

					op->xml = x ? arena_strdup(req->arena, x) : arena_strdup(req->arena, "");
					free(x);
					if (!x)
						op->xml = NULL;   /* too large: 507 below */
				}
				if (live_index(op->ns, op->name) >= 0)
					protected_any = true;
			}
		}
	}
	xmlFreeDoc(doc);
	status = 200;
	if (protected_any) {
		status = 424;
	} else {
		for (i = 0; i < n_ops; i++)
			if (!ops[i].remove && !ops[i].xml)
				status = 507;
		if (status == 200) {
			r = files_dav_proppatch(req->db, &req->actor, TENANT(req), n.id, ops, n_ops);
			if (r == -E2BIG || r == -EFBIG || r == -EDQUOT || r == -ENOSPC)
				status = 507;   /* too many, too large, over the quota, or the disk's reserve */
			else if (r == -EINVAL)
				status = 403;
			else if (r < 0)
				return files_fail(d, r);
		}
	}
	dbuf_init(&b, KURA_DAV_RESPONSE_MAX);
	dbuf_puts(&b, XML_HEAD "<D:multistatus xmlns:D=\"DAV:\"><D:response><D:href>");
	put_href(&b, d, d->path, n.kind == NODE_FOLDER);
	dbuf_puts(&b, "</D:href>");
	for (i = 0; i < n_ops; i++) {
		unsigned st = status;

		if (protected_any)
			st = live_index(ops[i].ns, ops[i].name) >= 0 ? 403 : 424;
		dbuf_puts(&b, "<D:propstat><D:prop>");
		put_empty_prop(&b, ops[i].ns, ops[i].name);
		dbuf_printf(&b, "</D:prop><D:status>HTTP/1.1 %u %s</D:status>", st,
			    st == 200 ? "OK" : st == 403 ? "Forbidden" : st == 424 ? "Failed Dependency"
										  : "Insufficient Storage");
		if (st == 403 && protected_any)
			dbuf_puts(&b, "<D:error><D:cannot-modify-protected-property/></D:error>");
		dbuf_puts(&b, "</D:propstat>");
	}
	dbuf_puts(&b, "</D:response></D:multistatus>\n");
	return send_buf(req, 207, &b);
}

/* ---------------------------------------------------------------- MKCOL, DELETE, PUT */

/* The parent folder of d->path: 409 when it is missing or not a folder. */
static int parent_folder(struct dav *d, const char *path, struct file_node *ret, const char **ret_name)
{
	char *parent;
	int r;

	if (!*path)
		return -EPERM;
	parent = parent_of(d->req->arena, path, ret_name);
	if (!parent)
		return -ENOMEM;
	r = files_dav_resolve(d->req->db, TENANT(d->req), parent, ret);
	if (r == -ENOENT || r == -ENOTDIR || (r == 0 && ret->kind != NODE_FOLDER))
		return -ENOTDIR;
	return r;
}

static enum MHD_Result do_mkcol(struct dav *d)
{
	struct request *req = d->req;
	struct file_node parent, n;
	const char *name;
	enum MHD_Result res;
	int r;

	r = files_dav_resolve(req->db, TENANT(req), d->path, &n);
	if (r == 0) {
		add_allow(req);
		return plain(req, 405, "Method Not Allowed: it exists");
	}
	r = parent_folder(d, d->path, &parent, &name);
	if (r == -ENOTDIR)
		return plain(req, 409, "Conflict: the parent collection does not exist");
	if (r < 0)
		return files_fail(d, r);
	if (!may_change(d, d->path, false, true, &res))
		return res;
	r = files_mkdir(req->db, &req->actor, TENANT(req), parent.id, name, &n);
	if (r == -EEXIST) {
		add_allow(req);
		return plain(req, 405, "Method Not Allowed: it exists");
	}
	if (r == -EINVAL)
		return plain(req, 403, "Forbidden: not an acceptable name");
	if (r < 0)
		return files_fail(d, r);
	return plain(req, 201, "Created");
}

static enum MHD_Result do_delete(struct dav *d)
{
	struct request *req = d->req;
	const char *depth = hdr(req, "Depth");
	struct file_node n;
	enum MHD_Result res;
	char etag[64];
	unsigned pre;
	int r;

	if (!*d->path)
		return plain(req, 403, "Forbidden: the root collection cannot be deleted");
	r = files_dav_resolve(req->db, TENANT(req), d->path, &n);
	if (r < 0)
		return files_fail(d, r == -ENOTDIR ? -ENOENT : r);
	if (n.kind == NODE_FOLDER && depth && strcasecmp(depth, "infinity"))
		return plain(req, 400, "Bad Request: DELETE of a collection is Depth: infinity");
	str_printf(etag, sizeof(etag), "\"%s\"", n.etag);
	pre = http_preconditions(req, n.kind == NODE_FILE ? etag : NULL, n.modified_us, true);
	if (pre)
		return plain(req, 412, "Precondition Failed");
	if (!may_change(d, d->path, true, true, &res))
		return res;
	r = files_trash(req->db, &req->actor, TENANT(req), n.id);
	if (r < 0)
		return files_fail(d, r);
	r = files_dav_locks_drop(req->db, TENANT(req), d->path);
	if (r < 0)
		log_warn("dav.delete", "locks of a deleted resource stay until they expire: %s", strerror(-r));
	return http_empty(req, 204);
}

/* A committed PUT: 201 or 204 with the new ETag, no body. */
static enum MHD_Result put_done(struct request *req, const struct file_node *n, bool created, void *cls)
{
	char etag[64];

	(void)cls;
	str_printf(etag, sizeof(etag), "\"%s\"", n->etag);
	http_add_header(req, "ETag", etag);
	return http_empty(req, created ? 201 : 204);
}

/* A PUT's check at its commit (files_upload_set_guard), in the commit's transaction under
 * the tenant's lock: the request's conditional headers and If header against the node as it
 * is now, and the locks as they are now. A LOCK taken, a lock that expired or was removed,
 * or a change committed by someone else while the body came refuses the PUT (423, 412)
 * instead of overwriting. */
static int put_guard_in(struct dav *d, const struct file_node *old, bool locks)
{
	struct request *req = d->req;
	char etag[64] = "", *blocked = NULL;
	unsigned status = 0;
	int r;

	if (old)
		str_printf(etag, sizeof(etag), "\"%s\"", old->etag);
	if (http_preconditions(req, old ? etag : NULL, old ? old->modified_us : 0, old != NULL))
		return -ESTALE;
	r = if_evaluate(d, &status);
	if (r < 0)
		return r;
	if (status)
		return -ESTALE;
	if (!locks)
		return 0;   /* the tenant holds no lock */
	r = locks_allow(d, d->path, false, !old, &blocked);
	if (r < 0)
		return r;
	if (blocked) {
		d->blocked = blocked;
		return -ENOLCK;
	}
	return 0;
}

/* The commit's transaction may run on another upload's thread, on that thread's connection
 * (db_combined, store/db.h): the checks read through req->db, so for their time it is the
 * transaction's connection; the request's own thread sleeps in db_combined meanwhile, so
 * nothing else uses req. */
static int put_guard(void *ctx, struct db *db, const struct file_node *old, bool locks)
{
	struct dav *d = ctx;
	struct db *own = d->req->db;
	int r;

	d->req->db = db;
	r = put_guard_in(d, old, locks);
	d->req->db = own;
	return r;
}

/* A PUT's target that cannot be a file: -ENOTDIR no parent collection (409), -EISDIR a
 * collection of that name (405), before the body (begin_put) or at the commit. */
static enum MHD_Result put_not_a_file(struct request *req, int r)
{
	if (r == -ENOTDIR)
		return plain(req, 409, "Conflict: the parent collection does not exist");
	add_allow(req);
	return plain(req, 405, "Method Not Allowed: a collection of that name exists");
}

static enum MHD_Result put_refused(struct request *req, int r, void *cls)
{
	struct dav *d = cls;

	if (r == -ENOLCK)
		return locked(d, d->blocked ? d->blocked : "");
	if (r == -ENOTDIR || r == -EISDIR)   /* a deferred PUT's (http_file_upload_path) */
		return put_not_a_file(req, r);
	if (d->put_deferred)
		return plain(req, 412, "Precondition Failed");
	return plain(req, 412, "Precondition Failed: the resource changed while the body was sent; nothing was stored");
}

/* A PUT whose checks wait for its body: a small one (Content-Length up to
 * KURA_UPLOAD_DEFER_MAX_BYTES) whose client did not ask to hear first (no Expect:
 * 100-continue). Everything begin_put checks in the read snapshot before the body, the
 * commit's transaction checks again anyway (record_upload_work, put_guard); for a small
 * body reading it first costs less than those reads (docs/performance.md step 22), and the
 * answer is the same, only later. A larger body, or a client that waits for a 100, still
 * hears the refusal before it sends. */
static bool put_deferrable(struct dav *d)
{
	const char *cl = hdr(d->req, MHD_HTTP_HEADER_CONTENT_LENGTH), *ex = hdr(d->req, MHD_HTTP_HEADER_EXPECT);
	int64_t n;

	return cl && !ex && safe_atoi64(cl, &n) == 0 && n >= 0 && n <= KURA_UPLOAD_DEFER_MAX_BYTES;
}

/* The path is resolved once, in the dispatch's read snapshot: the parent and the node
 * that the preconditions, the locks and the upload's early checks (quota, a folder of that
 * name) need. The upload's own transaction looks the parent and the name up again before it
 * writes (files_content.c record_upload), so nothing carried from here can be stale there.
 * A small PUT (put_deferrable) skips this: its path is resolved in that transaction only. */
static enum MHD_Result begin_put(struct dav *d)
{
	struct request *req = d->req;
	struct file_node parent, n;
	const char *name;
	enum MHD_Result res;
	bool exists;
	char etag[64] = "";
	unsigned pre;
	int r;

	if (!*d->path || d->slash)
		return plain(req, 409, "Conflict: PUT names a file, not a collection");
	if (put_deferrable(d)) {
		d->put_deferred = true;
		return http_file_upload_path(req, TENANT(req), d->path, false, put_guard, put_refused, put_done, d);
	}
	name = strrchr(d->path, '/') + 1;   /* a non-empty path starts with '/' (rel_path) */
	r = files_dav_resolve_leaf(req->db, TENANT(req), d->path, &parent, &n);
	if (r < 0 && r != -ENOENT && r != -ENOTDIR)
		return http_internal_error(req, r);
	exists = r == 0;
	/* a collection, or no parent: 405 or 409 whatever the preconditions (RFC 9110 13.2.1:
	 * they are ignored when the answer without them would not be 2xx), as the commit
	 * answers a deferred PUT */
	if (exists && n.kind == NODE_FOLDER)
		return put_not_a_file(req, -EISDIR);
	if (r == -ENOTDIR)
		return put_not_a_file(req, r);
	if (exists)
		str_printf(etag, sizeof(etag), "\"%s\"", n.etag);
	pre = http_preconditions(req, exists ? etag : NULL, exists ? n.modified_us : 0, exists);
	if (pre)
		return plain(req, 412, "Precondition Failed");
	if (!may_change(d, d->path, false, !exists, &res))
		return res;
	return http_file_upload_at(req, TENANT(req), &parent, exists ? &n : NULL, name, false, put_guard, put_refused,
				   put_done, d);
}

/* ---------------------------------------------------------------- COPY, MOVE */

static enum MHD_Result do_copymove(struct dav *d, bool move)
{
	struct request *req = d->req;
	const char *dest = hdr(req, "Destination"), *ow = hdr(req, "Overwrite");
	const char *depth = hdr(req, "Depth"), *dst_name;
	struct file_node src, dst_parent, old;
	bool overwrite = true, recursive = true, slash = false, created = false, dst_exists;
	enum MHD_Result res;
	char *dst = NULL;
	int r;

	if (!dest)
		return plain(req, 400, "Bad Request: Destination is required");
	r = url_to_path(d, dest, &dst, &slash);
	if (r == -EXDEV)
		return plain(req, 502, "Bad Gateway: the Destination is on another server");
	if (r == -EACCES) {
		json_t *det = json_pack("{s:s, s:s}", "method", req->method, "destination", dest);
		int k = audit_access(d, "dav.destination.refused", AUDIT_DENIED, det);

		(void)k;
		return plain(req, 403, "Forbidden: the Destination is outside your tenant's WebDAV root");
	}
	if (r < 0)
		return plain(req, 400, "Bad Request: the Destination is not an acceptable URL");
	if (ow && (strlen(ow) != 1 || (ow[0] != 'T' && ow[0] != 'F' && ow[0] != 't' && ow[0] != 'f')))
		return plain(req, 400, "Bad Request: Overwrite is T or F");
	if (ow && (ow[0] == 'F' || ow[0] == 'f'))
		overwrite = false;
	if (depth && !strcmp(depth, "0") && !move)
		recursive = false;
	else if (depth && strcasecmp(depth, "infinity"))
		return plain(req, 400, move ? "Bad Request: MOVE is Depth: infinity"
					    : "Bad Request: COPY is Depth: 0 or infinity");
	r = files_dav_resolve(req->db, TENANT(req), d->path, &src);
	if (r < 0)
		return files_fail(d, r == -ENOTDIR ? -ENOENT : r);
	if (!*d->path && move)
		return plain(req, 403, "Forbidden: the root collection cannot be moved");
	if (!strcmp(dst, d->path) || !*dst)
		return plain(req, 403, "Forbidden: the source and the destination are the same");
	if (src.kind == NODE_FOLDER && is_below(dst, d->path))
		return plain(req, 403, "Forbidden: the destination is inside the source");
	if (is_below(d->path, dst))
		return plain(req, 403, "Forbidden: the destination contains the source");
	r = parent_folder(d, dst, &dst_parent, &dst_name);
	if (r == -ENOTDIR)
		return plain(req, 409, "Conflict: the destination's parent collection does not exist");
	if (r < 0)
		return files_fail(d, r);
	r = files_lookup(req->db, TENANT(req), dst_parent.id, dst_name, &old);
	if (r < 0 && r != -ENOENT)
		return http_internal_error(req, r);
	dst_exists = r == 0;
	if (dst_exists && !overwrite)
		return plain(req, 412, "Precondition Failed: the destination exists and Overwrite is F");
	if (move && !may_change(d, d->path, true, true, &res))
		return res;
	if (!may_change(d, dst, true, true, &res))
		return res;
	if (move)
		r = files_dav_move(req->db, &req->actor, TENANT(req), src.id, dst_parent.id, dst_name,
				   overwrite, &created);
	else
		r = files_dav_copy(req->srv->files, req->db, &req->actor, TENANT(req), src.id, dst_parent.id,
				   dst_name, recursive, overwrite, &created);
	if (r == -ENOENT)
		r = -ENOTDIR;   /* the destination's parent went away meanwhile */
	if (r < 0)
		return files_fail(d, r);
	if (dst_exists && files_dav_locks_drop(req->db, TENANT(req), dst) < 0)
		log_warn("dav.copy", "locks of an overwritten resource stay until they expire");
	if (move && files_dav_locks_drop(req->db, TENANT(req), d->path) < 0)
		log_warn("dav.move", "locks of a moved resource stay until they expire");
	if (created) {
		char *loc = href_of(d, dst, src.kind == NODE_FOLDER);

		if (loc)
			http_add_header(req, "Location", loc);
		return plain(req, 201, "Created");
	}
	return http_empty(req, 204);
}

/* ---------------------------------------------------------------- LOCK, UNLOCK */

static int64_t parse_timeout(const char *h)
{
	while (h && *h) {
		int64_t v;

		while (*h == ' ' || *h == ',')
			h++;
		if (!strncasecmp(h, "Second-", 7)) {
			char num[24];
			size_t n = strspn(h + 7, "0123456789");

			if (n > 0 && n < sizeof(num)) {
				memcpy(num, h + 7, n);
				num[n] = '\0';
				if (safe_atoi64(num, &v) == 0 && v > 0)
					return v > KURA_DAV_LOCK_TIMEOUT_MAX_S ? KURA_DAV_LOCK_TIMEOUT_MAX_S : v;
			}
		}
		h = strchr(h, ',');
	}
	return KURA_DAV_LOCK_TIMEOUT_S;
}

static enum MHD_Result lock_answer(struct dav *d, unsigned status, const char *root, bool infinite,
				   bool shared, const char *owner, const char *token, int64_t expires_us,
				   bool token_header)
{
	struct dbuf b;

	if (token_header) {
		char *h = arena_printf(d->req->arena, "<%s>", token);

		if (h)
			http_add_header(d->req, "Lock-Token", h);
	}
	dbuf_init(&b, 64 * 1024);
	dbuf_puts(&b, XML_HEAD "<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>");
	put_activelock(&b, d->tenant_code, root, infinite, shared, owner, token, expires_us);
	dbuf_puts(&b, "</D:lockdiscovery></D:prop>\n");
	return send_buf(d->req, status, &b);
}

static enum MHD_Result lock_refresh(struct dav *d, int64_t timeout)
{
	struct request *req = d->req;
	char root[KURA_MAX_URL_BYTES + 1];
	struct files_dav_lock l;
	size_t i;
	int r;

	for (i = 0; d->ifh && i < d->ifh->n_conds; i++) {
		const struct if_cond *c = &d->ifh->conds[i];

		if (c->etag || c->not)
			continue;
		r = files_dav_lock_refresh(req->db, &req->actor, TENANT(req), d->path, c->value, timeout, &l,
					   root, sizeof(root));
		if (r == -ENOENT || r == -EPERM)
			continue;
		if (r < 0)
			return http_internal_error(req, r);
		return lock_answer(d, 200, root, l.infinite, l.shared, l.owner_xml,
				   l.token, l.expires_us, false);
	}
	return dav_error(req, 412, "lock-token-matches-request-uri", NULL);
}

/* The empty file of a LOCK on an unmapped URL: the lock just taken is the actor's, and
 * the parent's locks were checked before it (may_change). */
static int lock_null_guard(void *ctx, struct db *db, const struct file_node *old, bool locks)
{
	(void)ctx;
	(void)db;
	(void)old;
	(void)locks;
	return 0;
}

static enum MHD_Result do_lock(struct dav *d)
{
	struct request *req = d->req;
	const char *depth = hdr(req, "Depth"), *name;
	int64_t timeout = parse_timeout(hdr(req, "Timeout"));
	struct files_dav_lock l;
	struct file_node n, parent;
	xmlDocPtr doc = NULL;
	xmlNodePtr root, c, e;
	char *owner = NULL;
	bool exists, scope_seen = false, type_seen = false;
	enum MHD_Result res;
	int r;

	memset(&l, 0, sizeof(l));
	if (depth && strcmp(depth, "0") && strcasecmp(depth, "infinity"))
		return plain(req, 400, "Bad Request: LOCK is Depth: 0 or infinity");
	if (d->body_len == 0)
		return lock_refresh(d, timeout);
	r = dav_xml_parse(d->body, d->body_len, &doc);
	if (r < 0)
		return plain(req, r == -E2BIG ? 413 : 400, "Bad Request: the body is not a valid DAV:lockinfo");
	root = xmlDocGetRootElement(doc);
	if (!dav_xml_is(root, "lockinfo"))
		goto bad;
	for (c = root->children; c; c = c->next) {
		if (dav_xml_is(c, "lockscope")) {
			for (e = c->children; e; e = e->next) {
				if (dav_xml_is(e, "exclusive") || dav_xml_is(e, "shared")) {
					l.shared = dav_xml_is(e, "shared");
					scope_seen = true;
				}
			}
		} else if (dav_xml_is(c, "locktype")) {
			for (e = c->children; e; e = e->next)
				if (dav_xml_is(e, "write"))
					type_seen = true;
		} else if (dav_xml_is(c, "owner")) {
			owner = dav_xml_serialize(c, KURA_DAV_LOCK_OWNER_MAX);
			if (!owner)
				goto bad;
		}
	}
	xmlFreeDoc(doc);
	doc = NULL;
	if (!scope_seen || !type_seen)
		goto bad;
	l.path = d->path;
	l.infinite = !depth || !strcasecmp(depth, "infinity");
	if (owner && str_copy(l.owner_xml, sizeof(l.owner_xml), owner) < 0)
		goto bad;
	free(owner);
	owner = NULL;
	l.timeout_s = timeout;
	r = files_dav_resolve(req->db, TENANT(req), d->path, &n);
	if (r < 0 && r != -ENOENT && r != -ENOTDIR)
		return http_internal_error(req, r);
	exists = r == 0;
	if (!exists) {
		r = parent_folder(d, d->path, &parent, &name);
		if (r == -ENOTDIR || r == -EPERM)
			return plain(req, 409, "Conflict: the parent collection does not exist");
		if (r < 0)
			return files_fail(d, r);
		if (!may_change(d, d->path, false, true, &res))
			return res;
	}
	r = files_dav_lock_create(req->db, &req->actor, TENANT(req), &l);
	if (r == -EAGAIN)
		return dav_error(req, 423, "no-conflicting-lock", NULL);
	if (r == -E2BIG)
		return plain(req, 503, "Service Unavailable: too many locks");
	if (r < 0)
		return http_internal_error(req, r);
	if (!exists) {
		/* a LOCK of an unmapped URL makes an empty resource (RFC 4918 9.10.4) */
		struct files_upload *u = NULL;
		bool created = false;

		r = files_upload_begin_at(req->srv->files, req->db, TENANT(req), &parent, NULL, name, NULL, 0, true, &u);
		if (r == 0) {
			files_upload_set_guard(u, lock_null_guard, NULL);
			r = files_upload_commit(u, req->db, &req->actor, &n, &created);
		}
		if (r < 0) {
			int k = files_dav_unlock(req->db, &req->actor, TENANT(req), d->path, l.token);

			(void)k;
			return files_fail(d, r == -EEXIST ? -EAGAIN : r);
		}
	}
	return lock_answer(d, exists ? 200 : 201, d->path, l.infinite, l.shared, l.owner_xml, l.token,
			   l.expires_us, true);
bad:
	xmlFreeDoc(doc);
	free(owner);
	return plain(req, 400, "Bad Request: the body is not a valid DAV:lockinfo");
}

static enum MHD_Result do_unlock(struct dav *d)
{
	struct request *req = d->req;
	const char *h = hdr(req, "Lock-Token");
	size_t n;
	char *token;
	int r;

	/* RFC 4918 says "<token>"; Windows' client sends the bare token, which SabreDAV accepts */
	while (h && (*h == ' ' || *h == '\t'))
		h++;
	n = h ? strlen(h) : 0;
	while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n >= 2 && h[0] == '<' && h[n - 1] == '>') {
		h++;
		n -= 2;
	}
	if (n == 0 || n > KURA_MAX_URL_BYTES || memchr(h, '<', n) || memchr(h, '>', n))
		return plain(req, 400, "Bad Request: Lock-Token: <token> is required");
	token = arena_strndup(req->arena, h, n);
	if (!token)
		return http_internal_error(req, -ENOMEM);
	r = files_dav_unlock(req->db, &req->actor, TENANT(req), d->path, token);
	if (r == -ENOENT)
		return dav_error(req, 409, "lock-token-matches-request-uri", NULL);
	if (r == -EPERM)
		return plain(req, 403, "Forbidden: the lock belongs to another account");
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

/* ---------------------------------------------------------------- GET, HEAD, OPTIONS */

struct listing {
	struct dav *d;
	struct dbuf b;
};

static int list_cb(void *ctx, const struct file_node *n)
{
	struct listing *l = ctx;
	char *path = arena_printf(l->d->req->arena, "%s/%s", l->d->path, n->name);

	if (!path)
		return -ENOMEM;
	dbuf_puts(&l->b, "<li><a href=\"");
	put_href(&l->b, l->d, path, n->kind == NODE_FOLDER);
	dbuf_puts(&l->b, "\">");
	dav_esc(&l->b, n->name);
	dbuf_puts(&l->b, n->kind == NODE_FOLDER ? "/</a></li>\n" : "</a></li>\n");
	return dbuf_error(&l->b) ? -E2BIG : 0;
}

static enum MHD_Result do_get(struct dav *d)
{
	struct request *req = d->req;
	const bool head = !strcmp(req->method, "HEAD");
	struct MHD_Response *resp;
	struct file_content c;
	struct listing *l;
	struct file_node n;
	size_t n_html = 0;
	bool more = false;
	char *html;
	/* the node with its key and inline content in one statement, carried to the download
	 * (it read the node by path, then by id, then its key: issue 11) */
	int r = files_dav_resolve_content(req->db, TENANT(req), d->path, &n, &c);

	if (r < 0)
		return files_fail(d, r == -ENOTDIR ? -ENOENT : r);
	/* a file: GET, HEAD and 304 are recorded like the API's (file.download, file.head,
	 * file.not_modified) before the answer */
	if (n.kind == NODE_FILE)
		return http_file_download_at(req, TENANT(req), &n, &c, http_download_record, NULL);
	files_content_clear(&c);
	/* a collection: a plain HTML list of its members */
	l = arena_alloc(req->arena, sizeof(*l));
	if (!l)
		return http_internal_error(req, -ENOMEM);
	l->d = d;
	dbuf_init(&l->b, KURA_DAV_RESPONSE_MAX);
	dbuf_puts(&l->b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	dav_esc(&l->b, *n.name ? n.name : d->tenant_code);
	dbuf_puts(&l->b, "</title></head><body><ul>\n");
	r = head ? 0 : files_dav_children(req->db, TENANT(req), n.id, list_cb, l, &more);
	dbuf_puts(&l->b, "</ul>\n");
	/* over the listing limit: the first members by name, and a line that says so (a browser's
	 * view; a WebDAV client's PROPFIND gets the 507 marker, do_propfind) */
	if (more)
		dbuf_printf(&l->b, "<p>Only the first %zu members are listed: use the portal or a WebDAV client"
				   " to see the others.</p>\n", files_dav_list_max());
	dbuf_puts(&l->b, "</body></html>\n");
	if (r == 0)
		r = audit_access(d, head ? "dav.head" : "dav.list", AUDIT_SUCCESS,
				 more ? json_pack("{s:b,s:I}", "truncated", 1, "members",
							(json_int_t)files_dav_list_max()) : NULL);
	if (r < 0 || dbuf_error(&l->b)) {
		dbuf_free(&l->b);
		return http_internal_error(req, r < 0 ? r : -E2BIG);
	}
	html = dbuf_take(&l->b, &n_html);
	if (!html)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(n_html, html, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(html);
		return MHD_NO;
	}
	return http_respond_response(req, 200, "text/html; charset=utf-8", resp);
}

static enum MHD_Result do_options(struct dav *d)
{
	int r = audit_access(d, "dav.options", AUDIT_SUCCESS, NULL);

	if (r < 0)
		return http_internal_error(d->req, r);
	http_add_header(d->req, "DAV", "1, 2");
	add_allow(d->req);
	http_add_header(d->req, "MS-Author-Via", "DAV");
	return http_empty(d->req, 200);
}

/* ---------------------------------------------------------------- entry */

static enum MHD_Result do_copy(struct dav *d)
{
	return do_copymove(d, false);
}

static enum MHD_Result do_move(struct dav *d)
{
	return do_copymove(d, true);
}

/* What a method is to the dispatch below and to dispatch() (server.c). */
#define DAV_M_READ    0x1   /* reads only: files.read is enough, and a read-only app password */
#define DAV_M_STREAM  0x2   /* its body streams into the handler (PUT), which runs before it */
#define DAV_M_NOBODY  0x4   /* takes no body: 415 for one (of any size) before the handler */

struct dav_method {
	const char *name;
	enum MHD_Result (*fn)(struct dav *d);
	unsigned flags;
};

/* Every method served under /dav/, in the order of the Allow header. Every other method is
 * 405 (after authorization as files.write, and after the If header). */
static const struct dav_method dav_methods[] = {
	{ "OPTIONS", do_options, DAV_M_READ },
	{ "GET", do_get, DAV_M_READ },
	{ "HEAD", do_get, DAV_M_READ },
	{ "PUT", begin_put, DAV_M_STREAM },
	{ "DELETE", do_delete, 0 },
	{ "MKCOL", do_mkcol, DAV_M_NOBODY },
	{ "COPY", do_copy, 0 },
	{ "MOVE", do_move, 0 },
	{ "PROPFIND", do_propfind, DAV_M_READ },
	{ "PROPPATCH", do_proppatch, 0 },
	{ "LOCK", do_lock, 0 },
	{ "UNLOCK", do_unlock, 0 },
};

static const struct dav_method *method_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dav_methods); i++)
		if (!strcmp(dav_methods[i].name, name))
			return &dav_methods[i];
	return NULL;
}

bool dav_method_is_read(const char *method)
{
	const struct dav_method *m = method_find(method);

	return m && (m->flags & DAV_M_READ);
}

const char *dav_method_name(size_t i)
{
	return i < ARRAY_SIZE(dav_methods) ? dav_methods[i].name : NULL;
}

static void add_allow(struct request *req)
{
	char allow[160] = "";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dav_methods); i++) {
		if (i)
			strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
		strncat(allow, dav_methods[i].name, sizeof(allow) - strlen(allow) - 1);
	}
	http_add_header(req, "Allow", allow);
}

static enum MHD_Result no_body(struct request *req, const struct dav_method *m)
{
	char line[96];

	str_printf(line, sizeof(line), "Unsupported Media Type: %s takes no body", m->name);
	return plain(req, 415, line);
}

/* A method with its body complete (or none): the If header, then the method's handler. */
static enum MHD_Result dav_act(struct dav *d)
{
	struct request *req = d->req;
	const struct dav_method *m = method_find(req->method);
	unsigned status = 0;
	int r = if_evaluate(d, &status);

	if (r < 0)
		return http_internal_error(req, r);
	if (status)
		return plain(req, status, "Precondition Failed: no list of the If header holds");
	if (!m) {
		add_allow(req);
		return plain(req, 405, "Method Not Allowed");
	}
	if ((m->flags & DAV_M_NOBODY) && (d->body_len > 0 || d->body_too_large))
		return no_body(req, m);
	return m->fn(d);
}

static int body_data(struct request *req, const char *data, size_t n)
{
	struct dav *d = req->stream_ctx;

	if (d->body_too_large || d->body_len + n > KURA_DAV_XML_BODY_MAX) {
		d->body_too_large = true;
		return -E2BIG;
	}
	if (!d->body) {
		d->body = arena_alloc(req->arena, KURA_DAV_XML_BODY_MAX + 1);
		if (!d->body)
			return -ENOMEM;
	}
	memcpy(d->body + d->body_len, data, n);
	d->body_len += n;
	return 0;
}

static enum MHD_Result body_end(struct request *req)
{
	struct dav *d = req->stream_ctx;

	if (d->body_too_large) {
		const struct dav_method *m = method_find(req->method);

		if (m && (m->flags & DAV_M_NOBODY))
			return no_body(req, m);
		return plain(req, 413, "Request Entity Too Large: XML bodies are at most 64 KiB");
	}
	return dav_act(d);
}

static void body_abort(struct request *req, bool client_gone)
{
	(void)client_gone;
	req->stream_ctx = NULL;   /* arena memory */
}

static const struct stream_ops body_ops = { body_data, body_end, body_abort };

bool dav_request_whole(struct request *req)
{
	const struct dav_method *m = method_find(req->method);
	const char *cl = hdr(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t v;

	/* the headers passed server.c's strict checks: at most one Content-Length or one
	 * Transfer-Encoding (chunked), never both */
	if (!m || !(m->flags & DAV_M_READ) || hdr(req, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return false;
	return !cl || (safe_atoi64(cl, &v) == 0 && v == 0);
}

static enum MHD_Result dav_begin(struct request *req)
{
	struct dav *d = arena_alloc(req->arena, sizeof(*d));
	const struct dav_method *m;
	const char *t = req->path + strlen(DAV_PREFIX), *ifh;
	size_t n;
	int r;

	if (!d)
		return http_internal_error(req, -ENOMEM);
	d->req = req;
	if (strncmp(req->path, DAV_PREFIX, strlen(DAV_PREFIX)) || !*t)
		return plain(req, 404, "Not found: WebDAV is at /dav/<tenant>/");
	n = strcspn(t, "/");
	if (n != strlen(req->session.tenant_code) || strncmp(t, req->session.tenant_code, n)) {
		/* another tenant's URL: nothing there for this credential */
		json_t *det = json_pack("{s:s, s:s}", "method", req->method, "path", req->path);

		r = http_audit(req, 0, AUDIT_ACCESS, "dav.tenant.refused", req->path, AUDIT_DENIED, det);
		json_decref(det);
		(void)r;
		return plain(req, 404, "Not found");
	}
	/* D4: WebDAV starts off for some services until a manager turns it on */
	{
		enum MHD_Result res;

		if (!http_feature_on(req, TENANT(req), CATALOG_FEATURE_WEBDAV, AUDIT_ACCESS, "dav.refused", &res))
			return res;
	}
	d->tenant_code = req->session.tenant_code;
	r = rel_path(req->arena, req->path, d->tenant_code, &d->path, &d->slash);
	if (r < 0)
		return plain(req, 404, "Not found");
	if (!req->srv->files)
		return http_problem(req, 503, "unavailable", "file storage is not configured", NULL);
	ifh = hdr(req, "If");
	if (ifh && (r = if_parse(d, ifh, &d->ifh)) < 0)
		return r == -ENOMEM ? http_internal_error(req, r) : plain(req, 400, "Bad Request: malformed If header");
	m = method_find(req->method);
	if (m && (m->flags & DAV_M_STREAM)) {
		unsigned status = 0;

		r = if_evaluate(d, &status);
		if (r < 0)
			return http_internal_error(req, r);
		if (status)
			return plain(req, status, "Precondition Failed: no list of the If header holds");
		return m->fn(d);
	}
	if (dav_request_whole(req)) {
		/* dispatched at the request's end (server.c is_stream_request): its body, none,
		 * is complete, so the method runs now, in the dispatch's read snapshot with the
		 * app password's reads (a BEGIN and a COMMIT fewer than a snapshot of its own at
		 * the stream's end: issue 11) */
		return dav_act(d);
	}
	req->stream_ctx = d;
	req->stream = &body_ops;
	return MHD_YES;
}

/* ---------------------------------------------------------------- route */

/* Every request under /dav/ (any method: R_DAV matches the prefix) comes here once
 * dispatch() has authenticated it; the permission is files.read or files.write by method
 * (dav_method_is_read). */
const struct route dav_routes[] = {
	{ "*", DAV_PREFIX, dav_begin, R_STREAM | R_DAV, PERM_FILES_WRITE },
};
const size_t dav_n_routes = ARRAY_SIZE(dav_routes);
