-- The audit record's place in its chain becomes its primary key (issue 11, docs/performance.md
-- step 13): the record of chain c (the tenant id, 0 for the provider chain) at seq s has id
-- (c + 1) * 2^40 + s (src/audit/audit_int.h AUDIT_RUN_SQL). A run of a chain in seq order is
-- then a range of the table's own key, and two indexes written with every record go:
-- - audit_events_chain (tenant_id, seq): every run of a chain (a page of the log, an export
--   or verification batch, the oldest record, retention's first kept record and its delete)
--   reads the primary key instead. Its uniqueness is the primary key's now (one id per chain
--   and seq); `kura admin audit verify` checks that every row's id and tenant_id are the
--   ones its seq and its chain's hashes say.
-- - audit_events_tenant_time (tenant_id, time_us): its only readers were an export's first
--   and last record in a time range, which now walk the chain in key order to the first
--   match (PostgreSQL already did so through audit_events_chain); a page of the log with a
--   time range already walked the chain. The compliance report's counts by tenant read
--   audit_events_tenant_target (tenant_id, target, seq).
-- Two pages fewer a record (tests/unit/test_audit.c test_chain_sql_uses_index holds every
-- reader to an index).
--
-- Rows of the chains move to their ids here; rows written before the hash chain (seq NULL,
-- ids below 2^40) stay where they are until audit_adopt() chains them at start-up. Every
-- existing id is below 2^40 and every new one at or above it, so no row takes the id of a
-- row not yet moved. This rewrites every row of the table once (a long migration on a large
-- log; nothing else changes: the rows, their hashes and the heads stay as they are).
UPDATE audit_events SET id = (COALESCE(tenant_id, 0) + 1) * 1099511627776 + seq WHERE seq IS NOT NULL;
DROP INDEX audit_events_chain;
DROP INDEX audit_events_tenant_time;
