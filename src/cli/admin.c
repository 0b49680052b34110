/*
 * kura admin: the operator's client for the management socket. Builds one request from
 * the command line, prints the server's result as JSON on stdout, or the error on stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "mgmt/mgmt.h"

static const char usage[] =
	"usage: kura admin --data DIR COMMAND\n\n"
	"commands:\n"
	"  tenant create CODE --name NAME --service SVC[,SVC…] [--option OPT …]\n"
	"                                  SVC: MAIL, DOCX, IAAS, ZTNA, COLLAB\n"
	"  tenant list\n"
	"  tenant show CODE\n"
	"  tenant rotate-key CODE            new tenant key; file keys re-wrapped, content untouched\n"
	"  tenant set-quota CODE BYTES       file storage quota of the tenant\n"
	"  manager create CODE LOGIN --email ADDR   (mails an invitation, prints its link)\n"
	"  account unlock CODE LOGIN\n"
	"  mail test ADDR                  queue a test mail through the outbox (checks SMTP)\n"
	"  audit public-key                the keys that verify audit exports (current and retired)\n"
	"  audit rotate-signing-key        new signing key; old public keys stay valid for what they signed\n"
	"  audit verify CODE|provider      check a tenant's audit chain in place\n";

static int usage_error(const char *msg)
{
	fprintf(stderr, "kura admin: %s\n\n%s", msg, usage);
	return 2;
}

int cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "service", required_argument, NULL, 's' },
		{ "option", required_argument, NULL, 'o' },
		{ "email", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *name = NULL, *email = NULL;
	json_t *services = json_array(), *options = json_array(), *args = json_object();
	json_t *req = NULL, *resp = NULL;
	char path[4096], err[1024], *out;
	const char *noun, *verb, *cmd = NULL;
	int c, ret = 1, n_pos;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'e': email = optarg; break;
		case 'o': json_array_append_new(options, json_string(optarg)); break;
		case 's': {
			char *list = strdup(optarg), *save = NULL, *tok;

			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				json_array_append_new(services, json_string(tok));
			free(list);
			break;
		}
		case 'h':
			fputs(usage, stdout);
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
	}
	n_pos = argc - optind;
	if (!dir) {
		ret = usage_error("--data DIR is required");
		goto out;
	}
	if (n_pos < 2) {
		ret = usage_error("missing command");
		goto out;
	}
	noun = argv[optind];
	verb = argv[optind + 1];
	if (!strcmp(noun, "tenant") && !strcmp(verb, "create") && n_pos == 3) {
		cmd = "tenant.create";
		json_object_set_new(args, "code", json_string(argv[optind + 2]));
		if (name)
			json_object_set_new(args, "name", name ? json_string(name) : json_null());
		json_object_set(args, "services", services);
		json_object_set(args, "options", options);
	} else if (!strcmp(noun, "tenant") && !strcmp(verb, "list") && n_pos == 2) {
		cmd = "tenant.list";
	} else if (!strcmp(noun, "tenant") && !strcmp(verb, "show") && n_pos == 3) {
		cmd = "tenant.show";
		json_object_set_new(args, "code", json_string(argv[optind + 2]));
	} else if (!strcmp(noun, "tenant") && !strcmp(verb, "rotate-key") && n_pos == 3) {
		cmd = "tenant.rotate-key";
		json_object_set_new(args, "code", json_string(argv[optind + 2]));
	} else if (!strcmp(noun, "tenant") && !strcmp(verb, "set-quota") && n_pos == 4) {
		int64_t q;

		if (safe_atoi64(argv[optind + 3], &q) < 0 || q < 0) {
			ret = usage_error("BYTES must be a whole number of bytes");
			goto out;
		}
		cmd = "tenant.set-quota";
		json_object_set_new(args, "code", json_string(argv[optind + 2]));
		json_object_set_new(args, "quota_bytes", json_integer(q));
	} else if (!strcmp(noun, "manager") && !strcmp(verb, "create") && n_pos == 4) {
		cmd = "manager.create";
		json_object_set_new(args, "tenant", json_string(argv[optind + 2]));
		json_object_set_new(args, "login", json_string(argv[optind + 3]));
		if (email)
			json_object_set_new(args, "email", json_string(email));
	} else if (!strcmp(noun, "account") && !strcmp(verb, "unlock") && n_pos == 4) {
		cmd = "account.unlock";
		json_object_set_new(args, "tenant", json_string(argv[optind + 2]));
		json_object_set_new(args, "login", json_string(argv[optind + 3]));
	} else if (!strcmp(noun, "mail") && !strcmp(verb, "test") && n_pos == 3) {
		cmd = "mail.test";
		json_object_set_new(args, "to", json_string(argv[optind + 2]));
	} else if (!strcmp(noun, "audit") && !strcmp(verb, "public-key") && n_pos == 2) {
		cmd = "audit.public-key";
	} else if (!strcmp(noun, "audit") && !strcmp(verb, "rotate-signing-key") && n_pos == 2) {
		cmd = "audit.rotate-signing-key";
	} else if (!strcmp(noun, "audit") && !strcmp(verb, "verify") && n_pos == 3) {
		cmd = "audit.verify";
		json_object_set_new(args, "tenant", json_string(argv[optind + 2]));
	} else {
		ret = usage_error("unknown command or wrong number of arguments");
		goto out;
	}
	if (json_object_get(args, "code") == json_null() || json_object_get(args, "tenant") == json_null() ||
	    json_object_get(args, "login") == json_null()) {
		ret = usage_error("arguments must be valid UTF-8");
		goto out;
	}
	req = json_pack("{s:s, s:O}", "command", cmd, "args", args);
	cli_path(path, sizeof(path), dir, "admin.sock");
	if (mgmt_call(path, req, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "kura admin: %s\n", err);
		goto out;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		fprintf(stderr, "kura admin: %s\n", json_string_value(json_object_get(resp, "error"))
						      ? json_string_value(json_object_get(resp, "error"))
						      : "failed");
		goto out;
	}
	out = json_dumps(json_object_get(resp, "result"), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (out) {
		puts(out);
		free(out);
	}
	/* a verification that found a bad record is a failure of the command */
	ret = json_is_false(json_object_get(json_object_get(resp, "result"), "ok")) ? 1 : 0;
out:
	json_decref(services);
	json_decref(options);
	json_decref(args);
	json_decref(req);
	json_decref(resp);
	return ret;
}
