-- Rate limits that mail or notify someone (security review): one row per counted event
-- (a contact's confirmation mail, an event report or message, an operator's access
-- request), counted in the database so every node of a multi-node deployment (issue 10)
-- sees the same count (tenant/rate.c). subject: '' for the whole tenant, 'account:ID',
-- or 'address:LOWERCASED'. Rows older than the longest window are removed as events of
-- the same key are added.
CREATE TABLE rate_events (
  id        INTEGER PRIMARY KEY,
  tenant_id BIGINT NOT NULL REFERENCES tenants(id),
  kind      TEXT NOT NULL,
  subject   TEXT NOT NULL,
  at_us     BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(tenant_id, kind, subject, at_us);
