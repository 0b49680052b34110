-- Small files inline (issue 11, docs/performance.md "Small files inline in the database"):
-- a file whose plaintext is at most KURA_INLINE_MAX_BYTES (src/core/limits.h) keeps its
-- complete ciphertext (filecrypt header + sealed records, byte for byte what its blob would
-- hold) in the row, so its upload is one database commit instead of a blob fsync, a
-- directory fsync and the commit. NULL: the content is the blob named by blob_id. blob_id
-- stays set either way (a random id the file key's wrapping is bound to). Appended last, so
-- SQLite reads the row's other columns without walking the overflow pages of this one.
ALTER TABLE file_nodes ADD COLUMN inline_data BLOB;
