/*
 * kura admin: the operator's client for the management socket. The command table
 * (mgmt/command.h) reads the command line and gives the usage; this sends the one request,
 * prints the result for people (or, with --json, as the JSON the server sent, indented)
 * on stdout and errors on stderr: exit 0, 1 when the command failed (or a verification
 * found a bad record), 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "mgmt/command.h"
#include "mgmt/mgmt.h"

/* --out FILE: the result's content_base64 into a new file (never over an existing one, 0600:
 * it is a tenant's data read under its grant, C7), and the member dropped from what prints. */
static int write_out(const char *path, json_t *result)
{
	const char *b64 = json_string_value(json_object_get(result, "content_base64"));
	size_t n = b64 ? strlen(b64) : 0, len = 0, off = 0;
	unsigned char *bin;
	int fd, r = -1;

	if (!b64) {
		fprintf(stderr, "kura admin: the answer carries no content for --out\n");
		return -1;
	}
	bin = malloc(n / 4 * 3 + 3);
	if (!bin || sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		fprintf(stderr, "kura admin: the answer's content is not base64\n");
		free(bin);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "kura admin: %s: %s\n", path, strerror(errno));
		free(bin);
		return -1;
	}
	while (off < len) {
		ssize_t k = write(fd, bin + off, len - off);

		if (k <= 0)
			break;
		off += (size_t)k;
	}
	if (off == len && fsync(fd) == 0)
		r = 0;
	if (close(fd) < 0)
		r = -1;
	if (r < 0)
		fprintf(stderr, "kura admin: writing %s failed\n", path);
	sodium_memzero(bin, len);
	free(bin);
	json_object_del(result, "content_base64");
	return r;
}

int cmd_admin(int argc, char **argv)
{
	struct mgmt_cmdline cl;
	char path[4096], err[1024], *out;
	json_t *resp = NULL, *result;
	int ret = 1;

	/* display widths of Japanese text (wcwidth); C.UTF-8 is built into glibc 2.35+ */
	setlocale(LC_CTYPE, "C.UTF-8");
	if (mgmt_cmdline_parse(argc, argv, &cl, err, sizeof(err)) < 0) {
		/* the message names a known command's usage; otherwise all of them help */
		fprintf(stderr, "kura admin: %s\n", err);
		if (cl.cmd) {
			fputs("(kura admin --help lists every command)\n", stderr);
		} else {
			fputc('\n', stderr);
			mgmt_usage_print(stderr);
		}
		return 2;
	}
	if (cl.help) {
		mgmt_usage_print(stdout);
		ret = 0;
		goto out;
	}
	cli_path(path, sizeof(path), cl.dir, "admin.sock");
	if (mgmt_call(path, cl.request, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "kura admin: %s\n", err);
		goto out;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "kura admin: %s\n", json_string_value(json_object_get(resp, "error"))
						      ? json_string_value(json_object_get(resp, "error"))
						      : "failed");
		goto out;
	}
	result = json_object_get(resp, "result");
	if (cl.out && write_out(cl.out, result) < 0)
		goto out;
	if (cl.json) {
		out = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (out) {
			puts(out);
			free(out);
		}
	} else {
		mgmt_view_print(stdout, cl.cmd, result);
	}
	/* a verification that found a bad record is a failure of the command */
	ret = json_is_false(json_object_get(result, "ok")) ? 1 : 0;
out:
	mgmt_cmdline_done(&cl);
	json_decref(resp);
	return ret;
}
