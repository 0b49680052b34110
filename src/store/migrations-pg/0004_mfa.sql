-- PostgreSQL twin of src/store/migrations/0004_mfa.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Multi-factor authentication (C3): TOTP, WebAuthn credentials, recovery codes, the
-- short-lived challenges of the login second step and of WebAuthn registration, and the
-- per-tenant MFA policy. Secrets are never stored in the clear: the TOTP secret is sealed
-- (XChaCha20-Poly1305 under a key derived from the master key), recovery codes and
-- challenges are stored as keyed/SHA-256 hashes.

-- Per-tenant policy. A tenant without a row follows [security] mfa_managers_default for
-- managers and "optional" for users. Tenants that exist when this migration runs get an
-- explicit row that keeps their managers logging in as before (no lock-out on upgrade).
CREATE TABLE mfa_policies (
  tenant_id   BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  managers    TEXT NOT NULL CHECK (managers IN ('optional', 'required')),
  users       TEXT NOT NULL CHECK (users IN ('off', 'optional', 'required')),
  updated_us  BIGINT NOT NULL
);
INSERT INTO mfa_policies (tenant_id, managers, users, updated_us)
  SELECT id, 'optional', 'optional', 0 FROM tenants;

-- One TOTP secret per account; confirmed_us NULL while enrolment waits for a first code.
-- last_step: the highest time step accepted, so no code (step) is accepted twice.
CREATE TABLE mfa_totp (
  account_id    BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  alg           TEXT NOT NULL,
  secret_sealed BYTEA NOT NULL,
  last_step     BIGINT NOT NULL DEFAULT 0,
  created_us    BIGINT NOT NULL,
  confirmed_us  BIGINT
);

CREATE TABLE mfa_recovery_codes (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  code_hash   BYTEA NOT NULL UNIQUE,
  created_us  BIGINT NOT NULL,
  used_us     BIGINT
);
CREATE INDEX mfa_recovery_codes_account ON mfa_recovery_codes(account_id);

-- WebAuthn user handle: random per account, never the login or the row id.
CREATE TABLE webauthn_users (
  account_id  BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  handle      BYTEA NOT NULL UNIQUE
);

CREATE TABLE webauthn_credentials (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id      BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id     BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  credential_id  BYTEA NOT NULL,
  alg            BIGINT NOT NULL,          -- COSE: -7 ES256, -8 EdDSA
  public_key     BYTEA NOT NULL,             -- ES256: x || y (64 bytes); EdDSA: 32 bytes
  sign_count     BIGINT NOT NULL DEFAULT 0,
  fmt            TEXT NOT NULL,             -- attestation format seen at registration
  name           TEXT NOT NULL,
  created_us     BIGINT NOT NULL,
  last_used_us   BIGINT,
  UNIQUE (tenant_id, credential_id)
);
CREATE INDEX webauthn_credentials_account ON webauthn_credentials(account_id);

-- Challenges: purpose 'login' (second step of POST /api/v1/session; token_hash = SHA-256
-- of the challenge token given to the client) or 'webauthn-register' (bound to the session
-- that asked). webauthn_hash = SHA-256 of the raw WebAuthn challenge bytes.
CREATE TABLE mfa_challenges (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  purpose        TEXT NOT NULL CHECK (purpose IN ('login', 'webauthn-register')),
  token_hash     BYTEA UNIQUE,
  webauthn_hash  BYTEA,
  tenant_id      BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id     BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  session_id     BIGINT,
  attempts       BIGINT NOT NULL DEFAULT 0,
  created_us     BIGINT NOT NULL,
  expires_us     BIGINT NOT NULL,
  used_us        BIGINT
);
CREATE INDEX mfa_challenges_account ON mfa_challenges(account_id);
