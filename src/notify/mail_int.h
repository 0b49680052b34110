/*
 * Shared between src/notify/mail.c and the table that cmake/embed_mail.cmake generates
 * from mail/ (mail_templates.c in the build directory): the embedded template files and
 * the placeholder list.
 */
#ifndef KURA_NOTIFY_MAIL_INT_H
#define KURA_NOTIFY_MAIL_INT_H
#include "notify/mail.h"

/* mail/<name>.<lang>.txt: "Subject: ...\n\n" then the body; text is NUL-terminated. */
struct mail_file {
	const char *name;
	const char *lang;      /* "ja" or "en" */
	const char *text;
	size_t len;
};
extern const struct mail_file mail_files[];
extern const size_t mail_n_files;

/* mail/placeholders.txt */
struct mail_placeholder {
	const char *name;
	enum mail_var_kind kind;
};
extern const struct mail_placeholder mail_placeholders[];
extern const size_t mail_n_placeholders;
#endif
