-- PostgreSQL twin of migrations/0032_name_pending.sql (store/db.h "Column types"). The name
-- index there is pg_trgm's GIN index on file_nodes itself (migrations-pg/0015), which follows
-- every change of a name in its own transaction, so nothing waits for a fold and these
-- tables stay as made here (db_pg.c's db_name_index and db_name_fold do nothing). They exist
-- so that both schemas have the same tables; name_pending without a foreign key, so that it
-- costs a delete of file_nodes nothing.
CREATE TABLE name_pending (
  id BIGINT PRIMARY KEY
);
CREATE TABLE name_index_state (
  id          BIGINT PRIMARY KEY CHECK (id = 1),
  folded_upto BIGINT NOT NULL
);
INSERT INTO name_index_state (id, folded_upto) VALUES (1, (SELECT COALESCE(max(id), 0) FROM file_nodes));
