-- PostgreSQL twin of src/store/migrations/0016_listing_indexes.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Sorted folder listings (issue 15: GET /api/v1/folders/{id}/children?sort=size|modified):
-- keyset paging on (size, id) and (modified_us, id) inside one folder reads one index range
-- per page, so a page costs the same in a folder of 100,000 entries as in one of ten. Sorting
-- by name uses file_nodes_name (0005). The node id, SQLite's rowid, is the last column of
-- every index, which is what the (key, id) keyset needs; on PostgreSQL the twin lists id
-- explicitly: (tenant_id, parent_id, size, id). New indexes only; no rows change.
CREATE INDEX file_nodes_size ON file_nodes(tenant_id, parent_id, size, id) WHERE in_trash = 0;
CREATE INDEX file_nodes_modified ON file_nodes(tenant_id, parent_id, modified_us, id) WHERE in_trash = 0;
