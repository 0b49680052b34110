/*
 * Integration test (issue 14, "Tests that mean what they claim"): one password-reset token
 * used by many clients at once. The token is claimed by a conditional UPDATE inside the
 * transaction that sets the password (src/auth/reset.c), so exactly one use succeeds, the
 * password is that one's, and every other gets the generic refusal (410 reset-token-invalid)
 * and changes nothing.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define MGR_PW "Reset-race-manager-1"
#define USER_PW "Reset-race-user-pass-2"
#define RACERS 12

struct racer {
	struct it_server *s;
	const char *path;
	pthread_barrier_t *go;
	char password[64];
	long status;
	char type[IT_STR];
};

static void *use_token(void *arg)
{
	struct racer *rc = arg;
	struct it_response *r;

	pthread_barrier_wait(rc->go);
	r = it_send(rc->s, NULL, "POST", rc->path, json_pack("{s:s}", "password", rc->password));
	rc->status = r->status;
	snprintf(rc->type, sizeof(rc->type), "%s", r->json && it_json_str(r->json, "type") ? it_json_str(r->json, "type") : "");
	it_response_free(r);
	return NULL;
}

static void test_one_token_many_uses(void **state)
{
	struct it_server *s = *state;
	struct racer rc[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	struct it_session mgr, user;
	struct it_response *r;
	struct it_mail *m;
	char path[IT_STR], *p;
	int i, winner = -1, refused = 0;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, &user);
	r = it_send(s, NULL, "POST", "/api/v1/password-reset", json_pack("{s:s, s:s}", "tenant", "alpha", "login", "carol"));
	IT_ASSERT_STATUS(r, 202);
	it_response_free(r);
	m = it_wait_for_mail(s, "carol@alpha.example.com", 30);
	assert_non_null(m);
	p = strstr(m->body, "/reset/");
	assert_non_null(p);
	snprintf(path, sizeof(path), "/api/v1/password-reset/%.43s", p + strlen("/reset/"));
	it_mail_free(m);

	assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		rc[i] = (struct racer){ .s = s, .path = path, .go = &go };
		snprintf(rc[i].password, sizeof(rc[i].password), "Racer-%02d-new-password", i);
		assert_int_equal(pthread_create(&th[i], NULL, use_token, &rc[i]), 0);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < RACERS; i++) {
		if (rc[i].status == 204) {
			assert_int_equal(winner, -1);   /* exactly one */
			winner = i;
		} else {
			assert_int_equal(rc[i].status, 410);
			assert_string_equal(rc[i].type, IT_PROBLEM_PREFIX "reset-token-invalid");
			refused++;
		}
	}
	assert_true(winner >= 0);
	assert_int_equal(refused, RACERS - 1);
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset&result=success"), 1);   /* alpha's log */

	/* the password is the winner's; a loser's and the old one do not work (two failures
	 * only: far below the lockout threshold) */
	IT_ASSERT_LOGIN(s, "alpha", "carol", rc[winner].password, 201, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "carol", rc[(winner + 1) % RACERS].password, 401, NULL);
	IT_ASSERT_LOGIN(s, "alpha", "carol", USER_PW, 401, NULL);
	/* and the token stays spent */
	r = it_send(s, NULL, "POST", path, json_pack("{s:s}", "password", "Yet-another-password-9"));
	IT_ASSERT_PROBLEM(r, 410, "reset-token-invalid");
	it_response_free(r);
}

struct requester {
	struct it_server *s;
	pthread_barrier_t *go;
	long status;
};

static void *request_reset(void *arg)
{
	struct requester *rq = arg;
	struct it_response *r;

	pthread_barrier_wait(rq->go);
	r = it_send(rq->s, NULL, "POST", "/api/v1/password-reset",
		    json_pack("{s:s, s:s}", "tenant", "alpha", "login", "carol"));
	rq->status = r->status;
	it_response_free(r);
	return NULL;
}

/* Many reset requests for one account at once: the hourly limit (KURA_RESETS_PER_HOUR, 5)
 * holds exactly; the count is read in the issuing transaction, not before it. */
static void test_parallel_requests_keep_the_hourly_limit(void **state)
{
	struct it_server *s = *state;
	struct requester rq[20];
	pthread_t th[20];
	pthread_barrier_t go;
	struct it_session mgr;
	int i;

	it_create_tenant(s, "alpha", NULL);
	it_create_manager(s, "alpha", "boss", MGR_PW, &mgr);
	it_create_account(s, &mgr, "alpha", "carol", "user", USER_PW, NULL);
	assert_int_equal(pthread_barrier_init(&go, NULL, 20), 0);
	for (i = 0; i < 20; i++) {
		rq[i] = (struct requester){ .s = s, .go = &go };
		assert_int_equal(pthread_create(&th[i], NULL, request_reset, &rq[i]), 0);
	}
	for (i = 0; i < 20; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rq[i].status, 202);   /* the same answer for every request */
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset.request&result=success"), 5);
	assert_int_equal(it_audit_count(s, &mgr, "action=password.reset.request&result=failure"), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_token_many_uses, it_setup_server, it_teardown_server),
		cmocka_unit_test_setup_teardown(test_parallel_requests_keep_the_hourly_limit, it_setup_server,
						it_teardown_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
