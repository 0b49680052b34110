/*
 * Deployment configuration: DIR/kura.conf (INI). Unknown sections or keys, bad values, NUL
 * and control bytes, over-long and indented lines are errors that name the file and line,
 * so a typo never silently falls back to a default.
 */
#ifndef KURA_CORE_CONFIG_H
#define KURA_CORE_CONFIG_H
#include "core/catalog.h"
#include "core/core.h"

#define CONFIG_STR 256

struct config {
	char path[1024];                 /* the file it was read from ("" for defaults), for messages */
	/* [server] */
	char listen[CONFIG_STR];         /* ADDR:PORT of the public listener */
	char public_url[CONFIG_STR];     /* base URL used in mailed links */
	char tls_cert[CONFIG_STR];       /* relative to the data dir unless absolute */
	char tls_key[CONFIG_STR];
	uint32_t threads;                /* 0 = one per CPU */
	char trusted_proxies[1024];      /* comma-separated CIDRs whose X-Forwarded-For is believed */
	char client_cert_proxies[1024];  /* comma-separated CIDRs whose X-Client-Cert is believed */
	uint32_t max_connections;        /* open connections in all */
	uint32_t max_connections_per_address;  /* per IPv4 address / IPv6 /64, trusted proxies exempt */
	uint32_t header_timeout_s;       /* whole request headers, trickling does not extend it */
	uint32_t body_timeout_s;         /* grace before body_min_rate applies */
	uint32_t body_min_rate;          /* bytes per second a body must average */
	uint32_t drain_s;                /* SIGTERM: time for requests in flight */
	char metrics_listen[CONFIG_STR]; /* loopback ADDR:PORT of /metrics, "" = none */
	char syscall_filter[8];          /* "on" (default): seccomp allowlist after start-up; "off" */
	char landlock[8];                /* "on" (default): Landlock file access after start-up; "off" */
	char user[64];                   /* started as root: drop to this user ("" = kura, "root" = stay) */
	/* [security] */
	uint32_t session_idle_s;
	uint32_t session_absolute_s;
	uint32_t invitation_ttl_s;
	uint32_t pwhash_ops;             /* Argon2id passes */
	uint32_t pwhash_mem_kib;         /* Argon2id memory */
	uint32_t lockout_threshold;
	uint32_t lockout_window_s;
	uint32_t lockout_duration_s;
	char mfa_managers_default[16];
	uint32_t access_request_lapse_s; /* an operator access request lapses unanswered (C7) */   /* "required" | "optional" for tenants without a policy */
	/* [mail] */
	char smtp_url[CONFIG_STR];       /* smtp://host:port or smtps://host:port */
	char smtp_user[CONFIG_STR];
	char smtp_password[CONFIG_STR];
	char smtp_from[CONFIG_STR];
	char smtp_starttls[16];          /* "try" (default), "require", "off" */
	uint32_t mail_poll_s;
	/* [provider] (A3) */
	char provider_name[CONFIG_STR];
	char provider_address[CONFIG_STR];
	char provider_contact[CONFIG_STR];
	char provider_reports_mail[CONFIG_STR];  /* operators' address for tenants' event reports (issue 9) */
	char data_location[CONFIG_STR];
	char jurisdiction[CONFIG_STR];
	char default_zone[64];
	/* [audit] (F4, F9) */
	uint32_t audit_retention_days;   /* every category, today counting as day 1 */
	uint32_t audit_retention_cat[6]; /* per category (authentication, operation, access, delivery,
					  * administration, operator); 0 = audit_retention_days */
	uint32_t audit_checkpoint_s;     /* how often chains with new events are checkpointed */
	uint32_t audit_prune_s;          /* how often retention is applied */
	/* [storage] (issue 14) */
	uint32_t reserve_mib;            /* free space kept for the database and the audit log... */
	uint32_t reserve_percent;        /* ...or this share of the filesystem, whichever is larger */

	char blob_url[CONFIG_STR];       /* "" = DIR/blobs (local files); s3://bucket[/prefix] */
	char blob_endpoint[CONFIG_STR];  /* https://host[:port] of the S3 service */
	char blob_region[64];            /* SigV4 region, e.g. eu-central-1 ("us-east-1" for MinIO) */
	char blob_access_key[CONFIG_STR];
	char blob_secret_key[CONFIG_STR];  /* never logged */
	char blob_addressing[16];        /* "path" (default): endpoint/bucket/key; "virtual": bucket.endpoint/key */
	char blob_ca_file[CONFIG_STR];   /* PEM CA bundle for the endpoint ("" = the system's) */
	uint32_t blob_part_mib;          /* multipart part size (and memory per upload in flight) */
	uint32_t blob_timeout_s;         /* one S3 request, transfer included */
	/* [lifecycle] (B3): the end of contracts */
	uint32_t grace_days;             /* reinstatement window after a contract ends */
	char alert_email[CONFIG_STR];    /* operators' address for erasure deadline alerts */
	/* [ops] capacity alerts (docs/operations.md "Alerts") */
	char alert_mail[CONFIG_STR];     /* the operators' address, "" = log lines only */
	uint32_t disk_alert_percent;     /* the data directory's filesystem used over this */
	uint32_t quota_alert_percent;    /* a tenant's quota used over this */
	uint32_t outbox_alert_backlog;   /* mails waiting (queued or deferred) over this */
	uint32_t alert_check_s;
	uint32_t alert_repeat_s;         /* an alert still standing is repeated after this */
	/* [log] */
	char log_level[16];
	char db_url[1024];               /* [store] db_url: "" = DIR/kura.db, sqlite:FILE, postgresql://… */
	/* [service.CODE] (core/catalog.h): each service's parameters, the statements' values
	 * unless overridden */
	struct catalog_params services[CATALOG_N_SERVICES];
};

void config_defaults(struct config *cfg);
/* Reads path over the defaults. On error, writes a message into err and returns < 0. */
int config_load(struct config *cfg, const char *path, char *err, size_t err_size);
/* The file `kura init` writes: every key with its default, commented. */
int config_write_default(const char *path);
#endif
