-- PostgreSQL twin of src/store/migrations/0007_dav.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- WebDAV (W2): dead properties per node and write locks (RFC 4918). Every row carries
-- tenant_id and every query names it. Times are UTC microseconds.

-- Dead properties: one row per (node, namespace, name); xml is the property element as the
-- client sent it, serialized with every namespace it uses declared on it (self-contained).
-- They follow the node into the trash and back, and go when it is purged.
CREATE TABLE dav_props (
  tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  node_id    BIGINT NOT NULL REFERENCES file_nodes(id) ON DELETE CASCADE,
  ns         TEXT NOT NULL,          -- namespace URI, '' for none
  name       TEXT NOT NULL,
  xml        TEXT NOT NULL,
  PRIMARY KEY (node_id, ns, name)
);
CREATE INDEX dav_props_tenant ON dav_props(tenant_id, node_id);

-- Write locks are on URLs (RFC 4918 6.1), so they are kept by tenant-relative path
-- ('' for the tenant's root, '/a/b' below it), not by node. Expired rows are ignored and
-- swept when the tenant's locks change.
CREATE TABLE dav_locks (
  token        TEXT PRIMARY KEY,     -- urn:uuid:...
  tenant_id    BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  path         TEXT NOT NULL,
  depth_inf    SMALLINT NOT NULL,     -- 1: Depth infinity, 0: Depth 0
  shared       SMALLINT NOT NULL,     -- 1: shared, 0: exclusive
  owner_xml    TEXT NOT NULL DEFAULT '',
  account_id   BIGINT NOT NULL,     -- the principal that holds it
  timeout_s    BIGINT NOT NULL,
  expires_us   BIGINT NOT NULL,
  created_us   BIGINT NOT NULL
);
CREATE INDEX dav_locks_path ON dav_locks(tenant_id, path);
