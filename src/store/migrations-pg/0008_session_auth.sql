-- PostgreSQL twin of src/store/migrations/0008_session_auth.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Sessions record how they were authenticated (C3): 'password' (the password alone) or the
-- second factor that completed the login or was enrolled in the session ('totp',
-- 'webauthn', 'recovery_code'). The MFA gate looks at the session, not only at the account:
-- a session opened with the password alone never gains rights by a later enrolment.
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';
-- Sessions from before this column cannot say how they were opened: they end, and their
-- holders log in again once.
DELETE FROM sessions;

-- The lockout counts each attempt before its secret is checked (auth/account.c "lockout"):
-- attempts_pending are checks running now, failed_count the wrong ones of the window. A
-- pending count older than KURA_LOCKOUT_PENDING_STALE_S (a check cut by a crash) is void.
ALTER TABLE accounts ADD COLUMN attempts_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN attempts_pending_us BIGINT NOT NULL DEFAULT 0;
