/* Argon2id cost on this machine (issue 3): milliseconds per pwhash_hash and pwhash_verify
 * with kura's default parameters (ops 3, 64 MiB), through kura's own crypto module.
 * Usage: pwhash_bench [runs] — prints min/median/max for each. Built by bench/pwhash.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "crypto/crypto.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char *end = NULL;
	long runs = argc > 1 ? strtol(argv[1], &end, 10) : 11;
	double h[64], v[64];
	char hash[PWHASH_STR_BYTES];
	long i;

	if (runs < 1 || runs > 64 || crypto_init() < 0 || pwhash_set_params(3, 64 * 1024) < 0)
		return 2;
	for (i = 0; i < runs; i++) {
		double t0 = now_ms();

		if (pwhash_hash("correct horse battery staple", hash) < 0)
			return 1;
		h[i] = now_ms() - t0;
		t0 = now_ms();
		if (pwhash_verify(hash, "correct horse battery staple") != 0)
			return 1;
		v[i] = now_ms() - t0;
	}
	qsort(h, (size_t)runs, sizeof(double), cmp);
	qsort(v, (size_t)runs, sizeof(double), cmp);
	printf("| Argon2id ops=3 mem=64MiB, %ld runs | min | median | max |\n|---|---|---|---|\n", runs);
	printf("| pwhash_hash (ms) | %.1f | %.1f | %.1f |\n", h[0], h[runs / 2], h[runs - 1]);
	printf("| pwhash_verify (ms) | %.1f | %.1f | %.1f |\n", v[0], v[runs / 2], v[runs - 1]);
	return 0;
}
