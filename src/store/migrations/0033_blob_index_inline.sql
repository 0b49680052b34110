-- The blob index without the inline files (issue 11, docs/performance.md "Small PUTs"):
-- file_nodes_blob (migration 0009) serves the start-up sweep's look-up of a blob by id
-- (files/files.c, which asks for rows whose content is that blob: inline_data IS NULL). A
-- file kept in its row (migration 0030) has a random blob_id that names no blob, and its
-- entry in this index was one more page written (one more WAL frame) by every small upload.
DROP INDEX file_nodes_blob;
CREATE INDEX file_nodes_blob ON file_nodes(tenant_id, blob_id) WHERE blob_id IS NOT NULL AND inline_data IS NULL;
