-- PostgreSQL twin of src/store/migrations/0023_announcements.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Provider and tenant talk (issue 9; CONTROLS F1, G1): the tenant's contacts (confirmed by a
-- mailed link before use), the provider's announcements (versions, the tenants each reached,
-- every account's first reading of each version as evidence) and incident records with their
-- timeline and affected tenants. New tables only: nothing that exists changes.
-- Times are UTC microseconds.

-- A tenant's contact addresses (問合せ窓口, notification addresses). token_hash is the SHA-256
-- of the mailed confirmation token (never the token); NULL once used. A contact receives
-- notices only once confirmed_us is set.
CREATE TABLE contacts (
  id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id        BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name             TEXT NOT NULL,
  email            TEXT NOT NULL,
  role             TEXT NOT NULL CHECK (role IN ('security', 'technical', 'notices')),
  token_hash       BYTEA UNIQUE,
  token_expires_us BIGINT NOT NULL,
  confirmed_us     BIGINT,
  created_us       BIGINT NOT NULL,
  UNIQUE (tenant_id, email, role)
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id);

-- An announcement (change, maintenance, incident) from the provider. target is the spec the
-- operator gave ("all", "MAIL,DOCX", "tenant:a,b"); the tenants it reached are rows of
-- announcement_tenants, made when it is published (publish_us; published_us once done).
CREATE TABLE announcements (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind          TEXT NOT NULL CHECK (kind IN ('change', 'maintenance', 'incident')),
  target        TEXT NOT NULL,
  version       BIGINT NOT NULL,
  title_ja      TEXT NOT NULL,
  title_en      TEXT NOT NULL,
  body_ja       TEXT NOT NULL,
  body_en       TEXT NOT NULL,
  from_us       BIGINT,
  until_us      BIGINT,
  publish_us    BIGINT NOT NULL,
  published_us  BIGINT,
  withdrawn_us  BIGINT,
  created_us    BIGINT NOT NULL,
  updated_us    BIGINT NOT NULL
);
CREATE INDEX announcements_due ON announcements (published_us, publish_us);

-- Every version as it was (an edit adds one: never a silent change).
CREATE TABLE announcement_versions (
  announcement_id BIGINT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
  version         BIGINT NOT NULL,
  title_ja        TEXT NOT NULL,
  title_en        TEXT NOT NULL,
  body_ja         TEXT NOT NULL,
  body_en         TEXT NOT NULL,
  from_us         BIGINT,
  until_us        BIGINT,
  created_us      BIGINT NOT NULL,
  PRIMARY KEY (announcement_id, version)
);

-- Delivery per tenant: the version it has, the channels used and the mails queued for it.
CREATE TABLE announcement_tenants (
  tenant_id       BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  announcement_id BIGINT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
  version         BIGINT NOT NULL,
  channels        TEXT NOT NULL,
  mails           BIGINT NOT NULL,
  delivered_us    BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, announcement_id)
);
CREATE INDEX announcement_tenants_announcement ON announcement_tenants (announcement_id);

-- Each account's first reading of each version (evidence; also in the tenant's audit log).
CREATE TABLE announcement_reads (
  tenant_id       BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  announcement_id BIGINT NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
  account_id      BIGINT NOT NULL,
  version         BIGINT NOT NULL,
  read_us         BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, announcement_id, account_id, version)
);
CREATE INDEX announcement_reads_announcement ON announcement_reads (announcement_id);

-- Incidents (G1): services holds the affected service codes ("MAIL,ZTNA"); the affected
-- tenants are rows of incident_tenants. The public status page shows services, never tenants.
CREATE TABLE incidents (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title_ja     TEXT NOT NULL,
  title_en     TEXT NOT NULL,
  severity     TEXT NOT NULL CHECK (severity IN ('minor', 'major', 'critical')),
  status       TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
  services     TEXT NOT NULL,
  created_us   BIGINT NOT NULL,
  updated_us   BIGINT NOT NULL,
  resolved_us  BIGINT
);
CREATE TABLE incident_tenants (
  tenant_id    BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  incident_id  BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, incident_id)
);
CREATE INDEX incident_tenants_incident ON incident_tenants (incident_id);
CREATE TABLE incident_updates (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  BIGINT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  status       TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
  body_ja      TEXT NOT NULL,
  body_en      TEXT NOT NULL,
  created_us   BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id);
