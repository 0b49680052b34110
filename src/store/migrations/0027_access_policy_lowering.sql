-- Lowering the two-manager rule for operator access (C7) needs a second manager: the first
-- manager's request waits here until another manager, whose account existed before it,
-- confirms it (files/lockbox.c lockbox_policy_set).
ALTER TABLE access_policy ADD COLUMN lower_requested_by TEXT;
ALTER TABLE access_policy ADD COLUMN lower_requested_at BIGINT;
