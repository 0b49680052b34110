-- Mail bodies hold working links (invitations, password resets, share links): the outbox keeps
-- them only while a mail waits, sealed under a key derived from the master key, and erases
-- them once the mail is sent or has failed for good (docs/security.md "Mail bodies"). The
-- delivery log keeps recipient, subject, state, times, attempts, message id and size.
ALTER TABLE mail_outbox ADD COLUMN sealed BLOB;                        -- nonce || XChaCha20-Poly1305(body)
ALTER TABLE mail_outbox ADD COLUMN body_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE mail_outbox SET body_bytes = length(CAST(body AS BLOB));
-- bodies of mail that is done: gone
UPDATE mail_outbox SET body = '' WHERE state IN ('sent', 'failed');
