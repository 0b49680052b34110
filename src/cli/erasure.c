/*
 * kura erasure verify FILE --key PUBKEY: checks an erasure certificate offline (B3) with
 * nothing but the file and the deployment's public key (64 hex digits, or a file holding
 * one such as DIR/signing.pub). Prints "certificate verifies" with the tenant and the
 * erasure's end, the sampled files unreadable / missing / refused otherwise, and a note for
 * each thing the certificate says was not achieved in full (certificate_notes); or every
 * check that fails; exits 0 when it verifies, 1 when it does not,
 * 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "crypto/crypto.h"
#include "lifecycle/lifecycle.h"

static const char usage[] =
	"usage: kura erasure verify FILE --key PUBKEY\n"
	"  FILE    an erasure certificate (kura admin tenant certificate CODE, or the mailed JSON)\n"
	"  PUBKEY  the deployment's public key: 64 hex digits, or a file holding it (DIR/signing.pub)\n";

static int read_key(const char *arg, unsigned char pk[AUDIT_KEY_BYTES])
{
	char buf[256];
	size_t got;
	FILE *f;

	if (audit_parse_public_key(arg, pk) == 0)
		return 0;
	f = fopen(arg, "re");
	if (!f)
		return -EINVAL;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	return audit_parse_public_key(buf, pk);
}

int cmd_erasure(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char pk[AUDIT_KEY_BYTES];
	const char *key = NULL;
	json_t *problems = NULL, *p;
	char *text = NULL;
	size_t n = 0, i;
	FILE *f;
	int c, r;

	if (crypto_init() < 0) {
		fputs("kura erasure: libsodium failed to initialize\n", stderr);
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "verify")) {
		fputs(usage, stderr);
		return 2;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!key || optind + 1 != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (read_key(key, pk) < 0) {
		fprintf(stderr, "kura erasure: --key %s is not a public key (64 hex digits or a file holding one)\n", key);
		return 2;
	}
	f = fopen(argv[optind], "re");
	if (!f) {
		fprintf(stderr, "kura erasure: cannot open %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	text = malloc(LIFECYCLE_CERT_MAX + 1);
	n = text ? fread(text, 1, LIFECYCLE_CERT_MAX + 1, f) : 0;
	fclose(f);
	if (!text || n > LIFECYCLE_CERT_MAX) {
		fprintf(stderr, "kura erasure: %s is larger than a certificate (%d bytes)\n", argv[optind], LIFECYCLE_CERT_MAX);
		free(text);
		return 1;
	}
	r = certificate_verify(text, n, pk, &problems);
	if (r == 0) {
		json_t *j = json_loadb(text, n, 0, NULL), *cert = json_object_get(j, "certificate");

		json_t *ver = json_object_get(cert, "verification"), *notes = certificate_notes(text, n);

		printf("certificate verifies: tenant %s, erasure completed %s, %zu key(s) destroyed\n",
		       json_string_value(json_object_get(json_object_get(cert, "tenant"), "code")),
		       json_string_value(json_object_get(cert, "erasure_completed_at")),
		       json_array_size(json_object_get(cert, "keys_destroyed")));
		printf("sampled files: %lld unreadable (their key destroyed), %lld missing, %lld refused otherwise,"
		       " of %lld\n", (long long)json_integer_value(json_object_get(ver, "unreadable")),
		       (long long)json_integer_value(json_object_get(ver, "missing")),
		       (long long)json_integer_value(json_object_get(ver, "other")),
		       (long long)json_integer_value(json_object_get(ver, "sampled")));
		json_array_foreach(notes, i, p)
			printf("  note: %s\n", json_string_value(p));
		json_decref(notes);
		json_decref(j);
	} else {
		printf("certificate does NOT verify:\n");
		json_array_foreach(problems, i, p)
			printf("  - %s\n", json_string_value(p));
	}
	json_decref(problems);
	free(text);
	return r == 0 ? 0 : 1;
}
