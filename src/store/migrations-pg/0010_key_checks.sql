-- PostgreSQL twin of src/store/migrations/0010_key_checks.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Start-up key checks (docs/operations.md "Keys at start-up"): what the data directory holds
-- about its keys, so `kura serve` refuses a master key or signing key that is not its own.

-- Check values of deployment secrets. 'master.check' = HMAC-SHA-256 under a key derived from
-- the master key (crypto_kdf, context "kura-kcv", id 1) of "KURA-MASTER-KEY-CHECK-1": it
-- tells whether a master key is this deployment's, and reveals nothing about it.
CREATE TABLE deployment_keys (
  name        TEXT PRIMARY KEY,
  value       BYTEA NOT NULL,
  created_us  BIGINT NOT NULL
);

-- Every Ed25519 key that ever signed this deployment's audit checkpoints, so a rotation keeps
-- the old public keys for verification. One 'current' key; 'pending' while a rotation is
-- between writing DIR/signing.key and recording it (completed or undone at start-up).
CREATE TABLE audit_signing_keys (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  public_key  BYTEA NOT NULL UNIQUE,
  state       TEXT NOT NULL CHECK (state IN ('pending', 'current', 'retired')),
  created_us  BIGINT NOT NULL,
  retired_us  BIGINT
);

-- The public key that signed each checkpoint and root (NULL: written before this migration,
-- by the deployment's first key; filled in when that key is registered at start-up).
ALTER TABLE audit_checkpoints ADD COLUMN public_key BYTEA;
ALTER TABLE audit_roots ADD COLUMN public_key BYTEA;
