/*
 * Integration: the account lockout under parallel requests (C3), against a real `kura
 * serve`. Each test fires its requests from many threads at once, released together by a
 * barrier, from ten loopback addresses (127.0.0.1-10, CURLOPT_INTERFACE), and asserts exact
 * outcomes read back the way a manager reads them (the audit log and the delivery log):
 * - 100 parallel wrong passwords check exactly `threshold` passwords, lock once, queue one
 *   lock mail per recipient; the right password then fails until a manager unlocks;
 * - wrong and right passwords interleaved for an account with a second factor: at most
 *   `threshold` wrong passwords are checked, exactly one lock, and once locked the right
 *   password answers 401 like a wrong one (never 202);
 * - parallel wrong codes on one MFA challenge check exactly KURA_MFA_CHALLENGE_ATTEMPTS (5)
 *   codes; the challenge is then spent, even for the right code;
 * - the lock ends by itself after its duration, and failures older than the window no
 *   longer count (the test clock, KURA_TEST_CLOCK_OFFSET_S, moved forward at a restart).
 * Password hashing runs at 64 MiB here, so checks overlap the way they do in production.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Manager-pass-for-races-1"
#define USER_PW "User-pass-for-races-22"
#define N_ADDRESSES 10
#define N_MAX 128

static int setup(void **state)
{
	/* the header deadline counts from the accept: with 100 logins of 64 MiB hashes queued on
	 * a loaded machine a worker may reach a connection late, which is not what this tests */
	struct it_options o = { .extra_config = "[security]\npwhash_mem_kib = 65536\n"
						"[server]\nheader_timeout_seconds = 300\n" };

	*state = it_server_start(&o);
	return *state ? 0 : -1;
}

/* Audit records of `login`'s tenant read the way a manager reads them (GET /api/v1/audit),
 * counting those with the action and result whose details.reason contains `reason` (NULL:
 * any). Pages through every record. */
static long audit_count(struct it_server *s, const struct it_session *mgr, const char *action,
			const char *result, const char *login, const char *reason)
{
	char path[IT_STR * 2];
	long n = 0, after = 0;

	for (;;) {
		struct it_response *r;
		json_t *ev, *next;
		size_t i;

		snprintf(path, sizeof(path), "/api/v1/audit?action=%s&target=account:%s%s%s&limit=1000&after=%ld",
			 action, login, result ? "&result=" : "", result ? result : "", after);
		r = it_get(s, mgr, path);
		IT_ASSERT_STATUS(r, 200);
		json_array_foreach(json_object_get(r->json, "events"), i, ev) {
			const char *why = json_string_value(json_object_get(json_object_get(ev, "details"), "reason"));

			if (!reason || (why && strstr(why, reason)))
				n++;
		}
		next = json_object_get(r->json, "next_after");
		after = json_is_integer(next) ? (long)json_integer_value(next) : -1;
		it_response_free(r);
		if (after < 0)
			return n;
	}
}

static long refusals(struct it_server *s, const struct it_session *mgr, const char *login, const char *reason)
{
	return audit_count(s, mgr, "session.create", "failure", login, reason);
}

static long locks(struct it_server *s, const struct it_session *mgr, const char *login)
{
	return audit_count(s, mgr, "account.lock", NULL, login, NULL);
}

/* Lock mails in the tenant's delivery log (GET /api/v1/mail-log) about `login`. */
static long lock_mails(struct it_server *s, const struct it_session *mgr, const char *login)
{
	char needle[IT_STR];
	struct it_response *r = it_get(s, mgr, "/api/v1/mail-log?limit=100");
	json_t *m;
	size_t i;
	long n = 0;

	IT_ASSERT_STATUS(r, 200);
	assert_false(json_is_true(json_object_get(r->json, "more")));
	snprintf(needle, sizeof(needle), "Account locked: %s ", login);
	json_array_foreach(json_object_get(r->json, "items"), i, m)
		if (strstr(json_string_value(json_object_get(m, "subject")), needle))
			n++;
	it_response_free(r);
	return n;
}

/* ---------------------------------------------------------------- parallel requests */

struct shot {
	struct it_server *s;
	pthread_barrier_t *go;
	char iface[32];
	json_t *body;              /* the login body; owned */
	long status;
	char type[IT_STR];         /* problem type, "" if none */
	bool mfa_required;
};

static void *shoot(void *arg)
{
	struct shot *sh = arg;
	struct it_request rq = { .method = "POST", .path = "/api/v1/session", .json = sh->body,
				 .interface = sh->iface };
	struct it_response *r;

	pthread_barrier_wait(sh->go);
	r = it_request(sh->s, &rq);
	sh->status = r->status;
	if (r->json && it_json_str(r->json, "type"))
		snprintf(sh->type, sizeof(sh->type), "%s", it_json_str(r->json, "type"));
	sh->mfa_required = r->json && json_is_true(json_object_get(r->json, "mfa_required"));
	it_response_free(r);
	return NULL;
}

/* Sends n bodies at once (bodies taken over), from N_ADDRESSES addresses in turn. */
static void fire(struct it_server *s, struct shot *shots, json_t **bodies, int n)
{
	pthread_t th[N_MAX];
	pthread_barrier_t go;
	int i;

	assert_true(n <= N_MAX);
	assert_int_equal(pthread_barrier_init(&go, NULL, (unsigned)n), 0);
	for (i = 0; i < n; i++) {
		memset(&shots[i], 0, sizeof(shots[i]));
		shots[i].s = s;
		shots[i].go = &go;
		shots[i].body = bodies[i];
		snprintf(shots[i].iface, sizeof(shots[i].iface), "host!127.0.0.%d", 1 + i % N_ADDRESSES);
		assert_int_equal(pthread_create(&th[i], NULL, shoot, &shots[i]), 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		json_decref(shots[i].body);
	}
	pthread_barrier_destroy(&go);
}

static json_t *pw(const char *login, const char *password)
{
	return json_pack("{s:s, s:s, s:s}", "tenant", "alpha", "login", login, "password", password);
}

static void unlock(struct it_server *s, const struct it_session *mgr, const char *login)
{
	char path[IT_STR];
	struct it_response *r;

	snprintf(path, sizeof(path), "/api/v1/accounts/%s/unlock", login);
	r = it_send(s, mgr, "POST", path, NULL);
	IT_ASSERT_STATUS(r, 204);
	it_response_free(r);
}

/* ---------------------------------------------------------------- TOTP (oathtool) */

static char *enrol_totp(struct it_server *s, const struct it_session *sess, const char *password)
{
	struct it_response *r = it_send(s, sess, "POST", "/api/v1/me/mfa/totp",
					json_pack("{s:s}", "password", password));
	char code[8], *secret;

	IT_ASSERT_STATUS(r, 201);
	secret = strdup(it_json_str(r->json, "secret"));
	it_response_free(r);
	it_totp_wait_mid_step();
	it_totp_code(secret, NULL, code);
	r = it_send(s, sess, "POST", "/api/v1/me/mfa/totp/confirm", json_pack("{s:s}", "code", code));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	return secret;
}

static char *password_step(struct it_server *s, const char *login, const char *password)
{
	struct it_response *r = it_send(s, NULL, "POST", "/api/v1/session", pw(login, password));
	char *ch;

	IT_ASSERT_STATUS(r, 202);
	ch = strdup(it_json_str(r->json, "challenge"));
	it_response_free(r);
	return ch;
}

/* ---------------------------------------------------------------- tests */

static void test_parallel_wrong_passwords(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	struct shot shots[100];
	json_t *bodies[100];
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, NULL);

	for (i = 0; i < 100; i++)
		bodies[i] = pw("carol", "Not-the-password-0000");
	fire(s, shots, bodies, 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(shots[i].status, 401);

	/* exactly the threshold (5) was checked; the other 95 were refused unchecked */
	assert_int_equal(refusals(s, &mgr, "carol", "wrong password"), 5);
	assert_int_equal(refusals(s, &mgr, "carol", "locked") + refusals(s, &mgr, "carol", "attempt limit reached"), 95);
	/* one lock, one lock mail to the account and one to the manager */
	assert_int_equal(locks(s, &mgr, "carol"), 1);
	assert_int_equal(lock_mails(s, &mgr, "carol"), 2);

	/* the right password fails until a manager unlocks */
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 401, NULL);
	unlock(s, &mgr, "carol");
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 201, NULL);
}

static void test_interleaved_right_passwords_mfa(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, dave;
	struct shot shots[80];
	json_t *bodies[80];
	long wrong_checked, n_202 = 0;
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "dave", "user", USER_PW, &dave);
	free(enrol_totp(s, &dave, USER_PW));

	/* every fourth request has the right password */
	for (i = 0; i < 80; i++)
		bodies[i] = pw("dave", i % 4 == 3 ? USER_PW : "Not-the-password-0000");
	fire(s, shots, bodies, 80);
	for (i = 0; i < 80; i++) {
		if (i % 4 != 3) {
			assert_int_equal(shots[i].status, 401);
			continue;
		}
		/* a right password before the lock opens the second step; after it, 401 */
		assert_true(shots[i].status == 202 || shots[i].status == 401);
		if (shots[i].status == 202) {
			assert_true(shots[i].mfa_required);
			n_202++;
		}
	}
	wrong_checked = refusals(s, &mgr, "dave", "wrong password");
	/* exactly the threshold: right passwords in flight hold a place, but never count */
	assert_int_equal(wrong_checked, 5);
	assert_int_equal(locks(s, &mgr, "dave"), 1);
	assert_int_equal(lock_mails(s, &mgr, "dave"), 2);
	/* a right password of a locked account answers as a wrong one: 401, not 202 */
	IT_ASSERT_LOGIN(s, "alpha", "dave", USER_PW, 401, NULL);
	print_message("dave: %ld wrong passwords checked, %ld right ones reached the second step\n",
		      wrong_checked, n_202);
	unlock(s, &mgr, "dave");
	free(password_step(s, "dave", USER_PW));
}

static void test_parallel_codes_one_challenge(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr, erin;
	struct it_response *r;
	struct shot shots[40];
	json_t *bodies[40];
	char *secret, *ch, code[8];
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	/* a threshold above the challenge's attempts, so only the challenge limits the guesses */
	r = it_send(s, &mgr, "PATCH", "/api/v1/tenant/security", json_pack("{s:i}", "lockout_threshold", 50));
	IT_ASSERT_STATUS(r, 200);
	it_response_free(r);
	it_create_account(s, &mgr, "alpha", "erin", "user", USER_PW, &erin);
	secret = enrol_totp(s, &erin, USER_PW);

	ch = password_step(s, "erin", USER_PW);
	for (i = 0; i < 40; i++)
		bodies[i] = json_pack("{s:s, s:s}", "challenge", ch, "otp", "000000");
	fire(s, shots, bodies, 40);
	for (i = 0; i < 40; i++)
		assert_int_equal(shots[i].status, 401);
	/* exactly five codes were checked against the challenge */
	assert_int_equal(refusals(s, &mgr, "erin", "second factor totp: wrong") +
				 refusals(s, &mgr, "erin", "second factor totp: code"), 5);
	/* the others were refused unchecked: the challenge's attempts were taken, or it was
	 * already spent (then it is unknown, and its record, in the provider's chain, names no
	 * account) */
	assert_true(refusals(s, &mgr, "erin", "challenge spent") <= 35);
	assert_int_equal(refusals(s, &mgr, "erin", NULL), 5 + refusals(s, &mgr, "erin", "challenge spent"));
	/* spent: the right code on it fails too; a new challenge works */
	it_totp_wait_mid_step();
	it_totp_code(secret, "now + 30 seconds", code);   /* enrolment spent the current step's code */
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", ch, "otp", code));
	IT_ASSERT_PROBLEM(r, 401, "challenge-expired");   /* log in again */
	it_response_free(r);
	free(ch);
	ch = password_step(s, "erin", USER_PW);
	r = it_send(s, NULL, "POST", "/api/v1/session", json_pack("{s:s, s:s}", "challenge", ch, "otp", code));
	IT_ASSERT_STATUS(r, 201);
	it_response_free(r);
	free(ch);
	free(secret);
}

/* The lock ends by itself after its duration; failures older than the window are forgotten. */
static void test_lock_and_window_expire(void **state)
{
	struct it_server *s = *state;
	struct it_session mgr;
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "fred", "user", USER_PW, NULL);
	it_create_account(s, &mgr, "alpha", "gina", "user", USER_PW, NULL);

	for (i = 0; i < 5; i++)
		IT_ASSERT_LOGIN(s, "alpha", "fred", "Not-the-password-0000", 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "fred", USER_PW, 401, NULL);   /* locked for 15 minutes */
	for (i = 0; i < 4; i++)
		IT_ASSERT_LOGIN(s, "alpha", "gina", "Not-the-password-0000", 401, NULL);

	/* 14 minutes later: still locked */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "840", 1);
	assert_int_equal(it_server_restart(s), 0);
	IT_ASSERT_LOGIN(s, "alpha", "fred", USER_PW, 401, NULL);

	/* 16 minutes later: the lock has ended, and gina's four failures left the window, so four
	 * more do not lock her */
	setenv("KURA_TEST_CLOCK_OFFSET_S", "960", 1);
	assert_int_equal(it_server_restart(s), 0);
	IT_ASSERT_LOGIN(s, "alpha", "fred", USER_PW, 201, NULL);
	for (i = 0; i < 4; i++)
		IT_ASSERT_LOGIN(s, "alpha", "gina", "Not-the-password-0000", 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "gina", USER_PW, 201, NULL);
	assert_int_equal(locks(s, &mgr, "gina"), 0);
	unsetenv("KURA_TEST_CLOCK_OFFSET_S");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parallel_wrong_passwords, setup, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_interleaved_right_passwords_mfa, setup, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_parallel_codes_one_challenge, setup, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_lock_and_window_expire, setup, it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
