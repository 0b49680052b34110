-- Search by name, batched (issue 11, docs/performance.md "Name index in batches"): a change
-- of a node's name no longer writes the FTS5 table name_search (migration 0015) in its own
-- transaction, it queues the node's id here (store/db_sqlite.c db_name_index), and the queue
-- is folded into name_search in batches of KURA_NAME_FOLD_BATCH (the name is read from
-- file_nodes then): by an upload's thread after its commit once that many names are queued
-- (db_name_fold), and always before a search reads the index (db_name_search), so a search
-- never misses a name that is committed. A row holds nothing but the id; it goes with its
-- node (ON DELETE CASCADE: a purge, a tenant's erasure), so nothing of an erased tenant stays
-- here either. SQLite only, said here as HACKING asks: the PostgreSQL twin creates the same
-- table, which stays empty (pg_trgm's index follows file_nodes.name).
CREATE TABLE name_pending (
  id INTEGER PRIMARY KEY REFERENCES file_nodes(id) ON DELETE CASCADE
);
-- every live name already is in name_search (0015 and the writes since): nothing to queue
