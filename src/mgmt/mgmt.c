/*
 * Management plane server and client over a unix socket.
 *
 * SECURITY: the socket is created 0600 inside the 0700 data directory, and every
 * connection's peer credentials (SO_PEERCRED) must be the server's own uid or root, so
 * only the operator account that runs kura reaches it. Requests are bounded
 * (KURA_ADMIN_MAX_REQUEST), read with a timeout, validated by the same service functions
 * as the API, and every command is recorded with the operator as actor (F5): in the
 * tenant's log when it touches a tenant.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "files/files.h"
#include "mgmt/mgmt.h"
#include "notify/mail.h"
#include "notify/notify.h"
#include "store/db.h"
#include "tenant/tenant.h"

struct mgmt_server {
	pthread_t thread;
	int listen_fd;
	int stop_pipe[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const unsigned char *master_key;
	struct mailer *mailer;
};

static json_t *fail(const char *code, const char *fmt, ...) KURA_PRINTF(2, 3);

static json_t *fail(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "code", code);
}

static json_t *ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_object());
}

static json_t *fail_errno(int r, const char *what)
{
	switch (r) {
	case -ENOENT: return fail("not-found", "%s: not found", what);
	case -EEXIST: return fail("conflict", "%s: exists already", what);
	case -EINVAL: return fail("invalid", "%s: invalid value", what);
	case -EPERM: return fail("conflict", "%s: not allowed in this state", what);
	default: return fail("internal", "%s: failed (%s)", what, strerror(-r));
	}
}

/* Copies a JSON array of strings into a NULL-free vector; -EINVAL on anything else. */
static int string_vector(json_t *arr, const char **vec, size_t max, size_t *ret_n)
{
	size_t i;
	json_t *v;

	*ret_n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max)
		return -EINVAL;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return -EINVAL;
		vec[i] = json_string_value(v);
	}
	*ret_n = json_array_size(arr);
	return 0;
}

static const char *arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

static json_t *handle(struct mgmt_server *m, struct db *db, const struct actor *op, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	json_t *args = json_object_get(req, "args");
	struct tenant t;
	int r;

	if (!cmd)
		return fail("invalid", "request has no command");
	if (args && !json_is_object(args))
		return fail("invalid", "args must be an object");

	if (!strcmp(cmd, "tenant.create")) {
		const char *services[KURA_MAX_SERVICES], *options[KURA_MAX_OPTIONS];
		size_t n_s, n_o;
		const char *code = arg(args, "code"), *name = arg(args, "name");

		if (!code || !tenant_code_valid(code))
			return fail("invalid", "tenant code must be 2-32 of a-z 0-9 - (not starting or ending with -)");
		if (!name || !*name)
			return fail("invalid", "--name is required");
		if (string_vector(json_object_get(args, "services"), services, KURA_MAX_SERVICES, &n_s) < 0 || n_s == 0)
			return fail("invalid", "--service takes one or more of MAIL, DOCX, IAAS, ZTNA, COLLAB");
		for (size_t i = 0; i < n_s; i++)
			if (!tenant_service_valid(services[i]))
				return fail("invalid", "unknown service \"%s\": use MAIL, DOCX, IAAS, ZTNA or COLLAB",
					    services[i]);
		if (string_vector(json_object_get(args, "options"), options, KURA_MAX_OPTIONS, &n_o) < 0)
			return fail("invalid", "at most %d options", KURA_MAX_OPTIONS);
		for (size_t i = 0; i < n_o; i++)
			if (!tenant_option_valid(options[i]))
				return fail("invalid", "option \"%s\": 1-64 of A-Z a-z 0-9 . _ - :", options[i]);
		r = tenant_create(db, op, m->master_key, code, name, services, n_s, options, n_o, &t);
		if (r < 0)
			return fail_errno(r, code);
		return ok(tenant_json(db, &t));
	}
	if (!strcmp(cmd, "tenant.list"))
		return ok(json_pack("{s:o}", "tenants", tenant_list_json(db)));
	if (!strcmp(cmd, "tenant.show")) {
		const char *code = arg(args, "code");

		r = code ? tenant_find(db, code, &t) : -EINVAL;
		if (r < 0)
			return fail_errno(r, code ? code : "tenant");
		return ok(tenant_json(db, &t));
	}
	if (!strcmp(cmd, "manager.create")) {
		const char *code = arg(args, "tenant"), *login = arg(args, "login"), *email = arg(args, "email");
		char url[512];
		struct account a;
		json_t *res;

		if (!code || !login || !email)
			return fail("invalid", "tenant, login and --email are required");
		r = tenant_find(db, code, &t);
		if (r < 0)
			return fail_errno(r, code);
		/* C7: an operator starts a tenant's management, but once it has an active manager
		 * only the tenant invites further managers; otherwise an operator could make
		 * themselves a manager and read the tenant's data without its consent */
		{
			int64_t n_active = 0;

			r = account_active_managers(db, t.id, &n_active);
			if (r < 0)
				return fail_errno(r, code);
			if (n_active > 0)
				return fail("conflict",
					    "tenant %s has an active manager: its managers invite further managers "
					    "(operators do not act inside a tenant without its approval, C7)",
					    code);
		}
		if (!account_login_valid(login))
			return fail("invalid", "login must be 1-64 of a-z 0-9 . _ -, starting with a letter or digit");
		if (!mail_address_valid(email))
			return fail("invalid", "--email must be one address like name@example.com");
		r = account_invite(db, op, &t, login, email, "manager", NULL, &a, url, sizeof(url));
		if (r < 0)
			return fail_errno(r, login);
		mailer_wake(m->mailer);
		res = account_json(&a);
		json_object_set_new(res, "tenant", json_string(t.code));
		json_object_set_new(res, "invitation_url", json_string(url));
		return ok(res);
	}
	if (!strcmp(cmd, "account.unlock")) {
		const char *code = arg(args, "tenant"), *login = arg(args, "login");

		if (!code || !login)
			return fail("invalid", "tenant and login are required");
		r = tenant_find(db, code, &t);
		if (r < 0)
			return fail_errno(r, code);
		r = account_unlock(db, op, t.id, login);
		if (r < 0)
			return fail_errno(r, login);
		return ok(json_pack("{s:s, s:s, s:b}", "tenant", code, "login", login, "unlocked", 1));
	}
	if (!strcmp(cmd, "mail.test")) {
		/* a provider mail through the outbox, like every other: its delivery (or the SMTP
		 * error) shows in the delivery log and the server log */
		const char *to = arg(args, "to");
		const struct mail_var vars[] = { MAIL_TIME("sent_at", clock_now_us()) };
		const struct mail test = { .name = "test", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
		int64_t id = 0;

		if (!to || !mail_address_valid(to))
			return fail("invalid", "give one address like name@example.com");
		r = db_begin(db);
		if (r == 0)
			r = mail_queue(db, 0, to, &test, &id);
		if (r == 0)
			r = audit_record(db, &(struct audit_event){ .tenant_id = 0, .actor = op,
						 .category = AUDIT_OPERATOR, .action = "mail.test",
						 .target = "mail", .result = AUDIT_SUCCESS });
		if (r == 0)
			r = db_commit(db);
		if (r < 0)
			db_rollback(db);
		if (r < 0)
			return fail_errno(r, "mail");
		return ok(json_pack("{s:s, s:I}", "to", to, "outbox_id", (json_int_t)id));
	}
	if (!strcmp(cmd, "audit.public-key")) {
		char pk[AUDIT_PUBLIC_KEY_HEX];

		json_t *keys;

		if (audit_public_key_hex(pk) < 0)
			return fail("internal", "the signing key is not loaded");
		keys = audit_keys_json(db);
		if (!keys)
			return fail("internal", "cannot read the signing keys");
		return ok(json_pack("{s:s, s:s, s:o}", "algorithm", "ed25519", "public_key", pk, "keys", keys));
	}
	if (!strcmp(cmd, "audit.rotate-signing-key")) {
		json_t *res = NULL;

		r = audit_keys_rotate(db, op, &res);
		if (r == -EBUSY)
			return fail("conflict", "an earlier rotation is not complete yet: restart kura serve to complete it");
		if (r == -E2BIG)
			return fail("conflict", "this deployment has %d signing keys already", KURA_AUDIT_KEYS_MAX);
		if (r < 0)
			return fail_errno(r, "signing key rotation");
		return ok(res);
	}
	if (!strcmp(cmd, "audit.verify")) {
		const char *code = arg(args, "tenant");
		unsigned char pks[KURA_AUDIT_KEYS_MAX][AUDIT_KEY_BYTES];
		struct audit_verify_result res;
		size_t n_pks = 0;
		int64_t id = 0;

		if (!code)
			return fail("invalid", "a tenant code (or \"provider\") is required");
		if (strcmp(code, "provider")) {
			r = tenant_find(db, code, &t);
			if (r < 0)
				return fail_errno(r, code);
			id = t.id;
		}
		/* every registered key: each checkpoint verifies with the key that signed it */
		if (audit_keys_list(db, pks, ARRAY_SIZE(pks), &n_pks) < 0 || n_pks == 0)
			return fail("internal", "the signing keys are not registered");
		r = audit_verify_db_keys(db, id, (const unsigned char (*)[AUDIT_KEY_BYTES])pks, n_pks, &res);
		if (r < 0)
			return fail_errno(r, code);
		r = audit_record(db, &(struct audit_event){ .tenant_id = id, .actor = op,
					 .category = AUDIT_OPERATOR, .action = "audit.verify", .target = "audit",
					 .result = res.ok ? AUDIT_SUCCESS : AUDIT_FAILURE });
		if (r < 0)
			return fail_errno(r, code);
		return ok(audit_verify_result_json(&res));
	}
	if (!strcmp(cmd, "tenant.rotate-key")) {
		const char *code = arg(args, "code");
		int64_t version = 0, n_files = 0;

		r = code ? tenant_find(db, code, &t) : -EINVAL;
		if (r == 0)
			r = files_rotate_tenant_key(db, NULL, op, m->master_key, t.id, &version, &n_files);
		if (r < 0)
			return fail_errno(r, code ? code : "tenant");
		return ok(json_pack("{s:s, s:I, s:I}", "tenant", code, "key_version", (json_int_t)version,
				    "files_rewrapped", (json_int_t)n_files));
	}
	if (!strcmp(cmd, "tenant.set-quota")) {
		const char *code = arg(args, "code");
		json_t *q = json_object_get(args, "quota_bytes");
		int64_t quota = 0, used = 0;

		if (!json_is_integer(q) || json_integer_value(q) < 0)
			return fail("invalid", "quota must be a whole number of bytes");
		r = code ? tenant_find(db, code, &t) : -EINVAL;
		if (r == 0)
			r = files_quota_set(db, op, t.id, json_integer_value(q));
		if (r == 0)
			r = files_quota(db, t.id, &quota, &used);
		if (r < 0)
			return fail_errno(r, code ? code : "tenant");
		return ok(json_pack("{s:s, s:I, s:I}", "tenant", code, "quota_bytes", (json_int_t)quota,
				    "used_bytes", (json_int_t)used));
	}
	return fail("invalid", "unknown command \"%s\"", cmd);
}

static void serve_client(struct mgmt_server *m, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct timeval tv = { 5, 0 };
	char *buf = NULL, opname[96], pwbuf[1024];
	struct passwd pw, *pwp = NULL;
	size_t n = 0;
	json_t *req = NULL, *resp = NULL;
	json_error_t jerr;
	char *out = NULL;
	struct db *db;
	struct actor op = { ACTOR_OPERATOR, 0, 0, opname, "admin.sock", "kura admin" };

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("mgmt.refused", "connection refused: no peer credentials (%s)", strerror(errno));
		return;
	}
	if (cred.uid != geteuid() && cred.uid != 0) {
		log_warn("mgmt.refused", "connection from uid %u refused", (unsigned)cred.uid);
		return;
	}
	getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &pwp);
	str_printf(opname, sizeof(opname), "%s(uid %u)", pwp ? pwp->pw_name : "?", (unsigned)cred.uid);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf = malloc(KURA_ADMIN_MAX_REQUEST + 1);
	if (!buf)
		return;
	while (n < KURA_ADMIN_MAX_REQUEST) {
		ssize_t k = read(fd, buf + n, KURA_ADMIN_MAX_REQUEST - n);

		if (k <= 0)
			break;
		n += (size_t)k;
		if (memchr(buf + n - k, '\n', (size_t)k))
			break;
	}
	buf[n] = '\0';
	db = db_thread();
	if (n >= KURA_ADMIN_MAX_REQUEST)
		resp = fail("invalid", "request too large");
	else if (!(req = json_loadb(buf, n, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr)) ||
		 !json_is_object(req))
		resp = fail("invalid", "request is not a JSON object: %s", jerr.text);
	else if (!db)
		resp = fail("internal", "database unavailable");
	else
		resp = handle(m, db, &op, req);
	out = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
	if (out) {
		size_t len_out = strlen(out), off = 0;

		out[len_out] = '\n';  /* json_dumps leaves room for the NUL we overwrite */
		while (off <= len_out) {
			ssize_t k = write(fd, out + off, len_out + 1 - off);

			if (k <= 0)
				break;
			off += (size_t)k;
		}
	}
	log_info("mgmt.command", "%s by %s", json_string_value(json_object_get(req, "command"))
						     ? json_string_value(json_object_get(req, "command")) : "(invalid)",
		 opname);
	free(out);
	json_decref(req);
	json_decref(resp);
	free(buf);
}

static void *run(void *arg)
{
	struct mgmt_server *m = arg;
	struct pollfd pfd[2] = { { m->listen_fd, POLLIN, 0 }, { m->stop_pipe[0], POLLIN, 0 } };

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_client(m, fd);
		close(fd);
	}
	return NULL;
}

struct mgmt_server *mgmt_start(const char *sock_path, const unsigned char *master_key,
			       struct mailer *mailer, char *err, size_t err_size)
{
	struct mgmt_server *m = calloc(1, sizeof(*m));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int probe;

	if (!m || str_copy(sa.sun_path, sizeof(sa.sun_path), sock_path) < 0) {
		str_printf(err, err_size, "socket path too long: %s", sock_path);
		free(m);
		return NULL;
	}
	m->listen_fd = -1;
	m->stop_pipe[0] = m->stop_pipe[1] = -1;
	m->master_key = master_key;
	m->mailer = mailer;
	str_copy(m->path, sizeof(m->path), sock_path);
	/* only a socket is ours to replace: anything else at the path is reported as what it is,
	 * never removed (and never mistaken for another server: bind() would say "in use") */
	if (lstat(sock_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		str_printf(err, err_size,
			   "%s exists and is %s, not a socket: move it away (kura serve makes its management "
			   "socket there)", sock_path,
			   S_ISDIR(st.st_mode) ? "a directory" : S_ISREG(st.st_mode) ? "a regular file"
			   : S_ISLNK(st.st_mode) ? "a symbolic link" : "a special file");
		free(m);
		return NULL;
	}
	/* a live socket means another kura serve owns this data directory */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		str_printf(err, err_size, "another kura serve is running on this data directory (%s)", sock_path);
		free(m);
		return NULL;
	}
	if (probe >= 0)
		close(probe);
	unlink(sock_path);
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	old = umask(0177);
	if (m->listen_fd < 0 || bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sock_path, 0600) < 0 || listen(m->listen_fd, KURA_ADMIN_MAX_CLIENTS) < 0 ||
	    pipe2(m->stop_pipe, O_CLOEXEC) < 0) {
		umask(old);
		str_printf(err, err_size, "cannot create %s: %s", sock_path, strerror(errno));
		goto fail;
	}
	umask(old);
	if (pthread_create(&m->thread, NULL, run, m) != 0) {
		str_printf(err, err_size, "cannot start the management thread");
		goto fail;
	}
	return m;
fail:
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->stop_pipe[0] >= 0) {
		close(m->stop_pipe[0]);
		close(m->stop_pipe[1]);
	}
	unlink(sock_path);
	free(m);
	return NULL;
}

struct mgmt_server *mgmt_stop(struct mgmt_server *m)
{
	if (!m)
		return NULL;
	if (write(m->stop_pipe[1], "x", 1) < 0) {
		/* the thread is stopped below anyway when the pipe closes */
	}
	pthread_join(m->thread, NULL);
	close(m->listen_fd);
	close(m->stop_pipe[0]);
	close(m->stop_pipe[1]);
	unlink(m->path);
	free(m);
	return NULL;
}

int mgmt_call(const char *sock_path, json_t *request, json_t **ret, char *err, size_t err_size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text = NULL, *buf = NULL;
	size_t n = 0, len, off = 0;
	json_error_t jerr;
	json_t *resp;
	int fd = -1, r = -EIO;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), sock_path) < 0) {
		str_printf(err, err_size, "socket path too long: %s", sock_path);
		return -EINVAL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		str_printf(err, err_size, "cannot reach %s: %s (is `kura serve` running on this data directory?)",
			   sock_path, strerror(errno));
		r = -ECONNREFUSED;
		goto out;
	}
	text = json_dumps(request, JSON_COMPACT);
	buf = malloc(KURA_ADMIN_MAX_REQUEST * 16 + 1);
	if (!text || !buf) {
		r = -ENOMEM;
		goto out;
	}
	len = strlen(text);
	text[len] = '\n';
	while (off <= len) {
		ssize_t k = write(fd, text + off, len + 1 - off);

		if (k <= 0)
			goto io;
		off += (size_t)k;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t k = read(fd, buf + n, KURA_ADMIN_MAX_REQUEST * 16 - n);

		if (k < 0)
			goto io;
		if (k == 0 || (n += (size_t)k) >= KURA_ADMIN_MAX_REQUEST * 16)
			break;
	}
	resp = json_loadb(buf, n, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!resp) {
		str_printf(err, err_size, "the server's answer is not JSON: %s", jerr.text);
		goto out;
	}
	*ret = resp;
	r = 0;
	goto out;
io:
	str_printf(err, err_size, "talking to %s: %s", sock_path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return r;
}
