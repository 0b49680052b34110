-- A generation of each tenant's file tree as a WebDAV listing shows it (issue 11,
-- docs/performance.md step 16): kura serve keeps the answers of recent PROPFIND Depth 1
-- allprop requests (http/dav_cache.c) and serves one again only while the tenant's tree_gen,
-- read in the request's own snapshot, is the one the answer was built at. These triggers
-- bump it in the transaction of every write of what such an answer shows (the nodes, their
-- dead properties, the locks), whoever writes (kura serve on any node, kura admin, an
-- erasure, a migration), so a change is seen by the next request of every process. It lives
-- in the quota row, which every upload's transaction already writes (no page more for a PUT);
-- a tenant without that row has no generation, and its listings are never kept. Random, not
-- counted, for the reason 0034 gives.
ALTER TABLE file_quotas ADD COLUMN tree_gen INTEGER NOT NULL DEFAULT 0;
UPDATE file_quotas SET tree_gen = random();

CREATE TRIGGER file_nodes_tree_gen_i AFTER INSERT ON file_nodes
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = NEW.tenant_id; END;
-- an UPDATE of a column a listing shows or selects by (not the key columns a rotation
-- rewrites, nor inline_data); a column a PROPFIND answer comes to show joins this list
CREATE TRIGGER file_nodes_tree_gen_u AFTER UPDATE OF tenant_id, parent_id, kind, name, size, content_type,
  etag, created_us, modified_us, in_trash ON file_nodes
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER file_nodes_tree_gen_d AFTER DELETE ON file_nodes
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = OLD.tenant_id; END;

CREATE TRIGGER dav_props_tree_gen_i AFTER INSERT ON dav_props
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = NEW.tenant_id; END;
CREATE TRIGGER dav_props_tree_gen_u AFTER UPDATE ON dav_props
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER dav_props_tree_gen_d AFTER DELETE ON dav_props
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = OLD.tenant_id; END;

CREATE TRIGGER dav_locks_tree_gen_i AFTER INSERT ON dav_locks
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = NEW.tenant_id; END;
CREATE TRIGGER dav_locks_tree_gen_u AFTER UPDATE ON dav_locks
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER dav_locks_tree_gen_d AFTER DELETE ON dav_locks
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = OLD.tenant_id; END;

-- a new quota row starts at a generation of its own, never at a value an earlier row of
-- the same tenant id had
CREATE TRIGGER file_quotas_tree_gen_new AFTER INSERT ON file_quotas
BEGIN UPDATE file_quotas SET tree_gen = random() WHERE tenant_id = NEW.tenant_id; END;
