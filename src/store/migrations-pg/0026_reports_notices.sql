-- PostgreSQL twin of src/store/migrations/0026_reports_notices.sql (store/db.h "Column types"): the same schema
-- in PostgreSQL's spelling. Applied to an empty database only (no PostgreSQL deployment
-- predates issue 10), so a step that rebuilds or back-fills SQLite rows has nothing to do here.
-- Event reports and notices (issue 9; G2, G3, W4).
-- reports: what a tenant's manager files with the provider (a report in a category, or a
-- request for the provider-side records of a time range), with its thread of messages from
-- either side (report_messages) and its attachments (report_attachments: ciphertext in the
-- tenant's blob store, the file key wrapped by the tenant key like a file's). The operator's
-- answer to a records request is a signed audit export kept with the report (report_exports;
-- provider-side records, not tenant content).
-- notices: what a tenant's managers post to its users (all, or a list of accounts), and the
-- first reading of each by each account (notice_reads: the article-view log).
-- New tables only: existing rows are untouched.
CREATE TABLE reports (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('report', 'records-request')),
	category TEXT NOT NULL,
	title TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
	created_by_name TEXT NOT NULL,
	created_us BIGINT NOT NULL,
	updated_us BIGINT NOT NULL,
	from_us BIGINT,
	to_us BIGINT,
	closed_us BIGINT
);
CREATE INDEX reports_tenant ON reports(tenant_id, id);
CREATE INDEX reports_status ON reports(status, id);

CREATE TABLE report_messages (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
	side TEXT NOT NULL CHECK (side IN ('tenant', 'provider')),
	author TEXT NOT NULL,
	body TEXT NOT NULL,
	created_us BIGINT NOT NULL
);
CREATE INDEX report_messages_report ON report_messages(tenant_id, report_id, id);

CREATE TABLE report_attachments (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
	side TEXT NOT NULL CHECK (side IN ('tenant', 'provider')),
	author TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size BIGINT NOT NULL,
	blob_id TEXT NOT NULL,
	key_version BIGINT NOT NULL,
	wrapped_key BYTEA NOT NULL,
	created_us BIGINT NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments(tenant_id, report_id, id);

CREATE TABLE report_exports (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	report_id BIGINT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
	content BYTEA NOT NULL,
	created_by_name TEXT NOT NULL,
	created_us BIGINT NOT NULL
);
CREATE INDEX report_exports_report ON report_exports(tenant_id, report_id, id);

CREATE TABLE notices (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	target_all SMALLINT NOT NULL CHECK (target_all IN (0, 1)),
	created_by_name TEXT NOT NULL,
	created_us BIGINT NOT NULL
);
CREATE INDEX notices_tenant ON notices(tenant_id, id);

CREATE TABLE notice_targets (
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	notice_id BIGINT NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	PRIMARY KEY (notice_id, account_id)
);
CREATE INDEX notice_targets_account ON notice_targets(tenant_id, account_id, notice_id);

CREATE TABLE notice_reads (
	tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
	notice_id BIGINT NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
	account_id BIGINT NOT NULL,
	login TEXT NOT NULL,
	read_us BIGINT NOT NULL,
	PRIMARY KEY (notice_id, account_id)
);
CREATE INDEX notice_reads_tenant ON notice_reads(tenant_id, notice_id, read_us);
