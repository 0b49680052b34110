-- Sessions record how they were authenticated (C3): 'password' (the password alone) or the
-- second factor that completed the login or was enrolled in the session ('totp',
-- 'webauthn', 'recovery_code'). The MFA gate looks at the session, not only at the account:
-- a session opened with the password alone never gains rights by a later enrolment.
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';
-- Sessions from before this column cannot say how they were opened: they end, and their
-- holders log in again once.
DELETE FROM sessions;
