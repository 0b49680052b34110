/*
 * The operator command table (D1, C6, C7): one row per operator command, shared by both
 * ends of the management plane, after git's commands[] in git.c.
 *   - kura admin (src/cli/admin.c) reads argv with it (mgmt_cmdline_parse), prints the
 *     usage from it (mgmt_usage_print) and the result for people (mgmt_view_print);
 *   - the management socket (mgmt.c) dispatches a request to the row's handler after
 *     checking its "args" against the row (mgmt_args_check).
 * Adding a command is one row in commands.c plus its handler; nothing else names it.
 *
 * A row's name is the socket command ("tenant.create"); on the command line its words are
 * the name split at '.' ("kura admin tenant create"). Each argument is a positional (in
 * order) or an option (--name VALUE), with the member of "args" it becomes and a kind that
 * says how argv is read and what the socket accepts. The view says how the result reads
 * for people: a table of one list member, or (by default) key: value lines.
 *
 * SECURITY: a command shows provider-side state or acts through the same service functions,
 * checks and audit records as the API. No command shows a tenant's content or its audit
 * details to an operator (C7: operators do not read tenant data without the tenant's
 * consent); the tenant reads those through the API. Text printed for people is sanitised
 * (control and bidirectional characters shown as U+FFFD), since a result may carry what a
 * client sent (an audit record's target, a user agent).
 */
#ifndef KURA_MGMT_COMMAND_H
#define KURA_MGMT_COMMAND_H
#include <stdio.h>

#include <jansson.h>

#include "core/core.h"

enum mgmt_arg_kind {
	MGMT_ARG_TEXT,     /* one string (valid UTF-8) */
	MGMT_ARG_LIST,     /* --service A,B --service C → ["A", "B", "C"] */
	MGMT_ARG_EACH,     /* --option A --option B → ["A", "B"] */
	MGMT_ARG_COUNT,    /* a whole number, 0 or more */
	MGMT_ARG_PEOPLE,   /* true when kura admin prints for people (no --json); never on argv */
	MGMT_ARG_FLAG,     /* --open (no value) → true; absent → not in args */
	MGMT_ARG_FILE,     /* --body-file F: kura admin reads F (UTF-8, at most KURA_MGMT_FILE_MAX
			    * bytes) and sends its text as a string; the socket sees a string */
};

#define MGMT_ARG_OPTIONAL 1u   /* an option that may be left out ([--opt X] in the usage) */

struct mgmt_arg {
	const char *key;       /* member of the request's "args" */
	const char *option;    /* long option without "--"; NULL: a positional */
	const char *metavar;   /* its value in the usage: CODE, NAME, SVC */
	enum mgmt_arg_kind kind;
	unsigned flags;
};

struct mgmt_column {
	const char *header;
	const char *key;       /* member of a row; "a.b" reaches into an object */
};

struct mgmt_ctx;   /* what a handler works with: the server's db, operator, keys (mgmt_int.h) */
typedef json_t *mgmt_handler_fn(const struct mgmt_ctx *c, json_t *args);

struct mgmt_command {
	const char *name;                   /* "tenant.create" */
	const char *help;                   /* for the usage; '\n' continues on a new line */
	const struct mgmt_arg *args;        /* ends with { NULL } */
	mgmt_handler_fn *handler;           /* the socket's side: {"ok": …} response, never NULL */
	const char *list;                   /* for people: this member of the result as a table */
	const struct mgmt_column *columns;  /* its columns, ends with { NULL } */
};

/* The table, in usage order; ends with { NULL }. */
extern const struct mgmt_command mgmt_commands[];

const struct mgmt_command *mgmt_command_find(const char *name);

/* Socket side: 0 when every member of args is an argument of cmd with the right JSON type;
 * else -EINVAL and the reason in err. args may be NULL (no arguments). */
int mgmt_args_check(const struct mgmt_command *cmd, json_t *args, char *err, size_t err_size) KURA_WUR;

/* ---- kura admin's side (cmdline.c, view.c) ---- */

struct mgmt_cmdline {
	const char *dir;                    /* --data DIR */
	bool json;                          /* --json: the result as JSON, exactly as sent */
	bool help;                          /* --help: print the usage, nothing else */
	const struct mgmt_command *cmd;
	json_t *request;                    /* {"command": …, "args": {…}}; owned */
};

/* Reads kura admin's argv (argv[0] is "admin"; options may come anywhere, "--" ends them).
 * 0 with *ret filled (free with mgmt_cmdline_done), or -EINVAL for a usage error with the
 * message in err (ret->cmd is then the command it concerns, NULL when none was found). */
int mgmt_cmdline_parse(int argc, char **argv, struct mgmt_cmdline *ret, char *err, size_t err_size) KURA_WUR;
void mgmt_cmdline_done(struct mgmt_cmdline *c);
/* "tenant create CODE --name NAME …" into buf (truncated to fit). */
void mgmt_synopsis(const struct mgmt_command *cmd, char *buf, size_t size);
/* The whole usage text, generated from the table. */
void mgmt_usage_print(FILE *out);

/* The result for people: the row's list as an aligned table, other members as key: value
 * lines, arrays of objects as tables of their own. Widths count display columns (CJK wide
 * characters two, combining marks none); call setlocale(LC_CTYPE, "C.UTF-8") first for
 * libc's wcwidth (a built-in East Asian Width table covers its absence). */
void mgmt_view_print(FILE *out, const struct mgmt_command *cmd, json_t *result);
/* Display columns of UTF-8 text as mgmt_view_print shows it (sanitised). */
size_t mgmt_view_width(const char *text);
/* text with control characters, bidirectional controls and invalid bytes replaced by
 * U+FFFD; malloc'd (NULL when out of memory). */
char *mgmt_view_clean(const char *text);
#endif
