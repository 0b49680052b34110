-- PostgreSQL twin of src/store/migrations/0031_dav_member_index.sql (store/db.h "Column types").
-- The member list of a WebDAV PROPFIND Depth 1 from one index: the key is file_nodes_name's
-- (tenant_id, parent_id, name), the other columns files_dav_entries reads are carried along
-- (INCLUDE), so an index-only scan serves it where the visibility map allows. Every value is
-- bounded (name 255, content type 127 bytes, etag 32): far below a B-tree entry's limit.
CREATE INDEX file_nodes_dav ON file_nodes(tenant_id, parent_id, name)
    INCLUDE (id, kind, size, content_type, etag, created_us, modified_us) WHERE in_trash = 0;
