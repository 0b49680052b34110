/* s3rver for the tests (s3rver.h). KURA_S3RVER_JS is tests/s3/node_modules/s3rver/bin/s3rver.js,
 * installed by the ctest fixture s3/npm-ci (tests/CMakeLists.txt). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s3rver.h"

#define S3RVER_DEADLINE_S 30
#define S3RVER_TRIES 5

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static bool accepts(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int start_once(struct s3rver *s, int port)
{
	char port_arg[16];
	/* s3rver's continuation tokens use DES, which Node 18+ (OpenSSL 3) only has in the
	 * legacy provider: without it, a listing of more than one page answers 500 */
	const char *argv[] = { "node", "--openssl-legacy-provider", KURA_S3RVER_JS, "-d", s->dir, "-a", "127.0.0.1", "-p", port_arg,
			       "--silent", "--configure-bucket", S3RVER_BUCKET, NULL };
	double end;
	int fd, st;

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* a crashed test leaves no server behind */
		execvp(argv[0], (char *const *)argv);   /* node from PATH, as tests/browser */
		_exit(127);
	}
	close(fd);
	if (s->pid < 0)
		return -1;
	end = now_s() + S3RVER_DEADLINE_S;
	while (now_s() < end) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = -1;
			return -EADDRINUSE;   /* most likely: the port was taken meanwhile */
		}
		if (accepts(port)) {
			s->port = port;
			return 0;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "s3rver did not listen within %d s (log: %s)\n", S3RVER_DEADLINE_S, s->log);
	s3rver_stop(s);
	return -1;
}

int s3rver_start(struct s3rver *s, const char *dir, int port)
{
	int r = -EADDRINUSE, i;

	s->pid = -1;
	if (dir != s->dir)
		snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->log, sizeof(s->log), "%s.log", s->dir);
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (access(KURA_S3RVER_JS, R_OK) < 0) {
		fprintf(stderr, "%s is missing: run npm ci in tests/s3 (ctest's s3/npm-ci does)\n", KURA_S3RVER_JS);
		return -1;
	}
	for (i = 0; i < (port ? 1 : S3RVER_TRIES) && r == -EADDRINUSE; i++)
		r = start_once(s, port ? port : free_port());
	if (r < 0)
		fprintf(stderr, "s3rver would not start (log: %s)\n", s->log);
	return r < 0 ? -1 : 0;
}

void s3rver_stop(struct s3rver *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
}
