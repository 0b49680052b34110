-- PostgreSQL twin of src/store/migrations/0021_upload_prefix.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Unfinished uploads remember what the client said their first bytes are (issue 15): the
-- SHA-256 (hex) of the first min(65536, length) bytes, sent in Upload-Metadata as
-- prefix_sha256. The portal lists it (GET /api/v1/uploads) and, when the user picks a file to
-- resume an upload after a reload, compares it with the chosen file's first bytes, so a
-- different file of the same name and size is not appended to the wrong upload. Optional:
-- NULL when the client sent none, and for the rows that exist.
ALTER TABLE uploads ADD COLUMN prefix_sha256 TEXT;
