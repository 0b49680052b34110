/*
 * kura audit verify FILE --key PUBKEY...: checks an audit export offline (F9, G3), with
 * nothing but the file and the deployment's public keys (64 hex digits each, or a file
 * holding one per line such as signing-keys.pub). Each checkpoint must verify with the key
 * it names, which must be one of these (docs/audit.md "Signing keys"). Prints what was checked, or the first record that fails
 * with its seq and why; exits 0 when the export verifies, 1 when it does not, 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "core/limits.h"
#include "crypto/crypto.h"

static const char usage[] =
	"usage: kura audit verify FILE --key PUBKEY [--key PUBKEY ...]\n"
	"  FILE    a JSONL export (GET /api/v1/audit/export), - for standard input\n"
	"  PUBKEY  a public key of the deployment: 64 hex digits, or a file that holds one key per\n"
	"          line (DIR/signing-keys.pub, DIR/signing.pub); give every key that signed part of\n"
	"          the export (after a key rotation: the old and the new; GET /api/v1/audit/public-key)\n";

/* Adds the keys of arg (hex, or a file of lines whose first word is a key; blank lines and
 * lines starting with '#' are skipped) to pks. 0, -EINVAL for anything else, -E2BIG. */
static int load_keys(const char *arg, unsigned char (*pks)[AUDIT_KEY_BYTES], size_t *n)
{
	char buf[KURA_AUDIT_KEYS_MAX * 160 + 1], *line, *save = NULL;
	size_t got, before = *n;
	FILE *f;

	if (audit_parse_public_key(arg, pks[*n]) == 0) {
		if (*n == KURA_AUDIT_KEYS_MAX)
			return -E2BIG;
		(*n)++;
		return 0;
	}
	f = fopen(arg, "re");
	if (!f)
		return -EINVAL;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	if (got == sizeof(buf) - 1 && fgetc(f) != EOF)
		got = 0;   /* not a key file: too large */
	fclose(f);
	buf[got] = '\0';
	if (memchr(buf, '\0', got))
		return -EINVAL;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t w;

		line += strspn(line, " \t\r");
		if (!*line || *line == '#')
			continue;
		w = strcspn(line, " \t\r");
		line[w] = '\0';
		if (*n == KURA_AUDIT_KEYS_MAX)
			return -E2BIG;
		if (audit_parse_public_key(line, pks[*n]) < 0)
			return -EINVAL;
		(*n)++;
	}
	return *n > before ? 0 : -EINVAL;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static unsigned char pks[KURA_AUDIT_KEYS_MAX][AUDIT_KEY_BYTES];
	const char *file;
	struct audit_verify_result res;
	size_t n_pks = 0;
	bool any = false;
	FILE *f;
	int c, r;

	if (crypto_init() < 0) {
		fputs("kura audit: libsodium failed to initialize\n", stderr);
		return 1;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			any = true;
			r = load_keys(optarg, pks, &n_pks);
			if (r == -E2BIG) {
				fprintf(stderr, "kura audit: at most %d keys\n", KURA_AUDIT_KEYS_MAX);
				return 2;
			}
			if (r < 0) {
				fprintf(stderr, "kura audit: --key must be 64 hex digits or a file holding keys: %s\n",
					optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "verify") || !any) {
		fputs(usage, stderr);
		return 2;
	}
	file = argv[optind + 1];
	f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	if (!f) {
		fprintf(stderr, "kura audit: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	r = audit_verify_file_keys(f, (const unsigned char (*)[AUDIT_KEY_BYTES])pks, n_pks, &res);
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
	       " %lld signed checkpoints with %zu trusted key%s, %llu bytes\n",
	       (long long)res.tenant, (long long)res.first_seq, (long long)res.last_seq, (long long)res.records,
	       (long long)res.omitted, (long long)res.checkpoints, n_pks, n_pks == 1 ? "" : "s",
	       (unsigned long long)res.bytes);
	return 0;
}
