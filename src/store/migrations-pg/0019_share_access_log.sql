-- PostgreSQL twin of src/store/migrations/0019_share_access_log.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- The access log of a share link (issue 15; W3, F4): GET /api/v1/shares/{id}/access reads the
-- `access` records of one link (target "share:<id>") out of its tenant's audit log, and the
-- share list counts them per link. Without this index both read the tenant's whole log; with
-- it, only the link's own records. The audit log's `target` filter uses it too. Existing rows
-- need nothing: the index covers them as it is built.
CREATE INDEX audit_events_tenant_target ON audit_events(tenant_id, target, seq);
