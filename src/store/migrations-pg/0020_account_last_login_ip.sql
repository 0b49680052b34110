-- PostgreSQL twin of src/store/migrations/0020_account_last_login_ip.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Where each account last signed in (C1: the managers' accounts page shows the time and the
-- address of the last sign-in). Written with last_login_us by a completed login (password
-- alone, or password and second factor); '' for never, and for logins before this migration.
ALTER TABLE accounts ADD COLUMN last_login_ip TEXT NOT NULL DEFAULT '';
