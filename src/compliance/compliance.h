/*
 * The compliance statement (A1, A2, A3, A5, E3; docs/compliance.md): every row of
 * CONTROLS.md in kura's own words, each with the evidence the running deployment can show
 * (settings in force, the service catalog, counts from the database, the audit chains
 * verified now, the clock, the crypto inventory) and, for what it cannot show, an explicit
 * "no evidence". Nothing here claims a property from code alone.
 *
 * One model (compliance_model, JSON) and three renderings: the model itself, a standalone
 * HTML document (compliance_html: own CSS, no script) and OSCAL 1.1.3 (compliance_oscal:
 * a component-definition and assessment-results whose observations cite audit sequence
 * ranges and checkpoint hashes). The evidence bundle (evidence.c) packs the statement, the
 * audit export of a range, erasure certificates and the configuration without secrets into
 * one ustar file with a signed manifest; compliance_verify_bundle checks it offline.
 *
 * The run-time half of the evidence (the configuration kura serve loaded, whether TLS and
 * the system-call allowlist are on, the linked libraries) is installed once at start-up
 * with compliance_install, before any thread reads it; without it those rows say "no
 * evidence".
 */
#ifndef KURA_COMPLIANCE_COMPLIANCE_H
#define KURA_COMPLIANCE_COMPLIANCE_H
#include <jansson.h>

#include "core/core.h"

struct config;
struct db;
struct actor;

/* What kura serve knows about itself. cfg is copied; libraries ([{name, compiled, running,
 * use, license}], cli/deps.c) is taken over; tls_cert_pem is read for its key size and
 * tls_priorities (the listener's GnuTLS priority string) copied. */
void compliance_install(const struct config *cfg, bool tls, const char *tls_cert_pem, const char *tls_priorities,
			json_t *libraries);
/* After start-up: the system-call allowlist is in force. */
void compliance_set_sandbox(bool seccomp);
/* Forgets what compliance_install set (serve shutdown). */
void compliance_uninstall(void);

/* The statement of one tenant (its services only; tenant_id > 0) or of the deployment
 * (tenant_id 0: every service), in lang "ja" or "en". NULL on failure with *ret_err. */
json_t *compliance_model(struct db *db, int64_t tenant_id, const char *lang, int *ret_err);
/* The model as one HTML document (malloc'd). */
char *compliance_html(const json_t *model);
/* The Content-Security-Policy that lets that document's own <style> in and nothing else. */
void compliance_html_csp(char *buf, size_t size);
/* The model as {"component-definition": ...} and {"assessment-results": ...}, one object
 * with both members; each member alone is a valid OSCAL document. */
json_t *compliance_oscal(const json_t *model);

/* ---- the evidence bundle (evidence.c) ---- */
/* A signed bundle for the tenant and the range [from_us, to_us] (ustar, malloc'd, *ret_n
 * bytes): MANIFEST.json (the SHA-256 and size of every other member, signed with the
 * deployment's key), the statement in ja and en (HTML, JSON), OSCAL, the audit export of
 * the range (JSONL, verifiable with kura audit verify), the erasure certificates and the
 * configuration without secrets; who is named as its maker. The caller records the read in
 * the tenant's chain first (C7). -E2BIG when it would exceed KURA_EVIDENCE_MAX, -ENOKEY
 * without a signing key. */
int compliance_evidence(struct db *db, const struct actor *who, int64_t tenant_id, int64_t from_us,
			int64_t to_us, unsigned char **ret, size_t *ret_n) KURA_WUR;
/* Checks a bundle offline against the trusted public key: the manifest's form and
 * signature, every member's hash and size, no member missing or added, and the audit
 * export inside (audit_verify_file). 0 when the bundle could be read (look at
 * "ok" in *ret: {"ok", "tenant", "from", "to", "members": n, "problems": [...]}). */
int compliance_verify_bundle(const unsigned char *data, size_t n, const unsigned char pk[32],
			     json_t **ret) KURA_WUR;
#endif
