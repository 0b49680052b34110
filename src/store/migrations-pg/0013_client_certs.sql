-- PostgreSQL twin of src/store/migrations/0013_client_certs.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Client certificates (issue 16, C3 for ZTNA and COLLAB): a tenant's policy and issuing key,
-- the certificates kura issued, and the certificate a session was opened with.
-- The issuing key is an Ed25519 seed wrapped by the master key like a tenant key (associated
-- data "kura cert issuer" || tenant_id); its self-signed CA certificate is kept beside it.
-- Both are made on the first issue, so existing tenants get a row only then; a tenant
-- without a row has the policy "off" and the default lifetime. Existing sessions have no
-- certificate (NULL).
CREATE TABLE tenant_client_certs (
  tenant_id      BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  policy         TEXT NOT NULL DEFAULT 'off' CHECK (policy IN ('off', 'managers', 'all')),
  lifetime_days  BIGINT NOT NULL DEFAULT 365,
  self_service   SMALLINT NOT NULL DEFAULT 0 CHECK (self_service IN (0, 1)),
  login_field    TEXT NOT NULL DEFAULT 'cn' CHECK (login_field IN ('cn', 'email', 'upn')),
  issuer_key     BYTEA,
  issuer_pem     TEXT
);

CREATE TABLE client_certs (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  subject       TEXT NOT NULL,
  serial        TEXT NOT NULL,
  not_before_us BIGINT NOT NULL,
  not_after_us  BIGINT NOT NULL,
  created_us    BIGINT NOT NULL,
  created_by    BIGINT NOT NULL,
  revoked_us    BIGINT,
  expiry_mailed SMALLINT NOT NULL DEFAULT 0 CHECK (expiry_mailed IN (0, 1)),
  UNIQUE (tenant_id, sha256)
);
CREATE INDEX client_certs_tenant ON client_certs(tenant_id, account_id);
-- the mail sender's check for certificates that expire within 14 days (not yet announced)
CREATE INDEX client_certs_expiry ON client_certs(expiry_mailed, not_after_us);

-- The tenant's own CAs: certificates they issue count when the field login_field names
-- (subject CN = login; SAN e-mail or UPN = the account's e-mail address or login).
CREATE TABLE tenant_client_cas (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  pem           TEXT NOT NULL,
  subject       TEXT NOT NULL,
  sha256        TEXT NOT NULL,
  not_after_us  BIGINT NOT NULL,
  created_us    BIGINT NOT NULL,
  UNIQUE (tenant_id, sha256)
);
CREATE INDEX tenant_client_cas_tenant ON tenant_client_cas(tenant_id);

ALTER TABLE sessions ADD COLUMN client_cert_sha256 TEXT;
