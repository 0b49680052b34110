-- A generation of each tenant's file tree as a WebDAV listing shows it (issue 11,
-- docs/performance.md step 16; the SQLite twin says what it is for). Bumped by statement
-- triggers with transition tables: one UPDATE of the quota row per statement, not per row,
-- so an erasure or a folder's trash that writes thousands of nodes in one statement bumps it
-- once. Every upload's transaction locks the quota row already; the writers of the tree, the
-- properties and the locks take the tenant's advisory lock before their first statement
-- (store/db.h "Write serialisation"), so the row's lock comes after it.
ALTER TABLE file_quotas ADD COLUMN tree_gen BIGINT NOT NULL DEFAULT 0;
UPDATE file_quotas SET tree_gen = tenant_settings_gen_new();

CREATE FUNCTION file_quotas_tree_gen_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tree_gen := tenant_settings_gen_new();
  RETURN NEW;
END;
$$;
CREATE TRIGGER file_quotas_tree_gen_new BEFORE INSERT ON file_quotas
  FOR EACH ROW EXECUTE FUNCTION file_quotas_tree_gen_new();

CREATE FUNCTION tree_gen_bump_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE file_quotas SET tree_gen = tenant_settings_gen_new()
    WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM new_rows);
  RETURN NULL;
END;
$$;
CREATE FUNCTION tree_gen_bump_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE file_quotas SET tree_gen = tenant_settings_gen_new()
    WHERE tenant_id IN (SELECT DISTINCT tenant_id FROM old_rows);
  RETURN NULL;
END;
$$;
CREATE FUNCTION tree_gen_bump_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE file_quotas SET tree_gen = tenant_settings_gen_new()
    WHERE tenant_id IN (SELECT tenant_id FROM old_rows UNION SELECT tenant_id FROM new_rows);
  RETURN NULL;
END;
$$;

CREATE TRIGGER file_nodes_tree_gen_i AFTER INSERT ON file_nodes REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_new();
CREATE TRIGGER file_nodes_tree_gen_u AFTER UPDATE ON file_nodes REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_both();
CREATE TRIGGER file_nodes_tree_gen_d AFTER DELETE ON file_nodes REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_old();

CREATE TRIGGER dav_props_tree_gen_i AFTER INSERT ON dav_props REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_new();
CREATE TRIGGER dav_props_tree_gen_u AFTER UPDATE ON dav_props REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_both();
CREATE TRIGGER dav_props_tree_gen_d AFTER DELETE ON dav_props REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_old();

CREATE TRIGGER dav_locks_tree_gen_i AFTER INSERT ON dav_locks REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_new();
CREATE TRIGGER dav_locks_tree_gen_u AFTER UPDATE ON dav_locks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_both();
CREATE TRIGGER dav_locks_tree_gen_d AFTER DELETE ON dav_locks REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tree_gen_bump_old();
