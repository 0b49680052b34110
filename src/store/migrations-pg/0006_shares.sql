-- PostgreSQL twin of src/store/migrations/0006_shares.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Share links (W3, F4, B2, D1): download links to a file or folder, upload-request links
-- into a folder, their recipients and the outbox row of each recipient's mail (W5), the
-- short-lived link sessions a password unlock gives, labels, and the per-tenant policy.
-- Tokens are stored only as SHA-256 hashes; link passwords only as Argon2id strings.
-- Every row carries tenant_id and every query names it. Times are UTC microseconds.

-- Tenant settings for link expiry (seconds). No row = the built-in defaults
-- (KURA_SHARE_EXPIRY_DEFAULT_S / KURA_SHARE_EXPIRY_MAX_S).
CREATE TABLE share_policies (
  tenant_id         BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  default_expiry_s  BIGINT NOT NULL CHECK (default_expiry_s > 0),
  max_expiry_s      BIGINT NOT NULL CHECK (max_expiry_s >= default_expiry_s),
  updated_us        BIGINT NOT NULL
);

-- node_id becomes NULL when the shared item is purged from the trash: the link is then
-- gone (410), and an id reused later by SQLite can never be reached through it.
CREATE TABLE shares (
  id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id               BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  token_hash              BYTEA NOT NULL UNIQUE,
  kind                    TEXT NOT NULL CHECK (kind IN ('download', 'upload')),
  node_id                 BIGINT REFERENCES file_nodes(id) ON DELETE SET NULL,
  created_by              BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
  created_by_name         TEXT NOT NULL,
  password_hash           TEXT,                    -- NULL: no password
  expires_us              BIGINT NOT NULL,
  max_downloads           BIGINT,                 -- NULL: no limit
  downloads               BIGINT NOT NULL DEFAULT 0,
  uploads                 BIGINT NOT NULL DEFAULT 0,
  notify_on_download      SMALLINT NOT NULL DEFAULT 0,
  notified_us             BIGINT,                 -- the sharer's first-download mail
  failed_count            BIGINT NOT NULL DEFAULT 0,
  failed_window_start_us  BIGINT NOT NULL DEFAULT 0,
  locked_until_us         BIGINT NOT NULL DEFAULT 0,
  created_us              BIGINT NOT NULL,
  revoked_us              BIGINT,
  revoked_by_name         TEXT,
  CHECK (max_downloads IS NULL OR max_downloads > 0),
  CHECK (max_downloads IS NULL OR downloads <= max_downloads)
);
CREATE INDEX shares_tenant ON shares(tenant_id, created_us);
CREATE INDEX shares_creator ON shares(tenant_id, created_by);

CREATE TABLE share_recipients (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  share_id   BIGINT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
  email      TEXT NOT NULL,
  outbox_id  BIGINT REFERENCES mail_outbox(id) ON DELETE SET NULL,
  UNIQUE (share_id, email)
);

-- A password unlock: the cookie holds the token, scoped to one link's API path.
CREATE TABLE share_sessions (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash  BYTEA NOT NULL UNIQUE,
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  share_id    BIGINT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
  created_us  BIGINT NOT NULL,
  expires_us  BIGINT NOT NULL
);
CREATE INDEX share_sessions_share ON share_sessions(share_id);

-- Tenant-defined labels on shares (B2).
CREATE TABLE share_labels (
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  share_id    BIGINT NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
  label       TEXT NOT NULL,
  created_us  BIGINT NOT NULL,
  PRIMARY KEY (share_id, label)
);
CREATE INDEX share_labels_label ON share_labels(tenant_id, label);
