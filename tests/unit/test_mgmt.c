/*
 * Unit tests for the operator command table (src/mgmt/command.h): the table's own rules,
 * kura admin's argv read through it (the requests it builds, every usage error), the socket
 * side's argument check, the usage text, and the output for people: display widths of
 * Japanese text (libc's wcwidth under C.UTF-8 and the built-in table under "C"), aligned
 * tables and key: value blocks as golden text, and the sanitising of control and
 * bidirectional characters (SECURITY: a result may carry what a client sent).
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgmt/command.h"

/* ---------------------------------------------------------------- helpers */

/* Parses a NULL-terminated argv (argv[0] "admin"); the return value, request in *ret. */
static int parse(struct mgmt_cmdline *ret, char *err, size_t size, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"admin";
	va_start(ap, size);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return mgmt_cmdline_parse(argc, argv, ret, err, size);
}

/* The request as compact JSON with sorted keys (malloc'd). */
static char *request_text(const struct mgmt_cmdline *c)
{
	return json_dumps(c->request, JSON_COMPACT | JSON_SORT_KEYS);
}

static void expect_request(const char *want, ...)
{
	struct mgmt_cmdline c;
	char err[512], *argv[32], *got;
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"admin";
	va_start(ap, want);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (mgmt_cmdline_parse(argc, argv, &c, err, sizeof(err)) < 0)
		fail_msg("refused: %s", err);
	got = request_text(&c);
	assert_string_equal(got, want);
	free(got);
	mgmt_cmdline_done(&c);
}

/* A usage error whose message contains want. */
#define EXPECT_USAGE(want, ...) do { \
		struct mgmt_cmdline c_; \
		char err_[512]; \
		assert_int_equal(parse(&c_, err_, sizeof(err_), __VA_ARGS__, NULL), -EINVAL); \
		if (!strstr(err_, want)) \
			fail_msg("message \"%s\" lacks \"%s\"", err_, want); \
		assert_null(c_.request); \
	} while (0)

static char *render(const char *name, const char *result_json)
{
	json_t *result = json_loads(result_json, 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(result);
	assert_non_null(f);
	mgmt_view_print(f, mgmt_command_find(name), result);
	fclose(f);
	json_decref(result);
	return text;
}

/* ---------------------------------------------------------------- the table */

static void test_table_rows_are_complete(void **state)
{
	const struct mgmt_command *c;
	const struct mgmt_arg *a, *b;
	size_t n = 0;

	(void)state;
	for (c = mgmt_commands; c->name; c++, n++) {
		assert_non_null(c->help);
		assert_non_null(c->handler);
		assert_non_null(strchr(c->name, '.'));            /* noun.verb */
		assert_ptr_equal(mgmt_command_find(c->name), c);  /* names are unique */
		assert_true((c->list == NULL) == (c->columns == NULL));
		for (a = c->args; a->key; a++) {
			if (a->kind == MGMT_ARG_PEOPLE)
				assert_null(a->option);              /* never on the command line */
			else if (a->kind == MGMT_ARG_FLAG)
				assert_true(a->option && (a->flags & MGMT_ARG_OPTIONAL));   /* --open, no value */
			else
				assert_non_null(a->metavar);
			if (!a->option)
				assert_true(a->kind == MGMT_ARG_TEXT || a->kind == MGMT_ARG_COUNT ||
					    a->kind == MGMT_ARG_PEOPLE);
			for (b = a + 1; b->key; b++) {
				assert_string_not_equal(a->key, b->key);
				if (a->option && b->option)
					assert_string_not_equal(a->option, b->option);
			}
		}
	}
	/* every command there was before the table, and the two read-only ones for the provider */
	assert_int_equal(n, 43);   /* + report list, show, reply, close, answer-records (issue 9),
				    * compliance report and evidence (issue 13) */
	assert_non_null(mgmt_command_find("compliance.report"));
	assert_non_null(mgmt_command_find("compliance.evidence"));
	/* the contract's end (issue 8, B3) */
	assert_non_null(mgmt_command_find("tenant.terminate"));
	assert_non_null(mgmt_command_find("tenant.terminate-option"));
	assert_non_null(mgmt_command_find("tenant.cancel-termination"));
	assert_non_null(mgmt_command_find("tenant.reinstate"));
	assert_non_null(mgmt_command_find("tenant.certificate"));
	assert_non_null(mgmt_command_find("access.request"));
	assert_non_null(mgmt_command_find("support.get"));
	assert_non_null(mgmt_command_find("mail.queue"));
	assert_non_null(mgmt_command_find("audit.provider-events"));
	assert_non_null(mgmt_command_find("service.list"));
	assert_non_null(mgmt_command_find("announce.create"));
	assert_non_null(mgmt_command_find("incident.show"));
	assert_null(mgmt_command_find("tenant"));
	assert_null(mgmt_command_find(NULL));
}

static void test_usage_from_the_table(void **state)
{
	const struct mgmt_command *c;
	char *text = NULL, syn[512];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	mgmt_usage_print(f);
	fclose(f);
	for (c = mgmt_commands; c->name; c++) {
		mgmt_synopsis(c, syn, sizeof(syn));
		if (!strstr(text, syn))
			fail_msg("usage lacks \"%s\"", syn);
	}
	mgmt_synopsis(mgmt_command_find("tenant.create"), syn, sizeof(syn));
	assert_string_equal(syn, "tenant create CODE --name NAME --service SVC[,SVC…] [--option OPT …]");
	mgmt_synopsis(mgmt_command_find("tenant.set-quota"), syn, sizeof(syn));
	assert_string_equal(syn, "tenant set-quota CODE BYTES");
	mgmt_synopsis(mgmt_command_find("tenant.list"), syn, sizeof(syn));
	assert_string_equal(syn, "tenant list");   /* the people-only argument is not shown */
	mgmt_synopsis(mgmt_command_find("audit.provider-events"), syn, sizeof(syn));
	assert_string_equal(syn, "audit provider-events [--action ACTION] [--result RESULT] [--after SEQ] [--limit N]");
	assert_non_null(strstr(text, "usage: kura admin --data DIR [--json] COMMAND"));
	assert_non_null(strstr(text, "      SVC: MAIL, DOCX, IAAS, ZTNA, COLLAB\n"));   /* help lines indented */
	mgmt_synopsis(mgmt_command_find("tenant.create"), syn, 10);                      /* truncated, terminated */
	assert_string_equal(syn, "tenant cr");
	free(text);
}

/* ---------------------------------------------------------------- argv */

static void test_requests_of_every_command(void **state)
{
	(void)state;
	/* each as the old hand-written parser built it (issue 12: names, arguments and JSON stay) */
	expect_request("{\"args\":{\"code\":\"alpha\",\"name\":\"Alpha 株式会社\",\"options\":[\"a.b\",\"c\"],"
		       "\"services\":[\"DOCX\",\"MAIL\",\"ZTNA\"]},\"command\":\"tenant.create\"}",
		       "--data", "/d", "tenant", "create", "alpha", "--name", "Alpha 株式会社", "--service", "DOCX,MAIL",
		       "--option", "a.b", "--service", "ZTNA", "--option", "c", NULL);
	expect_request("{\"args\":{\"people\":true},\"command\":\"tenant.list\"}", "--data", "/d", "tenant", "list", NULL);
	expect_request("{\"args\":{\"people\":true},\"command\":\"service.list\"}", "--data", "/d", "service", "list", NULL);
	expect_request("{\"args\":{},\"command\":\"service.list\"}", "--data", "/d", "--json", "service", "list", NULL);
	expect_request("{\"args\":{},\"command\":\"tenant.list\"}", "tenant", "list", "--json", "--data", "/d", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"people\":true},\"command\":\"tenant.show\"}", "--data=/d", "tenant",
		       "show", "alpha", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\"},\"command\":\"tenant.show\"}", "--data=/d", "--json", "tenant",
		       "show", "alpha", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\"},\"command\":\"tenant.rotate-key\"}", "--data", "/d", "tenant",
		       "rotate-key", "alpha", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"quota_bytes\":10000000000},\"command\":\"tenant.set-quota\"}",
		       "--data", "/d", "tenant", "set-quota", "alpha", "10000000000", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"on\":\"2026-12-31\"},\"command\":\"tenant.terminate\"}",
		       "--data", "/d", "tenant", "terminate", "alpha", "--on", "2026-12-31", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"on\":\"2026-12-31\",\"option\":\"webdav\"},"
		       "\"command\":\"tenant.terminate-option\"}",
		       "--data", "/d", "tenant", "terminate-option", "alpha", "webdav", "--on", "2026-12-31", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\"},\"command\":\"tenant.cancel-termination\"}", "--data", "/d",
		       "tenant", "cancel-termination", "alpha", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\"},\"command\":\"tenant.reinstate\"}", "--data", "/d", "tenant",
		       "reinstate", "alpha", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"format\":\"html\"},\"command\":\"tenant.certificate\"}",
		       "--data", "/d", "tenant", "certificate", "alpha", "--format", "html", NULL);
	expect_request("{\"args\":{\"email\":\"m@example.com\",\"login\":\"boss\",\"tenant\":\"alpha\"},"
		       "\"command\":\"manager.create\"}", "--data", "/d", "manager", "create", "alpha", "boss",
		       "--email", "m@example.com", NULL);
	expect_request("{\"args\":{\"login\":\"bob\",\"tenant\":\"alpha\"},\"command\":\"account.unlock\"}", "--data",
		       "/d", "account", "unlock", "alpha", "bob", NULL);
	expect_request("{\"args\":{\"to\":\"x@example.com\"},\"command\":\"mail.test\"}", "--data", "/d", "mail", "test",
		       "x@example.com", NULL);
	expect_request("{\"args\":{},\"command\":\"mail.queue\"}", "--data", "/d", "mail", "queue", NULL);
	expect_request("{\"args\":{},\"command\":\"audit.public-key\"}", "--data", "/d", "audit", "public-key", NULL);
	expect_request("{\"args\":{},\"command\":\"audit.rotate-signing-key\"}", "--data", "/d", "audit",
		       "rotate-signing-key", NULL);
	expect_request("{\"args\":{\"tenant\":\"provider\"},\"command\":\"audit.verify\"}", "--data", "/d", "audit",
		       "verify", "provider", NULL);
	expect_request("{\"args\":{\"action\":\"session.create\",\"after\":7,\"limit\":5,\"result\":\"failure\"},"
		       "\"command\":\"audit.provider-events\"}", "--data", "/d", "audit", "provider-events", "--limit",
		       "5", "--action", "session.create", "--after", "7", "--result", "failure", NULL);
	/* announcements and incidents (issue 9): --*-file options send the file's content */
	{
		char path[] = "/tmp/kura-test-mgmt-XXXXXX";
		int fd = mkstemp(path);
		char req[1024];

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "line 1\r\n*b*\n", 12), 12);
		close(fd);
		str_printf(req, sizeof(req), "{\"args\":{\"body_en\":\"line 1\\n*b*\\n\",\"body_ja\":\"line 1\\n*b*\\n\","
			   "\"from\":\"2026-12-01T22:00:00+09:00\",\"kind\":\"maintenance\",\"publish\":\"2026-12-01T00:00:00Z\","
			   "\"target\":\"DOCX,MAIL\",\"title_en\":\"T\",\"title_ja\":\"題\",\"until\":\"2026-12-02T02:00:00+09:00\"},"
			   "\"command\":\"announce.create\"}");
		expect_request(req, "--data", "/d", "announce", "create", "--kind", "maintenance", "--target", "DOCX,MAIL",
			       "--title-ja", "題", "--title-en", "T", "--body-ja-file", path, "--body-en-file", path,
			       "--from", "2026-12-01T22:00:00+09:00", "--until", "2026-12-02T02:00:00+09:00",
			       "--publish", "2026-12-01T00:00:00Z", NULL);
		expect_request("{\"args\":{},\"command\":\"announce.list\"}", "--data", "/d", "announce", "list", NULL);
		expect_request("{\"args\":{\"id\":\"3\"},\"command\":\"announce.show\"}", "--data", "/d", "announce",
			       "show", "3", NULL);
		str_printf(req, sizeof(req), "{\"args\":{\"body_en\":\"line 1\\n*b*\\n\",\"id\":\"3\",\"title_en\":\"U\"},"
			   "\"command\":\"announce.edit\"}");
		expect_request(req, "--data", "/d", "announce", "edit", "3", "--title-en", "U", "--body-en-file", path, NULL);
		expect_request("{\"args\":{\"id\":\"3\"},\"command\":\"announce.withdraw\"}", "--data", "/d", "announce",
			       "withdraw", "3", NULL);
		str_printf(req, sizeof(req), "{\"args\":{\"body_en\":\"line 1\\n*b*\\n\",\"body_ja\":\"line 1\\n*b*\\n\","
			   "\"services\":[\"MAIL\",\"ZTNA\"],\"severity\":\"major\",\"tenants\":[\"alpha\"],\"title_en\":\"T\","
			   "\"title_ja\":\"題\"},\"command\":\"incident.create\"}");
		expect_request(req, "--data", "/d", "incident", "create", "--title-ja", "題", "--title-en", "T", "--severity",
			       "major", "--service", "MAIL,ZTNA", "--tenant", "alpha", "--body-ja-file", path,
			       "--body-en-file", path, NULL);
		str_printf(req, sizeof(req), "{\"args\":{\"body_en\":\"line 1\\n*b*\\n\",\"body_ja\":\"line 1\\n*b*\\n\","
			   "\"id\":\"4\",\"status\":\"identified\"},\"command\":\"incident.update\"}");
		expect_request(req, "--data", "/d", "incident", "update", "4", "--status", "identified", "--body-ja-file",
			       path, "--body-en-file", path, NULL);
		str_printf(req, sizeof(req), "{\"args\":{\"body_en\":\"line 1\\n*b*\\n\",\"body_ja\":\"line 1\\n*b*\\n\","
			   "\"id\":\"4\"},\"command\":\"incident.resolve\"}");
		expect_request(req, "--data", "/d", "incident", "resolve", "4", "--body-ja-file", path, "--body-en-file",
			       path, NULL);
		expect_request("{\"args\":{},\"command\":\"incident.list\"}", "--data", "/d", "incident", "list", NULL);
		expect_request("{\"args\":{\"id\":\"4\"},\"command\":\"incident.show\"}", "--data", "/d", "incident",
			       "show", "4", NULL);
		unlink(path);
	}
	/* operator access (C7): --emergency is a flag, --out stays with kura admin */
	expect_request("{\"args\":{\"case\":\"C-1\",\"code\":\"alpha\",\"emergency\":true,\"hours\":4,"
		       "\"reason\":\"disk failure\",\"scope\":\"files:read\"},\"command\":\"access.request\"}",
		       "--data", "/d", "access", "request", "alpha", "--reason", "disk failure", "--case", "C-1",
		       "--scope", "files:read", "--hours", "4", "--emergency", NULL);
	expect_request("{\"args\":{\"case\":\"C-1\",\"code\":\"alpha\",\"hours\":4,"
		       "\"reason\":\"r\",\"scope\":\"audit:read\"},\"command\":\"access.request\"}",
		       "--data", "/d", "access", "request", "alpha", "--reason", "r", "--case", "C-1",
		       "--scope", "audit:read", "--hours", "4", NULL);
	expect_request("{\"args\":{\"before\":9,\"state\":\"pending\",\"tenant\":\"alpha\"},\"command\":\"access.list\"}",
		       "--data", "/d", "access", "list", "--tenant", "alpha", "--state", "pending", "--before", "9", NULL);
	expect_request("{\"args\":{\"id\":\"3\"},\"command\":\"access.show\"}", "--data", "/d", "access", "show", "3", NULL);
	expect_request("{\"args\":{\"id\":\"3\"},\"command\":\"access.revoke\"}", "--data", "/d", "access", "revoke", "3",
		       NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"path\":\"/a b\"},\"command\":\"support.ls\"}", "--data", "/d",
		       "support", "ls", "alpha", "/a b", NULL);
	expect_request("{\"args\":{\"code\":\"alpha\",\"file_id\":\"12\"},\"command\":\"support.get\"}", "--data", "/d",
		       "support", "get", "alpha", "12", "--out", "/tmp/x", NULL);
	expect_request("{\"args\":{\"after\":5,\"code\":\"alpha\",\"from\":\"2026-01-01T00:00:00Z\"},"
		       "\"command\":\"support.audit\"}", "--data", "/d", "support", "audit", "alpha", "--from",
		       "2026-01-01T00:00:00Z", "--after", "5", NULL);
	expect_request("{\"args\":{\"format\":\"oscal\",\"lang\":\"en\",\"tenant\":\"alpha\"},\"command\":\"compliance.report\"}",
		       "--data", "/d", "compliance", "report", "--tenant", "alpha", "--lang", "en", "--format", "oscal",
		       "--out", "/tmp/x", NULL);
	expect_request("{\"args\":{\"from\":\"2026-01-01\",\"tenant\":\"alpha\",\"to\":\"2026-03-31\"},"
		       "\"command\":\"compliance.evidence\"}", "--data", "/d", "compliance", "evidence", "--tenant", "alpha",
		       "--from", "2026-01-01", "--to", "2026-03-31", "--out", "/tmp/x", NULL);
	/* "--" ends the options: a positional may start with a dash */
	expect_request("{\"args\":{\"code\":\"-x\",\"people\":true},\"command\":\"tenant.show\"}", "--data", "/d", "tenant", "show",
		       "--", "-x", NULL);
}

static void test_usage_errors(void **state)
{
	struct mgmt_cmdline c;
	char err[512];

	(void)state;
	EXPECT_USAGE("--data DIR is required", "tenant", "list");
	EXPECT_USAGE("missing command", "--data", "/d");
	EXPECT_USAGE("unknown command \"tenant frobnicate\"", "--data", "/d", "tenant", "frobnicate");
	EXPECT_USAGE("unknown command \"bogus\"", "--data", "/d", "bogus");
	EXPECT_USAGE("wrong number of arguments: kura admin tenant show CODE", "--data", "/d", "tenant", "show");
	EXPECT_USAGE("wrong number of arguments", "--data", "/d", "tenant", "show", "a", "b");
	EXPECT_USAGE("wrong number of arguments", "--data", "/d", "tenant", "list", "extra");
	EXPECT_USAGE("unknown option --nope", "--data", "/d", "--nope", "tenant", "list");
	EXPECT_USAGE("--name needs a value", "--data", "/d", "tenant", "create", "x", "--name");
	EXPECT_USAGE("kura admin tenant list takes no --name", "--data", "/d", "tenant", "list", "--name", "x");
	EXPECT_USAGE("cannot read /nonexistent/x", "--data", "/d", "report", "reply", "7", "--body-file", "/nonexistent/x");
	EXPECT_USAGE("--body-file FILE is required", "--data", "/d", "report", "reply", "7");
	EXPECT_USAGE("--name NAME is required", "--data", "/d", "tenant", "create", "x", "--service", "DOCX");
	EXPECT_USAGE("--service SVC is required", "--data", "/d", "tenant", "create", "x", "--name", "X");
	EXPECT_USAGE("--email ADDR is required", "--data", "/d", "manager", "create", "alpha", "boss");
	EXPECT_USAGE("--name is given twice", "--data", "/d", "tenant", "create", "x", "--name", "A", "--name", "B",
		     "--service", "DOCX");
	EXPECT_USAGE("--data is given twice", "--data", "/d", "--data", "/e", "tenant", "list");
	EXPECT_USAGE("--body-ja-file: cannot read /nonexistent/b.md", "--data", "/d", "announce", "create", "--kind",
		     "change", "--target", "all", "--title-ja", "a", "--title-en", "b", "--body-ja-file",
		     "/nonexistent/b.md", "--body-en-file", "/nonexistent/b.md");
	EXPECT_USAGE("BYTES must be a whole number (0 or more), not \"12a\"", "--data", "/d", "tenant", "set-quota",
		     "alpha", "12a");
	EXPECT_USAGE("unknown option -5", "--data", "/d", "tenant", "set-quota", "alpha", "-5");
	EXPECT_USAGE("--limit must be a whole number", "--data", "/d", "audit", "provider-events", "--limit", "ten");
	EXPECT_USAGE("CODE must be valid UTF-8", "--data", "/d", "tenant", "show", "\xff\xfe");
	EXPECT_USAGE("--name must be valid UTF-8", "--data", "/d", "tenant", "create", "x", "--name", "\xc3",
		     "--service", "DOCX");
	EXPECT_USAGE("--service must be valid UTF-8", "--data", "/d", "tenant", "create", "x", "--name", "X",
		     "--service", "DOCX,\xe2\x82");
	/* the people-only argument cannot be given */
	EXPECT_USAGE("unknown option --people", "--data", "/d", "tenant", "list", "--people", "x");
	/* provider-events takes no tenant: a tenant's log is not the operator's to read (C7) */
	EXPECT_USAGE("wrong number of arguments", "--data", "/d", "audit", "provider-events", "alpha");
	/* the error names the command it concerns (kura admin then prints only its usage) */
	assert_int_equal(parse(&c, err, sizeof(err), "--data", "/d", "tenant", "show", NULL), -EINVAL);
	assert_ptr_equal(c.cmd, mgmt_command_find("tenant.show"));
	assert_int_equal(parse(&c, err, sizeof(err), "--data", "/d", "nothing", NULL), -EINVAL);
	assert_null(c.cmd);
	/* --help needs nothing else */
	assert_int_equal(parse(&c, err, sizeof(err), "--help", NULL), 0);
	assert_true(c.help);
	assert_null(c.request);
	mgmt_cmdline_done(&c);
}

/* ---------------------------------------------------------------- the socket's check */

static void test_args_check(void **state)
{
	const struct mgmt_command *create = mgmt_command_find("tenant.create"),
				  *quota = mgmt_command_find("tenant.set-quota"),
				  *list = mgmt_command_find("tenant.list");
	char err[256];
	json_t *a;

	(void)state;
	assert_int_equal(mgmt_args_check(list, NULL, err, sizeof(err)), 0);
	a = json_pack("{s:s, s:s, s:[s], s:[]}", "code", "x", "name", "X", "services", "DOCX", "options");
	assert_int_equal(mgmt_args_check(create, a, err, sizeof(err)), 0);
	json_object_set_new(a, "owner", json_string("me"));   /* not an argument of the row */
	assert_int_equal(mgmt_args_check(create, a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "takes no argument \"owner\""));
	json_decref(a);
	a = json_pack("{s:i}", "name", 5);
	assert_int_equal(mgmt_args_check(create, a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "wrong type"));
	json_decref(a);
	a = json_pack("{s:s}", "services", "DOCX");   /* a list must be an array */
	assert_int_equal(mgmt_args_check(create, a, err, sizeof(err)), -EINVAL);
	json_decref(a);
	a = json_pack("{s:s, s:I}", "code", "x", "quota_bytes", (json_int_t)-1);
	assert_int_equal(mgmt_args_check(quota, a, err, sizeof(err)), -EINVAL);
	json_decref(a);
	a = json_pack("{s:s, s:s}", "code", "x", "quota_bytes", "100");
	assert_int_equal(mgmt_args_check(quota, a, err, sizeof(err)), -EINVAL);
	json_decref(a);
	a = json_pack("{s:s}", "people", "yes");
	assert_int_equal(mgmt_args_check(list, a, err, sizeof(err)), -EINVAL);
	json_decref(a);
	a = json_pack("[s]", "code");
	assert_int_equal(mgmt_args_check(list, a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "args must be an object"));
	json_decref(a);
}

/* ---------------------------------------------------------------- widths */

static void test_display_width(void **state)
{
	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	assert_int_equal(mgmt_view_width(""), 0);
	assert_int_equal(mgmt_view_width("alpha"), 5);
	assert_int_equal(mgmt_view_width("株式会社アルファ"), 16);
	assert_int_equal(mgmt_view_width("Demo テナント"), 13);
	assert_int_equal(mgmt_view_width("ｱﾙﾌｧ"), 4);                 /* halfwidth katakana */
	assert_int_equal(mgmt_view_width("ＡＢＣ１"), 8);             /* fullwidth forms */
	assert_int_equal(mgmt_view_width("cafe\xcc\x81"), 4);         /* a combining mark */
	assert_int_equal(mgmt_view_width("\xe3\x80\x80"), 2);         /* ideographic space */
	assert_int_equal(mgmt_view_width("\xf0\x9f\x98\x80"), 2);     /* an emoji */
	assert_int_equal(mgmt_view_width("a\x1b" "b"), 3);             /* shown as U+FFFD */
	assert_int_equal(mgmt_view_width("\xff"), 1);
	/* without a UTF-8 locale, wcwidth() knows nothing: the built-in table answers the same */
	assert_non_null(setlocale(LC_CTYPE, "C"));
	assert_int_equal(mgmt_view_width("株式会社アルファ"), 16);
	assert_int_equal(mgmt_view_width("Demo テナント"), 13);
	assert_int_equal(mgmt_view_width("ｱﾙﾌｧ"), 4);
	assert_int_equal(mgmt_view_width("ＡＢＣ１"), 8);
	assert_int_equal(mgmt_view_width("cafe\xcc\x81"), 4);
	assert_int_equal(mgmt_view_width("\xea\xb0\x80"), 2);         /* Hangul */
	assert_int_equal(mgmt_view_width("\xf0\x9f\x98\x80"), 2);
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
}

static void test_clean_hides_controls(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain 株式会社", "plain 株式会社" },
		{ "\x1b[31mred\x1b[0m", "\xef\xbf\xbd[31mred\xef\xbf\xbd[0m" },     /* terminal escapes */
		{ "a\tb\nc\rd", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d" },
		{ "x\x7f", "x\xef\xbf\xbd" },
		{ "\xc2\x9b" "2J", "\xef\xbf\xbd" "2J" },                             /* C1 CSI */
		{ "invoice\xe2\x80\xae" "fdp.exe", "invoice\xef\xbf\xbd" "fdp.exe" },  /* RLO */
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\xef\xbf\xbdx\xef\xbf\xbd" },         /* LRI, PDI */
		{ "\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "bad \xff\xc3", "bad \xef\xbf\xbd\xef\xbf\xbd" },                   /* not UTF-8 */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },           /* a surrogate */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = mgmt_view_clean(cases[i].in);

		assert_non_null(got);
		if (strcmp(got, cases[i].out))
			fail_msg("case %zu: \"%s\"", i, got);
		free(got);
	}
}

/* ---------------------------------------------------------------- output for people */

static void test_tenant_table(void **state)
{
	char *text;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	text = render("tenant.list",
		      "{\"tenants\": ["
		      "{\"code\": \"alpha\", \"name\": \"株式会社アルファ\", \"status\": \"active\", \"time_zone\": \"Asia/Tokyo\","
		      " \"services\": [\"DOCX\", \"MAIL\"], \"options\": [], \"created_at\": \"2026-11-22T02:33:19Z\"},"
		      "{\"code\": \"bravo-longer\", \"name\": \"Bravo\", \"status\": \"suspended\","
		      " \"services\": [\"IAAS\"], \"created_at\": \"2026-11-23T00:00:00Z\"},"
		      "{\"code\": \"c\", \"name\": \"ｶﾅ\\u001b[2J\", \"status\": \"active\", \"services\": [], \"created_at\": null}"
		      "]}");
	assert_string_equal(text,
			    "code          name              services    status     created\n"
			    "alpha         株式会社アルファ  DOCX, MAIL  active     2026-11-22T02:33:19Z\n"
			    "bravo-longer  Bravo             IAAS        suspended  2026-11-23T00:00:00Z\n"
			    "c             ｶﾅ\xef\xbf\xbd[2J            -           active     -\n");
	assert_null(strchr(text, '\x1b'));
	free(text);
	/* the --json rows (code, name, status) print too; what is missing shows as - */
	text = render("tenant.list", "{\"tenants\": [{\"code\": \"demo\", \"name\": \"Demo テナント\", \"status\": \"active\"}]}");
	assert_string_equal(text,
			    "code  name           services  status  created\n"
			    "demo  Demo テナント  -         active  -\n");
	free(text);
	text = render("tenant.list", "{\"tenants\": []}");
	assert_string_equal(text, "code  name  services  status  created\n(none)\n");
	free(text);
}

static void test_object_block(void **state)
{
	char *text;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	text = render("tenant.show", "{\"code\": \"alpha\", \"name\": \"株式会社アルファ\", \"status\": \"active\","
				     " \"services\": [\"DOCX\", \"MAIL\"], \"options\": [], \"locked\": false,"
				     " \"unlocked\": true, \"count\": 42, \"note\": \"\", \"gone\": null}");
	assert_string_equal(text,
			    "code:      alpha\n"
			    "name:      株式会社アルファ\n"
			    "status:    active\n"
			    "services:  DOCX, MAIL\n"
			    "options:   -\n"
			    "locked:    no\n"
			    "unlocked:  yes\n"
			    "count:     42\n"
			    "note:      -\n"
			    "gone:      -\n");
	free(text);
	/* nested objects flatten; arrays of objects become tables of their own */
	text = render("audit.public-key",
		      "{\"algorithm\": \"ed25519\", \"public_key\": \"ab12\", \"actor\": {\"type\": \"operator\", \"name\": \"root\"},"
		      " \"keys\": [{\"public_key\": \"ab12\", \"state\": \"current\", \"retired_at\": null},"
		      " {\"public_key\": \"cd34\", \"state\": \"retired\", \"retired_at\": \"2026-11-22T00:00:00Z\"}]}");
	assert_string_equal(text,
			    "algorithm:   ed25519\n"
			    "public_key:  ab12\n"
			    "actor.type:  operator\n"
			    "actor.name:  root\n"
			    "\n"
			    "keys:\n"
			    "  public_key  state    retired_at\n"
			    "  ab12        current  -\n"
			    "  cd34        retired  2026-11-22T00:00:00Z\n");
	free(text);
}

static void test_events_table(void **state)
{
	char *text;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	/* dotted columns reach into objects; what a client sent cannot move the cursor */
	text = render("audit.provider-events",
		      "{\"events\": [{\"seq\": 9, \"time\": \"T\", \"actor\": {\"type\": \"anonymous\", \"name\": \"\"},"
		      " \"action\": \"password.reset.request\", \"target\": \"\\u001b]0;pwned\\u0007\\u202e\","
		      " \"result\": \"failure\", \"source_ip\": \"127.0.0.1\"}], \"next_after\": null}");
	assert_string_equal(text,
			    "seq  time  actor  action                  target       result   source\n"
			    "9    T     -      password.reset.request  \xef\xbf\xbd]0;pwned\xef\xbf\xbd\xef\xbf\xbd  failure  127.0.0.1\n"
			    "\n"
			    "next_after:  -\n");
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\x07'));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_rows_are_complete),
		cmocka_unit_test(test_usage_from_the_table),
		cmocka_unit_test(test_requests_of_every_command),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_args_check),
		cmocka_unit_test(test_display_width),
		cmocka_unit_test(test_clean_hides_controls),
		cmocka_unit_test(test_tenant_table),
		cmocka_unit_test(test_object_block),
		cmocka_unit_test(test_events_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
