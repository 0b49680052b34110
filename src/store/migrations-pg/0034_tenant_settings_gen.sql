-- A generation of each tenant's settings (issue 11, docs/performance.md step 11): kura serve
-- keeps a copy of the settings every request checks (tenant/settings.c: the features, the
-- client-certificate policy, the source-IP allowlist and its ranges, the MFA policy) and
-- uses it only while the tenant's settings_gen, read with the tenant's row by the request's
-- authentication, is the one it was read at. These triggers bump it in the transaction of
-- every write of those tables, whoever writes (kura serve on any node, kura admin, an
-- erasure, a migration), so a change is seen by the next request of every node.
ALTER TABLE tenants ADD COLUMN settings_gen BIGINT NOT NULL DEFAULT 0;

-- A random 64-bit generation, not a count (the SQLite twin says why): 64 bits of md5 over
-- random() and the transaction's clock.
CREATE FUNCTION tenant_settings_gen_new() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT ('x' || substr(md5(random()::text || clock_timestamp()::text), 1, 16))::bit(64)::bigint
$$;

CREATE FUNCTION tenant_settings_gen_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE tenants SET settings_gen = tenant_settings_gen_new() WHERE id = NEW.tenant_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE tenants SET settings_gen = tenant_settings_gen_new() WHERE id = OLD.tenant_id;
  ELSE
    UPDATE tenants SET settings_gen = tenant_settings_gen_new() WHERE id IN (OLD.tenant_id, NEW.tenant_id);
  END IF;
  RETURN NULL;
END;
$$;
CREATE TRIGGER tenant_features_gen AFTER INSERT OR UPDATE OR DELETE ON tenant_features
  FOR EACH ROW EXECUTE FUNCTION tenant_settings_gen_bump();
CREATE TRIGGER tenant_client_certs_gen AFTER INSERT OR UPDATE OR DELETE ON tenant_client_certs
  FOR EACH ROW EXECUTE FUNCTION tenant_settings_gen_bump();
CREATE TRIGGER tenant_security_gen AFTER INSERT OR UPDATE OR DELETE ON tenant_security
  FOR EACH ROW EXECUTE FUNCTION tenant_settings_gen_bump();
CREATE TRIGGER tenant_ip_ranges_gen AFTER INSERT OR UPDATE OR DELETE ON tenant_ip_ranges
  FOR EACH ROW EXECUTE FUNCTION tenant_settings_gen_bump();
CREATE TRIGGER mfa_policies_gen AFTER INSERT OR UPDATE OR DELETE ON mfa_policies
  FOR EACH ROW EXECUTE FUNCTION tenant_settings_gen_bump();
