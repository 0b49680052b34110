/*
 * The statement's model (compliance.h): the control rows in kura's own words (ja and en;
 * never the standard's text) and, per row, the evidence read now from the deployment.
 *
 * Each evidence item names what it is, its value and where the value was read (the
 * configuration key in force, the service catalog, a table, the audit chain verified at
 * this moment), so an auditor can read the same place (docs/compliance.md). A claim the
 * running system cannot show goes into the row's "missing" list instead, and a row with no
 * evidence at all has status "none". Counts only, never a tenant's content (C7).
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "auth/access.h"
#include "auth/auth.h"
#include "auth/mfa.h"
#include "compliance/compliance.h"
#include "compliance/compliance_int.h"
#include "core/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/dbuf.h"
#include "core/limits.h"
#include "crypto/filecrypt.h"
#include "store/db.h"
#include "tenant/tenant.h"

/* ---------------------------------------------------------------- run-time environment */

static struct {
	bool installed;
	struct config cfg;
	bool tls;
	bool seccomp;
	char cert_key[64];     /* "RSA 2048" / "ECDSA 256", "" unknown */
	char tls_priorities[1024];   /* the GnuTLS priority string of the public listener */
	json_t *libraries;
} env;

void compliance_install(const struct config *cfg, bool tls, const char *tls_cert_pem, const char *tls_priorities,
			json_t *libraries)
{
	gnutls_x509_crt_t crt;

	json_decref(env.libraries);
	memset(&env, 0, sizeof(env));
	env.cfg = *cfg;
	/* secrets stay out of everything the statement shows */
	sodium_memzero(env.cfg.smtp_password, sizeof(env.cfg.smtp_password));
	env.tls = tls;
	env.libraries = libraries;
	str_copy(env.tls_priorities, sizeof(env.tls_priorities), tls_priorities ? tls_priorities : "");
	if (tls && tls_cert_pem && gnutls_x509_crt_init(&crt) == 0) {
		gnutls_datum_t d = { (unsigned char *)(uintptr_t)tls_cert_pem, (unsigned)strlen(tls_cert_pem) };
		unsigned bits = 0;

		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) == 0) {
			int alg = gnutls_x509_crt_get_pk_algorithm(crt, &bits);

			if (alg >= 0)
				str_printf(env.cert_key, sizeof(env.cert_key), "%s %u",
					   gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)alg), bits);
		}
		gnutls_x509_crt_deinit(crt);
	}
	env.installed = true;
}

void compliance_set_sandbox(bool seccomp)
{
	env.seccomp = seccomp;
}

void compliance_uninstall(void)
{
	json_decref(env.libraries);
	memset(&env, 0, sizeof(env));
}

const struct config *compliance_config(void)
{
	return env.installed ? &env.cfg : NULL;
}

/* ---------------------------------------------------------------- the control rows */

struct control_text {
	const char *id, *clause;
	const char *title_ja, *title_en;
	const char *stmt_ja, *stmt_en;
};

/* kura's own wording of what each row promises (CONTROLS.md, the "kura requirement"). */
static const struct control_text controls[] = {
	{ "A1", "5.1.1", "クラウドサービスの情報セキュリティ方針", "Information security policy of the cloud service",
	  "設計段階からの基本的なセキュリティ、内部不正、テナント分離、運用者のアクセス制限、変更の通知、アカウント管理、"
	  "事故の通知と調査支援などの考慮事項を、本書の各項目で実際の設定と証跡により示します。",
	  "Each consideration (baseline security by design, insider risk, tenant isolation, restricted operator access, "
	  "change notices, account lifecycle, incident notice and investigation support) maps to a row of this "
	  "statement, shown with the live settings and evidence." },
	{ "A2", "6.1.1, CLD.6.3.1, 15.1.2", "責任分界点", "Responsibility boundary",
	  "サービスごと(製品ごと)に、事業者が運用する範囲と利用者(テナント)が責任を持つ範囲を機械可読な表として定め、"
	  "ポータルと本書に示します。",
	  "A machine-readable matrix per service (and per product) of what the provider runs and what the tenant is "
	  "responsible for, shown in the portal and in this statement." },
	{ "A3", "6.1.3, 18.1.1", "事業者の所在地・連絡先・データの所在", "Provider, contact desk and data location",
	  "事業者名、所在地、問合せ窓口、データの保管場所、管轄裁判所を設定として持ち、本書とポータルに示します。"
	  "テナントは問合せ窓口担当者を登録し、メールアドレスを確認します。",
	  "The provider's name, address, contact desk, data locations and jurisdiction are deployment settings shown "
	  "here and in the portal; tenants register contact persons with confirmed addresses." },
	{ "A4", "8.2.2", "契約サービスとオプション", "Contracted services and options",
	  "テナントはサービスコードとオプションで契約内容を持ち、ポータルで一覧できます。",
	  "Tenants hold subscriptions (service code and options), listed in the portal." },
	{ "A5", "14.1.1, 18.2.1", "要求事項の文書化と独立したレビュー", "Documented requirements and independent review",
	  "本書は稼働中の設定から生成され、各記述に証跡を付けます。監査人向けに署名付き証跡パッケージを出力できます。"
	  "取得している認証は事業者が設定として宣言します。",
	  "This statement is generated from the running configuration with evidence for each claim; a signed "
	  "evidence bundle is exported for auditors. Certifications held are declared by the provider as settings." },
	{ "A6", "14.2.1, 15.1.3, 18.1.2", "リリース管理・供給者・知的財産", "Releases, supply chain, intellectual property",
	  "構成部品(ソフトウェア部品表)と依存ライブラリの版を示します。テナントのデータと設定はテナントの管理下にあります。",
	  "The software bill of materials and dependency versions are shown; the tenant's data and settings stay under "
	  "the tenant's control." },
	{ "B1", "8.1.1", "利用者資産と運用情報の分離", "Customer assets separated from provider data",
	  "テナントのデータはテナントごとの鍵で暗号化され、事業者の運用情報とは別に保管されます。",
	  "Tenant data is encrypted under per-tenant keys and stored apart from the provider's operational data." },
	{ "B2", "8.2.2", "ラベル付け", "Labelling",
	  "テナントはファイル、フォルダ、共有にラベルを付け、ラベルで絞り込めます。",
	  "Tenants label files, folders and shares and filter by label." },
	{ "B3", "CLD.8.1.5", "契約終了後の資産の削除", "Removal of customer assets after termination",
	  "契約終了によりサービスごとの期限内の消去が予定され、テナント鍵の破棄(暗号学的消去)の後にデータを削除し、"
	  "署名付きの消去証明書を発行・保管します。",
	  "Termination schedules erasure within each service's deadline: the tenant keys are destroyed first "
	  "(crypto-erase), then the data, and a signed erasure certificate is issued and kept." },
	{ "B4", "11.2.7", "装置の再利用・廃棄", "Reuse and disposal of equipment",
	  "保存されるテナントのデータはすべて暗号化されているため、廃棄される媒体には暗号文のみが残ります。",
	  "All tenant data at rest is encrypted, so disposed media hold only ciphertext." },
	{ "C1", "9.2.1", "利用者の登録・削除", "User registration and removal",
	  "運用管理担当者が利用者を招待、停止、削除し、すべての変更を記録します。",
	  "Managers invite, suspend and delete users; every change is recorded." },
	{ "C2", "9.2.2", "権限の管理", "Access rights management",
	  "役割に基づく権限表で利用者の権限を定め、役割の変更を記録します。",
	  "Role-based permissions from a documented matrix; role changes are recorded." },
	{ "C3", "9.2.3", "管理者の認証", "Authentication of administrators",
	  "送信元IPアドレスの制限、役割ごとの多要素認証(TOTP、WebAuthn/FIDO2)、クライアント証明書、"
	  "一定回数の失敗によるアカウントロックを提供します。",
	  "Source-IP allowlists, multi-factor authentication per role (TOTP, WebAuthn/FIDO2), client certificates, "
	  "and account lockout after repeated failures." },
	{ "C4", "9.2.4", "パスワードの管理", "Password management",
	  "招待と再設定は期限付き・一回限りのリンクで行い、パスワードはArgon2idのハッシュとしてのみ保存します。",
	  "Invitations and resets use single-use expiring links; passwords are stored only as Argon2id hashes." },
	{ "C5", "9.4.1", "アクセスの制限", "Access restriction",
	  "すべての要求を一か所で認可し、既定では拒否します。",
	  "Every request is authorized at one choke point; deny by default." },
	{ "C6", "9.4.4", "特権的なユーティリティ", "Privileged utilities",
	  "運用者のコマンドは利用者と同じ認可と記録の経路を通り、迂回する手段はありません。",
	  "Operator commands pass through the same authorization and audit paths; there is no bypass." },
	{ "C7", "15.1.1", "運用者による顧客データへのアクセス", "Operator access to customer data",
	  "運用者がテナントのデータにアクセスするには、テナントの承認(期限付き)か、テナントへ直ちに通知される緊急アクセスが必要です。"
	  "アクセスしないことを約束するサービスでは常に拒否します。",
	  "Operator access to a tenant's data needs the tenant's time-boxed approval, or an emergency access the "
	  "tenant is told about at once; services that promise no access refuse it always." },
	{ "D1", "CLD.9.5.1, 13.1.3", "ネットワークとテナントの分離", "Network and tenant segregation",
	  "公開の待受けと管理用の待受けを分け、すべてのデータアクセスをテナント単位に限定します。",
	  "Public and management listeners are separate, and every data access is scoped to one tenant." },
	{ "D2", "CLD.9.5.2", "サーバーの堅牢化", "Hardening of the server",
	  "最小限の待受け、特権の放棄、システムコールの制限(seccomp)、堅牢化したsystemdユニット、kura doctorによる点検。",
	  "Minimal listeners, dropped privileges, a system-call allowlist (seccomp), a hardened systemd unit, "
	  "checks by kura doctor." },
	{ "D3", "9.1.2, CLD.13.1.4", "ネットワークの管理", "Network management",
	  "配置の構成を文書化し、クライアントIPを信頼するプロキシを設定で限定します。",
	  "The deployment topology is documented; the proxies trusted for the client address are a setting." },
	{ "D4", "13.1.3", "契約開始時の初期状態", "Initial state of a new contract",
	  "新しいテナントは、外部共有、WebDAV、アプリパスワードをサービスの既定に従い無効の状態で開始します。",
	  "New tenants start closed: outside sharing, WebDAV and app passwords off as each service sets." },
	{ "E1", "10.1.1", "暗号による保護", "Cryptographic protection",
	  "通信はTLS 1.2以上(1.3を優先)、保存データは認証付き暗号で暗号化し、暗号文ごとにアルゴリズムを記録します。",
	  "TLS 1.2 or later (1.3 preferred) for all traffic; tenant content encrypted at rest with AEAD, the "
	  "algorithm recorded with every ciphertext." },
	{ "E2", "10.1.2", "鍵管理", "Key management",
	  "マスター鍵、テナント鍵、ファイル鍵の階層で鍵を管理し、停止せずに鍵を更新できます。",
	  "A key hierarchy master → tenant → file, rotated without downtime; key events are recorded." },
	{ "E3", "18.1.5", "暗号の規制", "Regulation of cryptography",
	  "使用する暗号アルゴリズム、鍵長、用途、ライブラリとその版を一覧として示します。",
	  "The inventory of algorithms, key sizes, their uses, and the libraries with their versions." },
	{ "F1", "12.1.2", "変更の通知", "Change notices",
	  "変更・保守・障害のお知らせを、サービスごとの経路(ポータル、管理者へのメール、登録された連絡先)で届けます。",
	  "Change, maintenance and incident announcements reach the affected tenants through each service's "
	  "channels (portal, mail to managers, registered contacts)." },
	{ "F2", "12.1.3", "容量・資源の管理", "Capacity management",
	  "テナントごとの容量と使用量を管理し、メトリクスと閾値による警告で監視します。",
	  "Per-tenant quotas and usage; metrics and capacity alerts." },
	{ "F3", "12.3.1", "バックアップ", "Backup",
	  "事業者はプラットフォームの状態をバックアップします。テナントは自らのデータとログをエクスポートできます。",
	  "The provider backs up the platform state; tenants export their own data and logs." },
	{ "F4", "12.4.1, CLD.12.4.5", "イベントログ", "Event logging",
	  "認証、操作、アクセス、配信、管理、運用者の区分でログを記録し、サービスごとの期間保持して、管理者が検索・ダウンロードできます。",
	  "Events by category (authentication, operation, access, delivery, administration, operator), kept per "
	  "service, searchable and downloadable by managers." },
	{ "F5", "12.4.3", "運用者の作業記録", "Operator logs",
	  "運用者の操作を記録し、テナントに関わる記録はそのテナントから見えます。",
	  "Operator actions are recorded; those touching a tenant are visible to that tenant." },
	{ "F6", "12.4.4", "時刻同期", "Clock synchronisation",
	  "時刻はUTC(マイクロ秒)で記録し、テナントのタイムゾーンで表示します。時刻同期の状態を報告します。",
	  "Times are stored in UTC with microseconds and shown in the tenant's zone; the clock's synchronisation "
	  "state is reported." },
	{ "F7", "12.6.1", "技術的脆弱性の管理", "Technical vulnerabilities",
	  "ソフトウェア部品表と依存関係の版を示し、更新の手順を文書化し、脆弱性のお知らせを配信します。",
	  "Software bill of materials and dependency versions; a documented patch procedure; vulnerability "
	  "notices as announcements." },
	{ "F8", "CLD.12.1.5", "運用手順", "Operating procedures",
	  "運用手順書を備え、破壊的な操作には確認を求め、可能な限り取り消せるようにします。",
	  "An operations manual; destructive operations are confirmed and, where possible, reversible." },
	{ "F9", "18.1.3", "記録の保護", "Protection of records",
	  "記録はハッシュチェーンと署名付きチェックポイントで改ざんを検知でき、テナント自身がオフラインで検証できます。",
	  "Records are tamper-evident (a hash chain with signed checkpoints) and tenants verify their own logs "
	  "offline." },
	{ "G1", "16.1.1", "事故の報告", "Incident reporting",
	  "影響を受けるテナント、状況、経過を持つ事故の記録を、サービスごとの経路で通知します。",
	  "Incident records with the affected tenants, status and timeline, notified through each service's "
	  "channels." },
	{ "G2", "16.1.2", "事象の報告", "Event reports",
	  "テナントは事象を報告し、事業者と双方向でやり取りでき、すべてのメッセージが記録されます。",
	  "Tenants file event reports and talk with the provider in a thread; every message is recorded." },
	{ "G3", "16.1.7", "証拠の収集", "Collection of evidence",
	  "期間を指定した署名付きの自己検証可能なログのエクスポートを提供します。",
	  "A signed, self-verifying log export for a time range." },
	{ "W1", "-", "ブラウザによるファイル交換", "Exchange by web browser",
	  "ポータルでのアップロード、ダウンロード、フォルダ、ラベル、ごみ箱。",
	  "Upload and download in the portal, folders, labels, trash." },
	{ "W2", "-", "WebDAVによるファイル交換", "Exchange by WebDAV",
	  "WebDAV(RFC 4918 クラス1・2)とアプリパスワード。多要素認証は迂回されません。",
	  "WebDAV (RFC 4918 class 1 and 2) with app passwords, so MFA is not bypassed." },
	{ "W3", "-", "メールによるファイル交換", "Exchange by mail",
	  "パスワード、有効期限、ダウンロード回数付きの共有リンクをメールで送り、アクセスをすべて記録します。",
	  "Share links by mail with password, expiry and download limit; every access recorded." },
	{ "W4", "-", "お知らせ(COLLAB)", "Collaboration notices (COLLAB)",
	  "管理者が利用者にお知らせを掲示し、誰がいつ読んだかを確認できます。",
	  "Managers post notices to users and see who read what and when." },
	{ "W5", "-", "メール配信ログ(MAIL)", "Mail delivery log (MAIL)",
	  "kuraが送るすべてのメールの配信記録をテナントに示します。",
	  "The delivery log of every mail kura sends, visible to the tenant." },
};

const char *const compliance_groups[][3] = {
	{ "A", "方針、組織、責任", "Policy, organization, responsibility" },
	{ "B", "資産、ラベル、削除", "Assets, labelling, removal" },
	{ "C", "アクセス制御", "Access control" },
	{ "D", "分離と堅牢化", "Segregation and hardening" },
	{ "E", "暗号", "Cryptography" },
	{ "F", "運用", "Operations" },
	{ "G", "事故と証拠", "Incidents and evidence" },
	{ "W", "業務機能:安全なファイル交換", "Workload: secure file exchange" },
	{ NULL, NULL, NULL },
};

/* ---------------------------------------------------------------- building */

struct ctx {
	struct db *db;
	bool ja;
	bool tenant_mode;
	struct tenant t;
	unsigned services;          /* bit i: catalog index i is in scope */
	json_t *control;            /* the row being filled */
	json_t *chains;             /* model "chains" */
	int err;
};

#define L(c_, j_, e_) ((c_)->ja ? (j_) : (e_))

static void item(struct ctx *c, const char *label, const char *source, const char *fmt, ...) KURA_PRINTF(4, 5);
static void item(struct ctx *c, const char *label, const char *source, const char *fmt, ...)
{
	char value[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(c->control, "evidence"),
			      json_pack("{s:s, s:s, s:s}", "item", label, "value", value, "source", source));
}

static void missing(struct ctx *c, const char *ja, const char *en)
{
	json_array_append_new(json_object_get(c->control, "missing"), json_string(L(c, ja, en)));
}

#define COUNT_NOT_HERE (-2)   /* the row has no such count in this mode ("" as its SQL) */

/* One integer from a query with the tenant as $1 (deployment mode: sql_all, no parameter).
 * -1 on errors. */
static int64_t count(struct ctx *c, const char *sql_tenant, const char *sql_all)
{
	const char *sql = c->tenant_mode ? sql_tenant : sql_all;
	struct db_stmt *st;
	int64_t n = -1;

	if (!sql[0])
		return COUNT_NOT_HERE;
	st = c->tenant_mode ? db_query(c->db, sql, "i", c->t.id) : db_query(c->db, sql, "");
	if (!st)
		return -1;
	if (db_step(st) > 0)
		n = db_int(st, 0);
	db_done(st);
	return n;
}

static void count_item(struct ctx *c, const char *label, const char *source, const char *sql_tenant,
		       const char *sql_all)
{
	int64_t n = count(c, sql_tenant, sql_all);

	if (n == COUNT_NOT_HERE)
		return;
	if (n >= 0)
		item(c, label, source, "%lld", (long long)n);
	else
		missing(c, "件数を読み取れませんでした", "the count could not be read");
}

static const char *onoff(struct ctx *c, bool on)
{
	return on ? L(c, "有効", "on") : L(c, "無効", "off");
}

static const char *svc_name(struct ctx *c, const struct catalog_service *s)
{
	return L(c, s->name_ja, s->name_en);
}

static void no_runtime(struct ctx *c)
{
	missing(c, "稼働中の kura serve の情報がありません(kura serve から生成してください)",
		"no information from a running kura serve (generate the statement through kura serve)");
}

static void days_text(struct ctx *c, const struct catalog_retention *r, char *buf, size_t size)
{
	if (r->period == CATALOG_PERIOD_CONTRACT)
		str_copy(buf, size, L(c, "契約期間中", "the contract period"));
	else
		str_printf(buf, size, L(c, "%u日(%s)", "%u days (%s)"), r->days,
			   r->include_today ? L(c, "当日を含む", "including today") : L(c, "当日を含まない", "not counting today"));
}

static void channels_text(struct ctx *c, unsigned ch, char *buf, size_t size)
{
	static const char *const ja[] = { "ポータル", "管理者へのメール", "登録された連絡先へのメール" };
	static const char *const en[] = { "portal", "mail to managers", "mail to registered contacts" };
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < CATALOG_N_CHANNELS; i++)
		if (ch & (1u << i)) {
			str_printf(buf + n, size - n, "%s%s", n ? L(c, "、", ", ") : "", L(c, ja[i], en[i]));
			n = strlen(buf);
		}
	if (!n)
		str_copy(buf, size, L(c, "なし", "none"));
}

/* ---- per row ---- */

static void ev_A1(struct ctx *c)
{
	/* the mapping: consideration -> rows; the rows' own status is the evidence */
	static const char *const map[][3] = {
		{ "設計段階からの基本的なセキュリティ", "baseline security in design", "D2, E1, E3" },
		{ "内部不正のリスク", "insider risk", "C6, C7, F5" },
		{ "テナントの分離", "multi-tenant isolation", "B1, D1" },
		{ "運用者のアクセス制限", "restricted provider access", "C7" },
		{ "管理者アクセスの統制", "controlled administrative access", "C3, C6" },
		{ "変更の通知", "change notices", "F1" },
		{ "仮想化のリスク", "virtualization risks", "A2, D3" },
		{ "顧客データへのアクセスの保護", "protected access to customer data", "C5, E1" },
		{ "アカウントのライフサイクル", "account lifecycle", "C1, C4" },
		{ "事故の通知と調査の支援", "breach notice, investigation and forensics", "G1, G2, G3" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		item(c, L(c, map[i][0], map[i][1]), L(c, "本書の対応表", "this statement's mapping"),
		     L(c, "項目 %s", "rows %s"), map[i][2]);
}

static void ev_A2(struct ctx *c)
{
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_service *s = catalog_service_at(i);

		if (!(c->services & (1u << i)))
			continue;
		for (size_t k = 0; k < s->n_boundary; k++) {
			const struct catalog_boundary *b = &s->boundary[k];
			char label[256];

			str_printf(label, sizeof(label), "%s — %s", svc_name(c, s), L(c, b->scope_ja, b->scope_en));
			item(c, label, L(c, "サービスカタログ", "service catalog"), L(c, "事業者: %s / テナント: %s", "provider: %s / tenant: %s"),
			     L(c, b->provider_ja, b->provider_en), L(c, b->tenant_ja, b->tenant_en));
		}
	}
}

static void ev_A3(struct ctx *c)
{
	const struct config *cfg = compliance_config();
	static const struct {
		const char *ja, *en, *key;
		size_t off;
	} keys[] = {
		{ "事業者名", "provider", "name", offsetof(struct config, provider_name) },
		{ "所在地", "address", "address", offsetof(struct config, provider_address) },
		{ "問合せ窓口", "contact desk", "contact", offsetof(struct config, provider_contact) },
		{ "データの所在", "data location", "data_location", offsetof(struct config, data_location) },
		{ "管轄裁判所", "jurisdiction", "jurisdiction", offsetof(struct config, jurisdiction) },
	};

	if (!cfg) {
		no_runtime(c);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			const char *v = (const char *)cfg + keys[i].off;
			char src[64];

			str_printf(src, sizeof(src), "kura.conf [provider] %s", keys[i].key);
			if (v[0]) {
				item(c, L(c, keys[i].ja, keys[i].en), src, "%s", v);
			} else {
				char ja[256], en[256];

				str_printf(ja, sizeof(ja), "%sが設定されていません(%s)", keys[i].ja, src);
				str_printf(en, sizeof(en), "no %s is set (%s)", keys[i].en, src);
				missing(c, ja, en);
			}
		}
	}
	if (c->tenant_mode)
		count_item(c, L(c, "確認済みの問合せ窓口担当者", "confirmed contact persons"), "contacts",
			   "SELECT COUNT(*) FROM contacts WHERE tenant_id = $1 AND confirmed_us IS NOT NULL", "");
}

static void ev_A4(struct ctx *c)
{
	if (c->tenant_mode) {
		json_t *tj = tenant_json(c->db, &c->t), *v;
		size_t i;
		struct dbuf b;

		dbuf_init(&b, 4096);
		json_array_foreach(json_object_get(tj, "services"), i, v)
			dbuf_printf(&b, "%s%s", i ? ", " : "", json_string_value(v));
		item(c, L(c, "サービスコード", "service codes"), "tenant_services", "%s", dbuf_str(&b));
		dbuf_reset(&b);
		json_array_foreach(json_object_get(tj, "options"), i, v)
			dbuf_printf(&b, "%s%s", i ? ", " : "", json_string_value(v));
		item(c, L(c, "オプション", "options"), "tenant_options", "%s", dbuf_len(&b) ? dbuf_str(&b) : L(c, "なし", "none"));
		dbuf_free(&b);
		json_decref(tj);
	} else {
		count_item(c, L(c, "契約(テナント)数", "contracts (tenants)"), "tenants", "", "SELECT COUNT(*) FROM tenants");
	}
}

static void ev_A5(struct ctx *c)
{
	char now[CLOCK_RFC3339_LEN];

	clock_format_utc(clock_now_us(), now, sizeof(now));
	item(c, L(c, "本書の生成", "this statement generated"), "kura compliance report", "%s (kura %s)", now, KURA_VERSION);
	missing(c, "取得している認証(ISMS、プライバシーマーク等)を宣言する設定がありません",
		"the deployment declares no certifications (there is no setting for them yet)");
}

static void libraries_items(struct ctx *c)
{
	json_t *v;
	size_t i;

	if (!env.libraries) {
		no_runtime(c);
		return;
	}
	json_array_foreach(env.libraries, i, v) {
		const char *run = json_string_value(json_object_get(v, "running"));
		const char *comp = json_string_value(json_object_get(v, "compiled"));

		item(c, json_string_value(json_object_get(v, "name")), "kura version --deps", "%s — %s",
		     run && run[0] ? run : comp && comp[0] ? comp : "?", json_string_value(json_object_get(v, "use")));
	}
}

static void ev_A6(struct ctx *c)
{
	item(c, "kura", "kura version", "%s", KURA_VERSION);
	libraries_items(c);
	missing(c, "リリース前のリスク評価と供給者の管理は事業者の手順であり、稼働中のシステムからは示せません",
		"risk assessment before release and supplier management are the provider's procedures; the running "
		"system cannot show them");
}

static void ev_B1(struct ctx *c)
{
	count_item(c, L(c, "テナント鍵(版)", "tenant keys (versions)"), "tenant_keys",
		   "SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1", "SELECT COUNT(*) FROM tenant_keys");
	if (c->tenant_mode) {
		count_item(c, L(c, "アカウント", "accounts"), "accounts", "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1", "");
		count_item(c, L(c, "ファイルとフォルダ", "files and folders"), "file_nodes",
			   "SELECT COUNT(*) FROM file_nodes WHERE tenant_id = $1", "");
		count_item(c, L(c, "共有リンク", "share links"), "shares", "SELECT COUNT(*) FROM shares WHERE tenant_id = $1", "");
		count_item(c, L(c, "ログの記録数", "log records"), "audit_events",
			   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1", "");
	}
}

static void ev_B2(struct ctx *c)
{
	count_item(c, L(c, "ラベル付きのファイル・フォルダ", "labels on files and folders"), "file_labels",
		   "SELECT COUNT(*) FROM file_labels WHERE tenant_id = $1", "SELECT COUNT(*) FROM file_labels");
}

static void ev_B3(struct ctx *c)
{
	struct db_stmt *st;
	int n = 0;

	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_params *p = catalog_params_of(i);

		if (!(c->services & (1u << i)))
			continue;
		item(c, svc_name(c, catalog_service_at(i)), L(c, "サービスカタログ(kura.conf [service.CODE] erasure_days, erasure_day1)", "service catalog (kura.conf [service.CODE] erasure_days, erasure_day1)"),
		     L(c, "契約終了から%u日以内に消去(%s)", "erased within %u days of termination (%s)"), p->erasure_days,
		     p->erasure_day1_after ? L(c, "終了日の翌日を1日目とする", "the day after the end is day 1")
					   : L(c, "終了日を1日目とする", "the end day is day 1"));
	}
	if (c->tenant_mode) {
		const char *codes[CATALOG_N_SERVICES];
		size_t nc = 0;
		struct catalog_effective e;

		for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
			if (c->services & (1u << i))
				codes[nc++] = catalog_service_at(i)->code;
		if (catalog_effective(codes, nc, &e) == 0)
			item(c, L(c, "この契約に適用される消去期限", "erasure deadline in force for this contract"),
			     L(c, "サービスカタログ(最も短い期限)", "service catalog (the shortest deadline)"),
			     L(c, "%u日(%s による)", "%u days (from %s)"), e.erasure_days,
			     e.erasure_from >= 0 ? catalog_service_at((size_t)e.erasure_from)->code : "?");
		st = db_query(c->db, "SELECT state, end_day FROM tenant_terminations WHERE tenant_id = $1", "i", c->t.id);
		if (db_step(st) > 0)
			item(c, L(c, "契約終了", "termination"), "tenant_terminations", "%s (%s)", db_text(st, 0), db_text(st, 1));
		else
			item(c, L(c, "契約終了", "termination"), "tenant_terminations", "%s", L(c, "予定なし", "none scheduled"));
		db_done(st);
	}
	/* certificates issued: each named by its tenant and the SHA-256 of the signed file */
	st = c->tenant_mode ? db_query(c->db, "SELECT t.code, tt.finished_us, tt.certificate FROM tenant_terminations tt"
					     " JOIN tenants t ON t.id = tt.tenant_id WHERE tt.tenant_id = $1"
					     " AND tt.certificate IS NOT NULL", "i", c->t.id)
			    : db_query(c->db, "SELECT t.code, tt.finished_us, tt.certificate FROM tenant_terminations tt"
					     " JOIN tenants t ON t.id = tt.tenant_id WHERE tt.certificate IS NOT NULL"
					     " ORDER BY tt.finished_us LIMIT $1", "i", (int64_t)KURA_COMPLIANCE_CERTS_MAX);
	while (db_step(st) > 0) {
		const char *cert = db_text(st, 2);
		unsigned char h[32];
		char hex[65], when[CLOCK_RFC3339_LEN] = "";

		crypto_hash_sha256(h, (const unsigned char *)cert, strlen(cert));
		hex_encode(h, sizeof(h), hex);
		if (!db_is_null(st, 1))
			clock_format_utc(db_int(st, 1), when, sizeof(when));
		item(c, L(c, "消去証明書", "erasure certificate"), "tenant_terminations.certificate",
		     "%s %s sha256:%s", db_text(st, 0), when, hex);
		n++;
	}
	db_done(st);
	if (!n)
		item(c, L(c, "発行済みの消去証明書", "erasure certificates issued"), "tenant_terminations", "0");
	count_item(c, L(c, "消去済みのオプション", "options erased"), "option_terminations",
		   "SELECT COUNT(*) FROM option_terminations WHERE tenant_id = $1 AND state = 'erased'",
		   "SELECT COUNT(*) FROM option_terminations WHERE state = 'erased'");
}

static void ev_B4(struct ctx *c)
{
	item(c, L(c, "保存データの暗号", "encryption at rest"), L(c, "この環境のCPU(AES-NI)", "this machine's CPU (AES-NI)"), "%s",
	     filecrypt_alg_name(filecrypt_default_alg()));
	missing(c, "媒体の廃棄記録は事業者の手順であり、稼働中のシステムからは示せません",
		"records of media disposal are the provider's procedure; the running system cannot show them");
}

static void ev_C1(struct ctx *c)
{
	static const char *const st_names[] = { "active", "invited", "suspended" };
	for (size_t i = 0; i < ARRAY_SIZE(st_names); i++) {
		char sqlt[160], sqla[160], label[64];

		str_printf(sqlt, sizeof(sqlt), "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND status = '%s'", st_names[i]);
		str_printf(sqla, sizeof(sqla), "SELECT COUNT(*) FROM accounts WHERE status = '%s'", st_names[i]);
		str_printf(label, sizeof(label), L(c, "アカウント(%s)", "accounts (%s)"), st_names[i]);
		count_item(c, label, "accounts", sqlt, sqla);
	}
	count_item(c, L(c, "アカウントの変更の記録", "records of account changes"), "audit_events",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND action LIKE 'account.%'",
		   "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'account.%'");
}

static void ev_C2(struct ctx *c)
{
	count_item(c, L(c, "運用管理担当者", "managers"), "accounts",
		   "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND role = 'manager' AND status = 'active'",
		   "SELECT COUNT(*) FROM accounts WHERE role = 'manager' AND status = 'active'");
	count_item(c, L(c, "利用者", "users"), "accounts",
		   "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND role = 'user' AND status = 'active'",
		   "SELECT COUNT(*) FROM accounts WHERE role = 'user' AND status = 'active'");
	item(c, L(c, "権限表", "permission matrix"), "docs/permissions.md", "%s",
	     L(c, "役割 manager と user(権限は文書化)", "roles manager and user (documented permissions)"));
}

static const char *mfa_word(struct ctx *c, enum mfa_requirement r)
{
	return r == MFA_REQUIRED ? L(c, "必須", "required") : r == MFA_OPTIONAL ? L(c, "任意", "optional") : L(c, "使わない", "off");
}

#define MFA_MANAGERS_SQL                                                                               \
	"SELECT COUNT(*) FROM accounts a WHERE a.role = 'manager' AND a.status = 'active' AND (EXISTS"  \
	" (SELECT 1 FROM mfa_totp m WHERE m.account_id = a.id AND m.confirmed_us IS NOT NULL) OR EXISTS" \
	" (SELECT 1 FROM webauthn_credentials w WHERE w.account_id = a.id))"

static void ev_C3(struct ctx *c)
{
	const struct config *cfg = compliance_config();
	struct lockout_policy lp;
	struct mfa_policy mp;
	struct allowlist *al;

	if (!cfg) {
		no_runtime(c);
		return;
	}
	lp = (struct lockout_policy){ cfg->lockout_threshold, cfg->lockout_window_s, cfg->lockout_duration_s };
	item(c, L(c, "アカウントロック(既定)", "lockout (deployment default)"),
	     "kura.conf [security] lockout_threshold, lockout_window_seconds, lockout_duration_seconds",
	     L(c, "%u回失敗(%u秒以内)で%u秒ロック", "%u failures within %u s lock for %u s"), lp.threshold, lp.window_s,
	     lp.duration_s);
	item(c, L(c, "管理者の多要素認証(既定)", "MFA for managers (deployment default)"),
	     "kura.conf [security] mfa_managers_default", "%s",
	     !strcmp(cfg->mfa_managers_default, "required") ? L(c, "必須", "required") : L(c, "任意", "optional"));
	if (!c->tenant_mode) {
		count_item(c, L(c, "IPアドレス制限を使うテナント", "tenants with an IP allowlist"), "tenant_ip_ranges", "",
			   "SELECT COUNT(DISTINCT tenant_id) FROM tenant_ip_ranges");
		count_item(c, L(c, "第二要素を持つ管理者(全テナント)", "managers with a second factor (all tenants)"),
			   "accounts, mfa_totp, webauthn_credentials", "", MFA_MANAGERS_SQL);
		count_item(c, L(c, "クライアント証明書を求めるテナント", "tenants requiring client certificates"),
			   "tenant_client_certs", "", "SELECT COUNT(*) FROM tenant_client_certs WHERE policy <> 'off'");
		return;
	}
	if (lockout_policy_get(c->db, c->t.id, &lp) == 0)
		item(c, L(c, "アカウントロック(この契約)", "lockout (this contract)"), "tenant_security + kura.conf [security]",
		     L(c, "%u回失敗(%u秒以内)で%u秒ロック", "%u failures within %u s lock for %u s"), lp.threshold,
		     lp.window_s, lp.duration_s);
	if (mfa_policy_get(c->db, c->t.id, &mp) == 0) {
		item(c, L(c, "多要素認証: 運用管理担当者", "MFA: managers"), mp.is_default ? "kura.conf [security]" : "mfa_policies",
		     "%s", mfa_word(c, mp.managers));
		item(c, L(c, "多要素認証: 利用者", "MFA: users"), mp.is_default ? "kura.conf [security]" : "mfa_policies",
		     "%s", mfa_word(c, mp.users));
	}
	{
		int64_t with = count(c, MFA_MANAGERS_SQL " AND a.tenant_id = $1", "");
		int64_t all = count(c, "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND role = 'manager' AND status = 'active'", "");

		if (with >= 0 && all >= 0)
			item(c, L(c, "第二要素を持つ運用管理担当者", "managers with a second factor"),
			     "accounts, mfa_totp, webauthn_credentials", "%lld / %lld", (long long)with, (long long)all);
	}
	al = malloc(sizeof(*al));
	if (al && allowlist_get(c->db, c->t.id, al) == 0) {
		struct dbuf b;

		dbuf_init(&b, 8192);
		for (size_t i = 0; i < al->n; i++) {
			char net[64];

			ipnet_format(&al->ranges[i], net, sizeof(net));
			dbuf_printf(&b, "%s%s", i ? ", " : "", net);
		}
		if (al->n)
			item(c, L(c, "送信元IPアドレス制限", "source-IP allowlist"), "tenant_ip_ranges", "%s (%s)", dbuf_str(&b),
			     al->apply_to_all ? L(c, "全員に適用", "applies to everyone") : L(c, "管理者に適用", "applies to managers"));
		else
			item(c, L(c, "送信元IPアドレス制限", "source-IP allowlist"), "tenant_ip_ranges", "%s",
			     L(c, "設定なし(どこからでも接続可)", "none (open to every address)"));
		dbuf_free(&b);
	}
	free(al);
	{
		struct db_stmt *st = db_query(c->db, "SELECT policy FROM tenant_client_certs WHERE tenant_id = $1", "i", c->t.id);

		const char *pol = db_step(st) > 0 ? db_text(st, 0) : "off";

		item(c, L(c, "クライアント証明書", "client certificates"), "tenant_client_certs", "%s",
		     !strcmp(pol, "all") ? L(c, "全員に必須", "required of everyone")
		     : !strcmp(pol, "managers") ? L(c, "管理者に必須", "required of managers") : L(c, "使わない", "off"));
		db_done(st);
	}
}

static void ev_C4(struct ctx *c)
{
	const struct config *cfg = compliance_config();

	if (!cfg) {
		no_runtime(c);
		return;
	}
	item(c, L(c, "パスワードのハッシュ", "password hashing"), "kura.conf [security] pwhash_ops, pwhash_mem_kib",
	     "Argon2id, ops %u, %u KiB", cfg->pwhash_ops, cfg->pwhash_mem_kib);
	item(c, L(c, "招待リンクの有効期間", "invitation lifetime"), "kura.conf [security] invitation_ttl_seconds", "%u s",
	     cfg->invitation_ttl_s);
	count_item(c, L(c, "ハッシュ以外で保存されたパスワード", "passwords stored other than as Argon2id"), "accounts",
		   "SELECT COUNT(*) FROM accounts WHERE tenant_id = $1 AND password_hash IS NOT NULL AND password_hash NOT LIKE '$argon2id$%'",
		   "SELECT COUNT(*) FROM accounts WHERE password_hash IS NOT NULL AND password_hash NOT LIKE '$argon2id$%'");
}

static void ev_C5(struct ctx *c)
{
	count_item(c, L(c, "拒否された要求の記録", "denied requests recorded"), "audit_events (result denied)",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND result = 'denied'",
		   "SELECT COUNT(*) FROM audit_events WHERE result = 'denied'");
	missing(c, "認可が一か所で行われることはコードと試験(test_routes_crosstenant)で確認するもので、稼働中のシステムからは示せません",
		"that authorization happens at one choke point is checked by the code and the tests "
		"(test_routes_crosstenant); the running system cannot show it");
}

static void ev_C6(struct ctx *c)
{
	count_item(c, L(c, "運用者の操作の記録", "operator actions recorded"), "audit_events (category operator)",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND category = 'operator'",
		   "SELECT COUNT(*) FROM audit_events WHERE category = 'operator'");
	missing(c, "迂回手段がないことは設計と試験で確認するもので、稼働中のシステムからは示せません",
		"the absence of a bypass is a property of the design and its tests; the running system cannot show it");
}

static void ev_C7(struct ctx *c)
{
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
		if (c->services & (1u << i))
			item(c, svc_name(c, catalog_service_at(i)), L(c, "サービスカタログ(operator_access)", "service catalog (operator_access)"),
			     "%s", catalog_params_of(i)->operator_access == CATALOG_ACCESS_NEVER
					   ? L(c, "運用者のアクセスは常に拒否", "operator access always refused")
					   : L(c, "テナントの承認または通知される緊急アクセスのみ", "only with the tenant's approval or a told emergency"));
	count_item(c, L(c, "運用者のアクセス要求", "operator access requests"), "access_requests",
		   "SELECT COUNT(*) FROM access_requests WHERE tenant_id = $1", "SELECT COUNT(*) FROM access_requests");
	count_item(c, L(c, "うち緊急アクセス", "of which emergency"), "access_requests",
		   "SELECT COUNT(*) FROM access_requests WHERE tenant_id = $1 AND emergency = 1",
		   "SELECT COUNT(*) FROM access_requests WHERE emergency = 1");
}

static void ev_D1(struct ctx *c)
{
	const struct config *cfg = compliance_config();

	if (!cfg) {
		no_runtime(c);
		return;
	}
	item(c, L(c, "公開の待受け", "public listener"), "kura.conf [server] listen", "%s", cfg->listen);
	item(c, L(c, "管理の待受け", "management listener"), "kura serve", "%s",
	     L(c, "データディレクトリ内の UNIX ソケット admin.sock(所有者のみ)", "the unix socket admin.sock in the data directory (owner only)"));
	item(c, L(c, "メトリクス", "metrics"), "kura.conf [server] metrics_listen", "%s",
	     cfg->metrics_listen[0] ? cfg->metrics_listen : L(c, "無効", "off"));
	missing(c, "すべてのエンドポイントのテナント分離は試験(test_routes_crosstenant)で確認します",
		"tenant scoping of every endpoint is checked by the tests (test_routes_crosstenant), not by the running system");
}

static void ev_D2(struct ctx *c)
{
	const struct config *cfg = compliance_config();

	if (!cfg) {
		no_runtime(c);
		return;
	}
	item(c, L(c, "システムコールの制限", "system-call allowlist"), "kura serve (kura.conf [server] syscall_filter)", "%s",
	     onoff(c, env.seccomp));
	item(c, L(c, "実行ユーザー", "running as"), "kura serve", "uid %u%s", (unsigned)geteuid(),
	     geteuid() == 0 ? L(c, "(root: 特権を放棄していません)", " (root: privileges not dropped)") : "");
	missing(c, "systemd ユニットの堅牢化とその評価は配置の手順であり、kura doctor と systemd-analyze で確認します",
		"the hardened systemd unit and its rating are part of the deployment; check them with kura doctor and "
		"systemd-analyze security");
}

static void ev_D3(struct ctx *c)
{
	const struct config *cfg = compliance_config();

	if (!cfg) {
		no_runtime(c);
		return;
	}
	item(c, L(c, "信頼するプロキシ", "trusted proxies"), "kura.conf [server] trusted_proxies", "%s",
	     cfg->trusted_proxies[0] ? cfg->trusted_proxies : L(c, "なし(接続元をそのまま使用)", "none (the TCP peer is the client)"));
	missing(c, "配置の構成図は事業者の文書であり、稼働中のシステムからは示せません",
		"the topology diagram is the provider's document; the running system cannot show it");
}

static void ev_D4(struct ctx *c)
{
	static const char *const ja[] = { "外部共有", "WebDAV", "アプリパスワード" };
	static const char *const en[] = { "outside sharing", "WebDAV", "app passwords" };

	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		const struct catalog_params *p = catalog_params_of(i);
		char v[256];

		if (!(c->services & (1u << i)))
			continue;
		str_printf(v, sizeof(v), "%s %s, %s %s, %s %s", L(c, ja[0], en[0]), onoff(c, p->initial_on[0]), L(c, ja[1], en[1]),
			   onoff(c, p->initial_on[1]), L(c, ja[2], en[2]), onoff(c, p->initial_on[2]));
		item(c, svc_name(c, catalog_service_at(i)), L(c, "サービスカタログ(初期状態)", "service catalog (initial state)"), "%s", v);
	}
	if (c->tenant_mode) {
		struct db_stmt *st = db_query(c->db, "SELECT sharing, webdav, app_passwords FROM tenant_features WHERE tenant_id = $1",
					      "i", c->t.id);

		if (db_step(st) > 0)
			item(c, L(c, "この契約の現在の状態", "this contract now"), "tenant_features", "%s %s, %s %s, %s %s",
			     L(c, ja[0], en[0]), onoff(c, db_int(st, 0)), L(c, ja[1], en[1]), onoff(c, db_int(st, 1)),
			     L(c, ja[2], en[2]), onoff(c, db_int(st, 2)));
		db_done(st);
	}
}

/* The cipher suites the TLS priority string in force allows, named by GnuTLS. */
static void tls_items(struct ctx *c, const char *priorities)
{
	gnutls_priority_t prio;
	struct dbuf b;
	const char *name;
	unsigned idx;
	unsigned char id[2];

	if (gnutls_priority_init(&prio, priorities, NULL) < 0) {
		missing(c, "TLSの設定を読み取れませんでした", "the TLS priorities could not be read");
		return;
	}
	dbuf_init(&b, 8192);
	for (unsigned i = 0; gnutls_priority_get_cipher_suite_index(prio, i, &idx) != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE; i++) {
		gnutls_protocol_t ver;

		if (idx == (unsigned)GNUTLS_E_UNKNOWN_CIPHER_SUITE)
			continue;
		name = gnutls_cipher_suite_info(idx, id, NULL, NULL, NULL, &ver);
		if (name)
			dbuf_printf(&b, "%s%s", dbuf_len(&b) ? ", " : "", name);
	}
	gnutls_priority_deinit(prio);
	item(c, L(c, "TLSの版", "TLS versions"), L(c, "GnuTLS の優先順位文字列(公開の待受け)", "GnuTLS priority string of the public listener"), "%s",
	     strstr(priorities, "+VERS-TLS1.3") && strstr(priorities, "+VERS-TLS1.2") && strstr(priorities, "-VERS-ALL")
		     ? "TLS 1.3, TLS 1.2" : priorities);
	item(c, L(c, "暗号スイート", "cipher suites"), L(c, "GnuTLS が上の優先順位から導いた一覧", "as GnuTLS derives them from that priority string"), "%s", dbuf_str(&b));
	dbuf_free(&b);
}

static void ev_E1(struct ctx *c)
{
	if (!env.installed) {
		no_runtime(c);
	} else if (!env.tls) {
		item(c, L(c, "公開の待受けのTLS", "TLS on the public listener"), "kura serve --no-tls", "%s", onoff(c, false));
		missing(c, "このサーバーはTLSなしで動いています(TLSは前段のプロキシで終端していると事業者が宣言する必要があります)",
			"this server runs without TLS (a proxy in front must terminate it; the provider must declare that)");
	} else {
		tls_items(c, env.tls_priorities);
		if (env.cert_key[0])
			item(c, L(c, "サーバー証明書の鍵", "server certificate key"), "kura.conf [server] tls_cert", "%s", env.cert_key);
	}
	item(c, L(c, "保存データの暗号", "content at rest"), "src/crypto/filecrypt.c", "%s, %s",
	     filecrypt_alg_name(filecrypt_default_alg()), L(c, "64 KiB ごとの認証付き暗号", "AEAD per 64 KiB chunk"));
}

static void ev_E2(struct ctx *c)
{
	struct db_stmt *st = c->tenant_mode
				     ? db_query(c->db, "SELECT MAX(version), MAX(created_us) FROM tenant_keys WHERE tenant_id = $1", "i", c->t.id)
				     : db_query(c->db, "SELECT COUNT(*), MIN(created_us) FROM tenant_keys", "");

	item(c, L(c, "鍵の階層", "key hierarchy"), "src/crypto/keyring.c", "%s",
	     L(c, "マスター鍵 → テナント鍵 → ファイル鍵(XChaCha20-Poly1305 で包む)", "master → tenant → file (wrapped with XChaCha20-Poly1305)"));
	if (db_step(st) > 0 && !db_is_null(st, 1)) {
		char when[CLOCK_RFC3339_LEN];

		clock_format_utc(db_int(st, 1), when, sizeof(when));
		if (c->tenant_mode)
			item(c, L(c, "現在のテナント鍵", "current tenant key"), "tenant_keys", L(c, "版 %lld(%s 作成)", "version %lld (created %s)"),
			     (long long)db_int(st, 0), when);
		else
			item(c, L(c, "テナント鍵", "tenant keys"), "tenant_keys", L(c, "%lld(最古 %s)", "%lld (oldest %s)"),
			     (long long)db_int(st, 0), when);
	}
	db_done(st);
	missing(c, "外部の鍵保管(PKCS#11)はまだ提供していません", "an external key source (PKCS#11) is not offered yet");
}

static const struct {
	const char *alg, *bits, *use_ja, *use_en, *lib;
} inventory[] = {
	{ "TLS 1.3 / 1.2 (ECDHE, AES-GCM, ChaCha20-Poly1305)", "128/256", "公開の待受けの通信", "public listener traffic", "gnutls" },
	{ "AES-256-GCM / XChaCha20-Poly1305", "256", "ファイル内容(64 KiB ごと)", "file content (per 64 KiB chunk)", "libsodium" },
	{ "XChaCha20-Poly1305", "256", "テナント鍵・ファイル鍵の包装、送信待ちメールの封緘", "wrapping tenant and file keys, sealing queued mail", "libsodium" },
	{ "Argon2id", "-", "パスワードのハッシュ", "password hashes", "libsodium" },
	{ "SHA-256", "256", "監査ログのハッシュチェーン、トークンのハッシュ", "audit hash chain, token hashes", "libsodium" },
	{ "Ed25519", "256", "監査チェックポイント、エクスポート、消去証明書、証跡パッケージの署名", "signatures of audit checkpoints, exports, erasure certificates, evidence bundles", "libsodium" },
	{ "HMAC-SHA-1 (TOTP, RFC 6238)", "160", "ワンタイムパスワード", "one-time passwords", "oath-toolkit" },
	{ "ECDSA P-256 / Ed25519 (WebAuthn)", "256", "FIDO2 認証器の署名の検証", "checking FIDO2 authenticator signatures", "libfido2" },
	{ "CSPRNG (randombytes)", "256", "セッション・リンク・招待のトークン", "session, link and invitation tokens", "libsodium" },
};

static void ev_E3(struct ctx *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(inventory); i++) {
		const char *ver = NULL;
		json_t *v;
		size_t k;

		json_array_foreach(env.libraries, k, v) {
			const char *name = json_string_value(json_object_get(v, "name"));

			if (name && !strcmp(name, inventory[i].lib)) {
				ver = json_string_value(json_object_get(v, "running"));
				if (!ver || !ver[0])
					ver = json_string_value(json_object_get(v, "compiled"));
			}
		}
		item(c, inventory[i].alg, L(c, "暗号の一覧(src/compliance)と kura version --deps", "crypto inventory (src/compliance) and kura version --deps"),
		     L(c, "鍵長 %s ビット、%s、%s %s", "%s-bit keys, %s, %s %s"), inventory[i].bits, L(c, inventory[i].use_ja, inventory[i].use_en),
		     inventory[i].lib, ver ? ver : L(c, "(版不明)", "(version unknown)"));
	}
	if (!env.libraries)
		no_runtime(c);
	missing(c, "輸出管理上の分類(ECCN 等)を宣言する設定がありません。使用するのは公開されたオープンソースのライブラリのみです",
		"there is no setting that declares an export-control classification (ECCN); only publicly available "
		"open-source libraries are used");
}

static void ev_F1(struct ctx *c)
{
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		char ch[256];

		if (!(c->services & (1u << i)))
			continue;
		channels_text(c, catalog_params_of(i)->change_channels, ch, sizeof(ch));
		item(c, svc_name(c, catalog_service_at(i)), L(c, "サービスカタログ(change_notices)", "service catalog (change_notices)"), "%s", ch);
	}
	count_item(c, L(c, "届いたお知らせ", "announcements delivered"), "announcement_tenants",
		   "SELECT COUNT(*) FROM announcement_tenants WHERE tenant_id = $1", "SELECT COUNT(*) FROM announcements");
}

static void ev_F2(struct ctx *c)
{
	const struct config *cfg = compliance_config();

	if (c->tenant_mode) {
		struct db_stmt *st = db_query(c->db, "SELECT quota_bytes, used_bytes FROM file_quotas WHERE tenant_id = $1", "i", c->t.id);

		if (db_step(st) > 0)
			item(c, L(c, "容量と使用量", "quota and use"), "file_quotas", "%lld / %lld bytes", (long long)db_int(st, 1),
			     (long long)db_int(st, 0));
		else
			item(c, L(c, "容量", "quota"), "file_quotas", "%s", L(c, "上限なし", "no quota set"));
		db_done(st);
	}
	if (!cfg) {
		no_runtime(c);
		return;
	}
	item(c, L(c, "容量の警告", "capacity alerts"), "kura.conf [ops]", L(c, "ディスク %u%%、容量 %u%%、送信待ち %u 通", "disk %u%%, quota %u%%, outbox %u mails"),
	     cfg->disk_alert_percent, cfg->quota_alert_percent, cfg->outbox_alert_backlog);
}

static void ev_F3(struct ctx *c)
{
	missing(c, "プラットフォームのバックアップの時刻はこのサーバーからは見えません(kura doctor がバックアップの古さを点検します)",
		"the time of the last platform backup is not visible to this server (kura doctor checks the backup age)");
	count_item(c, L(c, "テナントのエクスポートの記録", "tenant exports recorded"), "audit_events",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND action = 'data.export'",
		   "SELECT COUNT(*) FROM audit_events WHERE action = 'data.export'");
}

static void ev_F4(struct ctx *c)
{
	for (size_t k = 0; k < CATALOG_N_CATEGORIES; k++) {
		char label[128], v[128], src[128];

		if (c->tenant_mode) {
			const char *codes[CATALOG_N_SERVICES];
			size_t nc = 0;
			struct catalog_effective e;

			for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
				if (c->services & (1u << i))
					codes[nc++] = catalog_service_at(i)->code;
			if (catalog_effective(codes, nc, &e) < 0)
				continue;
			days_text(c, &e.retention[k], v, sizeof(v));
			str_printf(src, sizeof(src), L(c, "サービスカタログ(%s による)", "service catalog (from %s)"),
				   e.retention_from[k] >= 0 ? catalog_service_at((size_t)e.retention_from[k])->code : "?");
			str_printf(label, sizeof(label), L(c, "保持期間: %s", "retention: %s"), catalog_category_name(k));
			item(c, label, src, "%s", v);
		} else {
			for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
				days_text(c, &catalog_params_of(i)->retention[k], v, sizeof(v));
				str_printf(label, sizeof(label), "%s — %s", catalog_service_at(i)->code, catalog_category_name(k));
				item(c, label, L(c, "サービスカタログ", "service catalog"), "%s", v);
			}
		}
	}
}

static void ev_F5(struct ctx *c)
{
	count_item(c, L(c, "テナントに関わる運用者の記録", "operator records touching the tenant"), "audit_events (category operator)",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND category = 'operator'",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id IS NULL");
}

static void ev_F6(struct ctx *c)
{
	struct clock_sync s;

	if (clock_sync_state(&s) == 0)
		item(c, L(c, "時刻同期", "clock synchronisation"), L(c, "カーネル(adjtimex)", "the kernel (adjtimex)"),
		     L(c, "%s、推定誤差 %lld µs、最大誤差 %lld µs", "%s, estimated error %lld µs, maximum error %lld µs"),
		     s.synchronized ? L(c, "同期済み", "synchronised") : L(c, "未同期", "NOT synchronised"), (long long)s.est_error_us,
		     (long long)s.max_error_us);
	else
		missing(c, "時刻同期の状態を読み取れませんでした", "the clock's state could not be read");
	item(c, L(c, "時刻の記録", "stored times"), "audit_events.time_us", "%s", L(c, "UTC、マイクロ秒", "UTC, microseconds"));
	if (c->tenant_mode)
		item(c, L(c, "表示のタイムゾーン", "display zone"), "tenants.zone", "%s", c->t.zone);
	missing(c, "時刻源(NTPサーバー)の名前はカーネルから読めず、設定もありません",
		"the name of the time source (NTP server) cannot be read from the kernel and has no setting");
}

static void ev_F7(struct ctx *c)
{
	item(c, "kura", "kura version", "%s", KURA_VERSION);
	libraries_items(c);
	item(c, L(c, "更新の手順", "patch procedure"), "docs/operations.md", "%s", L(c, "文書化済み", "documented"));
}

static void ev_F8(struct ctx *c)
{
	item(c, L(c, "運用手順書", "operations manual"), "docs/operations.md", "%s", L(c, "文書化済み", "documented"));
	missing(c, "手順が守られていることは稼働中のシステムからは示せません",
		"that the procedures are followed cannot be shown by the running system");
}

/* The chain's newest checkpoint, verified now from the oldest kept one. */
static void chain_item(struct ctx *c, int64_t tenant, const char *code)
{
	unsigned char keys[16][AUDIT_KEY_BYTES];
	size_t n_keys = 0;
	struct audit_verify_result vr;
	struct db_stmt *st;
	char label[128], when[CLOCK_RFC3339_LEN] = "", head[65] = "";
	int64_t cp_seq = 0;
	int r;

	str_printf(label, sizeof(label), L(c, "監査チェーン %s", "audit chain %s"), code);
	if (audit_keys_list(c->db, keys, ARRAY_SIZE(keys), &n_keys) < 0 || n_keys == 0) {
		missing(c, "署名鍵が登録されていないためチェーンを検証できません", "no signing key is registered: the chain cannot be verified");
		return;
	}
	r = audit_verify_db_keys(c->db, tenant, (const unsigned char (*)[AUDIT_KEY_BYTES])keys, n_keys, &vr);
	st = db_query(c->db, "SELECT seq, head, time_us FROM audit_checkpoints WHERE tenant = $1 ORDER BY seq DESC LIMIT 1", "i", tenant);
	if (db_step(st) > 0) {
		size_t hn = 0;
		const void *h = db_blob(st, 1, &hn);

		cp_seq = db_int(st, 0);
		if (h && hn == 32)
			hex_encode(h, 32, head);
		clock_format_utc(db_int(st, 2), when, sizeof(when));
	}
	db_done(st);
	if (r < 0 || !vr.ok) {
		item(c, label, L(c, "今の検証(kura audit verify と同じ)", "verified now (as kura audit verify)"),
		     L(c, "検証に失敗: %s", "verification FAILED: %s"), r < 0 ? strerror(-r) : vr.reason);
		json_array_append_new(c->chains, json_pack("{s:s, s:b}", "chain", code, "verified", 0));
		return;
	}
	if (!cp_seq) {
		char ja[256], en[256];

		str_printf(ja, sizeof(ja), "監査チェーン %s にはまだ署名付きチェックポイントがありません(次の定期処理で作成されます)", code);
		str_printf(en, sizeof(en), "audit chain %s has no signed checkpoint yet (the next round makes one)", code);
		missing(c, ja, en);
		return;
	}
	item(c, label, L(c, "今の検証(kura audit verify と同じ)", "verified now (as kura audit verify)"),
	     L(c, "記録 %lld〜%lld を検証、最新のチェックポイント seq %lld(%s)head sha256:%s",
	       "records %lld-%lld verified; newest checkpoint seq %lld (%s) head sha256:%s"),
	     (long long)vr.first_seq, (long long)vr.last_seq, (long long)cp_seq, when, head);
	json_array_append_new(c->chains, json_pack("{s:s, s:b, s:I, s:I, s:I, s:s, s:s}", "chain", code, "verified", 1,
						   "first_seq", (json_int_t)vr.first_seq, "last_seq", (json_int_t)vr.last_seq,
						   "checkpoint_seq", (json_int_t)cp_seq, "checkpoint_head", head,
						   "checkpoint_time", when));
}

static void ev_F9(struct ctx *c)
{
	if (c->tenant_mode) {
		chain_item(c, c->t.id, c->t.code);
		return;
	}
	chain_item(c, 0, L(c, "(事業者)", "(provider)"));
	{
		struct db_stmt *st = db_query(c->db, "SELECT id, code FROM tenants ORDER BY id LIMIT $1", "i",
					      (int64_t)KURA_COMPLIANCE_CHAINS_MAX);
		struct chain_ref {
			int64_t id;
			char code[KURA_TENANT_CODE_MAX + 1];
		} *refs = calloc(KURA_COMPLIANCE_CHAINS_MAX, sizeof(*refs));
		size_t n = 0;

		/* read the list first: verification runs its own queries */
		while (refs && n < KURA_COMPLIANCE_CHAINS_MAX && db_step(st) > 0) {
			refs[n].id = db_int(st, 0);
			str_copy(refs[n].code, sizeof(refs[n].code), db_text(st, 1));
			n++;
		}
		db_done(st);
		if (!refs)
			missing(c, "メモリ不足で検証できませんでした", "out of memory: the chains were not verified");
		for (size_t i = 0; i < n; i++)
			chain_item(c, refs[i].id, refs[i].code);
		free(refs);
	}
}

static void ev_G1(struct ctx *c)
{
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++) {
		char ch[256];

		if (!(c->services & (1u << i)))
			continue;
		channels_text(c, catalog_params_of(i)->incident_channels, ch, sizeof(ch));
		item(c, svc_name(c, catalog_service_at(i)), L(c, "サービスカタログ(incident_notices)", "service catalog (incident_notices)"), "%s", ch);
	}
	count_item(c, L(c, "影響を受けた事故", "incidents affecting"), "incident_tenants",
		   "SELECT COUNT(*) FROM incident_tenants WHERE tenant_id = $1", "SELECT COUNT(*) FROM incidents");
}

static void ev_G2(struct ctx *c)
{
	count_item(c, L(c, "事象の報告", "event reports"), "reports", "SELECT COUNT(*) FROM reports WHERE tenant_id = $1",
		   "SELECT COUNT(*) FROM reports");
}

static void ev_G3(struct ctx *c)
{
	count_item(c, L(c, "署名付き記録のエクスポート", "signed record exports"), "report_exports",
		   "SELECT COUNT(*) FROM report_exports WHERE tenant_id = $1", "SELECT COUNT(*) FROM report_exports");
	count_item(c, L(c, "監査ログのダウンロードの記録", "audit log downloads recorded"), "audit_events",
		   "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1 AND action LIKE 'audit.export%'",
		   "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'audit.export%'");
}

static void ev_W1(struct ctx *c)
{
	count_item(c, L(c, "ごみ箱の項目", "items in the trash"), "file_nodes",
		   "SELECT COUNT(*) FROM file_nodes WHERE tenant_id = $1 AND trashed_us IS NOT NULL", "");
}

static void ev_W2(struct ctx *c)
{
	count_item(c, L(c, "有効なアプリパスワード", "app passwords in use"), "app_passwords",
		   "SELECT COUNT(*) FROM app_passwords WHERE tenant_id = $1", "SELECT COUNT(*) FROM app_passwords");
	missing(c, "litmus などの互換性試験は試験で確認します", "interoperability (litmus and clients) is checked by the tests");
}

static void ev_W3(struct ctx *c)
{
	count_item(c, L(c, "共有リンク", "share links"), "shares", "SELECT COUNT(*) FROM shares WHERE tenant_id = $1",
		   "SELECT COUNT(*) FROM shares");
}

static void ev_W4(struct ctx *c)
{
	count_item(c, L(c, "お知らせ", "notices"), "notices", "SELECT COUNT(*) FROM notices WHERE tenant_id = $1",
		   "SELECT COUNT(*) FROM notices");
}

static void ev_W5(struct ctx *c)
{
	count_item(c, L(c, "送信待ち・送信済みのメール", "mails queued or sent"), "mail_outbox",
		   "SELECT COUNT(*) FROM mail_outbox WHERE tenant_id = $1", "SELECT COUNT(*) FROM mail_outbox");
}

static void (*const evidence_fn[])(struct ctx *) = {
	ev_A1, ev_A2, ev_A3, ev_A4, ev_A5, ev_A6, ev_B1, ev_B2, ev_B3, ev_B4, ev_C1, ev_C2, ev_C3, ev_C4,
	ev_C5, ev_C6, ev_C7, ev_D1, ev_D2, ev_D3, ev_D4, ev_E1, ev_E2, ev_E3, ev_F1, ev_F2, ev_F3, ev_F4,
	ev_F5, ev_F6, ev_F7, ev_F8, ev_F9, ev_G1, ev_G2, ev_G3, ev_W1, ev_W2, ev_W3, ev_W4, ev_W5,
};
_Static_assert(ARRAY_SIZE(evidence_fn) == ARRAY_SIZE(controls), "one evidence function per control");

size_t compliance_n_controls(void)
{
	return ARRAY_SIZE(controls);
}

json_t *compliance_model(struct db *db, int64_t tenant_id, const char *lang, int *ret_err)
{
	struct ctx c = { .db = db, .ja = !lang || strcmp(lang, "en") != 0 };
	const struct config *cfg = compliance_config();
	json_t *model, *rows, *services, *tenant = json_null();
	char now[CLOCK_RFC3339_LEN], local[CLOCK_RFC3339_LEN + 64];
	int64_t now_us = clock_now_us();
	int r;

	*ret_err = 0;
	if (tenant_id > 0) {
		json_t *tj, *v;
		size_t i;

		r = tenant_get(db, tenant_id, &c.t);
		if (r < 0) {
			*ret_err = r;
			return NULL;
		}
		c.tenant_mode = true;
		tj = tenant_json(db, &c.t);
		json_array_foreach(json_object_get(tj, "services"), i, v) {
			int k = catalog_index(json_string_value(v));

			if (k >= 0)
				c.services |= 1u << k;
		}
		tenant = json_pack("{s:s, s:s, s:s, s:O, s:O}", "code", c.t.code, "name", c.t.name, "time_zone", c.t.zone,
				   "services", json_object_get(tj, "services"), "options", json_object_get(tj, "options"));
		json_decref(tj);
	} else {
		c.services = (1u << CATALOG_N_SERVICES) - 1;
	}
	rows = json_array();
	c.chains = json_array();
	services = json_array();
	for (size_t i = 0; i < CATALOG_N_SERVICES; i++)
		if (c.services & (1u << i))
			json_array_append_new(services, json_pack("{s:s, s:s}", "code", catalog_service_at(i)->code, "name",
								  svc_name(&c, catalog_service_at(i))));
	for (size_t i = 0; i < ARRAY_SIZE(controls); i++) {
		const struct control_text *t = &controls[i];
		size_t ne, nm;

		c.control = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:[]}", "id", t->id, "group", (char[]){ t->id[0], 0 },
				      "clause", t->clause, "title", L(&c, t->title_ja, t->title_en), "statement",
				      L(&c, t->stmt_ja, t->stmt_en), "evidence", "missing");
		evidence_fn[i](&c);
		ne = json_array_size(json_object_get(c.control, "evidence"));
		nm = json_array_size(json_object_get(c.control, "missing"));
		json_object_set_new(c.control, "status", json_string(ne == 0 ? "none" : nm ? "partial" : "evidenced"));
		json_array_append_new(rows, c.control);
	}
	clock_format_utc(now_us, now, sizeof(now));
	{
		const char *z = c.tenant_mode ? c.t.zone : cfg && cfg->default_zone[0] ? cfg->default_zone : "Asia/Tokyo";

		if (clock_format_zone(now_us, z, local, sizeof(local)) < 0)
			str_copy(local, sizeof(local), now);
	}
	model = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "format", "kura-compliance-statement-1", "lang",
			  c.ja ? "ja" : "en", "generated_at", now, "generated_local", local, "kura_version", KURA_VERSION, "provider",
			  cfg ? json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", cfg->provider_name, "address",
					  cfg->provider_address, "contact", cfg->provider_contact, "data_location",
					  cfg->data_location, "jurisdiction", cfg->jurisdiction)
			      : json_null(),
			  "tenant", tenant, "services", services, "controls", rows, "chains", c.chains);
	if (!model)
		*ret_err = -ENOMEM;
	return model;
}
