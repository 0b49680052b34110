/*
 * Management plane server and client over a unix socket. What each command does is in the
 * command table (command.h, commands.c); this file carries requests to it.
 *
 * SECURITY: the socket is created 0600 inside the 0700 data directory, and every
 * connection's peer credentials (SO_PEERCRED) must be the server's own uid or root, so
 * only the operator account that runs kura reaches it. Requests are bounded
 * (KURA_ADMIN_MAX_REQUEST), read with a timeout, checked against the command table (a row's
 * name, only that row's arguments, each of its JSON type), validated by the same service
 * functions as the API, and every command is recorded with the operator as actor (F5): in
 * the tenant's log when it touches a tenant.
 */
#include <fcntl.h>
#include <poll.h>
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
#include "core/limits.h"
#include "core/log.h"
#include "mgmt/mgmt.h"
#include "mgmt/mgmt_int.h"
#include "store/db.h"

struct mgmt_server {
	pthread_t thread;
	int listen_fd;
	int stop_pipe[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const unsigned char *master_key;
	struct mailer *mailer;
	struct files *files;
};

#define fail mgmt_fail   /* the short name, as in commands.c */

/* One request through the command table: the row by name, its args checked against the row,
 * then its handler (commands.c). */
static json_t *handle(struct mgmt_server *m, struct db *db, const struct actor *op, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "command"));
	json_t *args = json_object_get(req, "args"), *empty = NULL, *resp;
	const struct mgmt_command *cmd;
	struct mgmt_ctx ctx = { db, op, m->master_key, m->mailer, m->files };
	char err[256];

	if (!name)
		return fail("invalid", "request has no command");
	cmd = mgmt_command_find(name);
	if (!cmd)
		return fail("invalid", "unknown command \"%s\"", name);
	if (mgmt_args_check(cmd, args, err, sizeof(err)) < 0)
		return fail("invalid", "%s", err);
	if (!args)
		args = empty = json_object();
	resp = cmd->handler(&ctx, args);
	json_decref(empty);
	return resp ? resp : fail("internal", "out of memory");
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
			       struct mailer *mailer, struct files *files, char *err, size_t err_size)
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
	m->files = files;
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
	size_t n = 0, len, off = 0, cap;
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
	cap = KURA_ADMIN_MAX_REQUEST * 16;
	buf = malloc(cap + 1);
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
	/* answers grow up to KURA_ADMIN_MAX_RESPONSE (an evidence bundle in base64) */
	for (;;) {
		ssize_t k;

		if (n == cap && cap < KURA_ADMIN_MAX_RESPONSE) {
			char *more;

			cap = cap * 2 > KURA_ADMIN_MAX_RESPONSE ? KURA_ADMIN_MAX_RESPONSE : cap * 2;
			more = realloc(buf, cap + 1);
			if (!more) {
				r = -ENOMEM;
				goto out;
			}
			buf = more;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0)
			goto io;
		if (k == 0 || (n += (size_t)k) >= KURA_ADMIN_MAX_RESPONSE)
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
