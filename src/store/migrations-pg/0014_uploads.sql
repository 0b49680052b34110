-- PostgreSQL twin of src/store/migrations/0014_uploads.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Resumable uploads (issue 15, tus 1.0 at /api/v1/uploads; docs/files.md "Resumable
-- uploads"). One row per unfinished upload: the account and tenant it belongs to, the
-- folder and name it will be committed as, its announced length, and how far it is durably
-- written: next_offset is always a multiple of the 64 KiB chunk (whole sealed chunks in the
-- part file, fsync'ed before the row moves). The URL names the upload by a random token;
-- only its SHA-256 (token_hash, hex) is stored. part_id names the part file in the blob
-- store. The file key is wrapped under the tenant key key_version with part_id as the blob
-- id, and rewrapped for the real blob at commit; header is the content header (nonce
-- prefix) the part starts with. Rows go when the upload completes (in the transaction that
-- records the file), is terminated, or expires (expires_us, swept by the files service).
-- New table: no existing rows.
CREATE TABLE uploads (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  token_hash    TEXT NOT NULL UNIQUE,
  part_id       TEXT NOT NULL,
  parent_id     BIGINT NOT NULL,
  name          TEXT NOT NULL,
  content_type  TEXT NOT NULL,
  length        BIGINT NOT NULL CHECK (length >= 0),
  next_offset   BIGINT NOT NULL DEFAULT 0 CHECK (next_offset >= 0 AND next_offset <= length),
  alg           TEXT NOT NULL,
  key_version   BIGINT NOT NULL,
  wrapped_key   BYTEA NOT NULL,
  header        BYTEA NOT NULL,
  created_us    BIGINT NOT NULL,
  expires_us    BIGINT NOT NULL
);
CREATE INDEX uploads_tenant ON uploads(tenant_id, account_id);
CREATE INDEX uploads_expires ON uploads(expires_us);
