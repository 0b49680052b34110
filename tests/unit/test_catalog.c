/*
 * The service catalog (core/catalog.c): the statements' values, the rule for several
 * services (longest retention, shortest erasure deadline with its day-1 flag, union of the
 * channels, the strictest operator access, closed initial state), the [service.CODE]
 * overrides of kura.conf and their strictness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/catalog.h"
#include "core/config.h"

#define IDX(code) ((size_t)catalog_index(code))
#define BIT(code) (1u << catalog_index(code))

static void test_statements(void **state)
{
	const struct catalog_params *mail, *docx, *iaas, *ztna, *collab;

	(void)state;
	catalog_install(NULL);
	mail = catalog_params_of(IDX("MAIL"));
	docx = catalog_params_of(IDX("DOCX"));
	iaas = catalog_params_of(IDX("IAAS"));
	ztna = catalog_params_of(IDX("ZTNA"));
	collab = catalog_params_of(IDX("COLLAB"));
	assert_int_equal(catalog_index("mail"), -1);
	assert_int_equal(catalog_index("FAX"), -1);
	assert_null(catalog_service_at(CATALOG_N_SERVICES));
	/* F4/F9 */
	assert_int_equal(mail->retention[1].days, 90);
	assert_false(mail->retention[1].include_today);
	assert_int_equal(docx->retention[1].days, 90);
	assert_true(docx->retention[1].include_today);
	assert_int_equal(ztna->retention[0].days, 60);
	assert_int_equal(ztna->retention[2].period, CATALOG_PERIOD_CONTRACT);   /* visibility logs */
	assert_int_equal(collab->retention[5].days, 365);
	/* B3 */
	assert_int_equal(mail->erasure_days, 30);
	assert_true(mail->erasure_day1_after);
	assert_int_equal(catalog_erasure_last_day(mail), 30);
	assert_int_equal(docx->erasure_days, 30);
	assert_false(docx->erasure_day1_after);
	assert_int_equal(catalog_erasure_last_day(docx), 29);
	assert_int_equal(ztna->erasure_days, 90);
	assert_true(ztna->erasure_day1_after);
	/* F1, G1 */
	assert_int_equal(mail->change_channels, CATALOG_CH_MANAGERS);
	assert_int_equal(docx->change_channels, CATALOG_CH_PORTAL);
	assert_int_equal(ztna->change_channels, CATALOG_CH_PORTAL | CATALOG_CH_MANAGERS);
	assert_int_equal(collab->change_channels, CATALOG_CH_PORTAL | CATALOG_CH_CONTACTS);
	/* C7, D4 */
	assert_int_equal(iaas->operator_access, CATALOG_ACCESS_NEVER);
	assert_int_equal(docx->operator_access, CATALOG_ACCESS_CONSENT);
	for (int f = 0; f < CATALOG_N_FEATURES; f++) {
		assert_false(iaas->initial_on[f]);
		assert_true(docx->initial_on[f]);
	}
	/* A2: IAAS has one boundary row per product; every text in both languages */
	assert_int_equal(catalog_service_at(IDX("IAAS"))->n_boundary, 3);
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_service *s = catalog_service_at(i);

		assert_true(s->n_boundary >= 1);
		for (size_t k = 0; k < s->n_boundary; k++)
			assert_true(*s->boundary[k].provider_ja && *s->boundary[k].provider_en &&
				    *s->boundary[k].tenant_ja && *s->boundary[k].tenant_en);
	}
	/* options and the data they own */
	assert_non_null(catalog_option_find(IDX("DOCX"), "webdav"));
	assert_int_equal(catalog_option_find(IDX("DOCX"), "webdav")->owns[0], CATALOG_DATA_DAV_PROPERTIES);
	assert_null(catalog_option_find(IDX("MAIL"), "webdav"));
	assert_string_equal(catalog_data_name(CATALOG_DATA_MAIL_LOG), "mail_log");
}

static void test_spans(void **state)
{
	struct catalog_retention with = { CATALOG_PERIOD_DAYS, 90, true }, without = { CATALOG_PERIOD_DAYS, 90, false },
				 contract = { CATALOG_PERIOD_CONTRACT, 0, false };

	(void)state;
	assert_int_equal(catalog_retention_span(&with), 89);
	assert_int_equal(catalog_retention_span(&without), 90);
	assert_true(catalog_retention_span(&contract) > catalog_retention_span(&without));
}

/* the rule (docs/lifecycle.md "Service catalog") */
static void test_several_services(void **state)
{
	struct catalog_params p[CATALOG_N_SERVICES];
	struct catalog_effective e;

	(void)state;
	catalog_defaults(p);
	assert_int_equal(catalog_effective_of(p, 0, &e), -ENOENT);

	/* MAIL (90 days before today) beats DOCX (90 including today) by one day */
	assert_int_equal(catalog_effective_of(p, BIT("MAIL") | BIT("DOCX"), &e), 0);
	assert_int_equal(e.retention[1].days, 90);
	assert_false(e.retention[1].include_today);
	assert_int_equal(e.retention_from[1], catalog_index("MAIL"));
	/* erasure: DOCX's 30 days from the termination day end a day before MAIL's */
	assert_int_equal(e.erasure_days, 30);
	assert_false(e.erasure_day1_after);
	assert_int_equal(e.erasure_from, catalog_index("DOCX"));
	/* channels: the union, each naming its services */
	assert_int_equal(e.change_channels, CATALOG_CH_MANAGERS | CATALOG_CH_PORTAL);
	assert_int_equal(e.change_from[0], BIT("DOCX"));        /* portal */
	assert_int_equal(e.change_from[1], BIT("MAIL"));        /* managers */
	assert_int_equal(e.incident_from[1], BIT("MAIL") | BIT("DOCX"));

	/* ZTNA + COLLAB: the contract period beats a year; a year beats 60 days; erasure 30 < 90 */
	assert_int_equal(catalog_effective_of(p, BIT("ZTNA") | BIT("COLLAB"), &e), 0);
	assert_int_equal(e.retention[2].period, CATALOG_PERIOD_CONTRACT);
	assert_int_equal(e.retention_from[2], catalog_index("ZTNA"));
	assert_int_equal(e.retention[0].days, 365);
	assert_int_equal(e.retention_from[0], catalog_index("COLLAB"));
	assert_int_equal(e.erasure_days, 30);
	assert_int_equal(e.erasure_from, catalog_index("COLLAB"));

	/* the day-1 flag decides between equal day counts: ZTNA set to 30 days after termination
	 * (last day 30) loses to DOCX's 30 days from the termination day (last day 29) */
	p[IDX("ZTNA")].erasure_days = 30;
	assert_int_equal(catalog_effective_of(p, BIT("ZTNA") | BIT("DOCX"), &e), 0);
	assert_int_equal(e.erasure_from, catalog_index("DOCX"));
	/* ... and 29 days after termination (last day 29) ties: the first in catalog order stays */
	p[IDX("ZTNA")].erasure_days = 29;
	assert_int_equal(catalog_effective_of(p, BIT("ZTNA") | BIT("DOCX"), &e), 0);
	assert_int_equal(e.erasure_from, catalog_index("DOCX"));
	p[IDX("ZTNA")].erasure_days = 28;
	assert_int_equal(catalog_effective_of(p, BIT("ZTNA") | BIT("DOCX"), &e), 0);
	assert_int_equal(e.erasure_from, catalog_index("ZTNA"));
	assert_int_equal(e.erasure_days, 28);
	assert_true(e.erasure_day1_after);

	/* IAAS with anything: never accessed, closed initial state, named as the source */
	assert_int_equal(catalog_effective_of(p, BIT("DOCX") | BIT("IAAS"), &e), 0);
	assert_int_equal(e.operator_access, CATALOG_ACCESS_NEVER);
	assert_int_equal(e.access_from, catalog_index("IAAS"));
	for (int f = 0; f < CATALOG_N_FEATURES; f++) {
		assert_false(e.initial_on[f]);
		assert_int_equal(e.initial_from[f], catalog_index("IAAS"));
	}
	assert_int_equal(catalog_effective_of(p, BIT("DOCX"), &e), 0);
	assert_true(e.initial_on[CATALOG_FEATURE_WEBDAV]);

	/* by codes, unknown ones skipped */
	{
		const char *codes[] = { "FAX", "ZTNA" };

		catalog_install(NULL);
		assert_int_equal(catalog_effective(codes, 2, &e), 0);
		assert_int_equal(e.erasure_days, 90);
		assert_int_equal(catalog_effective(codes, 1, &e), -ENOENT);
	}
}

static void test_overrides(void **state)
{
	struct catalog_params p[CATALOG_N_SERVICES];
	struct catalog_effective e;
	const char *codes[] = { "ZTNA" };
	char err[256];

	(void)state;
	catalog_defaults(p);
	assert_int_equal(catalog_set(p, "ZTNA", "erasure_days", "45", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "ZTNA", "erasure_day1", "termination-day", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "ZTNA", "access_retention_days", "400", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "ZTNA", "access_retention_include_today", "yes", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "MAIL", "retention_days", "contract", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "ZTNA", "change_notices", "contacts, portal", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "DOCX", "operator_access", "never", err, sizeof(err)), 0);
	assert_int_equal(catalog_set(p, "DOCX", "initial_webdav", "off", err, sizeof(err)), 0);
	assert_int_equal(p[IDX("ZTNA")].erasure_days, 45);
	assert_false(p[IDX("ZTNA")].erasure_day1_after);
	assert_int_equal(p[IDX("ZTNA")].retention[2].period, CATALOG_PERIOD_DAYS);
	assert_int_equal(p[IDX("ZTNA")].retention[2].days, 400);
	assert_true(p[IDX("ZTNA")].retention[2].include_today);
	assert_int_equal(p[IDX("ZTNA")].retention[1].days, 60);   /* the other categories unchanged */
	for (int c = 0; c < CATALOG_N_CATEGORIES; c++)
		assert_int_equal(p[IDX("MAIL")].retention[c].period, CATALOG_PERIOD_CONTRACT);
	assert_int_equal(p[IDX("ZTNA")].change_channels, CATALOG_CH_CONTACTS | CATALOG_CH_PORTAL);
	assert_int_equal(p[IDX("DOCX")].operator_access, CATALOG_ACCESS_NEVER);
	assert_false(p[IDX("DOCX")].initial_on[CATALOG_FEATURE_WEBDAV]);
	assert_true(p[IDX("DOCX")].initial_on[CATALOG_FEATURE_SHARING]);

	/* installed, they are what the rule uses */
	catalog_install(p);
	assert_int_equal(catalog_effective(codes, 1, &e), 0);
	assert_int_equal(e.erasure_days, 45);
	assert_int_equal(e.retention[2].days, 400);
	catalog_install(NULL);
	assert_int_equal(catalog_effective(codes, 1, &e), 0);
	assert_int_equal(e.erasure_days, 90);

	/* refusals name the section, the key and what is allowed, and change nothing */
	{
		static const struct { const char *code, *key, *value, *says; } bad[] = {
			{ "FAX", "erasure_days", "3", "unknown service [service.FAX]" },
			{ "ztna", "erasure_days", "3", "unknown service" },
			{ "ZTNA", "erasure_dayz", "3", "unknown setting [service.ZTNA] erasure_dayz" },
			{ "ZTNA", "initial_printing", "on", "unknown setting" },
			{ "ZTNA", "chat_retention_days", "3", "unknown setting" },
			{ "ZTNA", "retention_hours", "3", "unknown setting" },
			{ "ZTNA", "erasure_days", "0", "from 1 to 3660" },
			{ "ZTNA", "erasure_days", "3661", "from 1 to 3660" },
			{ "ZTNA", "erasure_days", "30 days", "from 1 to 3660" },
			{ "ZTNA", "erasure_days", "-1", "from 1 to 3660" },
			{ "ZTNA", "operation_retention_days", "forever", "or contract" },
			{ "ZTNA", "retention_include_today", "true", "yes or no" },
			{ "ZTNA", "erasure_day1", "tomorrow", "after-termination or termination-day" },
			{ "ZTNA", "change_notices", "", "one or more of portal, managers, contacts" },
			{ "ZTNA", "change_notices", "portal,portal", "each once" },
			{ "ZTNA", "incident_notices", "portal,", "one or more" },
			{ "ZTNA", "incident_notices", "fax", "one or more" },
			{ "ZTNA", "operator_access", "sometimes", "consent or never" },
			{ "IAAS", "operator_access", "consent", "can only make it stricter" },
			{ "ZTNA", "initial_sharing", "yes", "on or off" },
		};
		struct catalog_params before[CATALOG_N_SERVICES];

		memcpy(before, p, sizeof(before));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			if (catalog_set(p, bad[i].code, bad[i].key, bad[i].value, err, sizeof(err)) >= 0)
				fail_msg("accepted %s %s = %s", bad[i].code, bad[i].key, bad[i].value);
			if (!strstr(err, bad[i].says))
				fail_msg("%s %s = %s: \"%s\" does not say \"%s\"", bad[i].code, bad[i].key, bad[i].value,
					 err, bad[i].says);
		}
		assert_memory_equal(before, p, sizeof(before));
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* kura.conf: [service.CODE] sections, refused at start-up with the file and the line */
static void test_config_sections(void **state)
{
	char dir[] = "/tmp/kura-test-catalog-XXXXXX";
	char path[256], err[512];
	struct config cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	str_printf(path, sizeof(path), "%s/kura.conf", dir);
	assert_int_equal(config_write_default(path), 0);   /* the default file mentions the sections */
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.services[IDX("ZTNA")].erasure_days, 90);

	write_file(path, "[service.ZTNA]\nerasure_days = 60\nretention_days = 120\n[service.IAAS]\n"
			 "initial_webdav = on\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.services[IDX("ZTNA")].erasure_days, 60);
	assert_int_equal(cfg.services[IDX("ZTNA")].retention[2].days, 120);
	assert_int_equal(cfg.services[IDX("ZTNA")].retention[2].period, CATALOG_PERIOD_DAYS);
	assert_true(cfg.services[IDX("IAAS")].initial_on[CATALOG_FEATURE_WEBDAV]);
	assert_false(cfg.services[IDX("IAAS")].initial_on[CATALOG_FEATURE_SHARING]);
	assert_int_equal(cfg.services[IDX("MAIL")].erasure_days, 30);

	write_file(path, "[service.ZTNA]\nerasure_days = 60\nerasure_deadline = 3\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "unknown setting [service.ZTNA] erasure_deadline"));

	write_file(path, "[service.ZTNA]\nerasure_days = ninety\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "[service.ZTNA] erasure_days must be a number of days from 1 to 3660"));

	write_file(path, "[server]\nthreads = 2\n[service.VPN]\nerasure_days = 3\n");
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 4"));
	assert_non_null(strstr(err, "unknown service [service.VPN]"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_several_services),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_config_sections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
