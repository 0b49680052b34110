-- Files (W1, B2, F2, F3): one tree of nodes (folders and files) per tenant, labels, quotas.
-- Every row carries tenant_id and every query names it. Content lives in the blob store as
-- ciphertext (docs/files.md); a file row holds its blob id and its file key wrapped by the
-- tenant key of version key_version. Times are UTC microseconds.

CREATE TABLE file_nodes (
  id               INTEGER PRIMARY KEY,
  tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  parent_id        INTEGER REFERENCES file_nodes(id),   -- NULL only for the tenant's root
  kind             TEXT NOT NULL CHECK (kind IN ('folder', 'file')),
  name             TEXT NOT NULL,                       -- '' only for the root
  size             INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  content_type     TEXT NOT NULL DEFAULT '',
  etag             TEXT NOT NULL DEFAULT '',
  blob_id          TEXT,                                -- files only
  alg              TEXT,                                -- content AEAD of the blob
  key_version      INTEGER,                             -- tenant key wrapping wrapped_key
  wrapped_key      BLOB,
  created_by       INTEGER,                             -- account id, NULL for system
  created_by_name  TEXT NOT NULL DEFAULT '',
  created_us       INTEGER NOT NULL,
  modified_us      INTEGER NOT NULL,
  trashed_us       INTEGER,          -- set on the item that was deleted (a trash entry)
  trashed_by_name  TEXT,
  in_trash         INTEGER NOT NULL DEFAULT 0           -- 1 on the entry and its subtree
);
CREATE UNIQUE INDEX file_nodes_root ON file_nodes(tenant_id) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX file_nodes_name ON file_nodes(tenant_id, parent_id, name) WHERE in_trash = 0;
CREATE INDEX file_nodes_parent ON file_nodes(tenant_id, parent_id);
CREATE INDEX file_nodes_trash ON file_nodes(tenant_id, trashed_us) WHERE trashed_us IS NOT NULL;
CREATE INDEX file_nodes_trash_age ON file_nodes(trashed_us) WHERE trashed_us IS NOT NULL;

-- Tenant-defined labels on files and folders (B2).
CREATE TABLE file_labels (
  tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  node_id    INTEGER NOT NULL REFERENCES file_nodes(id) ON DELETE CASCADE,
  label      TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  PRIMARY KEY (node_id, label)
);
CREATE INDEX file_labels_label ON file_labels(tenant_id, label);

-- Quota and usage (F2). used_bytes = sum of the sizes of the tenant's files, trash included;
-- changed only in the transaction that changes the files.
CREATE TABLE file_quotas (
  tenant_id    INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  quota_bytes  INTEGER NOT NULL CHECK (quota_bytes >= 0),
  used_bytes   INTEGER NOT NULL DEFAULT 0 CHECK (used_bytes >= 0)
);
