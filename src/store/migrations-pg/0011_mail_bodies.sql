-- PostgreSQL twin of src/store/migrations/0011_mail_bodies.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Mail bodies hold working links (invitations, password resets, share links): the outbox keeps
-- them only while a mail waits, sealed under a key derived from the master key, and erases
-- them once the mail is sent or has failed for good (docs/security.md "Mail bodies"). The
-- delivery log keeps recipient, subject, state, times, attempts, message id and size.
ALTER TABLE mail_outbox ADD COLUMN sealed BYTEA;                        -- nonce || XChaCha20-Poly1305(body)
ALTER TABLE mail_outbox ADD COLUMN body_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE mail_outbox SET body_bytes = octet_length(body);
-- bodies of mail that is done: gone
UPDATE mail_outbox SET body = '' WHERE state IN ('sent', 'failed');
