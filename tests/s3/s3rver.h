/*
 * A real S3-compatible server for the tests: s3rver (npm, tests/s3/package.json) on a free
 * loopback port, its objects under a directory the test owns, one bucket made at start.
 * Used by the S3 backend's unit test and by the integration harness (KURA_IT_BLOB=s3).
 */
#ifndef KURA_TESTS_S3RVER_H
#define KURA_TESTS_S3RVER_H
#include <sys/types.h>

#define S3RVER_BUCKET "kura"
#define S3RVER_KEY "S3RVER"          /* s3rver's fixed access key and secret */

struct s3rver {
	pid_t pid;
	int port;
	char dir[512];               /* the objects: DIR/<bucket>/<key>._S3rver_object */
	char log[600];
};

/* Starts s3rver on dir (created) with the bucket; port 0 picks a free one (retried when
 * another process takes it first), else that port (a restart on the same data). 0 when it
 * accepts connections, -1 otherwise (with the reason on stderr). */
int s3rver_start(struct s3rver *s, const char *dir, int port);
/* SIGKILL and reap (no clean shutdown: as a crash would). Accepts a stopped one. */
void s3rver_stop(struct s3rver *s);
#endif
