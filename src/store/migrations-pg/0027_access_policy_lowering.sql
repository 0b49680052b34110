-- PostgreSQL twin of src/store/migrations/0027_access_policy_lowering.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Lowering the two-manager rule for operator access (C7) needs a second manager: the first
-- manager's request waits here until another manager, whose account existed before it,
-- confirms it (files/lockbox.c lockbox_policy_set).
ALTER TABLE access_policy ADD COLUMN lower_requested_by TEXT;
ALTER TABLE access_policy ADD COLUMN lower_requested_at BIGINT;
