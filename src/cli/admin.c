/*
 * kura admin: the operator's client for the management socket. The command table
 * (mgmt/command.h) reads the command line and gives the usage; this sends the one request,
 * prints the result for people (or, with --json, as the JSON the server sent, indented)
 * on stdout and errors on stderr: exit 0, 1 when the command failed (or a verification
 * found a bad record), 2 for a usage error.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "mgmt/command.h"
#include "mgmt/mgmt.h"

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
