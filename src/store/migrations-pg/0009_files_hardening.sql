-- PostgreSQL twin of src/store/migrations/0009_files_hardening.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Files and WebDAV hardening (issue 14): metadata counts toward the quota, blobs can be
-- matched to their rows quickly, WebDAV locks end with the account that holds them, and
-- account ids are never handed out twice.

-- Account ids are never reused: the runner rebuilds the table with AUTOINCREMENT (see
-- rebuild_autoincrement in db_sqlite.c), so a new account cannot inherit what still names a
-- deleted one (locks, created_by, audit records).
-- (PostgreSQL: accounts.id is an identity, which never hands out an id twice; nothing to do.)

-- meta_bytes: what the tenant's metadata costs, charged against the same quota as content:
-- KURA_QUOTA_ITEM_BYTES (256) per file, folder, label and dead property, plus the bytes of
-- each dead property's namespace, name and value. used_bytes stays the sum of file sizes.
ALTER TABLE file_quotas ADD COLUMN meta_bytes BIGINT NOT NULL DEFAULT 0 CHECK (meta_bytes >= 0);
INSERT INTO file_quotas (tenant_id, quota_bytes, used_bytes)
  SELECT DISTINCT n.tenant_id, 10737418240, 0 FROM file_nodes n
  WHERE NOT EXISTS (SELECT 1 FROM file_quotas q WHERE q.tenant_id = n.tenant_id);
UPDATE file_quotas SET meta_bytes =
  256 * (SELECT count(*) FROM file_nodes n WHERE n.tenant_id = file_quotas.tenant_id
         AND n.parent_id IS NOT NULL)
  + 256 * (SELECT count(*) FROM file_labels l WHERE l.tenant_id = file_quotas.tenant_id)
  + (SELECT coalesce(sum(256 + octet_length(p.ns) + octet_length(p.name)
                         + octet_length(p.xml)), 0)
     FROM dav_props p WHERE p.tenant_id = file_quotas.tenant_id);

-- The start-up sweep of unreferenced blobs looks each blob up by id.
CREATE INDEX file_nodes_blob ON file_nodes(tenant_id, blob_id) WHERE blob_id IS NOT NULL;

-- A lock ends with the account that holds it.
DELETE FROM dav_locks WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = dav_locks.account_id
                                        AND a.tenant_id = dav_locks.tenant_id);
CREATE FUNCTION accounts_end_dav_locks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM dav_locks WHERE tenant_id = OLD.tenant_id AND account_id = OLD.id;
  RETURN OLD;
END;
$$;
CREATE TRIGGER accounts_end_dav_locks AFTER DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION accounts_end_dav_locks();
CREATE INDEX dav_locks_account ON dav_locks(tenant_id, account_id);

-- Names are stored in NFC from now on; names stored before may be in NFD (macOS). kura
-- serve normalises them once at start-up (files_normalize_legacy) and deletes this row.
CREATE TABLE files_pending (task TEXT PRIMARY KEY);
INSERT INTO files_pending (task) VALUES ('nfc-names');
