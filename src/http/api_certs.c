/*
 * Client certificates over HTTP (issue 16, docs/security.md "Client certificates"): where a
 * request's certificate comes from, the gate that sign-in, app passwords, WebDAV and every
 * session request pass, and the endpoints to issue, list and revoke certificates.
 *
 * The certificate of a request is the TLS peer's (the listener asks for one and requires
 * none; GnuTLS does not judge it, clientcert_check does, against the request's tenant), or,
 * from a [server] trusted_proxies peer only, the URL-escaped PEM of X-Client-Cert (nginx's
 * $ssl_client_escaped_cert). From any other peer that header is ignored and logged.
 *
 * SECURITY: the header is bounded (KURA_CERT_PEM_MAX after decoding) and parsed as one PEM
 * certificate; the TLS certificate is the leaf GnuTLS received. Refusals are the callers'
 * generic 401s (a wrong password looks the same), recorded with the reason in the tenant's
 * audit log. A session opened with a certificate keeps requiring that very certificate, so
 * a stolen cookie is useless without the device's key.
 */
#include <arpa/inet.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <sodium.h>

#include "auth/clientcert.h"
#include "core/log.h"
#include "http/http_int.h"
#include "notify/notify.h"
#include "store/db.h"

/* ---------------------------------------------------------------- the certificate */

static bool peer_is_cert_proxy(struct request *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN] = "";
	struct ipnet p;
	size_t i;

	if (!ci || !ci->client_addr)
		return false;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, text,
			  sizeof(text));
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, text,
			  sizeof(text));
	if (!*text || ipaddr_parse(text, &p) < 0)
		return false;
	for (i = 0; i < req->srv->n_cert_proxies; i++)
		if (ipnet_contains(&req->srv->cert_proxies[i], &p))
			return true;
	return false;
}

static enum MHD_Result count_cert_header(void *cls, enum MHD_ValueKind kind, const char *key,
					 size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	(void)key_size;
	(void)value;
	(void)value_size;
	if (!strcasecmp(key, "X-Client-Cert"))
		(*(unsigned *)cls)++;
	return MHD_YES;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* X-Client-Cert: percent-decoded PEM → DER in the arena; false when it is not one. */
static bool header_cert(struct request *req, const char *h)
{
	size_t n = strlen(h), i, o = 0;
	char *pem;
	gnutls_datum_t in, der = { NULL, 0 };

	if (n > 3 * KURA_CERT_PEM_MAX)
		return false;
	pem = arena_alloc(req->arena, n + 1);
	if (!pem)
		return false;
	for (i = 0; i < n; i++) {
		if (h[i] == '%' && i + 2 < n + 0 && unhex(h[i + 1]) >= 0 && unhex(h[i + 2]) >= 0) {
			pem[o++] = (char)(unhex(h[i + 1]) * 16 + unhex(h[i + 2]));
			i += 2;
		} else {
			pem[o++] = h[i];
		}
	}
	pem[o] = 0;
	if (o > KURA_CERT_PEM_MAX || strlen(pem) != o)
		return false;
	in.data = (unsigned char *)pem;
	in.size = (unsigned)o;
	if (gnutls_pem_base64_decode2("CERTIFICATE", &in, &der) < 0)
		return false;
	req->cert_der = arena_alloc(req->arena, der.size);
	if (req->cert_der) {
		memcpy((void *)(uintptr_t)req->cert_der, der.data, der.size);
		req->cert_len = der.size;
	}
	gnutls_free(der.data);
	return req->cert_der != NULL;
}

static void request_cert(struct request *req)
{
	const char *h;

	if (req->cert_read)
		return;
	req->cert_read = true;
	h = MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, "X-Client-Cert");
	if (req->srv->n_cert_proxies > 0 && peer_is_cert_proxy(req)) {
		unsigned n = 0;

		/* behind the proxy the header is the only source (the proxy's own TLS is not the
		 * client's); a proxy that appends instead of replacing would pass the client's own
		 * header first: more than one means no certificate */
		MHD_get_connection_values_n(req->con, MHD_HEADER_KIND, count_cert_header, &n);
		if (n > 1) {
			log_warn("cert.header", "request %s: X-Client-Cert given %u times; none is used",
				 req->request_id, n);
			return;
		}
		if (h && *h && !header_cert(req, h))
			log_warn("cert.header", "request %s: X-Client-Cert from the trusted proxy is not a certificate",
				 req->request_id);
		return;
	}
	if (h && *h)
		log_warn("cert.header", "request %s: X-Client-Cert from %s (not in client_cert_proxies) ignored",
			 req->request_id, req->client_ip);
	if (req->srv->tls) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->con,
									     MHD_CONNECTION_INFO_GNUTLS_SESSION);
		const gnutls_datum_t *list;
		unsigned n = 0;

		if (!ci || !ci->tls_session)
			return;
		list = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
		if (list && n > 0 && list[0].size > 0) {
			req->cert_der = list[0].data;   /* GnuTLS keeps it for the session */
			req->cert_len = list[0].size;
		}
	}
}

bool http_cert_ok(struct request *req, int64_t tenant_id, const char *tenant_code,
		  const struct account *a, const char *session_sha256, const char *action,
		  struct clientcert_seen *ret_seen, int *ret_err)
{
	struct clientcert_policy pol;
	struct clientcert_seen seen;
	const struct tenant_settings *ts;
	const char *reason = NULL;
	char target[KURA_LOGIN_MAX + 16];
	json_t *det;
	int r;

	*ret_err = 0;
	if (ret_seen)
		memset(ret_seen, 0, sizeof(*ret_seen));
	/* the session's tenant: the policy of its settings (tenant/settings.h) */
	ts = http_tenant_settings(req, tenant_id, &r);
	if (ts)
		pol = ts->cert;
	else if (r == 0)
		r = clientcert_policy_get(req->db, tenant_id, &pol);
	if (r < 0) {
		*ret_err = r;
		return false;
	}
	if (!clientcert_required(&pol, a->role) && !(session_sha256 && *session_sha256))
		return true;   /* nothing to check: the certificate is not even parsed */
	request_cert(req);
	clientcert_describe(req->cert_der, req->cert_len, &seen);
	if (ret_seen)
		*ret_seen = seen;
	r = clientcert_check(req->db, tenant_id, tenant_code, a->id, req->cert_der, req->cert_len, &reason);
	if (r == 0 && session_sha256 && *session_sha256 && strcmp(session_sha256, seen.sha256)) {
		r = -EACCES;
		reason = "not the session's";
	}
	if (r == 0)
		return true;
	if (r != -EACCES) {
		*ret_err = r;
		return false;
	}
	str_printf(target, sizeof(target), "account:%.64s", a->login);
	det = json_pack("{s:s, s:s, s:s, s:s}", "reason", "client-certificate", "certificate", reason, "sha256",
			seen.sha256, "subject", seen.subject);
	r = db_begin(req->db);
	if (r == 0)
		r = audit_record(req->db, &(struct audit_event){ .tenant_id = tenant_id, .actor = &req->actor,
							       .category = AUDIT_AUTHENTICATION, .action = action,
							       .target = target, .result = AUDIT_DENIED,
							       .details = det });
	if (r == 0)
		r = db_commit(req->db);
	if (r < 0)
		db_rollback(req->db);
	json_decref(det);
	*ret_err = r;
	return false;
}

void http_cert_bound(struct request *req, int64_t tenant_id, const char *tenant_code, const struct account *a,
		     char ret_sha256[CLIENTCERT_SHA256_HEX])
{
	struct clientcert_seen seen;
	const char *reason;

	ret_sha256[0] = 0;
	request_cert(req);
	if (!req->cert_der)
		return;
	clientcert_describe(req->cert_der, req->cert_len, &seen);
	if (clientcert_check(req->db, tenant_id, tenant_code, a->id, req->cert_der, req->cert_len, &reason) == 0)
		memcpy(ret_sha256, seen.sha256, CLIENTCERT_SHA256_HEX);
}

/* ---------------------------------------------------------------- endpoints */

static enum MHD_Result issue(struct request *req, const struct account *a)
{
	const char *csr = NULL, *name = NULL, *why = NULL;
	const struct field spec[] = {
		{ .name = "csr", .kind = FIELD_STRING, .required = true, .max_chars = KURA_CSR_PEM_MAX, .ret_str = &csr },
		{ .name = "name", .kind = FIELD_STRING, .required = true, .max_chars = KURA_CERT_NAME_MAX,
		  .ret_str = &name },
	};
	json_t *item = NULL;
	char *pem = NULL;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	if (!*name || !utf8_is_clean_text(name, strlen(name)))
		return http_problem(req, 400, "invalid-field", "name: must be 1 to 100 characters of text", "name");
	r = clientcert_issue(req->db, &req->actor, req->session.account.tenant_id, req->session.tenant_code, a,
			     name, csr, &pem, &item, &why);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-field", why ? why : "csr: is not acceptable", "csr");
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "an account has at most 20 valid certificates; revoke one",
				    NULL);
	if (r < 0)
		return http_internal_error(req, r);
	json_object_set_new(item, "certificate", json_string(pem));
	free(pem);
	return http_json(req, 201, item);
}

static enum MHD_Result api_account_cert_issue(struct request *req)
{
	struct account a;
	int r = account_login_valid(req->params[0])
			? account_get(req->db, req->session.account.tenant_id, req->params[0], &a)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such account in this tenant", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return issue(req, &a);
}

static enum MHD_Result api_me_cert_issue(struct request *req)
{
	struct clientcert_policy pol;
	int r = clientcert_policy_get(req->db, req->session.account.tenant_id, &pol);

	if (r < 0)
		return http_internal_error(req, r);
	if (!pol.self_service && !http_permitted(req, PERM_ACCOUNT_WRITE, true))
		return http_problem(req, 403, "permission-denied",
				    "your tenant does not let users request their own certificates", NULL);
	return issue(req, &req->session.account);
}

static enum MHD_Result api_me_certs(struct request *req)
{
	json_t *items = NULL;
	int r = clientcert_list(req->db, req->session.account.tenant_id, req->session.account.id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_certs_list(struct request *req)
{
	json_t *items = NULL;
	int r = clientcert_list(req->db, req->session.account.tenant_id, 0, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_cert_revoke(struct request *req)
{
	int64_t id;
	int r = safe_atoi64(req->params[0], &id) == 0 && id > 0
			? clientcert_revoke(req->db, &req->actor, req->session.account.tenant_id, id)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such certificate in this tenant", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

static enum MHD_Result api_client_cas_list(struct request *req)
{
	json_t *items = NULL;
	int r = clientcert_ca_list(req->db, req->session.account.tenant_id, &items);

	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 200, json_pack("{s:o}", "items", items));
}

static enum MHD_Result api_client_ca_add(struct request *req)
{
	const char *pem = NULL, *why = NULL;
	const struct field spec[] = {
		{ .name = "pem", .kind = FIELD_STRING, .required = true, .max_chars = KURA_CERT_PEM_MAX, .ret_str = &pem },
	};
	json_t *item = NULL;
	enum MHD_Result res;
	int r;

	if (!http_take_fields(req, spec, ARRAY_SIZE(spec), &res))
		return res;
	r = clientcert_ca_add(req->db, &req->actor, req->session.account.tenant_id, pem, &item, &why);
	if (r == -EINVAL)
		return http_problem(req, 400, "invalid-field", why ? why : "pem: is not acceptable", "pem");
	if (r == -EEXIST)
		return http_problem(req, 409, "conflict", "this CA is on the list already", NULL);
	if (r == -E2BIG)
		return http_problem(req, 409, "conflict", "a tenant has at most 10 CAs of its own; remove one", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_json(req, 201, item);
}

static enum MHD_Result api_client_ca_delete(struct request *req)
{
	int64_t id;
	int r = safe_atoi64(req->params[0], &id) == 0 && id > 0
			? clientcert_ca_delete(req->db, &req->actor, req->session.account.tenant_id, id)
			: -ENOENT;

	if (r == -ENOENT)
		return http_problem(req, 404, "not-found", "no such CA in this tenant", NULL);
	if (r < 0)
		return http_internal_error(req, r);
	return http_empty(req, 204);
}

const struct route api_certs_routes[] = {
	{ "GET", "/api/v1/tenant/client-cas", api_client_cas_list, 0, PERM_SECURITY_READ },
	{ "POST", "/api/v1/tenant/client-cas", api_client_ca_add, R_BODY | R_NOAPP, PERM_SECURITY_WRITE },
	{ "DELETE", "/api/v1/tenant/client-cas/*", api_client_ca_delete, R_NOAPP, PERM_SECURITY_WRITE },
	{ "POST", "/api/v1/accounts/*/certificates", api_account_cert_issue, R_BODY | R_NOAPP, PERM_ACCOUNT_WRITE },
	{ "POST", "/api/v1/me/certificates", api_me_cert_issue, R_BODY | R_NOAPP, PERM_SELF },
	{ "GET", "/api/v1/me/certificates", api_me_certs, R_NOAPP, PERM_SELF },
	{ "GET", "/api/v1/certificates", api_certs_list, 0, PERM_ACCOUNT_READ },
	{ "DELETE", "/api/v1/certificates/*", api_cert_revoke, R_NOAPP, PERM_ACCOUNT_WRITE },
};
const size_t api_certs_n_routes = ARRAY_SIZE(api_certs_routes);
