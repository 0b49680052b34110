/*
 * The statement in OSCAL 1.1.3 (compliance_oscal): a component-definition (kura as one
 * software component, one implemented requirement per row with its statement and the
 * evidence items as properties) and assessment-results (one result for this moment: one
 * observation per row, examining the settings in force, plus one per audit chain that cites
 * the sequence range verified now and the newest checkpoint's head hash; a finding
 * "satisfied" only for rows whose claims all have evidence). Rows without evidence carry
 * their missing claims in remarks and get no finding: nothing is asserted without evidence.
 * kura's own properties live in the namespace KURA_NS (OSCAL's rule for extensions).
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "compliance/compliance.h"
#include "core/dbuf.h"

#define KURA_NS "urn:kura:oscal:1"
#define OSCAL_VERSION "1.1.3"
#define CONTROLS_SOURCE "urn:kura:controls:1"

static void uuid4(char out[37])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static json_t *juuid(void)
{
	char u[37];

	uuid4(u);
	return json_string(u);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* OSCAL strings may not start or end with white space, nor be empty. */
static json_t *jtext(const char *s)
{
	size_t n;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return n ? json_stringn(s, n) : json_string("-");
}

static json_t *prop(const char *name, const char *value)
{
	return json_pack("{s:s, s:o, s:s}", "name", name, "value", jtext(value), "ns", KURA_NS);
}

/* "a1" from "A1": OSCAL control ids are tokens, lower case by convention */
static void control_id(const char *id, char out[16])
{
	size_t i = 0;

	for (; id[i] && i < 15; i++)
		out[i] = (char)tolower((unsigned char)id[i]);
	out[i] = '\0';
}

static json_t *metadata(const json_t *model, const char *title)
{
	const json_t *provider = json_object_get(model, "provider");
	json_t *m = json_pack("{s:o, s:s, s:s, s:s}", "title", jtext(title), "last-modified", str(model, "generated_at"),
			      "version", str(model, "kura_version"), "oscal-version", OSCAL_VERSION);

	if (json_is_object(provider) && str(provider, "name")[0]) {
		char party[37];

		uuid4(party);
		json_object_set_new(m, "roles", json_pack("[{s:s, s:s}]", "id", "provider", "title", "Cloud service provider"));
		json_object_set_new(m, "parties", json_pack("[{s:s, s:s, s:o}]", "uuid", party, "type", "organization", "name",
							    jtext(str(provider, "name"))));
		json_object_set_new(m, "responsible-parties",
				    json_pack("[{s:s, s:[s]}]", "role-id", "provider", "party-uuids", party));
	}
	return m;
}

static void evidence_text(struct dbuf *b, const json_t *ctl)
{
	const json_t *v;
	size_t k;

	json_array_foreach(json_object_get(ctl, "evidence"), k, v)
		dbuf_printf(b, "%s- %s: %s (%s)", k ? "\n" : "", str(v, "item"), str(v, "value"), str(v, "source"));
}

static json_t *component_definition(const json_t *model)
{
	const json_t *ctl, *tenant = json_object_get(model, "tenant");
	json_t *reqs = json_array();
	size_t i;
	char title[512];

	json_array_foreach(json_object_get(model, "controls"), i, ctl) {
		char cid[16];
		json_t *props = json_array(), *req;
		const json_t *v;
		size_t k;

		control_id(str(ctl, "id"), cid);
		json_array_append_new(props, prop("evidence-status", str(ctl, "status")));
		json_array_foreach(json_object_get(ctl, "evidence"), k, v) {
			char line[4096];

			snprintf(line, sizeof(line), "%s: %s (%s)", str(v, "item"), str(v, "value"), str(v, "source"));
			json_array_append_new(props, prop("evidence", line));
		}
		req = json_pack("{s:o, s:s, s:o, s:o}", "uuid", juuid(), "control-id", cid, "description",
				jtext(str(ctl, "statement")), "props", props);
		if (json_array_size(json_object_get(ctl, "missing"))) {
			struct dbuf b;

			dbuf_init(&b, 64 * 1024);
			json_array_foreach(json_object_get(ctl, "missing"), k, v)
				dbuf_printf(&b, "%sno evidence: %s", k ? "\n" : "", json_string_value(v));
			json_object_set_new(req, "remarks", jtext(dbuf_str(&b)));
			dbuf_free(&b);
		}
		json_array_append_new(reqs, req);
	}
	snprintf(title, sizeof(title), "kura security statement%s%s", json_is_object(tenant) ? ": " : "",
		 json_is_object(tenant) ? str(tenant, "code") : "");
	return json_pack("{s:o, s:o, s:[{s:o, s:s, s:s, s:s, s:o, s:[{s:o, s:s, s:s, s:o}]}]}", "uuid", juuid(), "metadata",
			 metadata(model, title), "components", "uuid", juuid(), "type", "software", "title", "kura",
			 "description", "Multi-tenant secure file exchange platform and its control plane (portal, identity, "
					"audit, notification, lifecycle).",
			 "props", json_pack("[o]", prop("version", str(model, "kura_version"))), "control-implementations",
			 "uuid", juuid(), "source", CONTROLS_SOURCE, "description",
			 "The kura control catalog (CONTROLS.md), as implemented by the running deployment.",
			 "implemented-requirements", reqs);
}

static json_t *assessment_results(const json_t *model)
{
	const json_t *ctl, *ch;
	json_t *obs = json_array(), *findings = json_array(), *selected = json_array();
	size_t i;

	json_array_foreach(json_object_get(model, "controls"), i, ctl) {
		char cid[16], ou[37];
		json_t *o, *ev = json_array();
		const json_t *v;
		size_t k;
		struct dbuf b;

		control_id(str(ctl, "id"), cid);
		json_array_append_new(selected, json_pack("{s:s}", "control-id", cid));
		uuid4(ou);
		dbuf_init(&b, 256 * 1024);
		dbuf_printf(&b, "%s: %s", str(ctl, "id"), str(ctl, "title"));
		if (json_array_size(json_object_get(ctl, "evidence"))) {
			dbuf_puts(&b, "\n\n");
			evidence_text(&b, ctl);
		}
		json_array_foreach(json_object_get(ctl, "evidence"), k, v) {
			char line[4096];

			snprintf(line, sizeof(line), "%s: %s", str(v, "item"), str(v, "value"));
			json_array_append_new(ev, json_pack("{s:o, s:[o]}", "description", jtext(line), "props",
							    prop("source", str(v, "source"))));
		}
		o = json_pack("{s:s, s:o, s:o, s:[s], s:s, s:[o]}", "uuid", ou, "title", jtext(str(ctl, "id")), "description",
			      jtext(dbuf_str(&b)), "methods", "EXAMINE", "collected", str(model, "generated_at"), "props",
			      prop("control", str(ctl, "id")));
		dbuf_free(&b);
		if (json_array_size(ev))
			json_object_set_new(o, "relevant-evidence", ev);
		else
			json_decref(ev);
		if (json_array_size(json_object_get(ctl, "missing"))) {
			dbuf_init(&b, 64 * 1024);
			json_array_foreach(json_object_get(ctl, "missing"), k, v)
				dbuf_printf(&b, "%sno evidence: %s", k ? "\n" : "", json_string_value(v));
			json_object_set_new(o, "remarks", jtext(dbuf_str(&b)));
			dbuf_free(&b);
		}
		json_array_append_new(obs, o);
		if (!strcmp(str(ctl, "status"), "evidenced")) {
			char target[32];

			snprintf(target, sizeof(target), "%s_smt", cid);
			json_array_append_new(findings,
					      json_pack("{s:o, s:o, s:o, s:{s:s, s:s, s:{s:s}}, s:[{s:s}]}", "uuid", juuid(), "title",
							jtext(str(ctl, "title")), "description", jtext(str(ctl, "statement")), "target",
							"type", "statement-id", "target-id", target, "status", "state", "satisfied",
							"related-observations", "observation-uuid", ou));
		}
	}
	/* the audit chains: sequence ranges verified now and the newest checkpoint's hash */
	json_array_foreach(json_object_get(model, "chains"), i, ch) {
		char line[1024];
		json_t *props = json_array();

		if (!json_is_true(json_object_get(ch, "verified"))) {
			snprintf(line, sizeof(line), "audit chain %s: verification FAILED", str(ch, "chain"));
			json_array_append_new(props, prop("audit-chain", str(ch, "chain")));
		} else {
			char n[32];

			snprintf(line, sizeof(line), "audit chain %s: records %lld-%lld verified against the deployment's signing "
				 "keys; newest checkpoint seq %lld at %s, head sha256:%s", str(ch, "chain"),
				 (long long)json_integer_value(json_object_get(ch, "first_seq")),
				 (long long)json_integer_value(json_object_get(ch, "last_seq")),
				 (long long)json_integer_value(json_object_get(ch, "checkpoint_seq")), str(ch, "checkpoint_time"),
				 str(ch, "checkpoint_head"));
			json_array_append_new(props, prop("audit-chain", str(ch, "chain")));
			snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(ch, "first_seq")));
			json_array_append_new(props, prop("audit-first-seq", n));
			snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(ch, "last_seq")));
			json_array_append_new(props, prop("audit-last-seq", n));
			snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(ch, "checkpoint_seq")));
			json_array_append_new(props, prop("checkpoint-seq", n));
			json_array_append_new(props, prop("checkpoint-head-sha256", str(ch, "checkpoint_head")));
		}
		json_array_append_new(props, prop("control", "F9"));
		json_array_append_new(obs, json_pack("{s:o, s:o, s:o, s:[s], s:s, s:o, s:[{s:o}]}", "uuid", juuid(), "title",
						     jtext(str(ch, "chain")), "description", jtext(line), "methods", "TEST",
						     "collected", str(model, "generated_at"), "props", props,
						     "relevant-evidence", "description", jtext(line)));
	}
	if (!json_array_size(findings)) {
		json_decref(findings);
		findings = NULL;
	}
	{
		json_t *result = json_pack("{s:o, s:s, s:s, s:s, s:{s:[{s:o}]}, s:o}", "uuid", juuid(), "title",
					   "kura compliance report", "description",
					   "Evidence read from the running deployment when the statement was generated.", "start",
					   str(model, "generated_at"), "reviewed-controls", "control-selections",
					   "include-controls", selected, "observations", obs);

		if (findings)
			json_object_set_new(result, "findings", findings);
		return json_pack("{s:o, s:o, s:{s:s, s:s}, s:[o]}", "uuid", juuid(), "metadata",
				 metadata(model, "kura assessment results"), "import-ap", "href", "#kura-compliance-report",
				 "remarks", "kura generates the assessment from the live deployment; there is no separate assessment plan.",
				 "results", result);
	}
}

json_t *compliance_oscal(const json_t *model)
{
	return json_pack("{s:o, s:o}", "component-definition", component_definition(model), "assessment-results",
			 assessment_results(model));
}
