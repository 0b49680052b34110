-- PostgreSQL twin of src/store/migrations/0005_files.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Files (W1, B2, F2, F3): one tree of nodes (folders and files) per tenant, labels, quotas.
-- Every row carries tenant_id and every query names it. Content lives in the blob store as
-- ciphertext (docs/files.md); a file row holds its blob id and its file key wrapped by the
-- tenant key of version key_version. Times are UTC microseconds.

CREATE TABLE file_nodes (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id        BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  parent_id        BIGINT REFERENCES file_nodes(id),   -- NULL only for the tenant's root
  kind             TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
  name             TEXT NOT NULL,                       -- '' only for the root
  size             BIGINT NOT NULL DEFAULT 0 CHECK (size >= 0),
  content_type     TEXT NOT NULL DEFAULT '',
  etag             TEXT NOT NULL DEFAULT '',
  blob_id          TEXT,                                -- files only
  alg              TEXT,                                -- content AEAD of the blob
  key_version      BIGINT,                             -- tenant key wrapping wrapped_key
  wrapped_key      BYTEA,
  created_by       BIGINT,                             -- account id, NULL for system
  created_by_name  TEXT NOT NULL DEFAULT '',
  created_us       BIGINT NOT NULL,
  modified_us      BIGINT NOT NULL,
  trashed_us       BIGINT,          -- set on the item that was deleted (a trash entry)
  trashed_by_name  TEXT,
  in_trash         SMALLINT NOT NULL DEFAULT 0           -- 1 on the entry and its subtree
);
CREATE UNIQUE INDEX file_nodes_root ON file_nodes(tenant_id) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX file_nodes_name ON file_nodes(tenant_id, parent_id, name) WHERE in_trash = 0;
CREATE INDEX file_nodes_parent ON file_nodes(tenant_id, parent_id);
CREATE INDEX file_nodes_trash ON file_nodes(tenant_id, trashed_us) WHERE trashed_us IS NOT NULL;
CREATE INDEX file_nodes_trash_age ON file_nodes(trashed_us) WHERE trashed_us IS NOT NULL;

-- Tenant-defined labels on files and folders (B2).
CREATE TABLE file_labels (
  tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  node_id    BIGINT NOT NULL REFERENCES file_nodes(id) ON DELETE CASCADE,
  label      TEXT NOT NULL,
  created_us BIGINT NOT NULL,
  PRIMARY KEY (node_id, label)
);
CREATE INDEX file_labels_label ON file_labels(tenant_id, label);

-- Quota and usage (F2). used_bytes = sum of the sizes of the tenant's files, trash included;
-- changed only in the transaction that changes the files.
CREATE TABLE file_quotas (
  tenant_id    BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  quota_bytes  BIGINT NOT NULL CHECK (quota_bytes >= 0),
  used_bytes   BIGINT NOT NULL DEFAULT 0 CHECK (used_bytes >= 0)
);
