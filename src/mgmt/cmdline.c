/*
 * kura admin's argv, read through the command table: the command is the longest row whose
 * words begin the positionals, the rest are its positionals in order; options may come
 * anywhere (GNU getopt_long over every option the table knows, then each one checked
 * against the chosen row). The usage text is generated from the same rows.
 *
 * Usage errors (kura admin exits 2) are found here, before anything reaches the server: an
 * unknown command or option, a wrong number of arguments, a missing required option, a
 * value that is not UTF-8 or not a whole number. The server checks everything again
 * (mgmt_args_check and the handlers): the socket is an interface of its own.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/limits.h"
#include "mgmt/command.h"

#define OPT_DATA 'd'
#define OPT_JSON 'j'
#define OPT_HELP 'h'
#define OPT_TABLE 1000   /* + index into the table's option names */
#define MAX_OPTIONS 64   /* distinct long options in the whole table */

struct given {
	const char *option, *value;
};

static size_t n_words(const char *name)
{
	size_t n = 1;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

/* Does word equal the i-th word of name? */
static bool word_is(const char *name, size_t i, const char *word)
{
	const char *end;

	while (i--) {
		name = strchr(name, '.');
		if (!name)
			return false;
		name++;
	}
	end = strchr(name, '.');
	if (!end)
		end = name + strlen(name);
	return strlen(word) == (size_t)(end - name) && !strncmp(word, name, (size_t)(end - name));
}

static bool on_argv(const struct mgmt_arg *a)
{
	return a->kind != MGMT_ARG_PEOPLE;
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) KURA_PRINTF(4, 5);

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

void mgmt_synopsis(const struct mgmt_command *cmd, char *buf, size_t size)
{
	const struct mgmt_arg *a;
	size_t len = 0, i;

	if (!size)
		return;
	buf[0] = '\0';
	for (i = 0; cmd->name[i] && len + 1 < size; i++)
		buf[len++] = cmd->name[i] == '.' ? ' ' : cmd->name[i];
	buf[len] = '\0';
	for (a = cmd->args; a->key; a++)
		if (!a->option && on_argv(a))
			append(buf, size, &len, " %s", a->metavar);
	for (a = cmd->args; a->key; a++) {
		bool opt = a->flags & MGMT_ARG_OPTIONAL;

		if (!a->option || !on_argv(a))
			continue;
		if (a->kind == MGMT_ARG_FLAG) {
			append(buf, size, &len, " [--%s]", a->option);
			continue;
		}
		append(buf, size, &len, opt ? " [--%s %s" : " --%s %s", a->option, a->metavar);
		if (a->kind == MGMT_ARG_LIST)
			append(buf, size, &len, "[,%s…]", a->metavar);
		if (a->kind == MGMT_ARG_EACH)
			append(buf, size, &len, " …");
		if (opt)
			append(buf, size, &len, "]");
	}
}

void mgmt_usage_print(FILE *out)
{
	const struct mgmt_command *c;
	char syn[512];

	fputs("usage: kura admin --data DIR [--json] COMMAND [ARGUMENT …] [OPTION …]\n\n"
	      "Runs an operator command in the kura serve that owns DIR, over DIR/admin.sock.\n"
	      "The result is printed for people (tables, key: value lines); with --json it is\n"
	      "printed as the JSON the server sent, for scripts. Errors go to stderr: exit 1 when\n"
	      "the command failed, 2 for a usage error.\n\n"
	      "commands:\n", out);
	for (c = mgmt_commands; c->name; c++) {
		const char *h = c->help, *nl;

		mgmt_synopsis(c, syn, sizeof(syn));
		fprintf(out, "  %s\n", syn);
		while (h && *h) {
			nl = strchr(h, '\n');
			fprintf(out, "      %.*s\n", (int)(nl ? nl - h : (ptrdiff_t)strlen(h)), h);
			h = nl ? nl + 1 : NULL;
		}
	}
}

void mgmt_cmdline_done(struct mgmt_cmdline *c)
{
	if (c) {
		json_decref(c->request);
		c->request = NULL;
	}
}

static int usage(char *err, size_t size, const char *fmt, ...) KURA_PRINTF(3, 4);

static int usage(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A text value into a JSON string; NULL when it is not UTF-8. */
static json_t *text_value(const char *value)
{
	return json_string(value);
}

static int add_value(json_t *args, const struct mgmt_arg *a, const char *what, const char *value,
		     char *err, size_t size)
{
	json_t *arr, *v;
	int64_t n;

	switch (a->kind) {
	case MGMT_ARG_TEXT:
		if (json_object_get(args, a->key))
			return usage(err, size, "%s is given twice", what);
		v = text_value(value);
		if (!v)
			return usage(err, size, "%s must be valid UTF-8", what);
		return json_object_set_new(args, a->key, v) < 0 ? -ENOMEM : 0;
	case MGMT_ARG_FLAG:
		return json_object_set_new(args, a->key, json_true()) < 0 ? -ENOMEM : 0;
	case MGMT_ARG_FILE: {
		char buf[KURA_MGMT_FILE_MAX + 1];
		size_t got;
		FILE *f;

		if (json_object_get(args, a->key))
			return usage(err, size, "%s is given twice", what);
		f = fopen(value, "re");
		if (!f)
			return usage(err, size, "%s: cannot read %s: %s", what, value, strerror(errno));
		got = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (got > KURA_MGMT_FILE_MAX)
			return usage(err, size, "%s: %s is larger than %d bytes", what, value, KURA_MGMT_FILE_MAX);
		buf[got] = '\0';
		if (memchr(buf, '\0', got))
			return usage(err, size, "%s: %s is not text", what, value);
		v = json_stringn(buf, got);
		if (!v)
			return usage(err, size, "%s: %s must be valid UTF-8", what, value);
		return json_object_set_new(args, a->key, v) < 0 ? -ENOMEM : 0;
	}
	case MGMT_ARG_COUNT:
		if (json_object_get(args, a->key))
			return usage(err, size, "%s is given twice", what);
		if (safe_atoi64(value, &n) < 0 || n < 0)
			return usage(err, size, "%s must be a whole number (0 or more), not \"%s\"", what, value);
		return json_object_set_new(args, a->key, json_integer(n)) < 0 ? -ENOMEM : 0;
	case MGMT_ARG_LIST:
	case MGMT_ARG_EACH:
		arr = json_object_get(args, a->key);
		if (!arr) {
			arr = json_array();
			if (json_object_set_new(args, a->key, arr) < 0)
				return -ENOMEM;
		}
		if (a->kind == MGMT_ARG_EACH) {
			v = text_value(value);
			if (!v)
				return usage(err, size, "%s must be valid UTF-8", what);
			return json_array_append_new(arr, v) < 0 ? -ENOMEM : 0;
		}
		{
			char *list = strdup(value), *save = NULL, *tok;
			int r = list ? 0 : -ENOMEM;

			for (tok = list ? strtok_r(list, ",", &save) : NULL; tok && r == 0;
			     tok = strtok_r(NULL, ",", &save)) {
				v = text_value(tok);
				if (!v)
					r = usage(err, size, "%s must be valid UTF-8", what);
				else if (json_array_append_new(arr, v) < 0)
					r = -ENOMEM;
			}
			free(list);
			return r;
		}
	default:
		return usage(err, size, "%s cannot be given", what);
	}
}

/* The longest row whose words begin pos[0..n_pos). */
static const struct mgmt_command *match(char **pos, size_t n_pos)
{
	const struct mgmt_command *c, *best = NULL;
	size_t i, k;

	for (c = mgmt_commands; c->name; c++) {
		k = n_words(c->name);
		if (k > n_pos || (best && k <= n_words(best->name)))
			continue;
		for (i = 0; i < k && word_is(c->name, i, pos[i]); i++)
			;
		if (i == k)
			best = c;
	}
	return best;
}

int mgmt_cmdline_parse(int argc, char **argv, struct mgmt_cmdline *ret, char *err, size_t err_size)
{
	struct option opts[MAX_OPTIONS + 4];
	const char *names[MAX_OPTIONS];
	struct given *given = calloc((size_t)argc + 1, sizeof(*given));
	const struct mgmt_command *c, *cmd = NULL;
	const struct mgmt_arg *a;
	size_t n_opts = 0, n_names = 0, n_given = 0, i, k, n_pos, n_posargs = 0;
	json_t *args = json_object();
	char syn[512], what[96];
	int ch, r = -EINVAL;

	memset(ret, 0, sizeof(*ret));
	err[0] = '\0';
	if (!given || !args) {
		r = -ENOMEM;
		goto out;
	}
	opts[n_opts++] = (struct option){ "data", required_argument, NULL, OPT_DATA };
	opts[n_opts++] = (struct option){ "json", no_argument, NULL, OPT_JSON };
	opts[n_opts++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	for (c = mgmt_commands; c->name; c++)
		for (a = c->args; a->key; a++) {
			if (!a->option)
				continue;
			for (k = 0; k < n_names && strcmp(names[k], a->option); k++)
				;
			if (k < n_names)
				continue;
			if (n_names == MAX_OPTIONS)
				abort();   /* the table outgrew MAX_OPTIONS: a build-time mistake */
			names[n_names] = a->option;
			opts[n_opts++] = (struct option){ a->option, a->kind == MGMT_ARG_FLAG ? no_argument : required_argument,
							  NULL, OPT_TABLE + (int)n_names };
			n_names++;
		}
	opts[n_opts] = (struct option){ NULL, 0, NULL, 0 };

	optind = 0;   /* a fresh scan (glibc re-initialises) */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_DATA:
			if (ret->dir) {
				r = usage(err, err_size, "--data is given twice");
				goto out;
			}
			ret->dir = optarg;
			break;
		case OPT_JSON: ret->json = true; break;
		case OPT_HELP: ret->help = true; break;
		case ':':
			r = usage(err, err_size, "%s needs a value", argv[optind - 1]);
			goto out;
		case '?':
			r = usage(err, err_size, "unknown option %s", argv[optind - 1]);
			goto out;
		default:
			given[n_given++] = (struct given){ names[ch - OPT_TABLE], optarg };
			break;
		}
	}
	if (ret->help) {
		r = 0;
		goto out;
	}
	if (!ret->dir) {
		r = usage(err, err_size, "--data DIR is required");
		goto out;
	}
	n_pos = (size_t)(argc - optind);
	if (n_pos == 0) {
		r = usage(err, err_size, "missing command");
		goto out;
	}
	cmd = match(argv + optind, n_pos);
	if (!cmd) {
		r = usage(err, err_size, "unknown command \"%s%s%s\"", argv[optind], n_pos > 1 ? " " : "",
			  n_pos > 1 ? argv[optind + 1] : "");
		goto out;
	}
	ret->cmd = cmd;   /* also for the errors below: they name this command's usage */
	mgmt_synopsis(cmd, syn, sizeof(syn));
	for (a = cmd->args; a->key; a++)
		n_posargs += !a->option && on_argv(a);
	k = n_words(cmd->name);
	if (n_pos - k != n_posargs) {
		r = usage(err, err_size, "wrong number of arguments: kura admin %s", syn);
		goto out;
	}
	for (i = 0, a = cmd->args; a->key; a++) {
		if (a->option || !on_argv(a))
			continue;
		r = add_value(args, a, a->metavar, argv[optind + (int)k + (int)i++], err, err_size);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < n_given; i++) {
		for (a = cmd->args; a->key && !(a->option && !strcmp(a->option, given[i].option)); a++)
			;
		snprintf(what, sizeof(what), "--%s", given[i].option);
		if (!a->key) {
			r = usage(err, err_size, "kura admin %s takes no %s", syn, what);
			goto out;
		}
		r = add_value(args, a, what, given[i].value, err, err_size);
		if (r < 0)
			goto out;
	}
	for (a = cmd->args; a->key; a++) {
		if (a->option && on_argv(a) && !(a->flags & MGMT_ARG_OPTIONAL) && !json_object_get(args, a->key)) {
			snprintf(what, sizeof(what), "--%s %s", a->option, a->metavar);
			r = usage(err, err_size, "kura admin %s: %s is required", syn, what);
			goto out;
		}
		if (a->kind == MGMT_ARG_PEOPLE && !ret->json && json_object_set_new(args, a->key, json_true()) < 0) {
			r = -ENOMEM;
			goto out;
		}
	}
	ret->request = json_pack("{s:s, s:O}", "command", cmd->name, "args", args);
	if (!ret->request) {
		r = -ENOMEM;
		goto out;
	}
	r = 0;
out:
	if (r == -ENOMEM)
		snprintf(err, err_size, "out of memory");
	json_decref(args);
	free(given);
	return r;
}
