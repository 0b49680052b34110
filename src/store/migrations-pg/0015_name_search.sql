-- PostgreSQL twin of src/store/migrations/0015_name_search.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
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
-- prefix index is (tenant_id, lower(name)) WHERE in_trash = 0 (the "C" collation: byte order, so
-- the range of files/search.c uses the default operator class).
-- Existing nodes are indexed here (the root, named '', is not).
-- PostgreSQL: pg_trgm's GIN index on the lower-cased name answers db_pg.c's LIKE '%…%' of 3
-- or more characters; the index follows the column, so there is no name_search table to
-- write. The name is lower-cased with ICU's root locale ("und-x-icu"), which folds case in
-- every script as FTS5's case_sensitive 0 does (lower() under the database's "C" collation
-- folds ASCII only). With LC_CTYPE 'C.UTF-8' pg_trgm makes trigrams of non-ASCII letters too
-- (under 'C' it skips them and the index only narrows ASCII queries; docs/scale-out.md).
-- (pg_trgm is a trusted extension: the database's owner may create it.)
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX file_nodes_name_trgm ON file_nodes USING gin (lower(name COLLATE "und-x-icu") gin_trgm_ops)
  WHERE in_trash = 0;
CREATE INDEX file_nodes_name_fold ON file_nodes(tenant_id, lower(name)) WHERE in_trash = 0;
