-- The audit record's place in its chain becomes its primary key: the SQLite twin says why.
-- The record of chain c (tenant id, 0 for the provider) at seq s has id (c + 1) * 2^40 + s,
-- given by audit.c: the id is no longer generated (an INSERT without one fails), and the
-- primary key's index serves every run of a chain in seq order and an export's time range,
-- so audit_events_chain and audit_events_tenant_time are no longer written with every
-- record. Rows written before the hash chain (seq NULL, ids below 2^40) stay until
-- audit_adopt() chains them.
ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY;
UPDATE audit_events SET id = (COALESCE(tenant_id, 0) + 1) * 1099511627776 + seq WHERE seq IS NOT NULL;
DROP INDEX audit_events_chain;
DROP INDEX audit_events_tenant_time;
