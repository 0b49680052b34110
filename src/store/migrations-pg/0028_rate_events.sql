-- PostgreSQL twin of migrations/0028_rate_events.sql (store/db.h "Column types").
-- Rate limits that mail or notify someone: one row per counted event, counted in the
-- database so every node sees the same count (tenant/rate.c).
CREATE TABLE rate_events (
  id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id BIGINT NOT NULL REFERENCES tenants(id),
  kind      TEXT NOT NULL,
  subject   TEXT NOT NULL,
  at_us     BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(tenant_id, kind, subject, at_us);
