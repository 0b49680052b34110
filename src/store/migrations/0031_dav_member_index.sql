-- The member list of a WebDAV PROPFIND Depth 1 from one index (issue 11, docs/performance.md
-- "PROPFIND members from a covering index"): files_dav_entries reads the eight columns a
-- multistatus shows, by name, of a folder's live members. Through file_nodes_name each
-- member cost a lookup in the table, whose rows hold an inline file's ciphertext (0030): about
-- eight rows a page, and every commit of another connection (an access record) makes the next
-- PROPFIND read those pages again (~130 page reads for 1,000 members; ~30 from this index).
-- in_trash is a column as well as the condition: without it SQLite does not count the index
-- as covering (the query names in_trash) and keeps file_nodes_name. The node id is the rowid,
-- in every SQLite index. New index only; no rows change. Its cost: one more index entry
-- written by every insert, rename, move, trash and content change of a node.
CREATE INDEX file_nodes_dav ON file_nodes(tenant_id, parent_id, name, kind, size, content_type, etag,
                                          created_us, modified_us, in_trash) WHERE in_trash = 0;
