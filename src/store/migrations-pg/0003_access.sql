-- PostgreSQL twin of src/store/migrations/0003_access.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Access controls (C3, C4): per-tenant source-IP allowlist and lockout settings, password
-- reset tokens, app passwords. Times are UTC microseconds. Every table has tenant_id.

-- One row per tenant that changed a setting; a missing row or a NULL column means the
-- deployment default (kura.conf [security]).
CREATE TABLE tenant_security (
  tenant_id           BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  ip_apply_to_all     SMALLINT NOT NULL DEFAULT 0,
  lockout_threshold   BIGINT,
  lockout_window_s    BIGINT,
  lockout_duration_s  BIGINT,
  updated_us          BIGINT NOT NULL
);

-- The allowlist: canonical CIDR text ("203.0.113.0/24", "2001:db8::/32"), host bits zero.
-- No rows = no restriction.
CREATE TABLE tenant_ip_ranges (
  tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  position   BIGINT NOT NULL,
  cidr       TEXT NOT NULL,
  PRIMARY KEY (tenant_id, position)
);

-- Self-service and manager-forced password resets: single use, expiring, stored hashed.
CREATE TABLE password_resets (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash  BYTEA NOT NULL UNIQUE,
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us  BIGINT NOT NULL,
  expires_us  BIGINT NOT NULL,
  used_us     BIGINT
);
CREATE INDEX password_resets_account ON password_resets(account_id, created_us);

-- App passwords for WebDAV and API clients: 256-bit random secrets stored as SHA-256.
CREATE TABLE app_passwords (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  scope         TEXT NOT NULL CHECK (scope IN ('read', 'read-write')),
  secret_hash   BYTEA NOT NULL UNIQUE,
  created_us    BIGINT NOT NULL,
  last_used_us  BIGINT,
  last_used_ip  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX app_passwords_account ON app_passwords(account_id);
