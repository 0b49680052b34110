-- PostgreSQL twin of src/store/migrations/0022_login_misses.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Failed logins of names without an account (issue 15, docs/security.md "Remaining tries"):
-- a refused login answers how many tries are left before the lock, so a login name that has
-- no account (or a tenant code that does not exist) is counted here exactly like an account
-- is counted in accounts.failed_count, and "locks" alike; otherwise the count would tell
-- which names exist. Bounded by KURA_LOGIN_MISSES_MAX rows (the oldest go first).
-- tenant_id 0 with the tenant code as typed: a tenant that does not exist (or is not active).
CREATE TABLE login_misses (
  tenant_id              BIGINT NOT NULL,
  tenant_code            TEXT NOT NULL,
  login                  TEXT NOT NULL,
  failed_count           BIGINT NOT NULL,
  failed_window_start_us BIGINT NOT NULL,
  locked_until_us        BIGINT NOT NULL,
  updated_us             BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, tenant_code, login)
);
CREATE INDEX login_misses_updated ON login_misses (updated_us);
