/*
 * Integration (issue 9; docs/announcements.md): contacts confirmed by a mailed one-use link,
 * announcements delivered per tenant through each service's channel with the real SMTP server
 * and the tenant's delivery log, first readings as evidence, edits as versions, withdrawal,
 * scheduled publication by the background loop, hostile Markdown, the incident timeline
 * through every state with its mails, and the public status and Atom feed (parsed by
 * python3's XML parser) that name no tenant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A body file under the server's root; returns its path (static buffer per slot). */
static const char *body_file(struct it_server *s, int slot, const char *text)
{
	static char paths[4][IT_STR];
	FILE *f;

	snprintf(paths[slot], sizeof(paths[slot]), "%s/body-%d.md", s->root, slot);
	f = fopen(paths[slot], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return paths[slot];
}

static long long announce(struct it_server *s, const char *kind, const char *target, const char *title,
			  const char *body)
{
	const char *f = body_file(s, 0, body);
	json_t *j = NULL;
	long long id;

	assert_int_equal(it_admin(s, &j, "announce", "create", "--kind", kind, "--target", target, "--title-ja",
				  title, "--title-en", title, "--body-ja-file", f, "--body-en-file", f, NULL), 0);
	id = (long long)json_integer_value(json_object_get(j, "id"));
	assert_true(id > 0);
	json_decref(j);
	return id;
}

static json_t *announce_show(struct it_server *s, long long id)
{
	char ids[32];
	json_t *j = NULL;

	snprintf(ids, sizeof(ids), "%lld", id);
	assert_int_equal(it_admin(s, &j, "announce", "show", ids, NULL), 0);
	return j;
}

/* The row of tenant code in announce show's "tenants" (borrowed from j), or NULL. */
static json_t *tenant_row(json_t *j, const char *code)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(j, "tenants"), i, row)
		if (!strcmp(it_json_str(row, "tenant"), code))
			return row;
	return NULL;
}

/* GET /api/v1/announcements as sess; a new reference. */
static json_t *list(struct it_server *s, const struct it_session *sess)
{
	struct it_response *r = it_get(s, sess, "/api/v1/announcements");
	json_t *j;

	IT_ASSERT_STATUS(r, 200);
	j = json_incref(r->json);
	it_response_free(r);
	return j;
}

static json_t *item_of(json_t *l, long long id)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(l, "items"), i, it)
		if (json_integer_value(json_object_get(it, "id")) == id)
			return it;
	return NULL;
}

/* Waits until the tenant's delivery log shows a sent mail whose subject holds `subject` to
 * an address holding `to`; true when it does. */
static bool mail_logged(struct it_server *s, const struct it_session *mgr, const char *subject, const char *to)
{
	for (int i = 0; i < IT_WAIT_S * 10; i++) {   /* a poll: returns at the mail */
		struct it_response *r = it_get(s, mgr, "/api/v1/mail-log?limit=100");
		json_t *it;
		size_t k;
		bool found = false;

		IT_ASSERT_STATUS(r, 200);
		json_array_foreach(json_object_get(r->json, "items"), k, it)
			if (strstr(it_json_str(it, "subject"), subject) && strstr(it_json_str(it, "recipient"), to) &&
			    !strcmp(it_json_str(it, "state"), "sent"))
				found = true;
		it_response_free(r);
		if (found)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* A tenant with services, its manager logged in as mgr. */
static void tenant_with(struct it_server *s, const char *code, const char *services, struct it_session *mgr)
{
	char name[64];
	json_t *j = NULL;

	snprintf(name, sizeof(name), "Tenant %s", code);
	assert_int_equal(it_admin(s, &j, "tenant", "create", code, "--name", name, "--service", services, NULL), 0);
	json_decref(j);
	it_create_manager(s, code, "boss", IT_A_MGR_PW, mgr);
}

/* The confirmation link's token from a contact-confirm mail. */
static char *confirm_token(const char *body)
{
	const char *p = strstr(body, "/contact-confirm/");
	size_t n;

	assert_non_null(p);
	p += strlen("/contact-confirm/");
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	assert_int_equal(n, 43);
	return strndup(p, n);
}

/* ---------------------------------------------------------------- contacts */

static void test_contacts(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	struct it_response *r;
	struct it_mail *m;
	char path[IT_STR], *token;
	long long id;

	/* users do not manage contacts */
	IT_EXPECT_GET(s, &w->auser, "/api/v1/contacts", 403);
	/* bad input changes nothing */
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "x", "email", "sec@alpha.example.com", "role", "boss"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "x", "email", "not an address", "role", "security"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "a\nb", "email", "sec@alpha.example.com", "role", "security"));
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);

	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "セキュリティ窓口", "email", "sec@alpha.example.com", "role",
			      "security"));
	IT_ASSERT_STATUS(r, 201);
	assert_false(json_is_true(json_object_get(r->json, "confirmed")));
	id = (long long)json_integer_value(json_object_get(r->json, "id"));
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "again", "email", "sec@alpha.example.com", "role", "security"));
	IT_ASSERT_PROBLEM(r, 409, "conflict");
	it_response_free(r);

	/* the link arrives by mail; the database keeps only its hash */
	m = it_wait_for_mail(s, "sec@alpha.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "security"));
	token = confirm_token(m->body);
	it_mail_free(m);
	assert_false(it_db_files_hold(s, token, strlen(token)));
	assert_true(mail_logged(s, &w->amgr, "Confirm your contact address", "sec@alpha.example.com"));

	snprintf(path, sizeof(path), "/api/v1/contact-confirmations/%s", token);
	r = it_request(s, &(struct it_request){ .method = "POST", .path = path });
	IT_ASSERT_STATUS(r, 200);
	assert_string_equal(it_json_str(r->json, "email"), "sec@alpha.example.com");
	it_response_free(r);
	/* one use */
	r = it_request(s, &(struct it_request){ .method = "POST", .path = path });
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_request(s, &(struct it_request){ .method = "POST",
						.path = "/api/v1/contact-confirmations/not-a-token" });
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	free(token);

	r = it_get(s, &w->amgr, "/api/v1/contacts");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 1);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "confirmed")));
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=contact.create"), 1);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=contact.confirm"), 1);

	/* the limit */
	for (int i = 1; i < 20; i++) {
		char email[64];

		snprintf(email, sizeof(email), "c%d@alpha.example.com", i);
		r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
			    json_pack("{s:s, s:s, s:s}", "name", "c", "email", email, "role", "technical"));
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
	}
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "c", "email", "over@alpha.example.com", "role", "technical"));
	IT_ASSERT_PROBLEM(r, 409, "limit-reached");
	it_response_free(r);

	snprintf(path, sizeof(path), "/api/v1/contacts/%lld", id);
	r = it_send(s, &w->amgr, "DELETE", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
	r = it_send(s, &w->amgr, "DELETE", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=contact.delete"), 1);
}

/* A 429 rate-limited answer: Retry-After in 1..window seconds, the limit named. */
static void assert_rate_limited(struct it_response *r, long limit, long window_s)
{
	const char *h;
	long retry;

	IT_ASSERT_PROBLEM(r, 429, "rate-limited");
	h = strcasestr(r->headers, "\nRetry-After:");
	assert_non_null(h);
	retry = strtol(h + strlen("\nRetry-After:"), NULL, 10);
	assert_true(retry >= 1 && retry <= window_s);
	assert_int_equal(json_integer_value(json_object_get(r->json, "limit")), limit);
	assert_int_equal(json_integer_value(json_object_get(r->json, "window_seconds")), window_s);
	assert_int_equal(json_integer_value(json_object_get(r->json, "retry_after")), retry);
}

/* Security review: deleting and adding a contact again mails a confirmation link each time;
 * the mails are limited per address (whatever its case) and per tenant, counted in the
 * database, and a refusal changes nothing. */
static void test_contact_mails_rate_limited(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	static const char *const spellings[] = { "victim@elsewhere.example", "Victim@elsewhere.example",
						 "VICTIM@elsewhere.example" };
	struct it_response *r;
	char path[IT_STR], email[64];
	long long id;

	for (size_t i = 0; i < 3; i++) {
		r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
			    json_pack("{s:s, s:s, s:s}", "name", "v", "email", spellings[i], "role", "security"));
		IT_ASSERT_STATUS(r, 201);
		id = (long long)json_integer_value(json_object_get(r->json, "id"));
		it_response_free(r);
		snprintf(path, sizeof(path), "/api/v1/contacts/%lld", id);
		r = it_send(s, &w->amgr, "DELETE", path, NULL);
		IT_ASSERT_STATUS(r, 204);
		it_response_free(r);
	}
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "v", "email", "victim@elsewhere.example", "role", "technical"));
	assert_rate_limited(r, 3, 24 * 60 * 60);
	it_response_free(r);
	r = it_get(s, &w->amgr, "/api/v1/contacts");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 0);
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=contact.create"), 3);

	/* the tenant's 20 an hour, to any addresses: 3 above and 17 more */
	for (int i = 0; i < 17; i++) {
		snprintf(email, sizeof(email), "c%d@alpha.example.com", i);
		r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
			    json_pack("{s:s, s:s, s:s}", "name", "c", "email", email, "role", "technical"));
		IT_ASSERT_STATUS(r, 201);
		it_response_free(r);
	}
	r = it_send(s, &w->amgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "c", "email", "fresh@alpha.example.com", "role", "technical"));
	assert_rate_limited(r, 20, 60 * 60);
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=contact.create"), 20);
	/* both refusals are in the tenant's log, as denials */
	assert_int_equal(it_audit_count(s, &w->amgr, "action=rate.limited&result=denied"), 2);
	assert_int_equal(it_audit_count(s, &w->bmgr, "action=rate.limited"), 0);
	/* another tenant's count is its own */
	r = it_send(s, &w->bmgr, "POST", "/api/v1/contacts",
		    json_pack("{s:s, s:s, s:s}", "name", "v", "email", "victim@elsewhere.example", "role", "security"));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
}

/* ---------------------------------------------------------------- channels */

static void test_channels_per_service(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	struct it_session mail, collab, ztna;
	json_t *j, *l, *row;
	struct it_mail *m;
	long long id;

	tenant_with(s, "mailco", "MAIL", &mail);
	tenant_with(s, "collabco", "COLLAB", &collab);
	tenant_with(s, "ztnaco", "ZTNA", &ztna);
	it_confirmed_contact(s, &collab, "notices@collabco.example.com");

	id = announce(s, "maintenance", "all", "Storage upgrade", "We upgrade the storage.\n\n- no downtime\n");
	j = announce_show(s, id);
	assert_string_equal(it_json_str(j, "state"), "published");
	/* MAIL: mail to the managers, not on the portal */
	row = tenant_row(j, "mailco");
	assert_non_null(row);
	assert_string_equal(it_json_str(row, "channels"), "managers");
	assert_int_equal(json_integer_value(json_object_get(row, "mails")), 1);
	m = it_wait_for_mail(s, "boss@mailco.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "We upgrade the storage."));
	assert_null(strstr(m->body, "Also in the portal"));
	it_mail_free(m);
	assert_true(mail_logged(s, &mail, "Storage upgrade", "boss@mailco.example.com"));
	l = list(s, &mail);
	assert_null(item_of(l, id));
	json_decref(l);
	/* DOCX: the portal only */
	row = tenant_row(j, "alpha");
	assert_string_equal(it_json_str(row, "channels"), "portal");
	assert_int_equal(json_integer_value(json_object_get(row, "mails")), 0);
	l = list(s, &w->amgr);
	assert_non_null(item_of(l, id));
	json_decref(l);
	/* COLLAB: the portal and each confirmed contact, not the managers */
	row = tenant_row(j, "collabco");
	assert_string_equal(it_json_str(row, "channels"), "portal,contacts");
	assert_int_equal(json_integer_value(json_object_get(row, "mails")), 1);
	m = it_wait_for_mail(s, "notices@collabco.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "Also in the portal"));
	it_mail_free(m);
	assert_true(mail_logged(s, &collab, "Storage upgrade", "notices@collabco.example.com"));
	/* ZTNA: both */
	row = tenant_row(j, "ztnaco");
	assert_string_equal(it_json_str(row, "channels"), "portal,managers");
	m = it_wait_for_mail(s, "boss@ztnaco.example.com", IT_WAIT_S);
	assert_non_null(m);
	it_mail_free(m);
	l = list(s, &ztna);
	assert_non_null(item_of(l, id));
	json_decref(l);
	json_decref(j);
	/* no mail went to alpha's or collabco's managers (a marker after the announcement) */
	assert_int_equal(it_mails_before_marker(s, "amgr@alpha.example.com"), 0);
	assert_int_equal(it_mails_before_marker(s, "boss@collabco.example.com"), 0);
	/* the delivery is in each tenant's own log */
	assert_int_equal(it_audit_count(s, &w->amgr, "action=announcement.deliver"), 1);

	/* a service target reaches its tenants only; a tenant target, the named ones */
	id = announce(s, "change", "MAIL,ZTNA", "Relay change", "New relay.\n");
	j = announce_show(s, id);
	assert_int_equal(json_array_size(json_object_get(j, "tenants")), 2);
	assert_non_null(tenant_row(j, "mailco"));
	assert_non_null(tenant_row(j, "ztnaco"));
	json_decref(j);
	id = announce(s, "change", "tenant:bravo", "Bravo only", "Only bravo.\n");
	j = announce_show(s, id);
	assert_int_equal(json_array_size(json_object_get(j, "tenants")), 1);
	assert_non_null(tenant_row(j, "bravo"));
	json_decref(j);
	l = list(s, &w->amgr);
	assert_null(item_of(l, id));
	json_decref(l);
	l = list(s, &w->bmgr);
	assert_non_null(item_of(l, id));
	json_decref(l);
}

/* ---------------------------------------------------------------- reading, edits, withdrawal */

static void test_read_edit_withdraw(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	struct it_response *r;
	json_t *l, *it, *j, *row;
	char path[IT_STR], ids[32];
	long long id;

	id = announce(s, "change", "tenant:alpha", "ログイン画面の変更", "新しい画面になります。\n");
	l = list(s, &w->amgr);
	it = item_of(l, id);
	assert_non_null(it);
	assert_true(json_is_true(json_object_get(it, "unread")));
	assert_int_equal(json_integer_value(json_object_get(l, "unread")), 1);
	json_decref(l);

	snprintf(path, sizeof(path), "/api/v1/announcements/%lld/read", id);
	r = it_send(s, &w->amgr, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(r->json, "first")));
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_false(json_is_true(json_object_get(r->json, "first")));
	it_response_free(r);
	l = list(s, &w->amgr);
	assert_int_equal(json_integer_value(json_object_get(l, "unread")), 0);
	assert_non_null(it_json_str(item_of(l, id), "read_at"));
	json_decref(l);
	/* each account for itself */
	l = list(s, &w->auser);
	assert_true(json_is_true(json_object_get(item_of(l, id), "unread")));
	json_decref(l);
	/* evidence: the tenant's log, once */
	assert_int_equal(it_audit_count(s, &w->amgr, "action=announcement.read"), 1);
	/* the operator sees the reading per tenant */
	j = announce_show(s, id);
	row = tenant_row(j, "alpha");
	assert_int_equal(json_integer_value(json_object_get(row, "readers")), 1);
	assert_non_null(strstr(it_json_str(row, "first_read_at"), "T"));
	json_decref(j);

	/* an edit is a new version, shown as edited and unread again */
	snprintf(ids, sizeof(ids), "%lld", id);
	j = NULL;
	assert_int_equal(it_admin(s, &j, "announce", "edit", ids, "--title-en", "Login page change (v2)",
				  "--body-en-file", body_file(s, 1, "The page changes on *Monday*.\n"), NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "versions")), 2);
	assert_int_equal(json_integer_value(json_object_get(tenant_row(j, "alpha"), "version")), 2);
	json_decref(j);
	l = list(s, &w->amgr);
	it = item_of(l, id);
	assert_true(json_is_true(json_object_get(it, "edited")));
	assert_true(json_is_true(json_object_get(it, "unread")));
	assert_string_equal(it_json_str(it, "title_en"), "Login page change (v2)");
	assert_string_equal(it_json_str(it, "title_ja"), "ログイン画面の変更");
	json_decref(l);
	r = it_send(s, &w->amgr, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 200);
	assert_true(json_is_true(json_object_get(r->json, "first")));
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=announcement.read"), 2);

	/* withdrawn: shown as such, not unread, no more edits */
	j = NULL;
	assert_int_equal(it_admin(s, &j, "announce", "withdraw", ids, NULL), 0);
	assert_string_equal(it_json_str(j, "state"), "withdrawn");
	json_decref(j);
	l = list(s, &w->auser);
	assert_true(json_is_true(json_object_get(item_of(l, id), "withdrawn")));
	assert_false(json_is_true(json_object_get(item_of(l, id), "unread")));
	json_decref(l);
	assert_int_equal(it_admin(s, NULL, "announce", "edit", ids, "--title-en", "x", NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "withdraw", ids, NULL), 1);

	/* another tenant's id, an unknown id, a bad id: 404; bad paging: 400 */
	r = it_send(s, &w->bmgr, "POST", path, NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", "/api/v1/announcements/999999/read", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_send(s, &w->amgr, "POST", "/api/v1/announcements/x/read", NULL);
	IT_ASSERT_PROBLEM(r, 404, "not-found");
	it_response_free(r);
	r = it_get(s, &w->amgr, "/api/v1/announcements?limit=0");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
	r = it_get(s, &w->amgr, "/api/v1/announcements?before=abc");
	IT_ASSERT_PROBLEM(r, 400, "invalid-field");
	it_response_free(r);
}

static void test_paging(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	long long ids[3];
	struct it_response *r;
	char path[IT_STR];

	for (int i = 0; i < 3; i++)
		ids[i] = announce(s, "change", "tenant:alpha", "page", "p\n");
	r = it_get(s, &w->amgr, "/api/v1/announcements?limit=2");
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->json, "items")), 2);
	assert_true(json_is_true(json_object_get(r->json, "more")));
	assert_int_equal(json_integer_value(json_object_get(r->json, "next_before")), ids[1]);
	it_response_free(r);
	snprintf(path, sizeof(path), "/api/v1/announcements?limit=2&before=%lld", ids[1]);
	r = it_get(s, &w->amgr, path);
	IT_ASSERT_STATUS(r, 200);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "id")),
			 ids[0]);
	it_response_free(r);
}

/* ---------------------------------------------------------------- scheduled publication */

static void test_scheduled_publish(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	const char *f = body_file(s, 2, "Tonight.\n");
	char when[64], ids[32];
	time_t later = time(NULL) + 3600;   /* an hour on: still scheduled however slow this machine is */
	json_t *j = NULL, *l;
	long long id;
	int i;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&later));
	assert_int_equal(it_admin(s, &j, "announce", "create", "--kind", "maintenance", "--target", "tenant:alpha",
				  "--title-ja", "夜間作業", "--title-en", "Night work", "--body-ja-file", f,
				  "--body-en-file", f, "--from", "2027-01-01T22:00:00+09:00", "--until",
				  "2027-01-02T02:00:00+09:00", "--publish", when, NULL), 0);
	id = (long long)json_integer_value(json_object_get(j, "id"));
	assert_string_equal(it_json_str(j, "state"), "scheduled");
	assert_int_equal(json_array_size(json_object_get(j, "tenants")), 0);
	json_decref(j);
	l = list(s, &w->amgr);
	assert_null(item_of(l, id));
	json_decref(l);
	/* its time comes by the test clock (a restart 61 minutes on), and the background loop
	 * (every [mail] poll_seconds = 1) delivers it */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "3660", 1);
	assert_int_equal(it_server_restart(s), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
	assert_int_equal(it_login(s, "alpha", "amgr", IT_A_MGR_PW, &w->amgr), 201);
	snprintf(ids, sizeof(ids), "%lld", id);
	for (i = 0; i < IT_WAIT_S * 10; i++) {
		j = announce_show(s, id);
		if (!strcmp(it_json_str(j, "state"), "published"))
			break;
		json_decref(j);
		j = NULL;
		usleep(100 * 1000);
	}
	assert_non_null(j);
	assert_non_null(tenant_row(j, "alpha"));
	json_decref(j);
	l = list(s, &w->amgr);
	assert_non_null(item_of(l, id));
	assert_string_equal(it_json_str(item_of(l, id), "from"), "2027-01-01T13:00:00.000000Z");
	json_decref(l);
}

/* ---------------------------------------------------------------- hostile input */

static void test_hostile_markdown_and_bad_input(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	const char *hostile = "<script>alert(1)</script>\n\n[click](javascript:alert(1)) [ok](https://kura.example/x)\n";
	json_t *l, *it, *blocks;
	char *text;
	long long id;

	id = announce(s, "incident", "tenant:alpha", "<img src=x onerror=alert(1)>", hostile);
	l = list(s, &w->amgr);
	it = item_of(l, id);
	assert_string_equal(it_json_str(it, "title_en"), "<img src=x onerror=alert(1)>");
	blocks = json_object_get(it, "body_en");
	text = json_dumps(blocks, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"inline\":[{\"text\":\"<script>alert(1)</script>\"}],\"type\":\"p\"},"
				  "{\"inline\":[{\"text\":\"[click](javascript:alert(1)) \"},"
				  "{\"href\":\"https://kura.example/x\",\"text\":\"ok\"}],\"type\":\"p\"}]");
	free(text);
	json_decref(l);

	/* refused: each with exit 1, nothing created */
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "party", "--target", "all", "--title-ja",
				  "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\n"), "--body-en-file",
				  body_file(s, 0, "x\n"), NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "change", "--target", "tenant:nope",
				  "--title-ja", "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\n"),
				  "--body-en-file", body_file(s, 0, "x\n"), NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "change", "--target", "FAX",
				  "--title-ja", "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\n"),
				  "--body-en-file", body_file(s, 0, "x\n"), NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "change", "--target", "all",
				  "--title-ja", "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\x1b[31m\n"),
				  "--body-en-file", body_file(s, 1, "x\n"), NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "change", "--target", "all",
				  "--title-ja", "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\n"),
				  "--body-en-file", body_file(s, 1, "x\n"), "--from", "2027-01-01T00:00:00Z", NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "create", "--kind", "change", "--target", "all",
				  "--title-ja", "a", "--title-en", "b", "--body-ja-file", body_file(s, 0, "x\n"),
				  "--body-en-file", body_file(s, 1, "x\n"), "--publish", "tomorrow", NULL), 1);
	assert_int_equal(it_admin(s, NULL, "announce", "show", "99999", NULL), 1);
	l = list(s, &w->amgr);
	assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
	json_decref(l);
}

/* ---------------------------------------------------------------- incidents */

/* Runs python3's XML parser on the feed: prints "ok N" with the number of entries, and each
 * entry's title, or fails. */
static char *parse_atom(struct it_server *s, const char *xml)
{
	static const char prog[] =
		"import sys, xml.etree.ElementTree as E\n"
		"A = '{http://www.w3.org/2005/Atom}'\n"
		"root = E.parse(sys.argv[1]).getroot()\n"
		"assert root.tag == A + 'feed', root.tag\n"
		"for k in ('id', 'title', 'updated'):\n"
		"    assert root.find(A + k) is not None, k\n"
		"entries = root.findall(A + 'entry')\n"
		"for e in entries:\n"
		"    for k in ('id', 'title', 'updated', 'content'):\n"
		"        assert e.find(A + k) is not None, k\n"
		"print('ok', len(entries))\n"
		"for e in entries:\n"
		"    print(e.find(A + 'title').text)\n";
	char path[IT_STR];
	char *out = NULL;
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/status.atom", s->root);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(xml, f);
	fclose(f);
	st = it_run((const char *const[]){ "/usr/bin/python3", "-c", prog, path, NULL }, 30, &out, NULL);
	assert_int_equal(st, 0);
	return out;
}

static void test_incident_timeline(void **state)
{
	struct it_world *w = *state;
	struct it_server *s = w->s;
	static const char *const steps[] = { "identified", "monitoring" };
	struct it_session ztna;
	struct it_response *r;
	struct it_mail *m;
	json_t *j = NULL, *items, *comp;
	char ids[32], *out;
	long long id;
	size_t i;

	tenant_with(s, "ztnaco", "ZTNA", &ztna);
	assert_int_equal(it_admin(s, &j, "incident", "create", "--title-ja", "接続の障害 <&\"'>", "--title-en",
				  "Connection failure <&\"'> ]]>", "--severity", "major", "--service", "ZTNA,DOCX",
				  "--body-ja-file", body_file(s, 0, "調査しています。\n"), "--body-en-file",
				  body_file(s, 1, "We are **investigating**.\n"), NULL), 0);
	id = (long long)json_integer_value(json_object_get(j, "id"));
	assert_string_equal(it_json_str(j, "status"), "investigating");
	/* without --tenant: every tenant of the services */
	assert_int_equal(json_array_size(json_object_get(j, "tenants")), 3);
	json_decref(j);
	snprintf(ids, sizeof(ids), "%lld", id);
	m = it_wait_for_mail(s, "boss@ztnaco.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "Status: investigating"));
	it_mail_free(m);

	/* the status page shows the services affected while it is open */
	r = it_request(s, &(struct it_request){ .method = "GET", .path = "/api/v1/service-status" });
	IT_ASSERT_STATUS(r, 200);
	json_array_foreach(json_object_get(r->json, "components"), i, comp)
		if (!strcmp(it_json_str(comp, "service"), "ZTNA"))
			assert_string_equal(it_json_str(comp, "status"), "partial_outage");
		else if (!strcmp(it_json_str(comp, "service"), "MAIL"))
			assert_string_equal(it_json_str(comp, "status"), "operational");
	it_response_free(r);

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(it_admin(s, NULL, "incident", "update", ids, "--status", steps[i], "--body-ja-file",
					  body_file(s, 0, "更新\n"), "--body-en-file", body_file(s, 1, steps[i]), NULL), 0);
		m = it_wait_for_mail(s, "boss@ztnaco.example.com", IT_WAIT_S);
		assert_non_null(m);
		assert_non_null(strstr(m->body, steps[i]));
		it_mail_free(m);
	}
	assert_int_equal(it_admin(s, NULL, "incident", "update", ids, "--status", "sleeping", "--body-ja-file",
				  body_file(s, 0, "x\n"), "--body-en-file", body_file(s, 1, "x\n"), NULL), 1);
	assert_int_equal(it_admin(s, NULL, "incident", "resolve", ids, "--body-ja-file", body_file(s, 0, "解決\n"),
				  "--body-en-file", body_file(s, 1, "Fixed.\n"), NULL), 0);
	m = it_wait_for_mail(s, "boss@ztnaco.example.com", IT_WAIT_S);
	assert_non_null(m);
	assert_non_null(strstr(m->body, "resolved"));
	it_mail_free(m);
	assert_true(mail_logged(s, &ztna, "resolved", "boss@ztnaco.example.com"));
	/* resolved stays resolved */
	assert_int_equal(it_admin(s, NULL, "incident", "update", ids, "--status", "monitoring", "--body-ja-file",
				  body_file(s, 0, "x\n"), "--body-en-file", body_file(s, 1, "x\n"), NULL), 1);
	/* DOCX tenants: on the portal with the whole timeline, and (the catalog's incident channels
	 * for DOCX: portal and mail, CONTROLS G1) mailed to the managers; in the log */
	r = it_get(s, &w->auser, "/api/v1/incidents");
	IT_ASSERT_STATUS(r, 200);
	items = json_object_get(r->json, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(it_json_str(json_array_get(items, 0), "status"), "resolved");
	assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "timeline")), 4);
	it_response_free(r);
	assert_int_equal(it_audit_count(s, &w->amgr, "action=incident.notify"), 4);
	assert_int_equal(it_mails_before_marker(s, "amgr@alpha.example.com"), 4);

	/* the public side: operational again, no tenant named, a valid feed */
	r = it_request(s, &(struct it_request){ .method = "GET", .path = "/api/v1/service-status" });
	IT_ASSERT_STATUS(r, 200);
	assert_null(strstr(r->body, "alpha"));
	assert_null(strstr(r->body, "ztnaco"));
	assert_null(strstr(r->body, "Tenant "));
	json_array_foreach(json_object_get(r->json, "components"), i, comp)
		assert_string_equal(it_json_str(comp, "status"), "operational");
	it_response_free(r);
	r = it_request(s, &(struct it_request){ .method = "GET", .path = "/status.atom" });
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->content_type, "application/atom+xml"));
	assert_null(strstr(r->body, "alpha"));
	assert_null(strstr(r->body, "ztnaco"));
	assert_null(strstr(r->body, "Tenant "));
	assert_non_null(strstr(r->body, "<category term=\"ZTNA\"/>"));
	out = parse_atom(s, r->body);
	it_response_free(r);
	assert_non_null(strstr(out, "ok 1\n"));
	assert_non_null(strstr(out, "Connection failure <&\"'> ]]> / 接続の障害 <&\"'> [resolved]"));
	free(out);
	/* the page itself */
	r = it_request(s, &(struct it_request){ .method = "GET", .path = "/status" });
	IT_ASSERT_STATUS(r, 200);
	assert_non_null(strstr(r->body, "/assets/status.js"));
	it_response_free(r);
	/* the operator's list */
	j = NULL;
	assert_int_equal(it_admin(s, &j, "incident", "list", NULL), 0);
	assert_int_equal(json_array_size(json_object_get(j, "incidents")), 1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_contacts, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_contact_mails_rate_limited, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_channels_per_service, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_read_edit_withdraw, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_paging, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_scheduled_publish, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_hostile_markdown_and_bad_input, it_setup_world, it_teardown_world),
		cmocka_unit_test_setup_teardown(test_incident_timeline, it_setup_world, it_teardown_world),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
