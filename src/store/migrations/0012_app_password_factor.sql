-- App passwords remember whether the session that made them was opened with a second factor
-- (C3). One made in a password-only session is refused while the policy requires MFA of
-- the account's role, and it ends when the account enrols a factor or its password changes
-- (auth/apppass.c): someone who learnt only the password keeps nothing. App passwords from
-- before this migration keep working as they did (their sessions passed the gate of the day).
ALTER TABLE app_passwords ADD COLUMN second_factor INTEGER NOT NULL DEFAULT 0;
UPDATE app_passwords SET second_factor = 1;
