/*
 * kura audit verify FILE --key PUBKEY: checks an audit export offline (F9, G3), with
 * nothing but the file and the deployment's public key (64 hex digits, or a file holding
 * them such as signing.pub). Prints what was checked, or the first record that fails
 * with its seq and why; exits 0 when the export verifies, 1 when it does not, 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "crypto/crypto.h"

static const char usage[] =
	"usage: kura audit verify FILE --key PUBKEY\n"
	"  FILE    a JSONL export (GET /api/v1/audit/export), - for standard input\n"
	"  PUBKEY  the deployment's public key: 64 hex digits, or a file that holds them\n"
	"          (GET /api/v1/audit/public-key, kura admin audit public-key, DIR/signing.pub)\n";

static int load_key(const char *arg, unsigned char pk[32])
{
	char buf[256];
	FILE *f;
	size_t n;

	if (audit_parse_public_key(arg, pk) == 0)
		return 0;
	f = fopen(arg, "re");
	if (!f)
		return -ENOENT;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return audit_parse_public_key(buf, pk);
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *file;
	struct audit_verify_result res;
	unsigned char pk[32];
	FILE *f;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "verify") || !key) {
		fputs(usage, stderr);
		return 2;
	}
	if (crypto_init() < 0) {
		fputs("kura audit: libsodium failed to initialize\n", stderr);
		return 1;
	}
	if (load_key(key, pk) < 0) {
		fprintf(stderr, "kura audit: --key must be 64 hex digits or a file holding them: %s\n", key);
		return 2;
	}
	file = argv[optind + 1];
	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		fprintf(stderr, "kura audit: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	r = audit_verify_file(f, pk, &res);
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		fprintf(stderr, "kura audit: reading %s failed: %s\n", file, strerror(-r));
		return 1;
	}
	if (!res.ok) {
		if (res.bad_seq)
			printf("FAILED at record seq %lld (line %ld): %s\n", (long long)res.bad_seq, res.bad_line,
			       res.reason);
		else
			printf("FAILED (line %ld): %s\n", res.bad_line, res.reason);
		return 1;
	}
	printf("OK: tenant %lld, records %lld to %lld: %lld records and %lld omitted by filters verified,"
	       " %lld signed checkpoints, %llu bytes\n",
	       (long long)res.tenant, (long long)res.first_seq, (long long)res.last_seq, (long long)res.records,
	       (long long)res.omitted, (long long)res.checkpoints, (unsigned long long)res.bytes);
	return 0;
}
