/*
 * The service catalog: one table, services[] below, holds for each service code what its
 * statements promise (../shared/CONTROLS.md A2, B3, C7, D4, F1, F4, F9, G1); docs/lifecycle.md
 * "Service catalog" explains it for operators and tenants.
 *
 * Where a statement leaves a number to another document (IAAS: "as stated on the service's
 * SLO web page"; COLLAB: "per specification") the default is the platform's 30 days with the
 * termination day as day 1 (the shorter reading), for the deployment to set in kura.conf.
 *
 * SECURITY: kura.conf values are parsed strictly (catalog_set): whole numbers in range,
 * fixed words, so a typo is an error at start-up and never a silent default.
 */
#include <stdio.h>

#include "core/catalog.h"

#define ALL_DAYS(n, today) \
	{ { CATALOG_PERIOD_DAYS, n, today }, { CATALOG_PERIOD_DAYS, n, today }, { CATALOG_PERIOD_DAYS, n, today }, \
	  { CATALOG_PERIOD_DAYS, n, today }, { CATALOG_PERIOD_DAYS, n, today }, { CATALOG_PERIOD_DAYS, n, today } }
#define ALL_ON { true, true, true }

static const struct catalog_boundary platform_mail[] = {
	{ "サービス全体", "The whole service",
	  "メール基盤 (サーバー、ストレージ、ネットワーク、配信) の運用、監視、保守", "Running, monitoring and maintaining the mail platform (servers, storage, network, delivery)",
	  "メールボックスに保存したデータ、利用者 ID、設定と管理者の操作", "Data stored in mailboxes, user IDs, settings and what its managers do" },
};
static const struct catalog_boundary platform_docx[] = {
	{ "サービス全体", "The whole service",
	  "ファイル交換基盤 (アプリケーション、サーバー、ストレージ、ネットワーク、保存時の暗号化) の運用、監視、保守", "Running, monitoring and maintaining the file-exchange platform (application, servers, storage, network, encryption at rest)",
	  "保存したファイルとその内容、利用者 ID と権限、共有リンクと設定", "Stored files and their content, user IDs and roles, share links and settings" },
};
static const struct catalog_boundary platform_iaas[] = {
	{ "パブリック / フレキシブルサーバー", "Public and flexible servers",
	  "仮想マシンより下 (ハイパーバイザー、物理サーバー、ストレージ、ネットワーク、設備)", "Everything below the virtual machine (hypervisor, physical servers, storage, network, facilities)",
	  "OS 以上 (OS、ミドルウェア、アプリケーション、データ、設定)", "The OS and everything above it (OS, middleware, applications, data, settings)" },
	{ "物理サーバー", "Physical servers",
	  "物理サーバー、ネットワーク、設備", "Physical servers, network, facilities",
	  "OS 以上 (OS、ミドルウェア、アプリケーション、データ、設定)", "The OS and everything above it (OS, middleware, applications, data, settings)" },
	{ "仮想化基盤 / 専用サーバー", "Virtualization platform and dedicated servers",
	  "ハイパーバイザーより下 (物理サーバー、ストレージ、ネットワーク、設備)", "Everything below the hypervisor (physical servers, storage, network, facilities)",
	  "ハイパーバイザーより上 (仮想マシン、OS、アプリケーション、データ、設定)", "Everything above the hypervisor (virtual machines, OS, applications, data, settings)" },
};
static const struct catalog_boundary platform_ztna[] = {
	{ "サービス全体", "The whole service",
	  "リモートアクセス基盤と可視化ダッシュボードの運用、監視、保守", "Running, monitoring and maintaining the remote-access platform and the visibility dashboard",
	  "管理者・利用者・デバイスグループの登録、アクセスポリシー、端末と証明書の管理", "Registering admins, users and device groups, access policies, managing devices and certificates" },
};
static const struct catalog_boundary platform_collab[] = {
	{ "サービス全体", "The whole service",
	  "連携プラットフォーム (アプリケーション、サーバー、ストレージ、ネットワーク) の運用、監視、保守", "Running, monitoring and maintaining the collaboration platform (application, servers, storage, network)",
	  "登録した記事、ファイル、利用者 ID と権限、設定", "Posted articles and files, user IDs and roles, settings" },
};

static const struct catalog_option options_mail[] = {
	{ "delivery-log", "配信ログ", "Mail delivery log", -1, { CATALOG_DATA_MAIL_LOG }, 1 },
};
static const struct catalog_option options_docx[] = {
	{ "webdav", "WebDAV 接続", "WebDAV access", CATALOG_FEATURE_WEBDAV,
	  { CATALOG_DATA_DAV_PROPERTIES, CATALOG_DATA_DAV_LOCKS, CATALOG_DATA_APP_PASSWORDS }, 3 },
	{ "upload-requests", "アップロード依頼", "Upload requests", -1, { CATALOG_DATA_UPLOAD_LINKS }, 1 },
	{ "client-cert", "クライアント証明書", "Client certificates", -1, { CATALOG_DATA_CLIENT_CERTS }, 1 },
};
static const struct catalog_option options_iaas[] = {
	{ "labels", "ラベル", "Labels", -1, { CATALOG_DATA_LABELS }, 1 },
};
static const struct catalog_option options_ztna[] = {
	{ "client-cert", "デバイス証明書", "Device certificates", -1, { CATALOG_DATA_CLIENT_CERTS }, 1 },
	{ "two-region", "東日本・西日本の 2 リージョン", "Two regions (East and West Japan)", -1, { 0 }, 0 },
};
static const struct catalog_option options_collab[] = {
	{ "client-cert", "クライアント証明書", "Client certificates", -1, { CATALOG_DATA_CLIENT_CERTS }, 1 },
	{ "labels", "ラベル", "Labels", -1, { CATALOG_DATA_LABELS }, 1 },
};

static const struct catalog_service services[CATALOG_N_SERVICES] = {
	{ "MAIL", "メール", "Hosted mail", platform_mail, ARRAY_SIZE(platform_mail), options_mail,
	  ARRAY_SIZE(options_mail),
	  /* F4/F9: delivery and operation logs for the past 90 days; B3: 30 days, day 1 the day after;
	   * F1: changes by mail to managers; G1: incidents by mail */
	  { ALL_DAYS(90, false), 30, true, CATALOG_CH_MANAGERS, CATALOG_CH_MANAGERS, CATALOG_ACCESS_CONSENT,
	    ALL_ON } },
	{ "DOCX", "ファイル交換", "Document exchange", platform_docx, ARRAY_SIZE(platform_docx), options_docx,
	  ARRAY_SIZE(options_docx),
	  /* F4: 90 days including today; B3: at most 30 days; F1: portal; G1: portal and mail */
	  { ALL_DAYS(90, true), 30, false, CATALOG_CH_PORTAL, CATALOG_CH_PORTAL | CATALOG_CH_MANAGERS,
	    CATALOG_ACCESS_CONSENT, ALL_ON } },
	{ "IAAS", "クラウド基盤", "Cloud infrastructure", platform_iaas, ARRAY_SIZE(platform_iaas), options_iaas, ARRAY_SIZE(options_iaas),
	  /* B3: per the SLO page (30 by default); F1: portal; G1: portal and mail; C7: never;
	   * D4: a new contract starts closed */
	  { ALL_DAYS(90, false), 30, false, CATALOG_CH_PORTAL, CATALOG_CH_PORTAL | CATALOG_CH_MANAGERS,
	    CATALOG_ACCESS_NEVER, { false, false, false } } },
	{ "ZTNA", "リモートアクセス", "Remote access", platform_ztna, ARRAY_SIZE(platform_ztna), options_ztna,
	  ARRAY_SIZE(options_ztna),
	  /* F4/F9: activity log 60 days, visibility (access) logs for the contract period;
	   * B3: 90 days, day 1 the day after; F1: both; G1: portal and mail */
	  { { { CATALOG_PERIOD_DAYS, 60, false }, { CATALOG_PERIOD_DAYS, 60, false },
	      { CATALOG_PERIOD_CONTRACT, 0, false }, { CATALOG_PERIOD_DAYS, 60, false },
	      { CATALOG_PERIOD_DAYS, 60, false }, { CATALOG_PERIOD_DAYS, 60, false } },
	    90, true, CATALOG_CH_PORTAL | CATALOG_CH_MANAGERS, CATALOG_CH_PORTAL | CATALOG_CH_MANAGERS,
	    CATALOG_ACCESS_CONSENT, ALL_ON } },
	{ "COLLAB", "多職種連携", "Collaboration", platform_collab, ARRAY_SIZE(platform_collab), options_collab,
	  ARRAY_SIZE(options_collab),
	  /* F4/F9: one year; B3: per specification (30 by default); F1: portal plus mail to the
	   * registered addresses; G1: by mail */
	  { ALL_DAYS(365, false), 30, false, CATALOG_CH_PORTAL | CATALOG_CH_CONTACTS,
	    CATALOG_CH_MANAGERS | CATALOG_CH_CONTACTS, CATALOG_ACCESS_CONSENT, ALL_ON } },
};

static struct catalog_params active[CATALOG_N_SERVICES];
static bool installed;

static const char *const category_names[CATALOG_N_CATEGORIES] = {
	"authentication", "operation", "access", "delivery", "administration", "operator"
};
static const char *const channel_names[CATALOG_N_CHANNELS] = { "portal", "managers", "contacts" };
static const char *const feature_names[CATALOG_N_FEATURES] = { "sharing", "webdav", "app_passwords" };
static const char *const data_names[CATALOG_N_DATA] = {
	"dav_properties", "dav_locks", "app_passwords", "upload_links", "client_certificates",
	"mail_log", "labels"
};

const struct catalog_service *catalog_service_at(size_t i)
{
	return i < CATALOG_N_SERVICES ? &services[i] : NULL;
}

int catalog_index(const char *code)
{
	for (size_t i = 0; code && i < CATALOG_N_SERVICES; i++)
		if (!strcmp(services[i].code, code))
			return (int)i;
	return -1;
}

const struct catalog_params *catalog_params_of(size_t i)
{
	if (i >= CATALOG_N_SERVICES)
		return NULL;
	return installed ? &active[i] : &services[i].defaults;
}

const struct catalog_option *catalog_option_find(size_t service, const char *code)
{
	const struct catalog_service *s = catalog_service_at(service);

	for (size_t i = 0; s && code && i < s->n_options; i++)
		if (!strcmp(s->options[i].code, code))
			return &s->options[i];
	return NULL;
}

void catalog_defaults(struct catalog_params p[CATALOG_N_SERVICES])
{
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
		p[i] = services[i].defaults;
}

void catalog_install(const struct catalog_params p[CATALOG_N_SERVICES])
{
	if (p)
		memcpy(active, p, sizeof(active));
	installed = p != NULL;
}

const char *catalog_category_name(size_t category)
{
	return category < CATALOG_N_CATEGORIES ? category_names[category] : "unknown";
}

const char *catalog_channel_name(unsigned channel_bit)
{
	for (size_t i = 0; i < CATALOG_N_CHANNELS; i++)
		if (channel_bit == 1u << i)
			return channel_names[i];
	return "unknown";
}

const char *catalog_feature_name(size_t feature)
{
	return feature < CATALOG_N_FEATURES ? feature_names[feature] : "unknown";
}

const char *catalog_data_name(enum catalog_data d)
{
	return (unsigned)d < CATALOG_N_DATA ? data_names[d] : "unknown";
}

const char *catalog_access_name(enum catalog_access a)
{
	return a == CATALOG_ACCESS_NEVER ? "never" : "consent";
}

int64_t catalog_retention_span(const struct catalog_retention *r)
{
	if (r->period == CATALOG_PERIOD_CONTRACT)
		return INT64_MAX;
	return r->include_today ? (int64_t)r->days - 1 : (int64_t)r->days;
}

int64_t catalog_erasure_last_day(const struct catalog_params *p)
{
	return p->erasure_day1_after ? (int64_t)p->erasure_days : (int64_t)p->erasure_days - 1;
}

/* ---------------------------------------------------------------- kura.conf */

static int parse_days(const char *value, uint32_t *ret)
{
	uint32_t v;

	if (safe_atou32(value, &v) < 0 || v < 1 || v > CATALOG_DAYS_MAX)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_word(const char *value, const char *yes, const char *no, bool *ret)
{
	if (!strcmp(value, yes))
		*ret = true;
	else if (!strcmp(value, no))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

/* "portal, managers" -> bits; at least one channel, each once. */
static int parse_channels(const char *value, unsigned *ret)
{
	unsigned bits = 0;
	const char *p = value;

	while (*p) {
		size_t n, k, i;

		p += strspn(p, " ");
		n = strcspn(p, ",");
		for (k = n; k > 0 && p[k - 1] == ' '; k--)
			;
		for (i = 0; i < CATALOG_N_CHANNELS; i++)
			if (k == strlen(channel_names[i]) && !strncmp(p, channel_names[i], k))
				break;
		if (i == CATALOG_N_CHANNELS || (bits & (1u << i)))
			return -EINVAL;
		bits |= 1u << i;
		p += n;
		if (*p == ',') {
			p++;
			if (!*p)
				return -EINVAL;
		}
	}
	if (!bits)
		return -EINVAL;
	*ret = bits;
	return 0;
}

/* "<category>_retention_days", "<category>_retention_include_today", or without the
 * category for all six: the category index into ret_cat (-1 for all) and the suffix. */
static const char *retention_key(const char *key, int *ret_cat)
{
	static const char prefix[] = "retention_";

	*ret_cat = -1;
	if (!strncmp(key, prefix, sizeof(prefix) - 1))
		return key + sizeof(prefix) - 1;
	for (int i = 0; i < CATALOG_N_CATEGORIES; i++) {
		size_t n = strlen(category_names[i]);

		if (!strncmp(key, category_names[i], n) && key[n] == '_' &&
		    !strncmp(key + n + 1, prefix, sizeof(prefix) - 1)) {
			*ret_cat = i;
			return key + n + sizeof(prefix);
		}
	}
	return NULL;
}

int catalog_set(struct catalog_params p[CATALOG_N_SERVICES], const char *code, const char *key,
		const char *value, char *err, size_t err_size)
{
	int idx = catalog_index(code), cat, i;
	struct catalog_params *s;
	const char *rest;
	bool b;

	if (idx < 0) {
		str_printf(err, err_size, "unknown service [service.%s]: use MAIL, DOCX, IAAS, ZTNA or COLLAB", code);
		return -ENOENT;
	}
	s = &p[idx];
	if ((rest = retention_key(key, &cat)) != NULL) {
		int lo = cat < 0 ? 0 : cat, hi = cat < 0 ? CATALOG_N_CATEGORIES : cat + 1;

		if (!strcmp(rest, "days")) {
			uint32_t days = 0;
			bool contract = !strcmp(value, "contract");

			if (!contract && parse_days(value, &days) < 0)
				goto bad_days;
			for (i = lo; i < hi; i++) {
				s->retention[i].period = contract ? CATALOG_PERIOD_CONTRACT : CATALOG_PERIOD_DAYS;
				s->retention[i].days = days;
			}
			return 0;
		}
		if (!strcmp(rest, "include_today")) {
			if (parse_word(value, "yes", "no", &b) < 0)
				goto bad_yes_no;
			for (i = lo; i < hi; i++)
				s->retention[i].include_today = b;
			return 0;
		}
		goto unknown;
	}
	if (!strcmp(key, "erasure_days")) {
		if (parse_days(value, &s->erasure_days) < 0) {
			str_printf(err, err_size, "[service.%s] %s must be a number of days from 1 to %d",
				   code, key, CATALOG_DAYS_MAX);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "erasure_day1")) {
		if (parse_word(value, "after-termination", "termination-day", &s->erasure_day1_after) < 0) {
			str_printf(err, err_size, "[service.%s] %s must be after-termination or termination-day",
				   code, key);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "change_notices") || !strcmp(key, "incident_notices")) {
		unsigned *field = key[0] == 'c' ? &s->change_channels : &s->incident_channels;

		if (parse_channels(value, field) < 0) {
			str_printf(err, err_size,
				   "[service.%s] %s must list one or more of portal, managers, contacts (comma-separated, each once)",
				   code, key);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(key, "operator_access")) {
		if (parse_word(value, "never", "consent", &b) < 0) {
			str_printf(err, err_size, "[service.%s] %s must be consent or never", code, key);
			return -EINVAL;
		}
		/* C7: a statement's "never" (IAAS staff have no access at all) is a promise to the
		 * customer; a deployment may make access stricter, never open it (else whoever
		 * edits kura.conf could give operators a way into IAAS tenants' data) */
		if (!b && catalog_service_at((size_t)idx)->defaults.operator_access == CATALOG_ACCESS_NEVER) {
			str_printf(err, err_size,
				   "[service.%s] %s: the service statement says never; a deployment can only make it stricter",
				   code, key);
			return -EINVAL;
		}
		s->operator_access = b ? CATALOG_ACCESS_NEVER : CATALOG_ACCESS_CONSENT;
		return 0;
	}
	if (!strncmp(key, "initial_", 8)) {
		for (i = 0; i < CATALOG_N_FEATURES; i++)
			if (!strcmp(key + 8, feature_names[i]))
				break;
		if (i == CATALOG_N_FEATURES)
			goto unknown;
		if (parse_word(value, "on", "off", &s->initial_on[i]) < 0) {
			str_printf(err, err_size, "[service.%s] %s must be on or off", code, key);
			return -EINVAL;
		}
		return 0;
	}
unknown:
	str_printf(err, err_size,
		   "unknown setting [service.%s] %s (see docs/configuration.md \"[service.CODE]\")", code, key);
	return -EINVAL;
bad_days:
	str_printf(err, err_size, "[service.%s] %s must be a number of days from 1 to %d, or contract",
		   code, key, CATALOG_DAYS_MAX);
	return -EINVAL;
bad_yes_no:
	str_printf(err, err_size, "[service.%s] %s must be yes or no", code, key);
	return -EINVAL;
}

/* ---------------------------------------------------------------- the rule */

int catalog_effective_of(const struct catalog_params p[CATALOG_N_SERVICES], unsigned mask,
			 struct catalog_effective *ret)
{
	struct catalog_effective e;
	bool first = true;
	size_t i, c;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_params *s = &p[i];

		if (!(mask & (1u << i)))
			continue;
		if (first) {
			/* the first service sets every value; later ones replace what they beat */
			memcpy(e.retention, s->retention, sizeof(e.retention));
			for (c = 0; c < CATALOG_N_CATEGORIES; c++)
				e.retention_from[c] = (int)i;
			e.erasure_days = s->erasure_days;
			e.erasure_day1_after = s->erasure_day1_after;
			e.erasure_from = (int)i;
			e.operator_access = s->operator_access;
			e.access_from = (int)i;
			for (c = 0; c < CATALOG_N_FEATURES; c++) {
				e.initial_on[c] = s->initial_on[c];
				e.initial_from[c] = (int)i;
			}
			first = false;
		} else {
			for (c = 0; c < CATALOG_N_CATEGORIES; c++)
				if (catalog_retention_span(&s->retention[c]) > catalog_retention_span(&e.retention[c])) {
					e.retention[c] = s->retention[c];
					e.retention_from[c] = (int)i;
				}
			if (catalog_erasure_last_day(s) < (int64_t)(e.erasure_day1_after ? e.erasure_days : e.erasure_days - 1)) {
				e.erasure_days = s->erasure_days;
				e.erasure_day1_after = s->erasure_day1_after;
				e.erasure_from = (int)i;
			}
			if (s->operator_access == CATALOG_ACCESS_NEVER && e.operator_access != CATALOG_ACCESS_NEVER) {
				e.operator_access = CATALOG_ACCESS_NEVER;
				e.access_from = (int)i;
			}
			for (c = 0; c < CATALOG_N_FEATURES; c++)
				if (!s->initial_on[c] && e.initial_on[c]) {
					e.initial_on[c] = false;
					e.initial_from[c] = (int)i;
				}
		}
		e.change_channels |= s->change_channels;
		e.incident_channels |= s->incident_channels;
		for (c = 0; c < CATALOG_N_CHANNELS; c++) {
			if (s->change_channels & (1u << c))
				e.change_from[c] |= 1u << i;
			if (s->incident_channels & (1u << c))
				e.incident_from[c] |= 1u << i;
		}
	}
	if (first)
		return -ENOENT;
	*ret = e;
	return 0;
}

int catalog_effective(const char *const *codes, size_t n, struct catalog_effective *ret)
{
	struct catalog_params p[CATALOG_N_SERVICES];
	unsigned mask = 0;

	for (size_t i = 0; i < n; i++) {
		int idx = catalog_index(codes[i]);

		if (idx >= 0)
			mask |= 1u << idx;
	}
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
		p[i] = *catalog_params_of(i);
	return catalog_effective_of(p, mask, ret);
}
