-- PostgreSQL twin of src/store/migrations/0012_app_password_factor.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- App passwords remember whether the session that made them was opened with a second factor
-- (C3). One made in a password-only session is refused while the policy requires MFA of
-- the account's role, and it ends when the account enrols a factor or its password changes
-- (auth/apppass.c): someone who learnt only the password keeps nothing. App passwords from
-- before this migration keep working as they did (their sessions passed the gate of the day).
ALTER TABLE app_passwords ADD COLUMN second_factor SMALLINT NOT NULL DEFAULT 0;
UPDATE app_passwords SET second_factor = 1;
