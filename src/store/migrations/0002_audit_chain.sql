-- Tamper-evident audit log (F4, F5, F9, G3): one SHA-256 hash chain per tenant, numbered by
-- a per-tenant sequence, with Ed25519-signed checkpoints (docs/audit.md).
-- Chain key: the tenant id, 0 for the provider chain (whose rows keep tenant_id NULL).
-- Rows written before this migration have seq NULL; audit_adopt() chains them at start-up.

ALTER TABLE audit_events ADD COLUMN seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_events ADD COLUMN hash BLOB;
CREATE UNIQUE INDEX audit_events_chain ON audit_events(tenant_id, seq);

-- The head of each chain, updated in the same transaction as every insert: O(1) appends.
CREATE TABLE audit_heads (
  tenant      INTEGER PRIMARY KEY,     -- 0 = provider chain
  seq         INTEGER NOT NULL,
  head        BLOB NOT NULL
);

-- Signed checkpoints: (tenant, seq, head, time, clock sync) signed with DIR/signing.key.
CREATE TABLE audit_checkpoints (
  id           INTEGER PRIMARY KEY,
  tenant       INTEGER NOT NULL,
  seq          INTEGER NOT NULL,
  head         BLOB NOT NULL,
  time_us      INTEGER NOT NULL,
  clock_synced INTEGER NOT NULL,
  est_error_us INTEGER NOT NULL,
  max_error_us INTEGER NOT NULL,
  signature    BLOB NOT NULL
);
CREATE INDEX audit_checkpoints_tenant ON audit_checkpoints(tenant, seq);

-- Provider-wide checkpoints: SHA-256 over the sorted (tenant, seq, head) list of a round.
CREATE TABLE audit_roots (
  id           INTEGER PRIMARY KEY,
  time_us      INTEGER NOT NULL,
  n_chains     INTEGER NOT NULL,
  root         BLOB NOT NULL,
  clock_synced INTEGER NOT NULL,
  signature    BLOB NOT NULL
);

-- Per-tenant retention override in days (NULL: the deployment's [audit] setting).
ALTER TABLE tenants ADD COLUMN audit_retention_days INTEGER;
