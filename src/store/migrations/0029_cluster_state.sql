-- Cluster state (issue 10, docs/scale-out.md "Shared state and background jobs"): what one
-- kura process kept in memory and several nodes on one database must share. New tables only:
-- no existing row changes. PostgreSQL's twin: ../migrations-pg/0029_cluster_state.sql.
--
-- address_throttle: the per-address delay of refused credential checks (auth/throttle.c),
-- one row per source address (family byte + 4 bytes of IPv4 or the 8 of an IPv6 /64). A
-- failure is one upsert; a check one read by key. Rows whose window has passed are deleted
-- by the pruning job (throttle_prune, at most KURA_THROTTLE_TABLE rows kept).
CREATE TABLE address_throttle (
  address_key     BLOB PRIMARY KEY,
  failures        BIGINT NOT NULL,
  window_start_us BIGINT NOT NULL,
  last_us         BIGINT NOT NULL
);
CREATE INDEX address_throttle_window ON address_throttle (window_start_us);

-- job_leases: which node runs each background job (store/lease.c). A node claims or renews
-- a job with one conditional upsert: it takes the row when it holds it already or when the
-- holder's lease has run out (until_us), so at most one live node runs each job. claimed_us
-- is when the current holder took it (renewals keep it).
CREATE TABLE job_leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  until_us   BIGINT NOT NULL,
  claimed_us BIGINT NOT NULL
);
