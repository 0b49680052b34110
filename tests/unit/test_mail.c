/*
 * Unit tests for the mail templates (src/notify/mail.c, mail/): golden renderings and the
 * strict rules of the renderer, and notify_managers() against a real database.
 *
 * Golden files: every case below is rendered with fixed values and compared byte for byte
 * with tests/golden/mail/<case>.txt ("Subject: <subject>", an empty line, the body), so a
 * template change shows as a diff of those files. After a deliberate change, regenerate
 * them with KURA_MAIL_GOLDEN_UPDATE=1 ./test_mail (then the test fails once, to say so)
 * and commit the diff with the template.
 *
 * SECURITY: covers missing and unused values, values of the wrong kind, CR/LF in subject
 * values, CR in body values, oversized values, malformed and nested sections, unknown
 * templates, and the manager fan-out's bounds (active managers of the one tenant only,
 * distinct addresses, at most KURA_MAIL_MANAGERS_MAX, only inside a transaction).
 *
 * mail.c is included to reach its static renderer (h2o t/00unit style).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/notify/mail.c"

#define GOLDEN_DIR KURA_SOURCE_DIR "/tests/golden/mail"
#define GOLDEN_MAX (64 * 1024)
/* 2026-11-22T02:33:19Z = 11:33:19 in Asia/Tokyo */
#define T_FIXED (INT64_C(1795314799) * 1000000 + 123456)

/* ---- golden cases ---- */

#define VARS(...) (const struct mail_var[]){ __VA_ARGS__ }, \
	sizeof((const struct mail_var[]){ __VA_ARGS__ }) / sizeof(struct mail_var)

struct golden {
	const char *file;          /* tests/golden/mail/<file>.txt */
	const char *name;          /* the template */
	const struct mail_var *vars;
	size_t n_vars;
};

static const struct golden goldens[] = {
	{ "contact-confirm", "contact-confirm", VARS(
		MAIL_TEXT("addressee", "情報システム部 窓口"), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("contact_role", "security"),
		MAIL_TEXT("url", "https://kura.example/contact-confirm/TOKEN"), MAIL_TIME("expires_at", T_FIXED)) },
	{ "announcement", "announcement", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("kind_ja", "メンテナンス"),
		MAIL_TEXT("kind_en", "maintenance"), MAIL_TEXT("title_ja", "ストレージの更新"),
		MAIL_TEXT("title_en", "Storage upgrade"), MAIL_TEXT("body_ja", "夜間に更新します。\n\n- 影響: なし"),
		MAIL_TEXT("body_en", "We upgrade at night.\n\n- Impact: none <https://kura.example/docs>"),
		MAIL_FLAG("edited", false), MAIL_FLAG("has_window", true), MAIL_TIME("window_from", T_FIXED),
		MAIL_TIME("window_until", T_FIXED + 7200000000LL), MAIL_FLAG("on_portal", true),
		MAIL_TEXT("url", "https://kura.example/announcements")) },
	{ "announcement-edited", "announcement", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("kind_ja", "変更"),
		MAIL_TEXT("kind_en", "change"), MAIL_TEXT("title_ja", "ログイン画面の変更"),
		MAIL_TEXT("title_en", "Login page change"), MAIL_TEXT("body_ja", "新しい画面になります。"),
		MAIL_TEXT("body_en", "The page changes."), MAIL_FLAG("edited", true), MAIL_FLAG("has_window", false),
		MAIL_TIME("window_from", 0), MAIL_TIME("window_until", 0), MAIL_FLAG("on_portal", false),
		MAIL_TEXT("url", "https://kura.example/announcements")) },
	{ "incident-update", "incident-update", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("title_ja", "メール配送の遅延"),
		MAIL_TEXT("title_en", "Mail delivery delays"), MAIL_TEXT("status_ja", "原因特定"),
		MAIL_TEXT("status_en", "identified"), MAIL_TEXT("severity", "major"), MAIL_TEXT("services", "MAIL, ZTNA"),
		MAIL_TEXT("body_ja", "中継サーバーの障害です。"), MAIL_TEXT("body_en", "A relay failed."),
		MAIL_TEXT("url", "https://kura.example/status")) },
#define TERMINATION(opt, only, rem, days) VARS( \
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("tenant_code", "acme"), \
		MAIL_TEXT("option", opt), MAIL_FLAG("option_only", only), MAIL_FLAG("reminder", rem), \
		MAIL_TEXT("end_day", "2026-12-31"), MAIL_TIME("ends_at", T_FIXED), MAIL_TIME("deadline", T_FIXED), \
		MAIL_TEXT("days_left", days), MAIL_TEXT("erased", "- files and folders / ファイルとフォルダー\n- accounts / アカウント"), \
		MAIL_TEXT("export_url", "https://kura.example/api/v1/export"))
	{ "termination-notice", "termination-notice", TERMINATION("", false, false, "0") },
	{ "termination-notice-reminder", "termination-notice", TERMINATION("", false, true, "14") },
	{ "termination-notice-option", "termination-notice", TERMINATION("webdav", true, false, "0") },
	{ "termination-notice-option-reminder", "termination-notice", TERMINATION("webdav", true, true, "1") },
	{ "erasure-certificate", "erasure-certificate", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("tenant_code", "acme"),
		MAIL_TIME("erased_at", T_FIXED), MAIL_TEXT("public_key", "ab01"),
		MAIL_TEXT("certificate", "{\"certificate\":{},\"signature\":{}}")) },
	{ "erasure-alert", "erasure-alert", VARS(
		MAIL_TEXT("tenant_code", "acme"), MAIL_TIME("deadline", T_FIXED), MAIL_TEXT("state", "erasing"),
		MAIL_TEXT("reason", "Directory not empty")) },
	{ "report-to-provider-new", "report-to-provider", VARS(
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("report_id", "12"), MAIL_TEXT("report_title", "ログインできない"),
		MAIL_TEXT("report_category", "failure"), MAIL_TEXT("author", "taro"),
		MAIL_TEXT("message", "朝から全員がログインできません。\nエラー画面を添付します。"),
		MAIL_FLAG("new_report", true)) },
	{ "report-to-provider-message", "report-to-provider", VARS(
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("report_id", "12"), MAIL_TEXT("report_title", "ログインできない"),
		MAIL_TEXT("report_category", "failure"), MAIL_TEXT("author", "taro"),
		MAIL_TEXT("message", "直りました。"), MAIL_FLAG("new_report", false)) },
	{ "report-to-tenant", "report-to-tenant", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("report_id", "12"),
		MAIL_TEXT("report_title", "ログインできない"), MAIL_TEXT("message", "調査中です。\nInvestigating."),
		MAIL_TEXT("url", "https://kura.example/reports#12"), MAIL_FLAG("closed", false),
		MAIL_FLAG("records_attached", false)) },
	{ "report-to-tenant-closed", "report-to-tenant", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("report_id", "12"),
		MAIL_TEXT("report_title", "ログインできない"), MAIL_TEXT("message", ""),
		MAIL_TEXT("url", "https://kura.example/reports#12"), MAIL_FLAG("closed", true),
		MAIL_FLAG("records_attached", false)) },
	{ "report-to-tenant-records", "report-to-tenant", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("report_id", "13"),
		MAIL_TEXT("report_title", "記録の開示"), MAIL_TEXT("message", "The provider-side records (export 1) are attached to this report."),
		MAIL_TEXT("url", "https://kura.example/reports#13"), MAIL_FLAG("closed", false),
		MAIL_FLAG("records_attached", true)) },
	{ "invitation", "invitation", VARS(
		MAIL_TEXT("addressee", "山田 太郎"), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("role", "user"), MAIL_TIME("expires_at", T_FIXED),
		MAIL_TEXT("url", "https://kura.example/invite/TOKEN"), MAIL_TEXT("login", "taro")) },
	{ "password-reset", "password-reset", VARS(
		MAIL_FLAG("forced", false), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("login", "taro"), MAIL_TIME("expires_at", T_FIXED),
		MAIL_TEXT("url", "https://kura.example/reset/TOKEN")) },
	{ "password-reset-forced", "password-reset", VARS(
		MAIL_FLAG("forced", true), MAIL_TEXT("tenant_name", "Acme 株式会社"),
		MAIL_TEXT("tenant_code", "acme"), MAIL_TEXT("login", "taro"), MAIL_TIME("expires_at", T_FIXED),
		MAIL_TEXT("url", "https://kura.example/reset/TOKEN")) },
	{ "account-locked", "account-locked", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("tenant_code", "acme"),
		MAIL_TEXT("login", "taro"), MAIL_TIME("locked_until", T_FIXED),
		MAIL_TEXT("address", "192.0.2.7"), MAIL_FLAG("to_manager", false)) },
	{ "account-locked-manager", "account-locked", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("tenant_code", "acme"),
		MAIL_TEXT("login", "taro"), MAIL_TIME("locked_until", T_FIXED),
		MAIL_TEXT("address", "192.0.2.7"), MAIL_FLAG("to_manager", true)) },
	{ "client-certificate-expiry", "client-certificate-expiry", VARS(
		MAIL_TEXT("tenant_name", "Acme 株式会社"), MAIL_TEXT("tenant_code", "acme"),
		MAIL_TEXT("login", "taro"), MAIL_TEXT("cert_name", "taro のノート PC"),
		MAIL_TEXT("cert_sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
		MAIL_TIME("expires_at", T_FIXED)) },
	{ "email-changed", "email-changed", VARS(
		MAIL_TEXT("login", "taro"), MAIL_TEXT("tenant_code", "acme"),
		MAIL_TEXT("new_email", "taro.new@example.com")) },
	{ "share-download", "share-download", VARS(
		MAIL_TEXT("sharer", "山田 太郎"), MAIL_TEXT("item_name", "report.pdf"),
		MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "https://kura.example/s/TOKEN"),
		MAIL_FLAG("has_password", false)) },
	{ "share-download-password", "share-download", VARS(
		MAIL_TEXT("sharer", "山田 太郎"), MAIL_TEXT("item_name", "report.pdf"),
		MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "https://kura.example/s/TOKEN"),
		MAIL_FLAG("has_password", true)) },
	{ "share-upload", "share-upload", VARS(
		MAIL_TEXT("sharer", "山田 太郎"), MAIL_TEXT("item_name", "受け取り"),
		MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "https://kura.example/s/TOKEN"),
		MAIL_FLAG("has_password", false)) },
	{ "share-upload-password", "share-upload", VARS(
		MAIL_TEXT("sharer", "山田 太郎"), MAIL_TEXT("item_name", "受け取り"),
		MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "https://kura.example/s/TOKEN"),
		MAIL_FLAG("has_password", true)) },
	{ "share-used", "share-used", VARS(
		MAIL_TEXT("share_id", "42"), MAIL_TEXT("item_name", "report.pdf")) },
	{ "test", "test", VARS(MAIL_TIME("sent_at", T_FIXED)) },
	{ "access-request", "access-request", VARS(
		MAIL_TEXT("operator", "ops-tanaka"), MAIL_TEXT("tenant_name", "株式会社デモ"), MAIL_TEXT("access_id", "7"),
		MAIL_TEXT("case_ref", "CASE-2026-0042"), MAIL_TEXT("reason", "同期エラーの調査 / sync error"),
		MAIL_TEXT("scope", "files:read"), MAIL_TEXT("hours", "4"), MAIL_TEXT("url", "https://kura.example/access"),
		MAIL_TIME("lapses_at", T_FIXED)) },
	{ "access-emergency", "access-emergency", VARS(
		MAIL_TEXT("operator", "ops-tanaka"), MAIL_TEXT("tenant_name", "株式会社デモ"), MAIL_TEXT("access_id", "8"),
		MAIL_TEXT("case_ref", "INC-9"), MAIL_TEXT("reason", "storage failure"),
		MAIL_TEXT("scope", "audit:read"), MAIL_TEXT("hours", "2"), MAIL_TEXT("url", "https://kura.example/access"),
		MAIL_TIME("ends_at", T_FIXED)) },
	{ "access-policy-lowering", "access-policy-lowering", VARS(
		MAIL_TEXT("requested_by", "amgr"), MAIL_TEXT("tenant_name", "株式会社デモ"),
		MAIL_TEXT("url", "https://kura.example/access"), MAIL_TIME("confirm_by", T_FIXED)) },
	{ "capacity-alert", "capacity-alert", VARS(MAIL_TIME("sent_at", T_FIXED),
						 MAIL_TEXT("alert", "tenant alpha: 900 of its 1000 bytes quota used (90.0 %), over 80 %")) },
};

static char *read_all(const char *path, size_t *ret_n)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(GOLDEN_MAX + 1);
	assert_non_null(buf);
	n = fread(buf, 1, GOLDEN_MAX + 1, f);
	fclose(f);
	assert_true(n <= GOLDEN_MAX);
	buf[n] = '\0';
	*ret_n = n;
	return buf;
}

static void test_golden(void **state)
{
	const bool update = getenv("KURA_MAIL_GOLDEN_UPDATE") != NULL;
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(goldens); i++) {
		const struct golden *g = &goldens[i];
		struct mail m = { .name = g->name, .zone = "Asia/Tokyo", .vars = g->vars, .n_vars = g->n_vars };
		struct mail_rendered out = { 0 };
		char path[512], *want, *got = NULL;
		size_t n_want = 0;

		assert_int_equal(mail_render(&m, &out), 0);
		assert_int_not_equal(asprintf(&got, "Subject: %s\n\n%s", out.subject, out.body), -1);
		snprintf(path, sizeof(path), "%s/%s.txt", GOLDEN_DIR, g->file);
		if (update) {
			FILE *f = fopen(path, "wb");

			assert_non_null(f);
			assert_int_equal(fwrite(got, 1, strlen(got), f), strlen(got));
			assert_int_equal(fclose(f), 0);
			failed++;
		}
		want = read_all(path, &n_want);
		if (!want || n_want != strlen(got) || memcmp(want, got, n_want)) {
			print_error("%s differs from the rendering; got:\n%s\n", path, got);
			failed++;
		}
		free(want);
		free(got);
		mail_rendered_free(&out);
	}
	if (update)
		print_error("KURA_MAIL_GOLDEN_UPDATE: %s rewritten; review and commit the diff\n", GOLDEN_DIR);
	assert_int_equal(failed, 0);
}

/* Every template has a golden case, and every file is within the limits and clean text. */
static void test_every_template_covered(void **state)
{
	(void)state;
	assert_true(mail_n_files > 0);
	for (size_t i = 0; i < mail_n_files; i++) {
		const struct mail_file *f = &mail_files[i];
		bool covered = false;

		assert_true(f->len <= KURA_MAIL_TEMPLATE_MAX);
		assert_int_equal(strlen(f->text), f->len);
		assert_true(value_clean(f->text, f->len));
		for (size_t k = 0; k < ARRAY_SIZE(goldens) && !covered; k++)
			covered = !strcmp(goldens[k].name, f->name);
		if (!covered)
			print_error("mail/%s.%s.txt has no golden case in tests/unit/test_mail.c\n", f->name, f->lang);
		assert_true(covered);
	}
}

/* ---- the renderer's rules ---- */

static int render(const char *name, const char *zone, const struct mail_var *vars, size_t n,
		  struct mail_rendered *ret)
{
	struct mail m = { .name = name, .zone = zone, .vars = vars, .n_vars = n };

	return mail_render(&m, ret);
}

static void test_strict_values(void **state)
{
	struct mail_rendered out = { 0 };
	char *big;

	(void)state;
	/* the good case, for contrast */
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a")), &out), 0);
	assert_string_equal(out.subject, "[kura] 共有リンクからダウンロードされました / Your shared link was used");
	mail_rendered_free(&out);
	assert_null(out.body);
	/* unknown template */
	assert_int_equal(render("no-such-mail", NULL, VARS(MAIL_TEXT("login", "a")), &out), -ENOENT);
	assert_int_equal(render(NULL, NULL, NULL, 0, &out), -EINVAL);
	/* a value missing: never an empty hole */
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1")), &out), -EINVAL);
	/* NULL text */
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", NULL)), &out),
			 -EINVAL);
	/* a value the template does not use */
	assert_int_equal(render("share-used", NULL,
				VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a"), MAIL_TEXT("login", "x")), &out),
			 -EINVAL);
	/* a name that mail/placeholders.txt does not list */
	assert_int_equal(render("share-used", NULL,
				VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a"), MAIL_TEXT("bogus", "x")), &out),
			 -EINVAL);
	/* given twice */
	assert_int_equal(render("share-used", NULL,
				VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a"), MAIL_TEXT("item_name", "b")), &out),
			 -EINVAL);
	/* the wrong kind: a time as text, a flag as text */
	assert_int_equal(render("test", NULL, VARS(MAIL_TEXT("sent_at", "yesterday")), &out), -EINVAL);
	assert_int_equal(render("share-used", NULL, VARS(MAIL_FLAG("share_id", true), MAIL_TEXT("item_name", "a")), &out),
			 -EINVAL);
	/* header safety: no CR or LF from a value into the subject */
	assert_int_equal(render("share-download", NULL,
				VARS(MAIL_TEXT("sharer", "Eve\r\nBcc: x@example.com"), MAIL_TEXT("item_name", "a"),
				     MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "u"), MAIL_FLAG("has_password", false)),
				&out), -EINVAL);
	assert_int_equal(render("share-download", NULL,
				VARS(MAIL_TEXT("sharer", "Eve\nBcc: x@example.com"), MAIL_TEXT("item_name", "a"),
				     MAIL_TIME("expires_at", T_FIXED), MAIL_TEXT("url", "u"), MAIL_FLAG("has_password", false)),
				&out), -EINVAL);
	/* a body value may span lines (LF), never hold CR or other controls */
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a\nb")), &out), 0);
	assert_non_null(strstr(out.body, "「a\nb」"));
	mail_rendered_free(&out);
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a\rb")), &out),
			 -EINVAL);
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "a\x1b[0m")), &out),
			 -EINVAL);
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", "\xff")), &out),
			 -EINVAL);
	/* bounded values */
	big = malloc(KURA_MAIL_VALUE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', KURA_MAIL_VALUE_MAX + 1);
	big[KURA_MAIL_VALUE_MAX + 1] = '\0';
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", big)), &out),
			 -E2BIG);
	big[KURA_MAIL_VALUE_MAX] = '\0';
	assert_int_equal(render("share-used", NULL, VARS(MAIL_TEXT("share_id", "1"), MAIL_TEXT("item_name", big)), &out), 0);
	mail_rendered_free(&out);
	free(big);
	/* too many values */
	{
		struct mail_var many[KURA_MAIL_VARS_MAX + 1];

		for (size_t i = 0; i < ARRAY_SIZE(many); i++)
			many[i] = (struct mail_var)MAIL_TEXT("login", "x");
		assert_int_equal(render("share-used", NULL, many, ARRAY_SIZE(many), &out), -E2BIG);
	}
	assert_null(out.subject);
	assert_null(out.body);
}

/* Times are written in the mail's zone; no zone = Asia/Tokyo. */
static void test_zone(void **state)
{
	struct mail_rendered out = { 0 };

	(void)state;
	assert_int_equal(render("test", NULL, VARS(MAIL_TIME("sent_at", T_FIXED)), &out), 0);
	assert_non_null(strstr(out.body, "(2026-11-22T11:33:19+09:00)"));
	mail_rendered_free(&out);
	assert_int_equal(render("test", "UTC", VARS(MAIL_TIME("sent_at", T_FIXED)), &out), 0);
	assert_non_null(strstr(out.body, "(2026-11-22T02:33:19+00:00)"));
	mail_rendered_free(&out);
	assert_int_equal(render("test", "America/New_York", VARS(MAIL_TIME("sent_at", T_FIXED)), &out), 0);
	assert_non_null(strstr(out.body, "(2026-11-21T21:33:19-05:00)"));
	mail_rendered_free(&out);
}

/* The tag grammar on texts that are not (yet) templates. */
static void test_tags(void **state)
{
	const struct mail_var vars[] = { MAIL_TEXT("login", "taro"), MAIL_FLAG("forced", true),
					 MAIL_FLAG("to_manager", false) };
	const struct mail m = { .name = "t", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	static const struct {
		const char *text;
		const char *want;      /* NULL: refused */
	} cases[] = {
		{ "plain", "plain" },
		{ "a {{login}} b", "a taro b" },
		{ "{{#forced}}yes{{/forced}}{{^forced}}no{{/forced}}", "yes" },
		{ "{{#to_manager}}yes{{/to_manager}}{{^to_manager}}no{{/to_manager}}", "no" },
		/* standalone section lines go with their line; inline ones keep the text around */
		{ "a\n{{#forced}}\nb\n{{/forced}}\nc\n", "a\nb\nc\n" },
		{ "a\n{{^forced}}\nb\n{{/forced}}\nc\n", "a\nc\n" },
		{ "{{^forced}}\nb\n{{/forced}}\n", "" },
		{ "a {{#forced}}b{{/forced}}\n", "a b\n" },
		{ "}} {", "}} {" },
		{ "a {{login", NULL },
		{ "{{}}", NULL },
		{ "{{Login}}", NULL },
		{ "{{ login }}", NULL },
		{ "{{nobody}}", NULL },
		{ "{{forced}}", NULL },              /* a flag is no text */
		{ "{{#login}}x{{/login}}", NULL },   /* a text opens no section */
		{ "{{#forced}}x", NULL },            /* unclosed */
		{ "x{{/forced}}", NULL },            /* closed, never opened */
		{ "{{#forced}}{{#to_manager}}x{{/to_manager}}{{/forced}}", NULL },   /* nested */
		{ "{{#forced}}x{{/to_manager}}", NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mail_run run = { .m = &m, .file = "t" };
		struct mail_sink count = { 0 }, out = { 0 };
		char buf[256];
		int r = render_text(&run, cases[i].text, strlen(cases[i].text), false, &count);

		if (!cases[i].want) {
			if (r != -EINVAL)
				print_error("case %zu (%s): accepted\n", i, cases[i].text);
			assert_int_equal(r, -EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		assert_true(count.n < sizeof(buf));
		out.p = buf;
		out.cap = count.n;
		assert_int_equal(render_text(&run, cases[i].text, strlen(cases[i].text), false, &out), 0);
		assert_int_equal(out.n, count.n);
		buf[out.n] = '\0';
		assert_string_equal(buf, cases[i].want);
	}
}

/* ---- notify_managers against a real database ---- */

struct fixture {
	char dir[256];
	char path[300];
	struct db *db;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int db_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/kura-mail-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->db = db_open(fx->path, err, sizeof(err));
	if (!fx->db || db_migrate(fx->db) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int db_teardown(void **state)
{
	struct fixture *fx = *state;

	db_close(fx->db);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static int64_t add_tenant(struct db *db, const char *code)
{
	int64_t id = 0;

	assert_int_equal(db_insert(db, &id, "INSERT INTO tenants (code, name, created_us, updated_us)"
				   " VALUES ($1, $1, 1, 1) RETURNING id", "t", code), 0);
	return id;
}

static void add_account(struct db *db, int64_t tenant_id, const char *login, const char *email, const char *role,
			const char *status)
{
	assert_int_equal(db_exec(db, "INSERT INTO accounts (tenant_id, login, email, role, status, created_us,"
				     " updated_us) VALUES ($1, $2, $3, $4, $5, 1, 1)",
				 "itttt", tenant_id, login, email, role, status), 0);
}

/* Recipients of the outbox rows after `after`, in order, joined by spaces. */
static void recipients(struct db *db, int64_t after, char *buf, size_t size)
{
	struct db_stmt *st = db_query(db, "SELECT recipient FROM mail_outbox WHERE id > $1 ORDER BY id", "i", after);
	size_t n = 0;

	buf[0] = '\0';
	while (db_step(st) > 0)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " " : "", db_text(st, 0));
	db_done(st);
	assert_true(n < size);
}

static int64_t last_outbox(struct db *db)
{
	struct db_stmt *st = db_query(db, "SELECT COALESCE(MAX(id), 0) FROM mail_outbox", "");
	int64_t id = 0;

	if (db_step(st) > 0)
		id = db_int(st, 0);
	db_done(st);
	return id;
}

static void test_notify_managers(void **state)
{
	struct fixture *fx = *state;
	const struct mail_var vars[] = { MAIL_TEXT("share_id", "7"), MAIL_TEXT("item_name", "x") };
	const struct mail m = { .name = "share-used", .vars = vars, .n_vars = ARRAY_SIZE(vars) };
	const struct mail_var bad_vars[] = { MAIL_TEXT("share_id", "7") };
	const struct mail bad = { .name = "share-used", .vars = bad_vars, .n_vars = ARRAY_SIZE(bad_vars) };
	char got[4096], login[32], email[64];
	int64_t a, b, before;
	size_t n = 99;

	assert_int_equal(db_begin(fx->db), 0);
	a = add_tenant(fx->db, "alpha");
	b = add_tenant(fx->db, "bravo");
	add_account(fx->db, a, "m2", "m2@alpha.example", "manager", "active");
	add_account(fx->db, a, "m1", "m1@alpha.example", "manager", "active");
	add_account(fx->db, a, "m1b", "m1@alpha.example", "manager", "active");   /* same address */
	add_account(fx->db, a, "m3", "m3@alpha.example", "manager", "suspended");
	add_account(fx->db, a, "m4", "m4@alpha.example", "manager", "invited");
	add_account(fx->db, a, "u1", "u1@alpha.example", "user", "active");
	add_account(fx->db, a, "me", "me@alpha.example", "manager", "active");
	add_account(fx->db, b, "bm", "bm@bravo.example", "manager", "active");
	assert_int_equal(db_commit(fx->db), 0);

	/* only inside the caller's transaction */
	assert_int_equal(notify_managers(fx->db, a, NULL, &m, &n), -EINVAL);
	assert_int_equal(n, 99);

	before = last_outbox(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(notify_managers(fx->db, a, "me@alpha.example", &m, &n), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(n, 2);
	recipients(fx->db, before, got, sizeof(got));
	assert_string_equal(got, "m1@alpha.example m2@alpha.example");

	before = last_outbox(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(notify_managers(fx->db, b, NULL, &m, &n), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(n, 1);
	recipients(fx->db, before, got, sizeof(got));
	assert_string_equal(got, "bm@bravo.example");

	/* a mail that does not render queues nothing */
	before = last_outbox(fx->db);
	assert_int_equal(db_begin(fx->db), 0);
	assert_int_equal(notify_managers(fx->db, a, NULL, &bad, &n), -EINVAL);
	db_rollback(fx->db);
	assert_int_equal(last_outbox(fx->db), before);

	/* bounded: many managers, KURA_MAIL_MANAGERS_MAX mails */
	assert_int_equal(db_begin(fx->db), 0);
	for (int i = 0; i < KURA_MAIL_MANAGERS_MAX + 5; i++) {
		snprintf(login, sizeof(login), "many%03d", i);
		snprintf(email, sizeof(email), "many%03d@alpha.example", i);
		add_account(fx->db, a, login, email, "manager", "active");
	}
	before = last_outbox(fx->db);
	assert_int_equal(notify_managers(fx->db, a, NULL, &m, &n), 0);
	assert_int_equal(db_commit(fx->db), 0);
	assert_int_equal(n, KURA_MAIL_MANAGERS_MAX);
	assert_int_equal(last_outbox(fx->db) - before, KURA_MAIL_MANAGERS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_every_template_covered),
		cmocka_unit_test(test_strict_values),
		cmocka_unit_test(test_zone),
		cmocka_unit_test(test_tags),
		cmocka_unit_test_setup_teardown(test_notify_managers, db_setup, db_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
