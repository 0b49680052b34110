/*
 * libFuzzer target for the audit-export verifier (src/audit/verify.c, audit_verify_file):
 * `kura audit verify` reads export files from third parties by design. Input: a 32-byte
 * Ed25519 public key, then the file. The file is verified twice, through both of the
 * verifier's drivers: mapped (a memfd: a regular file, hashed on a second thread) and
 * streamed (fmemopen: no descriptor, read line by line). Besides the sanitizers, checks
 * that the two drivers agree (verdict, tenant, counts, first and last seq, the failing seq
 * and line, the reason), that a failure says why, and that a success names no failing line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"
#include "crypto/crypto.h"

#define MAX_FILE (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;

static void verify_mapped(const uint8_t *p, size_t n, const unsigned char pk[32], struct audit_verify_result *res)
{
	FILE *f;

	if (fd < 0) {
		fd = memfd_create("kura-fuzz-audit", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0 || (n && pwrite(fd, p, n, 0) != (ssize_t)n) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	f = fdopen(dup(fd), "r");
	if (!f)
		abort();
	if (audit_verify_file(f, pk, res) != 0)
		abort();
	fclose(f);
}

static void verify_stream(const uint8_t *p, size_t n, const unsigned char pk[32], struct audit_verify_result *res)
{
	static char empty[1];
	FILE *f = fmemopen(n ? (void *)p : empty, n, "r");

	if (!f)
		abort();
	if (audit_verify_file(f, pk, res) != 0)
		abort();
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result a, b;
	unsigned char pk[32];

	if (size < 32 || size > 32 + MAX_FILE)
		return 0;
	if (crypto_init() < 0)
		abort();
	memcpy(pk, data, 32);
	verify_mapped(data + 32, size - 32, pk, &a);
	verify_stream(data + 32, size - 32, pk, &b);
	if (a.ok != b.ok || a.tenant != b.tenant || a.records != b.records || a.omitted != b.omitted ||
	    a.checkpoints != b.checkpoints || a.first_seq != b.first_seq || a.last_seq != b.last_seq ||
	    a.bad_seq != b.bad_seq || a.bad_line != b.bad_line || strcmp(a.reason, b.reason))
		abort();
	if (!a.ok && (!a.reason[0] || strnlen(a.reason, sizeof(a.reason)) == sizeof(a.reason)))
		abort();
	if (a.ok && a.bad_line != 0)
		abort();
	return 0;
}
