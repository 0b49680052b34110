/*
 * Unit tests for auth (account.c, session.c): one-time password accounts and login
 * (must_change_password), refusals that all look alike (-EACCES for a wrong password, an
 * unknown tenant or login), lockout after lockout_threshold failures even with the right
 * password, unlock; the lock holds against wrong guesses through change-password too;
 * invitations (peek, a weak password refused with the token still usable, accept, a second
 * accept refused, malformed tokens); sessions (lookup, CSRF, end, end_account with
 * keep_id); the timeouts (invitation TTL, session idle and absolute: one 2-second sleep,
 * the only one); the rules of account_update/account_delete (no one suspends, demotes or
 * deletes themselves, the last active manager stays, suspension ends sessions, another
 * tenant's accounts are not found); change_password keeps the given session only; what
 * counts before it writes (the account limit, the last manager, the lockout counters, app
 * passwords, the allowlist) takes the tenant's write lock first in each transaction.
 * Every mutation is checked for its audit row by action (and tenant), nothing more, since
 * the audit module is being rewritten.
 *
 * Argon2id runs at its minimum cost (1 pass, 8 MiB) so the suite stays fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "crypto/crypto.h"
#include "notify/notify_int.h"
#include "store/db.h"
#include "tenant/tenant.h"
#include "lock_watch.h"

#define STRONG_PW "correct horse battery staple 42"
#define STRONG_PW2 "another long passphrase for kura"

struct fixture {
	char dir[64];
	char path[128];
	struct db *db;
	unsigned char master[MASTER_KEY_BYTES];
	struct config cfg;
	struct tenant t, other;
	struct account boss;            /* the tenant's first manager, active */
	char boss_pw[32];
	struct actor boss_actor;
};

static const struct actor operator_actor = { ACTOR_OPERATOR, 0, 0, "op", "", "" };
static const struct actor anon = { ACTOR_ANONYMOUS, 0, 0, "", "127.0.0.1", "cmocka" };

static int setup(void **state)
{
	static const char *const svcs[] = { "MAIL" };
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[512];

	if (!fx || crypto_init() < 0 || pwhash_set_params(1, 8192) < 0)
		return -1;
	str_copy(fx->dir, sizeof(fx->dir), "/tmp/kura-test-auth-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	str_printf(fx->path, sizeof(fx->path), "%s/kura.db", fx->dir);
	fx->db = db_open(fx->path, err, sizeof(err));
	if (!fx->db || db_migrate(fx->db) < 0)
		return -1;
	config_defaults(&fx->cfg);
	fx->cfg.lockout_threshold = 3;
	auth_configure(&fx->cfg);
	randombytes_buf(fx->master, sizeof(fx->master));
	if (tenant_create(fx->db, &operator_actor, fx->master, "acme", "Acme", svcs, 1, NULL, 0, &fx->t) < 0 ||
	    tenant_create(fx->db, &operator_actor, fx->master, "other", "Other", svcs, 1, NULL, 0,
			  &fx->other) < 0)
		return -1;
	if (account_create_with_password(fx->db, &operator_actor, &fx->t, "boss", "boss@example.com",
					 "manager", fx->boss_pw, sizeof(fx->boss_pw)) < 0 ||
	    account_get(fx->db, fx->t.id, "boss", &fx->boss) < 0)
		return -1;
	fx->boss_actor = (struct actor){ ACTOR_ACCOUNT, fx->t.id, fx->boss.id, "boss", "127.0.0.1", "cmocka" };
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char p[160];

	db_close(fx->db);
	unlink(fx->path);
	str_printf(p, sizeof(p), "%s-wal", fx->path);
	unlink(p);
	str_printf(p, sizeof(p), "%s-shm", fx->path);
	unlink(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

static int64_t count_audit(struct db *db, int64_t tenant_id, const char *action, const char *result)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM audit_events WHERE action = $1"
					  " AND COALESCE(tenant_id, 0) = $2 AND result = $3",
				      "tit", action, tenant_id, result);
	int64_t n;

	assert_non_null(st);
	assert_int_equal(db_step(st), 1);
	n = db_int(st, 0);
	db_done(st);
	return n;
}

static int64_t count_sessions(struct db *db, int64_t account_id)
{
	struct db_stmt *st = db_query(db, "SELECT COUNT(*) FROM sessions WHERE account_id = $1", "i", account_id);
	int64_t n;

	assert_int_equal(db_step(st), 1);
	n = db_int(st, 0);
	db_done(st);
	return n;
}

static int login(struct fixture *fx, const char *tenant, const char *user, const char *pw,
		 struct account *ret)
{
	struct tenant t;
	struct account a;

	return account_authenticate(fx->db, &anon, tenant, user, pw, &t, ret ? ret : &a);
}

/* A second account in fx->t with a known password (one-time password changed). */
static void make_account(struct fixture *fx, const char *login_name, const char *role, const char *pw,
			 struct account *ret)
{
	char otp[32], email[128];
	enum password_problem prob;

	str_printf(email, sizeof(email), "%s@example.com", login_name);
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, login_name, email,
						      role, otp, sizeof(otp)), 0);
	assert_int_equal(account_get(fx->db, fx->t.id, login_name, ret), 0);
	assert_int_equal(account_change_password(fx->db, &operator_actor, fx->t.id, ret->id, otp, pw, 0,
						 &prob), 0);
	assert_int_equal(account_get(fx->db, fx->t.id, login_name, ret), 0);
}

struct sess {
	char token[TOKEN_STR_LEN + 1], csrf[TOKEN_STR_LEN + 1];
	int64_t id, expires_us;
};

static void new_session(struct fixture *fx, const struct account *a, struct sess *s)
{
	struct session found;

	assert_int_equal(session_create(fx->db, a, "password", "127.0.0.1", "cmocka", s->token, s->csrf,
					&s->expires_us), 0);
	assert_int_equal(session_lookup(fx->db, s->token, &found), 0);
	s->id = found.id;
}

static bool session_alive(struct fixture *fx, const struct sess *s)
{
	struct session found;
	int r = session_lookup(fx->db, s->token, &found);

	assert_true(r == 0 || r == -ENOENT);
	return r == 0;
}

static void sleep_s(int s)
{
	struct timespec ts = { .tv_sec = s };

	while (nanosleep(&ts, &ts) < 0)
		;
}

static const char *token_of(const char *url)
{
	const char *p = strrchr(url, '/');

	assert_non_null(p);
	return p + 1;
}

/* ---- tests ---- */

static void test_password_account(void **state)
{
	struct fixture *fx = *state;
	struct account a;
	struct tenant t;
	char pw[32], small[8];

	assert_int_equal(strlen(fx->boss_pw), 20);
	assert_string_equal(fx->boss.status, "active");
	assert_true(fx->boss.must_change_password);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.create", "success"), 1);

	assert_int_equal(account_authenticate(fx->db, &anon, "acme", "boss", fx->boss_pw, &t, &a), 0);
	assert_int_equal(t.id, fx->t.id);
	assert_int_equal(a.id, fx->boss.id);
	assert_true(a.must_change_password);
	assert_int_equal(count_audit(fx->db, fx->t.id, "session.create", "success"), 1);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_true(a.last_login_us > 0);

	/* every refusal is the same -EACCES, and each is recorded as a failure */
	assert_int_equal(login(fx, "acme", "boss", "not the password", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", "", NULL), -EACCES);
	assert_int_equal(login(fx, "nope", "boss", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(login(fx, "other", "boss", fx->boss_pw, NULL), -EACCES);  /* other tenant */
	assert_int_equal(login(fx, "acme", "nobody", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "BOSS", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "session.create", "failure"), 4);
	assert_int_equal(count_audit(fx->db, 0, "session.create", "failure"), 1);
	assert_int_equal(count_audit(fx->db, fx->other.id, "session.create", "failure"), 1);

	/* refusals of the create itself */
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, "boss",
						      "x@example.com", "user", pw, sizeof(pw)), -EEXIST);
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, "Bad Login",
						      "x@example.com", "user", pw, sizeof(pw)), -EINVAL);
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, "x",
						      "not-an-address", "user", pw, sizeof(pw)), -EINVAL);
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, "x",
						      "x@example.com", "admin", pw, sizeof(pw)), -EINVAL);
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->t, "x",
						      "x@example.com", "user", small, sizeof(small)), -EINVAL);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.create", "success"), 1);
	/* the same login in another tenant is another account */
	assert_int_equal(account_create_with_password(fx->db, &operator_actor, &fx->other, "boss",
						      "b2@example.com", "manager", pw, sizeof(pw)), 0);
	assert_int_equal(login(fx, "other", "boss", pw, NULL), 0);
	assert_int_equal(login(fx, "acme", "boss", pw, NULL), -EACCES);
}

static void test_lockout(void **state)
{
	struct fixture *fx = *state;
	struct account a;

	/* failures below the threshold are forgotten by a success */
	assert_int_equal(login(fx, "acme", "boss", "wrong 1", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", "wrong 2", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), 0);
	assert_int_equal(login(fx, "acme", "boss", "wrong 3", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", "wrong 4", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), 0);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.lock", "success"), 0);

	/* threshold 3: three in a row lock, and then the right password is refused */
	assert_int_equal(login(fx, "acme", "boss", "wrong 5", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", "wrong 6", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", "wrong 7", NULL), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.lock", "success"), 1);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_true(a.locked_until_us > clock_now_us());
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);
	/* failures while locked do not extend or re-lock */
	assert_int_equal(login(fx, "acme", "boss", "wrong 8", NULL), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.lock", "success"), 1);

	assert_int_equal(account_unlock(fx->db, &operator_actor, fx->t.id, "boss"), 0);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.unlock", "success"), 1);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_int_equal(a.locked_until_us, 0);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), 0);
	assert_int_equal(account_unlock(fx->db, &operator_actor, fx->t.id, "nobody"), -ENOENT);
	assert_int_equal(account_unlock(fx->db, &operator_actor, fx->other.id, "boss"), -ENOENT);
}

/* A locked account stays locked whatever path the wrong guesses take; a session holder
 * cannot go on guessing the password through change-password while it is locked. */
static void test_lockout_and_change_password(void **state)
{
	struct fixture *fx = *state;
	enum password_problem prob;
	struct account a;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(login(fx, "acme", "boss", "wrong", NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);

	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 "wrong guess", STRONG_PW, 0, &prob), -EACCES);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_true(a.locked_until_us > clock_now_us());
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);

	/* while locked, even the right current password does not change it */
	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 fx->boss_pw, STRONG_PW, 0, &prob), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "password.change", "success"), 0);
	assert_int_equal(account_unlock(fx->db, &operator_actor, fx->t.id, "boss"), 0);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), 0);

	/* unlocked, wrong current passwords through change-password count toward the lock */
	for (i = 0; i < 3; i++)
		assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
							 "wrong guess", STRONG_PW, 0, &prob), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.lock", "success"), 2);
}

static void test_invitation(void **state)
{
	struct fixture *fx = *state;
	char url[512], tenant[64], login_name[80], token[TOKEN_STR_LEN + 1];
	enum password_problem prob;
	struct account a;
	int64_t expires;

	assert_int_equal(account_invite(fx->db, &fx->boss_actor, &fx->t, "bob", "bob@example.com", "user",
					"Bob 太郎", &a, url, sizeof(url)), 0);
	assert_string_equal(a.status, "invited");
	assert_string_equal(a.display_name, "Bob 太郎");
	assert_non_null(strstr(url, "https://localhost:8443/invite/"));
	str_copy(token, sizeof(token), token_of(url));
	assert_true(token_well_formed(token));
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.invite", "success"), 1);
	/* the token is only in the mail, hashed in the database; the queued body is sealed */
	{
		struct db_stmt *st = db_query(fx->db, "SELECT message_id, sealed, instr(body, $2) FROM mail_outbox"
						      " WHERE recipient = $1", "tt", "bob@example.com", token);
		char *body = NULL;
		size_t n = 0;
		const void *sealed;

		assert_int_equal(db_step(st), 1);
		assert_int_equal(db_int(st, 2), 0);
		sealed = db_blob(st, 1, &n);
		assert_int_equal(outbox_open(db_text(st, 0), sealed, n, &body), 0);
		assert_non_null(strstr(body, token));
		secret_free(body);
		db_done(st);
	}
	/* not yet accepted: no login, with any password */
	assert_int_equal(login(fx, "acme", "bob", "", NULL), -EACCES);
	assert_int_equal(account_invite(fx->db, &fx->boss_actor, &fx->t, "bob", "bob2@example.com", "user",
					NULL, NULL, url, sizeof(url)), -EEXIST);
	assert_int_equal(account_invite(fx->db, &fx->boss_actor, &fx->t, "eve", "eve@example.com\r\nBcc: x@y.z",
					"user", NULL, NULL, url, sizeof(url)), -EINVAL);

	assert_int_equal(invitation_peek(fx->db, token, tenant, sizeof(tenant), login_name,
					 sizeof(login_name), &expires), 0);
	assert_string_equal(tenant, "acme");
	assert_string_equal(login_name, "bob");
	assert_true(expires > clock_now_us() + 71LL * 3600 * 1000000);

	/* weak passwords: -EINVAL with the problem, and the token stays usable */
	assert_int_equal(invitation_accept(fx->db, &anon, token, "short", &prob), -EINVAL);
	assert_int_equal(prob, PASSWORD_TOO_SHORT);
	assert_int_equal(invitation_accept(fx->db, &anon, token, "bob", &prob), -EINVAL);
	assert_int_equal(prob, PASSWORD_TOO_SHORT);
	assert_int_equal(invitation_accept(fx->db, &anon, token, "pass\x01word-long-enough", &prob), -EINVAL);
	assert_int_equal(prob, PASSWORD_NOT_TEXT);
	assert_int_equal(invitation_peek(fx->db, token, tenant, sizeof(tenant), login_name,
					 sizeof(login_name), &expires), 0);
	assert_int_equal(account_get(fx->db, fx->t.id, "bob", &a), 0);
	assert_string_equal(a.status, "invited");

	assert_int_equal(invitation_accept(fx->db, &anon, token, STRONG_PW, &prob), 0);
	assert_int_equal(prob, PASSWORD_OK);
	assert_int_equal(count_audit(fx->db, fx->t.id, "invitation.accept", "success"), 1);
	assert_int_equal(account_get(fx->db, fx->t.id, "bob", &a), 0);
	assert_string_equal(a.status, "active");
	assert_false(a.must_change_password);
	assert_int_equal(login(fx, "acme", "bob", STRONG_PW, &a), 0);
	assert_false(a.must_change_password);

	/* single use */
	assert_int_equal(invitation_accept(fx->db, &anon, token, STRONG_PW2, &prob), -ENOENT);
	assert_int_equal(invitation_peek(fx->db, token, tenant, sizeof(tenant), login_name,
					 sizeof(login_name), &expires), -ENOENT);
	assert_int_equal(login(fx, "acme", "bob", STRONG_PW2, NULL), -EACCES);
	assert_int_equal(count_audit(fx->db, fx->t.id, "invitation.accept", "success"), 1);

	/* junk tokens */
	assert_int_equal(invitation_accept(fx->db, &anon, "", STRONG_PW, &prob), -ENOENT);
	assert_int_equal(invitation_accept(fx->db, &anon, "short", STRONG_PW, &prob), -ENOENT);
	token[0] = token[0] == 'A' ? 'B' : 'A';  /* well formed, unknown */
	assert_int_equal(invitation_accept(fx->db, &anon, token, STRONG_PW, &prob), -ENOENT);
	assert_int_equal(invitation_peek(fx->db, "x/../y", tenant, sizeof(tenant), login_name,
					 sizeof(login_name), &expires), -ENOENT);
}

static void test_sessions(void **state)
{
	struct fixture *fx = *state;
	struct sess s1, s2, s3, wrong;
	struct session found;

	new_session(fx, &fx->boss, &s1);
	assert_true(s1.expires_us > clock_now_us() + (int64_t)(KURA_SESSION_ABSOLUTE_S - 60) * 1000000);
	assert_int_equal(session_lookup(fx->db, s1.token, &found), 0);
	assert_int_equal(found.account.id, fx->boss.id);
	assert_string_equal(found.account.login, "boss");
	assert_string_equal(found.tenant_code, "acme");
	assert_string_equal(found.tenant_name, "Acme");
	assert_true(session_csrf_ok(&found, s1.csrf));
	assert_false(session_csrf_ok(&found, s1.token));
	assert_int_equal(token_new(wrong.csrf, sizeof(wrong.csrf)), 0);
	assert_false(session_csrf_ok(&found, wrong.csrf));
	assert_false(session_csrf_ok(&found, NULL));
	assert_false(session_csrf_ok(&found, ""));
	assert_int_equal(session_lookup(fx->db, s1.csrf, &found), -ENOENT);
	assert_int_equal(session_lookup(fx->db, wrong.csrf, &found), -ENOENT);
	assert_int_equal(session_lookup(fx->db, "", &found), -ENOENT);
	assert_int_equal(session_lookup(fx->db, NULL, &found), -ENOENT);

	new_session(fx, &fx->boss, &s2);
	new_session(fx, &fx->boss, &s3);
	assert_int_equal(count_sessions(fx->db, fx->boss.id), 3);
	assert_int_equal(session_end(fx->db, s1.id), 0);
	assert_false(session_alive(fx, &s1));
	assert_true(session_alive(fx, &s2));
	/* end_account with keep_id keeps that one */
	assert_int_equal(session_end_account(fx->db, fx->boss.id, s3.id), 0);
	assert_false(session_alive(fx, &s2));
	assert_true(session_alive(fx, &s3));
	new_session(fx, &fx->boss, &s1);
	assert_int_equal(session_end_account(fx->db, fx->boss.id, 0), 0);
	assert_false(session_alive(fx, &s1));
	assert_false(session_alive(fx, &s3));
	assert_int_equal(count_sessions(fx->db, fx->boss.id), 0);
}

/* The one sleep of the suite: invitation TTL, session idle and absolute timeouts together. */
static void test_timeouts(void **state)
{
	struct fixture *fx = *state;
	char url[512], tenant[64], login_name[80];
	struct sess idle_s, abs_s, fresh;
	enum password_problem prob;
	int64_t expires;

	/* config_load allows no less than 60 s; auth_configure takes the struct as given */
	fx->cfg.invitation_ttl_s = 1;
	fx->cfg.session_absolute_s = 1;
	fx->cfg.session_idle_s = 3600;
	auth_configure(&fx->cfg);
	assert_int_equal(account_invite(fx->db, &fx->boss_actor, &fx->t, "late", "late@example.com", "user",
					NULL, NULL, url, sizeof(url)), 0);
	new_session(fx, &fx->boss, &abs_s);
	fx->cfg.session_absolute_s = 3600;
	fx->cfg.session_idle_s = 1;
	auth_configure(&fx->cfg);
	assert_int_equal(session_create(fx->db, &fx->boss, "password", "127.0.0.1", "cmocka", idle_s.token,
					idle_s.csrf, &idle_s.expires_us), 0);

	sleep_s(2);

	assert_int_equal(invitation_peek(fx->db, token_of(url), tenant, sizeof(tenant), login_name,
					 sizeof(login_name), &expires), -ENOENT);
	assert_int_equal(invitation_accept(fx->db, &anon, token_of(url), STRONG_PW, &prob), -ENOENT);
	assert_false(session_alive(fx, &idle_s));
	fx->cfg.session_idle_s = 3600;
	auth_configure(&fx->cfg);
	assert_false(session_alive(fx, &abs_s));
	/* the expired sessions were deleted by the look-up */
	assert_int_equal(count_sessions(fx->db, fx->boss.id), 0);
	new_session(fx, &fx->boss, &fresh);
	assert_true(session_alive(fx, &fresh));
}

static void test_update_rules(void **state)
{
	struct fixture *fx = *state;
	struct account mgr2, carol, a, inv;
	struct actor mgr2_actor;
	struct sess s_mgr2, s_carol;
	char url[512];
	struct account_change suspend = { .status = "suspended" }, resume = { .status = "active" };
	struct account_change demote = { .role = "user" }, promote = { .role = "manager" };

	/* alone: the last active manager, acting on themselves or by an operator */
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "boss", &suspend, NULL), -EPERM);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "boss", &demote, NULL), -EPERM);
	assert_int_equal(account_delete(fx->db, &fx->boss_actor, fx->t.id, "boss"), -EPERM);
	assert_int_equal(account_update(fx->db, &operator_actor, fx->t.id, "boss", &suspend, NULL), -EPERM);
	assert_int_equal(account_update(fx->db, &operator_actor, fx->t.id, "boss", &demote, NULL), -EPERM);
	assert_int_equal(account_delete(fx->db, &operator_actor, fx->t.id, "boss"), -EPERM);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_string_equal(a.status, "active");
	assert_string_equal(a.role, "manager");

	make_account(fx, "mgr2", "manager", STRONG_PW, &mgr2);
	make_account(fx, "carol", "user", STRONG_PW, &carol);
	mgr2_actor = (struct actor){ ACTOR_ACCOUNT, fx->t.id, mgr2.id, "mgr2", "127.0.0.1", "cmocka" };

	/* two managers: still nobody acts on themselves */
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "boss", &suspend, NULL), -EPERM);
	assert_int_equal(account_delete(fx->db, &fx->boss_actor, fx->t.id, "boss"), -EPERM);

	/* suspending ends the sessions at once */
	new_session(fx, &mgr2, &s_mgr2);
	new_session(fx, &carol, &s_carol);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2", &suspend, &a), 0);
	assert_string_equal(a.status, "suspended");
	assert_false(session_alive(fx, &s_mgr2));
	assert_int_equal(count_sessions(fx->db, mgr2.id), 0);
	assert_int_equal(login(fx, "acme", "mgr2", STRONG_PW, NULL), -EACCES);
	assert_true(session_alive(fx, &s_carol));
	/* now boss is the last active manager again */
	assert_int_equal(account_update(fx->db, &mgr2_actor, fx->t.id, "boss", &suspend, NULL), -EPERM);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2", &resume, &a), 0);
	assert_string_equal(a.status, "active");
	assert_int_equal(login(fx, "acme", "mgr2", STRONG_PW, NULL), 0);

	/* with two active managers one may demote the other */
	assert_int_equal(account_update(fx->db, &mgr2_actor, fx->t.id, "boss", &demote, &a), 0);
	assert_string_equal(a.role, "user");
	assert_int_equal(account_update(fx->db, &mgr2_actor, fx->t.id, "boss", &promote, &a), 0);
	assert_string_equal(a.role, "manager");

	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "carol", &suspend, NULL), 0);
	assert_false(session_alive(fx, &s_carol));
	assert_int_equal(account_delete(fx->db, &fx->boss_actor, fx->t.id, "carol"), 0);
	assert_int_equal(account_get(fx->db, fx->t.id, "carol", &a), -ENOENT);

	/* bad values, unknown and other-tenant accounts */
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2",
					 &(struct account_change){ .status = "gone" }, NULL), -EINVAL);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2",
					 &(struct account_change){ .role = "admin" }, NULL), -EINVAL);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2",
					 &(struct account_change){ .email = "a@b.c\r\nBcc: x@y.z" }, NULL), -EINVAL);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2",
					 &(struct account_change){ .display_name = "a\nb" }, NULL), -EINVAL);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "nobody", &suspend, NULL), -ENOENT);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->other.id, "mgr2", &suspend, NULL), -ENOENT);
	assert_int_equal(account_delete(fx->db, &fx->boss_actor, fx->other.id, "mgr2"), -ENOENT);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "mgr2",
					 &(struct account_change){ .display_name = "Manager Two" }, &a), 0);
	assert_string_equal(a.display_name, "Manager Two");

	/* an invited account becomes active only by accepting */
	assert_int_equal(account_invite(fx->db, &fx->boss_actor, &fx->t, "dave", "dave@example.com", "user",
					NULL, &inv, url, sizeof(url)), 0);
	assert_int_equal(account_update(fx->db, &fx->boss_actor, fx->t.id, "dave", &resume, NULL), -EPERM);

	/* audit rows, by action */
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.suspend", "success"), 2);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.resume", "success"), 1);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.update", "success"), 3);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.delete", "success"), 1);
	assert_int_equal(count_audit(fx->db, fx->t.id, "account.invite", "success"), 1);
	assert_int_equal(count_audit(fx->db, fx->other.id, "account.suspend", "success"), 0);
}

static void test_change_password(void **state)
{
	struct fixture *fx = *state;
	struct sess s1, s2, s3;
	enum password_problem prob;
	struct account a;

	new_session(fx, &fx->boss, &s1);
	new_session(fx, &fx->boss, &s2);
	new_session(fx, &fx->boss, &s3);

	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 "wrong", STRONG_PW, s2.id, &prob), -EACCES);
	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 fx->boss_pw, "too short", s2.id, &prob), -EINVAL);
	assert_int_equal(prob, PASSWORD_TOO_SHORT);
	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 fx->boss_pw, "BOSS", s2.id, &prob), -EINVAL);
	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->other.id, fx->boss.id,
						 fx->boss_pw, STRONG_PW, s2.id, &prob), -ENOENT);
	assert_int_equal(count_sessions(fx->db, fx->boss.id), 3);
	assert_int_equal(count_audit(fx->db, fx->t.id, "password.change", "success"), 0);

	assert_int_equal(account_change_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id,
						 fx->boss_pw, STRONG_PW, s2.id, &prob), 0);
	assert_int_equal(prob, PASSWORD_OK);
	assert_false(session_alive(fx, &s1));
	assert_true(session_alive(fx, &s2));
	assert_false(session_alive(fx, &s3));
	assert_int_equal(count_audit(fx->db, fx->t.id, "password.change", "success"), 1);
	assert_int_equal(account_get(fx->db, fx->t.id, "boss", &a), 0);
	assert_false(a.must_change_password);
	assert_int_equal(login(fx, "acme", "boss", fx->boss_pw, NULL), -EACCES);
	assert_int_equal(login(fx, "acme", "boss", STRONG_PW, NULL), 0);
}

/* Each call runs its transactions with the tenant's lock taken first (lock_watch.h). */
#define LOCKED_FIRST(fx, want, call)                                \
	do {                                                        \
		struct lock_watch w_;                               \
		lock_watch_start(&w_, (fx)->db, (fx)->t.id);        \
		assert_int_equal((call), (want));                   \
		assert_locked_first(&w_);                           \
	} while (0)

/* The account limit, the last active manager and the lockout counters are read before they
 * are written: every transaction that does so takes the tenant's lock before its first
 * statement (store/db.h "Write serialisation"), wrong and right passwords alike. */
static void test_tenant_lock_first(void **state)
{
	struct fixture *fx = *state;
	struct account_change suspend = { .status = "suspended" };
	struct allowlist al = { 0 };
	char url[256], pw[32], secret[128];
	struct account a, u;
	json_t *j = NULL;

	LOCKED_FIRST(fx, 0, account_invite(fx->db, &fx->boss_actor, &fx->t, "invitee", "inv@example.com", "user",
					   NULL, &a, url, sizeof(url)));
	LOCKED_FIRST(fx, 0, account_create_with_password(fx->db, &fx->boss_actor, &fx->t, "made", "made@example.com",
							 "user", pw, sizeof(pw)));
	LOCKED_FIRST(fx, 0, account_update(fx->db, &fx->boss_actor, fx->t.id, "made", &suspend, &u));
	LOCKED_FIRST(fx, 0, account_delete(fx->db, &fx->boss_actor, fx->t.id, "made"));
	LOCKED_FIRST(fx, -EACCES, login(fx, "acme", "boss", "a wrong password", NULL));
	LOCKED_FIRST(fx, 0, account_unlock(fx->db, &operator_actor, fx->t.id, "boss"));
	LOCKED_FIRST(fx, 0, login(fx, "acme", "boss", fx->boss_pw, NULL));
	LOCKED_FIRST(fx, 0, account_verify_password(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id, fx->boss_pw));
	LOCKED_FIRST(fx, 0, apppass_create(fx->db, &fx->boss_actor, fx->t.id, fx->boss.id, "laptop", "read", true,
					   secret, sizeof(secret), &j));
	json_decref(j);
	LOCKED_FIRST(fx, 0, allowlist_replace(fx->db, &fx->boss_actor, fx->t.id, &al, "127.0.0.1", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_password_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lockout_and_change_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invitation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_lock_first, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
