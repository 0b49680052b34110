-- Foundation schema: tenants and their contracts, accounts, sessions, invitations,
-- the audit event table behind audit_record(), and the mail outbox.
-- Times are UTC microseconds since the epoch. Every tenant-data table has tenant_id.

CREATE TABLE tenants (
  id          INTEGER PRIMARY KEY,
  code        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'terminated')),
  zone        TEXT NOT NULL DEFAULT 'Asia/Tokyo',
  created_us  INTEGER NOT NULL,
  updated_us  INTEGER NOT NULL
);

-- Subscriptions (A4): service codes and options of the contract.
CREATE TABLE tenant_services (
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  service     TEXT NOT NULL,
  PRIMARY KEY (tenant_id, service)
);
CREATE TABLE tenant_options (
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  option      TEXT NOT NULL,
  PRIMARY KEY (tenant_id, option)
);

-- Per-tenant data keys, wrapped by the master key (B1, E2). Destroying them crypto-erases.
CREATE TABLE tenant_keys (
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  version     INTEGER NOT NULL,
  alg         TEXT NOT NULL,
  wrapped     BLOB NOT NULL,
  created_us  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, version)
);

CREATE TABLE accounts (
  id                     INTEGER PRIMARY KEY,
  tenant_id              INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  login                  TEXT NOT NULL,
  email                  TEXT NOT NULL,
  display_name           TEXT NOT NULL DEFAULT '',
  role                   TEXT NOT NULL CHECK (role IN ('manager', 'user')),
  status                 TEXT NOT NULL CHECK (status IN ('invited', 'active', 'suspended')),
  password_hash          TEXT,
  must_change_password   INTEGER NOT NULL DEFAULT 0,
  failed_count           INTEGER NOT NULL DEFAULT 0,
  failed_window_start_us INTEGER NOT NULL DEFAULT 0,
  locked_until_us        INTEGER NOT NULL DEFAULT 0,
  last_login_us          INTEGER,
  created_us             INTEGER NOT NULL,
  updated_us             INTEGER NOT NULL,
  UNIQUE (tenant_id, login)
);

-- Tokens are stored as SHA-256 hashes; the cookie holds the only copy of the token.
CREATE TABLE sessions (
  id            INTEGER PRIMARY KEY,
  token_hash    BLOB NOT NULL UNIQUE,
  csrf_hash     BLOB NOT NULL,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us    INTEGER NOT NULL,
  last_seen_us  INTEGER NOT NULL,
  expires_us    INTEGER NOT NULL,
  client_ip     TEXT NOT NULL,
  user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE invitations (
  id          INTEGER PRIMARY KEY,
  token_hash  BLOB NOT NULL UNIQUE,
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  created_us  INTEGER NOT NULL,
  expires_us  INTEGER NOT NULL,
  used_us     INTEGER
);
CREATE INDEX invitations_account ON invitations(account_id);

-- audit_record() writes here. tenant_id NULL = provider-level event (operator, system).
CREATE TABLE audit_events (
  id          INTEGER PRIMARY KEY,
  tenant_id   INTEGER,
  time_us     INTEGER NOT NULL,
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
  id               INTEGER PRIMARY KEY,
  tenant_id        INTEGER REFERENCES tenants(id) ON DELETE SET NULL,
  recipient        TEXT NOT NULL,
  subject          TEXT NOT NULL,
  body             TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'sent', 'deferred', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_us  INTEGER NOT NULL,
  last_error       TEXT NOT NULL DEFAULT '',
  message_id       TEXT NOT NULL,
  created_us       INTEGER NOT NULL,
  sent_us          INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_attempt_us);
