/*
 * Integration: GET /api/v1/export (issue 8 "Export and backup", F3, F4). A manager's export
 * holds every live file of the tenant (the user's too) decrypted under files/<path>, the
 * metadata (nodes with labels, shares without token or password hash, accounts without any
 * secret, the contract, the labels) and the audit log, which `kura audit verify` accepts with
 * the deployment's key and which shows this very export (data.export). A user's export
 * (default scope for a user) holds only the user's own files and account; scope=tenant is
 * refused to a user (403, recorded); another tenant's manager sees none of alpha's names; a
 * bad scope is 400. The ZIP is read back with Python's zipfile (CRC of every entry, UTF-8
 * flag on every entry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIG (5 * 65536 + 123)

static void put(struct it_server *s, const struct it_session *sess, long long folder, const char *name,
		const char *body, size_t n)
{
	char path[IT_STR * 2], enc[IT_STR];
	struct it_response *r;

	it_url_encode(name, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/folders/%lld/files/%s", folder, enc);
	r = it_request(s, &(struct it_request){ .method = "PUT", .path = path, .body = body, .body_len = n,
						.content_type = "application/octet-stream", .cookie = sess->token,
						.csrf = sess->csrf });
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
}

static long long mkdir_in(struct it_server *s, const struct it_session *sess, long long parent, const char *name)
{
	char path[64];
	struct it_response *r;
	long long id;

	snprintf(path, sizeof(path), "/api/v1/folders/%lld/children", parent);
	r = it_send(s, sess, "POST", path, json_pack("{s:s}", "name", name));
	IT_ASSERT_STATUS(r, 201);
	id = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	return id;
}

/* Reads the ZIP: every entry's CRC (testzip), the UTF-8 flag; prints {name: [size, sha256]}
 * plus the parsed export.json and metadata lines; writes the audit log to argv[2]. */
static const char check_py[] =
	"import sys, zipfile, json, hashlib\n"
	"z = zipfile.ZipFile(sys.argv[1])\n"
	"assert z.testzip() is None\n"
	"out = {'files': {}, 'meta': {}}\n"
	"for i in z.infolist():\n"
	"    assert i.flag_bits & 0x800, i.filename\n"
	"    d = z.read(i)\n"
	"    out['files'][i.filename] = [len(d), hashlib.sha256(d).hexdigest()]\n"
	"    if i.filename.endswith('.jsonl') and i.filename.startswith('metadata/'):\n"
	"        out['meta'][i.filename] = [json.loads(l) for l in d.decode().splitlines()]\n"
	"    elif i.filename.endswith('.json'):\n"
	"        out['meta'][i.filename] = json.loads(d)\n"
	"    if i.filename == 'audit/audit-log.jsonl':\n"
	"        open(sys.argv[2], 'wb').write(d)\n"
	"print(json.dumps(out, ensure_ascii=False))\n";

/* GET /api/v1/export{query} as sess, read back; the parsed result (files, meta). */
static json_t *export_of(struct it_world *w, const struct it_session *sess, const char *query, char **ret_zip,
			 size_t *ret_len)
{
	char path[128], zip[IT_STR * 2], py[IT_STR * 2], audit[IT_STR * 2], *out = NULL, *err = NULL;
	const char *argv[] = { "/usr/bin/python3", py, zip, audit, NULL };
	struct it_response *r;
	json_t *j;
	FILE *f;

	snprintf(path, sizeof(path), "/api/v1/export%s", query);
	r = it_get(w->s, sess, path);
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(r->content_type, "application/zip");
	assert_non_null(strstr(r->headers, "kura-export-"));
	snprintf(zip, sizeof(zip), "%s/export.zip", w->s->root);
	snprintf(py, sizeof(py), "%s/check_export.py", w->s->root);
	snprintf(audit, sizeof(audit), "%s/export-audit.jsonl", w->s->root);
	unlink(audit);
	f = fopen(zip, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(r->body, 1, r->body_len, f), r->body_len);
	fclose(f);
	if (ret_zip) {
		*ret_zip = malloc(r->body_len + 1);
		memcpy(*ret_zip, r->body, r->body_len);
		*ret_len = r->body_len;
	}
	it_response_free(r);
	f = fopen(py, "w");
	assert_non_null(f);
	fputs(check_py, f);
	fclose(f);
	if (it_run(argv, 60, &out, &err) != 0)
		print_error("python: %s\n%s\n", out, err);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	free(err);
	return j;
}

static bool has_file(json_t *j, const char *name)
{
	return json_object_get(json_object_get(j, "files"), name) != NULL;
}

static json_t *meta(json_t *j, const char *name)
{
	return json_object_get(json_object_get(j, "meta"), name);
}

/* Is needle anywhere in the n bytes of hay? */
static bool holds(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(hay + i, needle, k))
			return true;
	return false;
}

static void test_export(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	char *big = malloc(BIG), *zip = NULL, pk[80], keyarg[100], audit[IT_STR * 2], *out = NULL, *err = NULL;
	const char *token;
	size_t zip_len = 0, i;
	long long root, docs, mine;
	json_t *j, *e, *line;
	bool seen;

	for (i = 0; i < BIG; i++)
		big[i] = (char)(i * 7 + i / 5);
	r = it_get(w->s, &w->amgr, "/api/v1/folders/root");
	IT_ASSERT_STATUS(r, 200);
	root = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	docs = mkdir_in(w->s, &w->amgr, root, "資料");
	put(w->s, &w->amgr, docs, "契約書.txt", "けいやく", strlen("けいやく"));
	put(w->s, &w->amgr, docs, "big.bin", big, BIG);
	mine = mkdir_in(w->s, &w->auser, docs, "user 作業");
	put(w->s, &w->auser, mine, "メモ.txt", "user note", 9);
	put(w->s, &w->auser, root, "top.txt", "top", 3);
	{
		char path[96];

		snprintf(path, sizeof(path), "/api/v1/files/%lld/labels/urgent",
			 it_tree_id(w->s, &w->amgr, "/資料/契約書.txt"));
		r = it_send(w->s, &w->amgr, "PUT", path, NULL);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
	}
	/* a share with a password: neither the token nor the hash may reach the export */
	r = it_send(w->s, &w->amgr, "POST", "/api/v1/shares",
		    json_pack("{s:I, s:s}", "node_id", (json_int_t)it_tree_id(w->s, &w->amgr, "/資料/big.bin"),
			      "password", "Share-pass-long-7"));
	IT_ASSERT_STATUS(r, 201);
	token = it_json_str(r->json, "token");
	assert_non_null(token);
	char token_copy[128];
	snprintf(token_copy, sizeof(token_copy), "%s", token);
	it_response_free(r);

	/* the manager: the whole tenant */
	j = export_of(w, &w->amgr, "", &zip, &zip_len);
	assert_string_equal(it_json_str(meta(j, "export.json"), "scope"), "tenant");
	assert_true(has_file(j, "files/資料/契約書.txt"));
	assert_true(has_file(j, "files/資料/big.bin"));
	assert_true(has_file(j, "files/資料/user 作業/"));
	assert_true(has_file(j, "files/資料/user 作業/メモ.txt"));
	assert_true(has_file(j, "files/top.txt"));
	assert_true(has_file(j, "metadata/tenant.json"));
	assert_true(has_file(j, "metadata/labels.json"));
	assert_true(has_file(j, "audit/audit-log.jsonl"));
	e = json_object_get(json_object_get(j, "files"), "files/資料/big.bin");
	assert_int_equal(json_integer_value(json_array_get(e, 0)), BIG);
	assert_int_equal(json_array_size(meta(j, "metadata/accounts.jsonl")), 2);
	assert_int_equal(json_array_size(meta(j, "metadata/shares.jsonl")), 1);
	line = json_array_get(meta(j, "metadata/shares.jsonl"), 0);
	assert_true(json_is_true(json_object_get(line, "password")));
	seen = false;
	json_array_foreach(meta(j, "metadata/nodes.jsonl"), i, line)
		if (!strcmp(it_json_str(line, "name"), "契約書.txt"))
			seen = !strcmp(json_string_value(json_array_get(json_object_get(line, "labels"), 0)), "urgent");
	assert_true(seen);
	assert_string_equal(it_json_str(meta(j, "metadata/tenant.json"), "code"), "alpha");
	/* no secret of any kind */
	assert_false(holds(zip, zip_len, token_copy));
	assert_false(holds(zip, zip_len, "$argon2"));
	assert_false(holds(zip, zip_len, "password_hash"));
	assert_false(holds(zip, zip_len, IT_A_MGR_PW));
	json_decref(j);
	free(zip);

	/* the audit log inside verifies with the deployment's key and shows this export */
	r = it_get(w->s, NULL, "/api/v1/audit/public-key");
	IT_ASSERT_STATUS(r, 200);
	snprintf(pk, sizeof(pk), "%s", it_json_str(r->json, "public_key"));
	it_response_free(r);
	snprintf(audit, sizeof(audit), "%s/export-audit.jsonl", w->s->root);
	snprintf(keyarg, sizeof(keyarg), "%s", pk);
	{
		const char *argv[] = { KURA_BIN, "audit", "verify", audit, "--key", keyarg, NULL };
		char *log = it_read_file(audit, NULL);

		assert_int_equal(it_run(argv, 60, &out, &err), 0);
		assert_non_null(strstr(out, "OK"));
		assert_non_null(log);
		assert_non_null(strstr(log, "\"data.export\""));
		free(log);
		free(out);
		free(err);
	}
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=data.export&target=tenant:alpha"), 1);

	/* the user: by default only what the user made */
	j = export_of(w, &w->auser, "", &zip, &zip_len);
	assert_string_equal(it_json_str(meta(j, "export.json"), "scope"), "mine");
	assert_true(has_file(j, "files/資料/user 作業/メモ.txt"));
	assert_true(has_file(j, "files/top.txt"));
	assert_false(has_file(j, "files/資料/契約書.txt"));
	assert_false(has_file(j, "files/資料/big.bin"));
	assert_false(has_file(j, "audit/audit-log.jsonl"));
	assert_false(has_file(j, "metadata/tenant.json"));
	assert_int_equal(json_array_size(meta(j, "metadata/accounts.jsonl")), 1);
	assert_string_equal(it_json_str(json_array_get(meta(j, "metadata/accounts.jsonl"), 0), "login"), "auser");
	assert_int_equal(json_array_size(meta(j, "metadata/shares.jsonl")), 0);
	json_array_foreach(meta(j, "metadata/nodes.jsonl"), i, line)
		assert_string_equal(it_json_str(line, "created_by"), "auser");
	assert_false(holds(zip, zip_len, "契約書"));
	json_decref(j);
	free(zip);
	assert_int_equal(it_audit_count(w->s, &w->amgr, "action=data.export&target=account:auser"), 1);

	/* a manager's own files only, on request */
	j = export_of(w, &w->amgr, "?scope=mine", NULL, NULL);
	assert_string_equal(it_json_str(meta(j, "export.json"), "scope"), "mine");
	assert_true(has_file(j, "files/資料/big.bin"));
	assert_false(has_file(j, "files/top.txt"));
	json_decref(j);

	/* a user may not take the tenant's export: refused and recorded */
	r = it_get(w->s, &w->auser, "/api/v1/export?scope=tenant");
	IT_ASSERT_PROBLEM(r, 403, "permission-denied");
	it_response_free(r);
	assert_true(it_audit_count(w->s, &w->amgr, "action=permission.denied&actor=auser") >= 1);
	r = it_get(w->s, &w->amgr, "/api/v1/export?scope=all");
	IT_ASSERT_PROBLEM(r, 400, "invalid-parameter");
	it_response_free(r);

	/* another tenant's manager: bravo's (empty) data, nothing of alpha's */
	j = export_of(w, &w->bmgr, "", &zip, &zip_len);
	assert_string_equal(it_json_str(meta(j, "metadata/tenant.json"), "code"), "bravo");
	assert_int_equal(json_array_size(meta(j, "metadata/nodes.jsonl")), 0);
	assert_int_equal(json_array_size(meta(j, "metadata/accounts.jsonl")), 1);
	assert_false(holds(zip, zip_len, "契約書"));
	assert_false(holds(zip, zip_len, "auser"));
	json_decref(j);
	free(zip);

	r = it_request(w->s, &(struct it_request){ .method = "GET", .path = "/api/v1/export" });
	IT_ASSERT_STATUS(r, 401);
	it_response_free(r);
	free(big);
}

/* Security review: the tenant's export holds the tenant's side of the provider talk too: its
 * event reports with every message, its contacts (without the confirmation token) and its
 * notices with targets and read receipts. Managers only, scope tenant only; another
 * tenant's export holds none of it. */
static void test_export_provider_talk(void **state)
{
	struct it_world *w = *state;
	struct it_response *r;
	struct it_mail *m;
	char path[96], token[64] = "", *zip = NULL;
	const char *p;
	size_t zip_len = 0;
	long long report, notice;
	json_t *j, *line;

	r = it_send(w->s, &w->amgr, "POST", "/api/v1/reports",
		    json_pack("{s:s, s:s, s:s, s:s}", "kind", "report", "category", "failure", "title", "同期が止まる",
			      "description", "昨夜から同期しません"));
	IT_ASSERT_STATUS(r, 201);
	report = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/reports/%lld/messages", report);
	r = it_send(w->s, &w->amgr, "POST", path, json_pack("{s:s}", "body", "ログを添付します"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	r = it_send(w->s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "情報システム部", "email", "it@alpha.example.com", "role",
			      "technical"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	m = it_wait_for_mail(w->s, "it@alpha.example.com", 30);
	assert_non_null(m);
	p = strstr(m->body, "/contact-confirm/");
	assert_non_null(p);
	sscanf(p + strlen("/contact-confirm/"), "%63[A-Za-z0-9_-]", token);
	assert_true(strlen(token) >= 40);
	it_mail_free(m);
	r = it_send(w->s, &w->amgr, "POST", "/api/v1/notices",
		    json_pack("{s:s, s:s, s:[s]}", "title", "棚卸し", "body", "金曜までに", "to", "auser"));
	IT_ASSERT_STATUS(r, 201);
	notice = json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/notices/%lld/read", notice);
	r = it_send(w->s, &w->auser, "POST", path, NULL);
	assert_true(r->status == 200 || r->status == 204);
	it_response_free(r);

	j = export_of(w, &w->amgr, "?scope=tenant", &zip, &zip_len);
	assert_int_equal(json_array_size(meta(j, "metadata/reports.jsonl")), 1);
	line = json_array_get(meta(j, "metadata/reports.jsonl"), 0);
	assert_int_equal(json_integer_value(json_object_get(line, "id")), report);
	assert_string_equal(it_json_str(line, "title"), "同期が止まる");
	assert_string_equal(it_json_str(line, "status"), "open");
	assert_true(json_is_array(json_object_get(line, "attachments")));
	assert_int_equal(json_array_size(meta(j, "metadata/report_messages.jsonl")), 2);
	line = json_array_get(meta(j, "metadata/report_messages.jsonl"), 1);
	assert_string_equal(it_json_str(line, "body"), "ログを添付します");
	assert_string_equal(it_json_str(line, "side"), "tenant");
	assert_int_equal(json_array_size(meta(j, "metadata/contacts.jsonl")), 1);
	line = json_array_get(meta(j, "metadata/contacts.jsonl"), 0);
	assert_string_equal(it_json_str(line, "email"), "it@alpha.example.com");
	assert_false(json_is_true(json_object_get(line, "confirmed")));
	assert_int_equal(json_array_size(meta(j, "metadata/notices.jsonl")), 1);
	line = json_array_get(meta(j, "metadata/notices.jsonl"), 0);
	assert_string_equal(it_json_str(line, "title"), "棚卸し");
	assert_string_equal(json_string_value(json_array_get(json_object_get(line, "targets"), 0)), "auser");
	assert_string_equal(it_json_str(json_array_get(json_object_get(line, "reads"), 0), "login"), "auser");
	/* the contact's confirmation token is a secret */
	assert_false(holds(zip, zip_len, token));
	assert_false(holds(zip, zip_len, "token_hash"));
	json_decref(j);
	free(zip);

	/* a user's export (mine) has none of it; nor has another tenant's */
	j = export_of(w, &w->auser, "", &zip, &zip_len);
	assert_false(has_file(j, "metadata/reports.jsonl"));
	assert_false(has_file(j, "metadata/contacts.jsonl"));
	assert_false(has_file(j, "metadata/notices.jsonl"));
	assert_false(holds(zip, zip_len, "同期が止まる"));
	json_decref(j);
	free(zip);
	j = export_of(w, &w->bmgr, "", &zip, &zip_len);
	assert_true(has_file(j, "metadata/reports.jsonl"));
	assert_int_equal(json_array_size(meta(j, "metadata/reports.jsonl")), 0);
	assert_int_equal(json_array_size(meta(j, "metadata/report_messages.jsonl")), 0);
	assert_int_equal(json_array_size(meta(j, "metadata/contacts.jsonl")), 0);
	assert_int_equal(json_array_size(meta(j, "metadata/notices.jsonl")), 0);
	assert_false(holds(zip, zip_len, "同期が止まる"));
	assert_false(holds(zip, zip_len, "it@alpha"));
	assert_false(holds(zip, zip_len, "棚卸し"));
	json_decref(j);
	free(zip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_export, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_export_provider_talk, it_setup_world, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
