-- PostgreSQL twin of src/store/migrations/0017_client_cert_revocations.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Revocations of client certificates outlive their account (security review of issue 16):
-- client_certs rows go with their account (ON DELETE CASCADE), and a certificate of the
-- tenant's own CA is enrolled again on its first use, so without this table deleting a
-- leaver's account would lift the revocation of their device for a later account of the
-- same login or address. Kept per tenant by SHA-256 of the certificate (DER).
CREATE TABLE client_cert_revocations (
  tenant_id   BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  sha256      TEXT NOT NULL,
  revoked_us  BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, sha256)
);
INSERT INTO client_cert_revocations (tenant_id, sha256, revoked_us)
  SELECT tenant_id, sha256, revoked_us FROM client_certs WHERE revoked_us IS NOT NULL;
