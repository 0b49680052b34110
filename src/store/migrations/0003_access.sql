-- Access controls (C3, C4): per-tenant source-IP allowlist and lockout settings, password
-- reset tokens, app passwords. Times are UTC microseconds. Every table has tenant_id.

-- One row per tenant that changed a setting; a missing row or a NULL column means the
-- deployment default (kura.conf [security]).
CREATE TABLE tenant_security (
  tenant_id           INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  ip_apply_to_all     INTEGER NOT NULL DEFAULT 0,
  lockout_threshold   INTEGER,
  lockout_window_s    INTEGER,
  lockout_duration_s  INTEGER,
  updated_us          INTEGER NOT NULL
);

-- The allowlist: canonical CIDR text ("203.0.113.0/24", "2001:db8::/32"), host bits zero.
-- No rows = no restriction.
CREATE TABLE tenant_ip_ranges (
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  cidr       TEXT NOT NULL,
  PRIMARY KEY (tenant_id, position)
);

-- Self-service and manager-forced password resets: single use, expiring, stored hashed.
CREATE TABLE password_resets (
  id          INTEGER PRIMARY KEY,
  token_hash  BLOB NOT NULL UNIQUE,
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us  INTEGER NOT NULL,
  expires_us  INTEGER NOT NULL,
  used_us     INTEGER
);
CREATE INDEX password_resets_account ON password_resets(account_id, created_us);

-- App passwords for WebDAV and API clients: 256-bit random secrets stored as SHA-256.
CREATE TABLE app_passwords (
  id            INTEGER PRIMARY KEY,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  scope         TEXT NOT NULL CHECK (scope IN ('read', 'read-write')),
  secret_hash   BLOB NOT NULL UNIQUE,
  created_us    INTEGER NOT NULL,
  last_used_us  INTEGER,
  last_used_ip  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX app_passwords_account ON app_passwords(account_id);
