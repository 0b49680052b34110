-- PostgreSQL twin of src/store/migrations/0025_access_grants.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Operator access by approval (issue 9, C7): an operator's request to read one tenant's data
-- (its reason, case, scope and hours), the managers' approvals of it, and the tenant's policy
-- of how many distinct managers must approve. A request is pending until approved, denied or
-- lapsed (lapses_at); an approved (or emergency) grant is active from granted_at until ends_at
-- unless revoked. Lapsed and expired are read from the times, never written, so a grant ends
-- by itself without a background job. New tables only: no existing row changes.
CREATE TABLE access_requests (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	operator TEXT NOT NULL,
	reason TEXT NOT NULL,
	case_ref TEXT NOT NULL,
	scope TEXT NOT NULL CHECK (scope IN ('files:read', 'audit:read')),
	hours BIGINT NOT NULL CHECK (hours >= 1),
	emergency SMALLINT NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
	state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'revoked')),
	approvals_required BIGINT NOT NULL CHECK (approvals_required IN (1, 2)),
	created_at BIGINT NOT NULL,
	lapses_at BIGINT NOT NULL,
	granted_at BIGINT,
	ends_at BIGINT,
	decided_by TEXT,
	decided_at BIGINT,
	revoked_by TEXT,
	revoked_at BIGINT
);
CREATE INDEX access_requests_tenant ON access_requests(tenant_id, id);

CREATE TABLE access_approvals (
	request_id BIGINT NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL,
	login TEXT NOT NULL,
	approved_at BIGINT NOT NULL,
	PRIMARY KEY (request_id, account_id)
);
CREATE INDEX access_approvals_tenant ON access_approvals(tenant_id, request_id);

CREATE TABLE access_policy (
	tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
	approvals_required BIGINT NOT NULL CHECK (approvals_required IN (1, 2)),
	updated_at BIGINT NOT NULL
);
