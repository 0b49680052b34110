/*
 * The service catalog (A2, A4, B3, C7, D4, F1, F4, F9, G1): for each service code of
 * CONTROLS.md what the service statements promise, as data the code obeys.
 *
 * Two halves. The text half (names, the responsibility boundary, the options and the data
 * each owns) is the statements' wording and lives only in catalog.c. The parameter half
 * (struct catalog_params: retention per audit category, the erasure deadline and its day-1
 * rule, notice channels, operator access, the initial state of a new tenant) starts from the
 * statements' values and can be overridden per deployment in kura.conf ([service.CODE]);
 * serve installs the overridden set once at start-up, before any thread reads it.
 *
 * A tenant with several services gets one rule (docs/lifecycle.md "Service catalog"): per
 * category the longest retention, the shortest erasure deadline, the union of the notice
 * channels, the strictest operator access, and a feature starts off when any service says so.
 * catalog_effective() computes it and names the service each value comes from.
 *
 * Audit categories are indexed as enum audit_category (audit/audit.h asserts the count).
 */
#ifndef KURA_CORE_CATALOG_H
#define KURA_CORE_CATALOG_H
#include "core/core.h"

#define CATALOG_N_SERVICES   5
#define CATALOG_N_CATEGORIES 6
#define CATALOG_DAYS_MAX     3660    /* retention and erasure days: ten years */

/* how long one audit category is kept */
enum catalog_period {
	CATALOG_PERIOD_DAYS,         /* days, see include_today */
	CATALOG_PERIOD_CONTRACT,     /* as long as the contract runs (removed with the tenant) */
};
struct catalog_retention {
	enum catalog_period period;
	uint32_t days;               /* 1..CATALOG_DAYS_MAX when period is DAYS */
	bool include_today;          /* true: today is day 1 of days; false: days before today, and today */
};

/* notice channels (F1 change notices, G1 incident notices), a bit set */
enum {
	CATALOG_CH_PORTAL = 1,       /* shown in the portal */
	CATALOG_CH_MANAGERS = 2,     /* mailed to the tenant's managers */
	CATALOG_CH_CONTACTS = 4,     /* mailed to the contact addresses the tenant registered */
};
#define CATALOG_N_CHANNELS 3

/* may provider staff ever access customer data (C7) */
enum catalog_access {
	CATALOG_ACCESS_CONSENT,      /* only with the tenant's time-boxed approval or a told emergency */
	CATALOG_ACCESS_NEVER,        /* never, not even with consent (IAAS) */
};

/* features whose initial state the catalog sets (D4), in this order */
enum catalog_feature {
	CATALOG_FEATURE_SHARING,       /* share links to outside parties, upload requests */
	CATALOG_FEATURE_WEBDAV,        /* the WebDAV endpoint */
	CATALOG_FEATURE_APP_PASSWORDS, /* app passwords (WebDAV and API clients) */
};
#define CATALOG_N_FEATURES 3

/* What a deployment may override per service. */
struct catalog_params {
	struct catalog_retention retention[CATALOG_N_CATEGORIES];
	uint32_t erasure_days;        /* 1..CATALOG_DAYS_MAX */
	bool erasure_day1_after;      /* true: day 1 is the day after termination; false: the day itself */
	unsigned change_channels;     /* CATALOG_CH_* */
	unsigned incident_channels;
	enum catalog_access operator_access;
	bool initial_on[CATALOG_N_FEATURES];
};

/* One row of the responsibility boundary (A2): for a product (or the whole service) what
 * the provider runs and what the tenant is responsible for. */
struct catalog_boundary {
	const char *scope_ja, *scope_en;
	const char *provider_ja, *provider_en;
	const char *tenant_ja, *tenant_en;
};

/* kinds of tenant data an option owns (its termination erases them, B3) */
enum catalog_data {
	CATALOG_DATA_DAV_PROPERTIES,
	CATALOG_DATA_DAV_LOCKS,
	CATALOG_DATA_APP_PASSWORDS,
	CATALOG_DATA_UPLOAD_LINKS,     /* upload-request links and the uploads in progress */
	CATALOG_DATA_CLIENT_CERTS,     /* the tenant's client-certificate issuer, CAs, bindings */
	CATALOG_DATA_MAIL_LOG,         /* the mail delivery log */
	CATALOG_DATA_LABELS,           /* labels on files, folders and shares */
};
#define CATALOG_N_DATA 7
#define CATALOG_OPTION_DATA_MAX 4

struct catalog_option {
	const char *code;              /* as given to tenant create --option */
	const char *name_ja, *name_en;
	int feature;                   /* enum catalog_feature it switches, -1 none */
	enum catalog_data owns[CATALOG_OPTION_DATA_MAX];
	size_t n_owns;
};

struct catalog_service {
	const char *code;
	const char *name_ja, *name_en;
	const struct catalog_boundary *boundary;
	size_t n_boundary;
	const struct catalog_option *options;
	size_t n_options;
	struct catalog_params defaults;   /* the statements' values */
};

/* The service at index i (0..CATALOG_N_SERVICES), or NULL. */
const struct catalog_service *catalog_service_at(size_t i);
/* Its index, -1 when code names no service. */
int catalog_index(const char *code);
/* The parameters in force (defaults, or what catalog_install set). */
const struct catalog_params *catalog_params_of(size_t i);
/* The option of that service, or NULL. */
const struct catalog_option *catalog_option_find(size_t service, const char *code);

/* Fills p[CATALOG_N_SERVICES] with the statements' values. */
void catalog_defaults(struct catalog_params p[CATALOG_N_SERVICES]);
/* One kura.conf key of [service.CODE] into p (a full set from catalog_defaults): -ENOENT when
 * CODE names no service, -EINVAL for an unknown key or a bad value; err says which and what is
 * allowed. */
int catalog_set(struct catalog_params p[CATALOG_N_SERVICES], const char *code, const char *key,
		const char *value, char *err, size_t err_size) KURA_WUR;
/* Makes p the parameters in force (serve start-up, before threads). NULL: the defaults. */
void catalog_install(const struct catalog_params p[CATALOG_N_SERVICES]);

/* names */
const char *catalog_category_name(size_t category);        /* "authentication" ... */
const char *catalog_channel_name(unsigned channel_bit);    /* "portal", "managers", "contacts" */
const char *catalog_feature_name(size_t feature);          /* "sharing", "webdav", "app_passwords" */
const char *catalog_data_name(enum catalog_data d);        /* "dav_properties" ... */
const char *catalog_access_name(enum catalog_access a);    /* "consent", "never" */

/* The kept span of a retention in whole days before today (today is always kept):
 * days - 1 with include_today, days without; INT64_MAX for the contract period. */
int64_t catalog_retention_span(const struct catalog_retention *r);
/* The last day of erasure counted from the termination day (day 0): erasure_days when day 1
 * is the day after, erasure_days - 1 when day 1 is the termination day itself. */
int64_t catalog_erasure_last_day(const struct catalog_params *p);

/* The rule for a tenant with several services. Each value names the index of the service
 * it comes from (the first in catalog order on a tie). */
struct catalog_effective {
	struct catalog_retention retention[CATALOG_N_CATEGORIES];
	int retention_from[CATALOG_N_CATEGORIES];
	uint32_t erasure_days;
	bool erasure_day1_after;
	int erasure_from;
	unsigned change_channels, incident_channels;
	unsigned change_from[CATALOG_N_CHANNELS];     /* per channel bit: a bit set of service indexes */
	unsigned incident_from[CATALOG_N_CHANNELS];
	enum catalog_access operator_access;
	int access_from;
	bool initial_on[CATALOG_N_FEATURES];
	int initial_from[CATALOG_N_FEATURES];
};
/* Over the services named by codes[0..n) (unknown codes are skipped); -ENOENT when none is
 * known (ret untouched). */
int catalog_effective(const char *const *codes, size_t n, struct catalog_effective *ret) KURA_WUR;
/* The same over the parameter sets p[i] for the services of mask (bit i = index i), for tests
 * and for callers that hold their own parameters. */
int catalog_effective_of(const struct catalog_params p[CATALOG_N_SERVICES], unsigned mask,
			 struct catalog_effective *ret) KURA_WUR;
#endif
