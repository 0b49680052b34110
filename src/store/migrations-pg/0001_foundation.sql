-- PostgreSQL twin of src/store/migrations/0001_foundation.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Foundation schema: tenants and their contracts, accounts, sessions, invitations,
-- the audit event table behind audit_record(), and the mail outbox.
-- Times are UTC microseconds since the epoch. Every tenant-data table has tenant_id.

CREATE TABLE tenants (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  code        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
  zone        TEXT NOT NULL DEFAULT 'Asia/Tokyo',
  created_us  BIGINT NOT NULL,
  updated_us  BIGINT NOT NULL
);

-- Subscriptions (A4): service codes and options of the contract.
CREATE TABLE tenant_services (
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  service     TEXT NOT NULL,
  PRIMARY KEY (tenant_id, service)
);
CREATE TABLE tenant_options (
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  option      TEXT NOT NULL,
  PRIMARY KEY (tenant_id, option)
);

-- Per-tenant data keys, wrapped by the master key (B1, E2). Destroying them crypto-erases.
CREATE TABLE tenant_keys (
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  version     BIGINT NOT NULL,
  alg         TEXT NOT NULL,
  wrapped     BYTEA NOT NULL,
  created_us  BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, version)
);

CREATE TABLE accounts (
  id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id              BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  login                  TEXT NOT NULL,
  email                  TEXT NOT NULL,
  display_name           TEXT NOT NULL DEFAULT '',
  role                   TEXT NOT NULL CHECK (role IN ('manager', 'user')),
  status                 TEXT NOT NULL CHECK (status IN ('invited', 'active', 'suspended')),
  password_hash          TEXT,
  must_change_password   SMALLINT NOT NULL DEFAULT 0,
  failed_count           BIGINT NOT NULL DEFAULT 0,
  failed_window_start_us BIGINT NOT NULL DEFAULT 0,
  locked_until_us        BIGINT NOT NULL DEFAULT 0,
  last_login_us          BIGINT,
  created_us             BIGINT NOT NULL,
  updated_us             BIGINT NOT NULL,
  UNIQUE (tenant_id, login)
);

-- Tokens are stored as SHA-256 hashes; the cookie holds the only copy of the token.
CREATE TABLE sessions (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash    BYTEA NOT NULL UNIQUE,
  csrf_hash     BYTEA NOT NULL,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us    BIGINT NOT NULL,
  last_seen_us  BIGINT NOT NULL,
  expires_us    BIGINT NOT NULL,
  client_ip     TEXT NOT NULL,
  user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE invitations (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash  BYTEA NOT NULL UNIQUE,
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us  BIGINT NOT NULL,
  expires_us  BIGINT NOT NULL,
  used_us     BIGINT
);
CREATE INDEX invitations_account ON invitations(account_id);

-- audit_record() writes here. tenant_id NULL = provider-level event (operator, system).
CREATE TABLE audit_events (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id   BIGINT,
  time_us     BIGINT NOT NULL,
  actor_type  TEXT NOT NULL,
  actor       TEXT NOT NULL DEFAULT '',
  source_ip   TEXT NOT NULL DEFAULT '',
  user_agent  TEXT NOT NULL DEFAULT '',
  category    TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT NOT NULL DEFAULT '',
  result      TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_tenant_time ON audit_events(tenant_id, time_us);

-- Durable outbox (W5 delivery log). tenant_id NULL = provider mail.
CREATE TABLE mail_outbox (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id        BIGINT REFERENCES tenants(id) ON DELETE SET NULL,
  recipient        TEXT NOT NULL,
  subject          TEXT NOT NULL,
  body             TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'sent', 'deferred', 'failed')),
  attempts         BIGINT NOT NULL DEFAULT 0,
  next_attempt_us  BIGINT NOT NULL,
  last_error       TEXT NOT NULL DEFAULT '',
  message_id       TEXT NOT NULL,
  created_us       BIGINT NOT NULL,
  sent_us          BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_attempt_us);
