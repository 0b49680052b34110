-- Search by name (issue 15, GET /api/v1/search; docs/files.md "Search"). An index, not a
-- scan, for the tenant's files and folders:
-- * name_search: an FTS5 table of (node id as rowid, name) with the trigram tokenizer,
--   case-insensitive (case_sensitive 0 folds case by Unicode's simple folding, so it works
--   for any script; Japanese has no case and is matched as it is). A query of 3 or more
--   characters is a substring match through it. The files module writes it in the
--   transaction of every change of a node's name (create, rename/move, copy, NFC rewrite,
--   purge): triggers cannot, since the database runs with trusted_schema=OFF, which keeps
--   virtual tables out of triggers. A search joins it to file_nodes on id AND name, so a
--   row that outlived its node (a tenant's erasure by cascade) never matches a new node.
-- * file_nodes_name_fold: an index on (tenant_id, lower(name)) of the live nodes, for
--   queries of 1 or 2 characters (a trigram index cannot answer them): a prefix range on
--   lower(name), which folds ASCII letters only (SQLite's lower() without ICU).
-- SQLite only, said here as HACKING asks: FTS5. The PostgreSQL twin uses pg_trgm instead
-- (store/db.h "Search by name"): CREATE EXTENSION pg_trgm; CREATE INDEX
-- file_nodes_name_trgm ON file_nodes USING gin (lower(name) gin_trgm_ops) WHERE in_trash = 0,
-- queried with lower(name) LIKE '%' || $q || '%' (escaped), no separate table; the short
-- prefix index is (tenant_id, lower(name) text_pattern_ops) WHERE in_trash = 0.
-- Existing nodes are indexed here (the root, named '', is not).
CREATE VIRTUAL TABLE name_search USING fts5(name, tokenize='trigram case_sensitive 0');
INSERT INTO name_search(rowid, name) SELECT id, name FROM file_nodes WHERE parent_id IS NOT NULL;
CREATE INDEX file_nodes_name_fold ON file_nodes(tenant_id, lower(name)) WHERE in_trash = 0;
