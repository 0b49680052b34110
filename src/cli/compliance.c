/*
 * kura compliance (A5, G3; docs/compliance.md):
 *   report   --data DIR [--tenant CODE] [--lang ja|en] [--format html|json|oscal] [--out FILE]
 *   evidence --data DIR --tenant CODE --from DATE --to DATE --out FILE
 *   verify   FILE --key PUBKEY
 * report and evidence ask the running kura serve through the management socket (the
 * statement shows the settings in force, so it comes from the process that enforces them);
 * verify works offline with the deployment's public key alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit/audit.h"
#include "cli/cli.h"
#include "compliance/compliance.h"
#include "core/limits.h"
#include "mgmt/mgmt.h"

static const char usage[] =
	"usage: kura compliance report --data DIR [--tenant CODE] [--lang ja|en] [--format html|json|oscal] [--out FILE]\n"
	"       kura compliance evidence --data DIR --tenant CODE --from DATE --to DATE --out FILE\n"
	"       kura compliance verify FILE --key PUBKEY\n";

/* Writes the answer's content_base64 to out (a new file, 0600) or to stdout. */
static int write_content(json_t *result, const char *out)
{
	const char *b64 = json_string_value(json_object_get(result, "content_base64"));
	size_t n = b64 ? strlen(b64) : 0, len = 0, off = 0;
	unsigned char *bin;
	int fd, r = 0;

	if (!b64) {
		fputs("kura compliance: the answer carries no content\n", stderr);
		return -1;
	}
	bin = malloc(n / 4 * 3 + 3);
	if (!bin || sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		fputs("kura compliance: the answer's content is not base64\n", stderr);
		free(bin);
		return -1;
	}
	fd = out ? open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : 1;
	if (fd < 0) {
		fprintf(stderr, "kura compliance: %s: %s\n", out, strerror(errno));
		free(bin);
		return -1;
	}
	while (off < len) {
		ssize_t k = write(fd, bin + off, len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = -1;
			break;
		}
		off += (size_t)k;
	}
	if (out && (fsync(fd) < 0 || close(fd) < 0))
		r = -1;
	if (r < 0)
		fprintf(stderr, "kura compliance: writing %s failed\n", out ? out : "stdout");
	free(bin);
	return r;
}

static int call(const char *dir, const char *command, json_t *args, const char *out)
{
	char path[4096], err[1024];
	json_t *req = json_pack("{s:s, s:o}", "command", command, "args", args), *resp = NULL, *result;
	int ret = 1;

	cli_path(path, sizeof(path), dir, "admin.sock");
	if (mgmt_call(path, req, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "kura compliance: %s\n", err);
		goto out;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));

		fprintf(stderr, "kura compliance: %s\n", e ? e : "failed");
		goto out;
	}
	result = json_object_get(resp, "result");
	if (write_content(result, out) < 0)
		goto out;
	if (out && json_string_value(json_object_get(result, "sha256")))
		fprintf(stderr, "%s: %lld bytes, sha256 %s\n", out, (long long)json_integer_value(json_object_get(result, "bytes")),
			json_string_value(json_object_get(result, "sha256")));
	ret = 0;
out:
	json_decref(req);
	json_decref(resp);
	return ret;
}

static int report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "tenant", required_argument, NULL, 't' },
		{ "lang", required_argument, NULL, 'l' }, { "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *out = NULL;
	json_t *args = json_object();
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': json_object_set_new(args, "tenant", json_string(optarg)); break;
		case 'l': json_object_set_new(args, "lang", json_string(optarg)); break;
		case 'f': json_object_set_new(args, "format", json_string(optarg)); break;
		case 'o': out = optarg; break;
		default: json_decref(args); fputs(usage, stderr); return 2;
		}
	}
	if (!dir || optind != argc) {
		json_decref(args);
		fputs(usage, stderr);
		return 2;
	}
	return call(dir, "compliance.report", args, out);
}

static int evidence(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "tenant", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' }, { NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *out = NULL, *tenant = NULL, *from = NULL, *to = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 't': tenant = optarg; break;
		case 'f': from = optarg; break;
		case 'u': to = optarg; break;
		case 'o': out = optarg; break;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!dir || !tenant || !from || !to || !out || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return call(dir, "compliance.evidence", json_pack("{s:s, s:s, s:s}", "tenant", tenant, "from", from, "to", to), out);
}

static char *read_all(const char *path, size_t max, size_t *ret_n)
{
	FILE *f = fopen(path, "rbe");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || n > max) {
		free(buf);
		errno = E2BIG;
		return NULL;
	}
	buf[n] = '\0';
	*ret_n = n;
	return buf;
}

static int verify(int argc, char **argv)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	const char *key = NULL, *file;
	unsigned char pk[32];
	char *keytext, *data;
	size_t kn = 0, n = 0;
	json_t *res = NULL, *v;
	size_t i;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k') {
			fputs(usage, stderr);
			return 2;
		}
		key = optarg;
	}
	if (!key || optind + 1 != argc) {
		fputs(usage, stderr);
		return 2;
	}
	file = argv[optind];
	keytext = read_all(key, 4096, &kn);
	if (!keytext || audit_parse_public_key(keytext, pk) < 0) {
		fprintf(stderr, "kura compliance verify: %s is not a public key file (signing.pub)\n", key);
		free(keytext);
		return 1;
	}
	free(keytext);
	data = read_all(file, KURA_EVIDENCE_MAX, &n);
	if (!data) {
		fprintf(stderr, "kura compliance verify: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (compliance_verify_bundle((const unsigned char *)data, n, pk, &res) < 0) {
		fputs("kura compliance verify: out of memory\n", stderr);
		free(data);
		return 1;
	}
	free(data);
	if (json_is_true(json_object_get(res, "ok"))) {
		printf("OK: %s — tenant %s, %s to %s, %lld members, each matching the signed manifest; audit.jsonl verifies\n",
		       file, json_string_value(json_object_get(json_object_get(res, "tenant"), "code")),
		       json_string_value(json_object_get(res, "from")), json_string_value(json_object_get(res, "to")),
		       (long long)json_integer_value(json_object_get(res, "members")));
		ret = 0;
	} else {
		printf("FAILED: %s\n", file);
		json_array_foreach(json_object_get(res, "problems"), i, v) {
			/* problems quote the file (names, the key it names): its control bytes would
			 * reach the auditor's terminal as escape sequences */
			fputs("  - ", stdout);
			for (const char *p = json_string_value(v); p && *p; p++)
				putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
			putchar('\n');
		}
	}
	json_decref(res);
	return ret;
}

int cmd_compliance(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "report"))
		return report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "evidence"))
		return evidence(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify")) {
		if (sodium_init() < 0)
			return 1;
		return verify(argc - 1, argv + 1);
	}
	fprintf(stderr, "kura compliance: unknown command \"%s\"\n%s", argv[1], usage);
	return 2;
}
