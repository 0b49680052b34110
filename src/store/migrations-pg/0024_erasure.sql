-- PostgreSQL twin of src/store/migrations/0024_erasure.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- The end of a contract (B3, F3, issue 8 "Termination", "Erasure"): one durable state machine
-- per tenant that has a termination scheduled, and one row per option whose termination is
-- scheduled. Nothing exists yet for existing tenants (no termination scheduled).
--
-- tenant_terminations.state moves scheduled -> ended -> erasing -> erased (and back to
-- nothing on cancel before the end or reinstate in the grace period). While it is ended or
-- later, tenants.status is 'terminated', which every sign-in, session, app password and share
-- link check refuses, so a tenant in the middle of its erasure is never served. phase names
-- the erasure step that comes next (prepare, keys, verify, data, certificate, done); each step
-- is idempotent, so a kill -9 resumes at the step it cut. info holds what the certificate
-- needs and must be captured before the data goes (counts, audit head, key ids, manager
-- addresses, the verification sample); certificate is the signed certificate, kept by the
-- provider (the row stays after the erasure; the tenant's data does not).
CREATE TABLE tenant_terminations (
  tenant_id      BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  end_day        TEXT NOT NULL,                  -- YYYY-MM-DD in the tenant's zone
  ends_us        BIGINT NOT NULL,                -- the end of that day (UTC us)
  erase_after_us BIGINT NOT NULL,                -- the end of the grace period
  deadline_us    BIGINT NOT NULL,                -- the erasure must be complete before it
  state          TEXT NOT NULL CHECK (state IN ('scheduled', 'ended', 'erasing', 'erased')),
  phase          TEXT NOT NULL DEFAULT 'prepare',
  notices        BIGINT NOT NULL DEFAULT 0,      -- bit set: 1 scheduled, 2 14 days, 4 7 days, 8 1 day
  alerted        SMALLINT NOT NULL DEFAULT 0 CHECK (alerted IN (0, 1)),
  scheduled_by   TEXT NOT NULL,
  scheduled_us   BIGINT NOT NULL,
  erasure_by     TEXT NOT NULL DEFAULT '',
  started_us     BIGINT,
  finished_us    BIGINT,
  info           TEXT NOT NULL DEFAULT '{}',
  certificate    TEXT
);
CREATE INDEX tenant_terminations_state ON tenant_terminations(state, ends_us);

CREATE TABLE option_terminations (
  tenant_id      BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  option         TEXT NOT NULL,
  end_day        TEXT NOT NULL,
  ends_us        BIGINT NOT NULL,
  deadline_us    BIGINT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('scheduled', 'erased')),
  notices        BIGINT NOT NULL DEFAULT 0,
  scheduled_by   TEXT NOT NULL,
  scheduled_us   BIGINT NOT NULL,
  finished_us    BIGINT,
  PRIMARY KEY (tenant_id, option)
);

-- Deleting a node makes SQLite look up the rows that reference it (foreign keys); without an
-- index whose first column is the referencing column each lookup scans the table, so erasing
-- (or purging) n nodes cost O(n^2). These make each lookup an index probe.
CREATE INDEX file_nodes_parent_fk ON file_nodes(parent_id);
CREATE INDEX shares_node_fk ON shares(node_id);
CREATE INDEX dav_props_node_fk ON dav_props(node_id);
