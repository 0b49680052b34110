-- PostgreSQL twin of migrations/0031_name_pending.sql (store/db.h "Column types"). The name
-- index there is pg_trgm's GIN index on file_nodes itself (migrations-pg/0015), which follows
-- every change of a name in its own transaction, so nothing is queued and this table stays
-- empty (db_pg.c's db_name_index and db_name_fold do nothing). It exists so that both
-- schemas have the same tables; without a foreign key, so that it costs a delete of
-- file_nodes nothing.
CREATE TABLE name_pending (
  id BIGINT PRIMARY KEY
);
