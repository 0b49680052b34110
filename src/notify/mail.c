/*
 * Mail templates and the tenant-manager fan-out (mail.h): every mail kura sends is one
 * template of mail/ rendered here, then queued with outbox_enqueue().
 *
 * Design: a template is two embedded files (mail_templates.c, generated from mail/ by
 * cmake/embed_mail.cmake), one per language, each "Subject: ...\n\n" and a body. Rendering
 * runs twice over the same parts: once to count bytes (and find every error), once to
 * write into buffers of exactly that size, so nothing holding a link is ever reallocated
 * and left behind in freed memory. The tags are few and flat: {{name}}, {{#flag}},
 * {{^flag}}, {{/flag}}, no nesting, no escapes (a template has no other use for "{{").
 *
 * SECURITY: values are checked before anything is written: known names of the right kind
 * (mail/placeholders.txt), each given once, bounded by KURA_MAIL_VALUE_MAX, clean UTF-8;
 * values that reach a subject hold no line break, so the subject stays one header line.
 * Every placeholder of the template (in both languages, in kept and dropped sections)
 * must have its value and every value must be used, so a template edit or a typo at a
 * call site fails loudly (logged as "mail.template") instead of mailing a hole. The
 * outbox then checks the whole subject and body again and seals the body.
 */
#include <stdlib.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "notify/mail_int.h"
#include "notify/notify.h"
#include "store/db.h"

#define MAIL_SUBJECT_PREFIX "[kura] "
#define MAIL_SUBJECT_JOIN " / "
#define MAIL_BODY_JOIN "\n----\n"
#define MAIL_SUBJECT_LINE "Subject: "

_Static_assert(KURA_MAIL_VARS_MAX <= 64, "the used-value set is one uint64_t");

/* One language of a template, split into its subject and body. */
struct mail_part {
	const char *file;      /* "invitation.ja", for messages */
	const char *subject;
	size_t n_subject;
	const char *body;
	size_t n_body;
};

struct mail_run {
	const struct mail *m;
	const char *file;      /* the part being rendered, for messages */
	char times[KURA_MAIL_VARS_MAX][CLOCK_RFC3339_LEN];
	uint64_t used;         /* bit i: m->vars[i] appears in the template */
};

/* Where rendered bytes go: counted only while p is NULL, else written (cap was counted). */
struct mail_sink {
	char *p;
	size_t n, cap;
};

static void sink_put(struct mail_sink *s, const char *str, size_t n)
{
	if (s->p && n <= s->cap - s->n)
		memcpy(s->p + s->n, str, n);
	s->n += n;
}

static const struct mail_placeholder *placeholder_find(const char *name, size_t n)
{
	for (size_t i = 0; i < mail_n_placeholders; i++)
		if (strlen(mail_placeholders[i].name) == n && !memcmp(mail_placeholders[i].name, name, n))
			return &mail_placeholders[i];
	return NULL;
}

static int var_find(const struct mail *m, const char *name, size_t n)
{
	for (size_t i = 0; i < m->n_vars; i++)
		if (strlen(m->vars[i].name) == n && !memcmp(m->vars[i].name, name, n))
			return (int)i;
	return -1;
}

/* Clean UTF-8 lines joined by LF (no CR, no other controls but tab). */
static bool value_clean(const char *v, size_t n)
{
	const char *p = v, *end = v + n, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!utf8_is_clean_text(p, nl ? (size_t)(nl - p) : (size_t)(end - p)))
			return false;
		if (!nl)
			break;
		p = nl + 1;
	}
	return true;
}

/* The values on their own: names, kinds, duplicates, sizes, text; times formatted. */
static int vars_check(struct mail_run *run)
{
	const struct mail *m = run->m;
	const struct mail_placeholder *ph;
	const char *zone = m->zone && *m->zone ? m->zone : MAIL_DEFAULT_ZONE;
	size_t i, n;

	if (m->n_vars && !m->vars)
		return -EINVAL;
	if (m->n_vars > KURA_MAIL_VARS_MAX) {
		log_warn("mail.template", "%s: more than %d values", m->name, KURA_MAIL_VARS_MAX);
		return -E2BIG;
	}
	for (i = 0; i < m->n_vars; i++) {
		const struct mail_var *v = &m->vars[i];

		ph = v->name ? placeholder_find(v->name, strlen(v->name)) : NULL;
		if (!ph || ph->kind != v->kind || var_find(m, v->name, strlen(v->name)) != (int)i) {
			log_warn("mail.template", "%s: value %s is unknown, of the wrong kind or given twice",
				 m->name, v->name ? v->name : "(null)");
			return -EINVAL;
		}
		if (v->kind == MAIL_VAR_TEXT) {
			if (!v->text)
				goto missing;
			n = strnlen(v->text, KURA_MAIL_VALUE_MAX + 1);
			if (n > KURA_MAIL_VALUE_MAX)
				return -E2BIG;
			if (!value_clean(v->text, n))
				return -EINVAL;
		} else if (v->kind == MAIL_VAR_TIME) {
			if (clock_format_zone(v->time_us, zone, run->times[i], sizeof(run->times[i])) < 0)
				return -EINVAL;
		}
	}
	return 0;
missing:
	log_warn("mail.template", "%s: value %s is NULL", m->name, m->vars[i].name);
	return -EINVAL;
}

/* Renders one subject or body of one language into out. */
static int render_text(struct mail_run *run, const char *p, size_t n, bool subject, struct mail_sink *out)
{
	const struct mail_var *v;
	const char *start = p, *end = p + n, *tag, *name, *close, *sec_name = NULL;
	size_t n_name, n_sec = 0;
	bool in_section = false, keep = true;
	char sigil;
	int i;

	while (p < end) {
		tag = memmem(p, (size_t)(end - p), "{{", 2);
		if (keep)
			sink_put(out, p, tag ? (size_t)(tag - p) : (size_t)(end - p));
		if (!tag)
			break;
		close = memmem(tag + 2, (size_t)(end - tag - 2), "}}", 2);
		if (!close)
			goto malformed;
		name = tag + 2;
		sigil = *name == '#' || *name == '^' || *name == '/' ? *name++ : '\0';
		n_name = (size_t)(close - name);
		if (n_name == 0 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") < n_name)
			goto malformed;
		i = var_find(run->m, name, n_name);
		if (i < 0) {
			log_warn("mail.template", "%s: no value for {{%.*s}}", run->file, (int)n_name, name);
			return -EINVAL;
		}
		v = &run->m->vars[i];
		run->used |= UINT64_C(1) << i;
		p = close + 2;
		if (sigil) {
			if (v->kind != MAIL_VAR_FLAG)
				goto malformed;
			/* a section tag alone on its line takes the line with it */
			if ((tag == start || tag[-1] == '\n') && p < end && *p == '\n')
				p++;
			if (sigil == '/') {
				if (!in_section || n_name != n_sec || memcmp(name, sec_name, n_name))
					goto malformed;
				in_section = false;
				keep = true;
			} else {
				if (in_section)
					goto malformed;     /* sections do not nest */
				in_section = true;
				sec_name = name;
				n_sec = n_name;
				keep = v->flag == (sigil == '#');
			}
			continue;
		}
		if (v->kind == MAIL_VAR_FLAG)
			goto malformed;
		if (v->kind == MAIL_VAR_TIME) {
			if (keep)
				sink_put(out, run->times[i], strlen(run->times[i]));
			continue;
		}
		if (subject && strchr(v->text, '\n')) {
			log_warn("mail.template", "%s: value %s holds a line break and goes into the subject",
				 run->file, v->name);
			return -EINVAL;
		}
		if (keep)
			sink_put(out, v->text, strlen(v->text));
	}
	if (in_section)
		goto malformed;
	return 0;
malformed:
	log_warn("mail.template", "%s: malformed tag or section", run->file);
	return -EINVAL;
}

/* The embedded file name.lang, split at "Subject: ...\n\n". */
static int part_get(const char *name, const char *lang, char *file, size_t n_file, struct mail_part *ret)
{
	const struct mail_file *f = NULL;
	const char *nl;

	for (size_t i = 0; i < mail_n_files && !f; i++)
		if (!strcmp(mail_files[i].name, name) && !strcmp(mail_files[i].lang, lang))
			f = &mail_files[i];
	if (!f) {
		log_warn("mail.template", "no template mail/%s.%s.txt", name, lang);
		return -ENOENT;
	}
	str_printf(file, n_file, "%s.%s", name, lang);
	nl = memchr(f->text, '\n', f->len);
	if (f->len > KURA_MAIL_TEMPLATE_MAX || strncmp(f->text, MAIL_SUBJECT_LINE, strlen(MAIL_SUBJECT_LINE)) ||
	    !nl || (size_t)(nl - f->text) + 1 >= f->len || nl[1] != '\n') {
		log_warn("mail.template", "mail/%s.txt: no \"Subject: \" line and empty line", file);
		return -EINVAL;
	}
	ret->file = file;
	ret->subject = f->text + strlen(MAIL_SUBJECT_LINE);
	ret->n_subject = (size_t)(nl - ret->subject);
	ret->body = nl + 2;
	ret->n_body = f->len - (size_t)(ret->body - f->text);
	return 0;
}

/* Both languages into subject and body (counting while their p is NULL). */
static int compose(struct mail_run *run, const struct mail_part part[2], struct mail_sink *subject,
		   struct mail_sink *body)
{
	int r = 0;

	sink_put(subject, MAIL_SUBJECT_PREFIX, strlen(MAIL_SUBJECT_PREFIX));
	for (int k = 0; k < 2 && r == 0; k++) {
		run->file = part[k].file;
		if (k) {
			sink_put(subject, MAIL_SUBJECT_JOIN, strlen(MAIL_SUBJECT_JOIN));
			sink_put(body, MAIL_BODY_JOIN, strlen(MAIL_BODY_JOIN));
		}
		r = render_text(run, part[k].subject, part[k].n_subject, true, subject);
		if (r == 0)
			r = render_text(run, part[k].body, part[k].n_body, false, body);
	}
	return r;
}

int mail_render(const struct mail *m, struct mail_rendered *ret)
{
	struct mail_run *run = NULL;
	struct mail_part part[2];
	struct mail_sink subject = { 0 }, body = { 0 };
	char files[2][64];
	int r;

	if (!m || !m->name || !ret)
		return -EINVAL;
	r = part_get(m->name, "ja", files[0], sizeof(files[0]), &part[0]);
	if (r == 0)
		r = part_get(m->name, "en", files[1], sizeof(files[1]), &part[1]);
	if (r < 0)
		return r;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->m = m;
	r = vars_check(run);
	if (r == 0)
		r = compose(run, part, &subject, &body);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < m->n_vars; i++)
		if (!(run->used & (UINT64_C(1) << i))) {
			log_warn("mail.template", "%s: value %s is not used by the template", m->name, m->vars[i].name);
			r = -EINVAL;
			goto out;
		}
	if (subject.n > KURA_MAIL_SUBJECT_MAX || body.n > KURA_MAIL_BODY_MAX) {
		r = -E2BIG;
		goto out;
	}
	subject.cap = subject.n;
	body.cap = body.n;
	subject.n = body.n = 0;
	subject.p = malloc(subject.cap + 1);
	body.p = malloc(body.cap + 1);
	if (!subject.p || !body.p) {
		r = -ENOMEM;
		goto out;
	}
	run->used = 0;
	r = compose(run, part, &subject, &body);
	if (r == 0 && (subject.n != subject.cap || body.n != body.cap))
		r = -EIO;      /* the two runs differ: cannot happen */
	if (r < 0)
		goto out;
	subject.p[subject.n] = '\0';
	body.p[body.n] = '\0';
	ret->subject = subject.p;
	ret->body = body.p;
	subject.p = body.p = NULL;
out:
	if (body.p)
		sodium_memzero(body.p, body.cap);
	free(body.p);
	free(subject.p);
	if (run)
		sodium_memzero(run, sizeof(*run));
	free(run);
	return r;
}

void mail_rendered_free(struct mail_rendered *r)
{
	if (!r)
		return;
	r->body = secret_free(r->body);
	free(r->subject);
	r->subject = NULL;
}

int mail_queue(struct db *db, int64_t tenant_id, const char *to, const struct mail *m, int64_t *ret_id)
{
	struct mail_rendered out = { 0 };
	int r = mail_render(m, &out);

	if (r == 0)
		r = outbox_enqueue(db, tenant_id, to, out.subject, out.body, ret_id);
	mail_rendered_free(&out);
	return r;
}

int notify_managers(struct db *db, int64_t tenant_id, const char *except, const struct mail *m, size_t *ret_n)
{
	struct mail_rendered out = { 0 };
	struct db_stmt *st;
	char (*to)[KURA_EMAIL_MAX + 1] = NULL;
	size_t n = 0, i;
	int r;

	if (!db || tenant_id <= 0 || !db_in_transaction(db))
		return -EINVAL;
	r = mail_render(m, &out);
	if (r < 0)
		return r;
	to = calloc(KURA_MAIL_MANAGERS_MAX, sizeof(*to));
	if (!to) {
		r = -ENOMEM;
		goto out;
	}
	/* collected first: no insert while the query is open */
	st = db_query(db, "SELECT DISTINCT email FROM accounts WHERE tenant_id = $1 AND role = 'manager'"
			  " AND status = 'active' AND email <> $2 ORDER BY email LIMIT $3",
		      "iti", tenant_id, except ? except : "", (int64_t)KURA_MAIL_MANAGERS_MAX);
	while ((r = db_step(st)) > 0 && n < KURA_MAIL_MANAGERS_MAX)
		if (mail_address_valid(db_text(st, 0)))
			str_copy(to[n++], sizeof(to[0]), db_text(st, 0));
	db_done(st);
	if (r < 0)
		goto out;
	r = 0;
	for (i = 0; i < n && r == 0; i++)
		r = outbox_enqueue(db, tenant_id, to[i], out.subject, out.body, NULL);
	if (r == 0 && ret_n)
		*ret_n = n;
out:
	free(to);
	mail_rendered_free(&out);
	return r;
}
