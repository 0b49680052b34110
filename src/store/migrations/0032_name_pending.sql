-- Search by name, batched (issue 11, docs/performance.md "Name index in batches"): a change
-- of a node's name no longer writes the FTS5 table name_search (migration 0015) in its own
-- transaction. A fold (store/db_sqlite.c db_name_fold) writes name_search in batches of
-- KURA_NAME_FOLD_BATCH, reading the names from file_nodes: by an upload's thread after its
-- commit once that many names are waiting, and always before a search reads the index
-- (db_name_search), so a search never misses a name that is committed. What waits:
-- * every node above name_index_state.folded_upto (the last id a fold reached): a new node
--   (an upload, a folder) writes nothing for the index at all;
-- * the ids in name_pending: a node at or below the mark whose name changed (a rename, a
--   move, an NFC rewrite, a reused id). A row holds nothing but the id and goes with its
--   node (ON DELETE CASCADE: a purge, a tenant's erasure), so nothing of an erased tenant
--   stays here either.
-- SQLite only, said here as HACKING asks: the PostgreSQL twin creates the same tables, which
-- are never written there (pg_trgm's index follows file_nodes.name).
CREATE TABLE name_pending (
  id INTEGER PRIMARY KEY REFERENCES file_nodes(id) ON DELETE CASCADE
);
CREATE TABLE name_index_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  folded_upto INTEGER NOT NULL
);
-- every node there is now is in name_search already (0015 and the writes since)
INSERT INTO name_index_state (id, folded_upto) VALUES (1, (SELECT COALESCE(max(id), 0) FROM file_nodes));
