-- PostgreSQL twin of migrations/0033_blob_index_inline.sql (store/db.h "Column types"): the
-- same index, without the rows that keep their content inline (their blob_id names no blob).
DROP INDEX file_nodes_blob;
CREATE INDEX file_nodes_blob ON file_nodes(tenant_id, blob_id) WHERE blob_id IS NOT NULL AND inline_data IS NULL;
