-- PostgreSQL twin of src/store/migrations/0002_audit_chain.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Tamper-evident audit log (F4, F5, F9, G3): one SHA-256 hash chain per tenant, numbered by
-- a per-tenant sequence, with Ed25519-signed checkpoints (docs/audit.md).
-- Chain key: the tenant id, 0 for the provider chain (whose rows keep tenant_id NULL).
-- Rows written before this migration have seq NULL; audit_adopt() chains them at start-up.

ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash BYTEA;
ALTER TABLE audit_events ADD COLUMN hash BYTEA;
CREATE UNIQUE INDEX audit_events_chain ON audit_events(tenant_id, seq);

-- The head of each chain, updated in the same transaction as every insert: O(1) appends.
CREATE TABLE audit_heads (
  tenant      BIGINT PRIMARY KEY,     -- 0 = provider chain
  seq         BIGINT NOT NULL,
  head        BYTEA NOT NULL
);

-- Signed checkpoints: (tenant, seq, head, time, clock sync) signed with DIR/signing.key.
CREATE TABLE audit_checkpoints (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant       BIGINT NOT NULL,
  seq          BIGINT NOT NULL,
  head         BYTEA NOT NULL,
  time_us      BIGINT NOT NULL,
  clock_synced SMALLINT NOT NULL,
  est_error_us BIGINT NOT NULL,
  max_error_us BIGINT NOT NULL,
  signature    BYTEA NOT NULL
);
CREATE INDEX audit_checkpoints_tenant ON audit_checkpoints(tenant, seq);

-- Provider-wide checkpoints: SHA-256 over the sorted (tenant, seq, head) list of a round.
CREATE TABLE audit_roots (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_us      BIGINT NOT NULL,
  n_chains     BIGINT NOT NULL,
  root         BYTEA NOT NULL,
  clock_synced SMALLINT NOT NULL,
  signature    BYTEA NOT NULL
);

-- Per-tenant retention override in days (NULL: the deployment's [audit] setting).
ALTER TABLE tenants ADD COLUMN audit_retention_days BIGINT;
