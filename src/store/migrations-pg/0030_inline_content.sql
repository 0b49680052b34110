-- PostgreSQL twin of migrations/0030_inline_content.sql (store/db.h "Column types").
-- A small file's complete ciphertext in its row (issue 11); NULL: the content is the blob
-- named by blob_id. PostgreSQL keeps a large value out of line (TOAST) on its own.
ALTER TABLE file_nodes ADD COLUMN inline_data BYTEA;
