-- A generation of each tenant's settings (issue 11, docs/performance.md step 11): kura serve
-- keeps a copy of the settings every request checks (tenant/settings.c: the features, the
-- client-certificate policy, the source-IP allowlist and its ranges, the MFA policy) and
-- uses it only while the tenant's settings_gen, read with the tenant's row by the request's
-- authentication, is the one it was read at. These triggers bump it in the transaction of
-- every write of those tables, whoever writes (kura serve on any node, kura admin, an
-- erasure, a migration), so a change is seen by the next request of every process. The
-- new generation is a random 64-bit value, not the old one plus one: the cache only tests
-- equality, and a count could come back to a value it had in another history of the
-- database (a PostgreSQL standby promoted behind its primary, a restore under running
-- nodes), where it would name different settings (security review).
ALTER TABLE tenants ADD COLUMN settings_gen INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER tenant_features_gen_i AFTER INSERT ON tenant_features
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = NEW.tenant_id; END;
CREATE TRIGGER tenant_features_gen_u AFTER UPDATE ON tenant_features
BEGIN UPDATE tenants SET settings_gen = random() WHERE id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER tenant_features_gen_d AFTER DELETE ON tenant_features
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = OLD.tenant_id; END;

CREATE TRIGGER tenant_client_certs_gen_i AFTER INSERT ON tenant_client_certs
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = NEW.tenant_id; END;
CREATE TRIGGER tenant_client_certs_gen_u AFTER UPDATE ON tenant_client_certs
BEGIN UPDATE tenants SET settings_gen = random() WHERE id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER tenant_client_certs_gen_d AFTER DELETE ON tenant_client_certs
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = OLD.tenant_id; END;

CREATE TRIGGER tenant_security_gen_i AFTER INSERT ON tenant_security
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = NEW.tenant_id; END;
CREATE TRIGGER tenant_security_gen_u AFTER UPDATE ON tenant_security
BEGIN UPDATE tenants SET settings_gen = random() WHERE id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER tenant_security_gen_d AFTER DELETE ON tenant_security
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = OLD.tenant_id; END;

CREATE TRIGGER tenant_ip_ranges_gen_i AFTER INSERT ON tenant_ip_ranges
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = NEW.tenant_id; END;
CREATE TRIGGER tenant_ip_ranges_gen_u AFTER UPDATE ON tenant_ip_ranges
BEGIN UPDATE tenants SET settings_gen = random() WHERE id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER tenant_ip_ranges_gen_d AFTER DELETE ON tenant_ip_ranges
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = OLD.tenant_id; END;

CREATE TRIGGER mfa_policies_gen_i AFTER INSERT ON mfa_policies
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = NEW.tenant_id; END;
CREATE TRIGGER mfa_policies_gen_u AFTER UPDATE ON mfa_policies
BEGIN UPDATE tenants SET settings_gen = random() WHERE id IN (OLD.tenant_id, NEW.tenant_id); END;
CREATE TRIGGER mfa_policies_gen_d AFTER DELETE ON mfa_policies
BEGIN UPDATE tenants SET settings_gen = random() WHERE id = OLD.tenant_id; END;
