-- PostgreSQL twin of src/store/migrations/0018_tenant_features.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- The features whose initial state the service catalog sets (D4, issue 8 "Service catalog"):
-- share links to outside parties (and upload requests), the WebDAV endpoint, and app
-- passwords. A new tenant gets its row from the catalog (IAAS: all off until a manager turns
-- them on); tenants that exist already had all three, so they keep them on.
CREATE TABLE tenant_features (
  tenant_id      BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  sharing        SMALLINT NOT NULL CHECK (sharing IN (0, 1)),
  webdav         SMALLINT NOT NULL CHECK (webdav IN (0, 1)),
  app_passwords  SMALLINT NOT NULL CHECK (app_passwords IN (0, 1)),
  updated_us     BIGINT NOT NULL
);
INSERT INTO tenant_features (tenant_id, sharing, webdav, app_passwords, updated_us)
  SELECT id, 1, 1, 1, updated_us FROM tenants;
