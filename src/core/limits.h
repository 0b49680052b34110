/*
 * Every limit on what a client or an operator can make kura allocate or store, in one place.
 * Network input is bounded by these before it is looked at; change them here, nowhere else.
 */
#ifndef KURA_CORE_LIMITS_H
#define KURA_CORE_LIMITS_H

/* HTTP */
#define KURA_MAX_HEADER_BYTES        (16 * 1024)   /* all request headers together (MHD pool) */
#define KURA_MAX_JSON_BODY           (64 * 1024)   /* JSON API request bodies */
#define KURA_MAX_URL_BYTES           2048          /* request target */
#define KURA_REFUSED_BODY_MAX        (16 * 1024 * 1024) /* an answer given before a body the client did not
							   * ask to send (no Expect: 100-continue) waits while
							   * this much is read and dropped; beyond, the connection
							   * ends with the answer (server.c http_respond_response) */
#define KURA_BLOB_TMP_STALE_S        3600          /* a temp blob unwritten this long is a crash's leftover */
#define KURA_BLOB_WRITEBACK_BYTES    (4 * 1024 * 1024)  /* a local blob's disk writes start every this many bytes */
#define KURA_BLOB_WRITE_BUFFER       (1024 * 1024) /* a local blob past this size is written behind, from two such buffers */
#define KURA_BLOB_WRITE_THREADS      16            /* write-behind threads in the process (beyond: written directly) */
#define KURA_READAHEAD_MIN_BYTES     (1024 * 1024) /* a download this large is decrypted ahead (files_reader_readahead) */
#define KURA_READAHEAD_CHUNKS        8             /* 64 KiB records one download's read-ahead holds */
#define KURA_READAHEAD_THREADS       16            /* read-ahead threads in the process (beyond: decrypted in the request's thread) */
/* --- S3 blob backend (blob_s3.c, issue 10) --- */
#define KURA_S3_PART_MIB             8             /* [blob] part_mib default: multipart part size */
#define KURA_S3_PART_MIB_MIN         8             /* 10000 parts hold KURA_FILE_MAX_BYTES (S3 allows 5) */
#define KURA_S3_PART_MIB_MAX         512
#define KURA_S3_PARTS_MAX            10000         /* S3's most parts in one multipart upload */
#define KURA_S3_TIMEOUT_S            120           /* [blob] timeout_seconds default: one request */
#define KURA_S3_CONNECT_TIMEOUT_S    10            /* TCP + TLS handshake of one request */
#define KURA_S3_ATTEMPTS             5             /* tries of one request (5xx, SlowDown, connection errors) */
#define KURA_S3_BACKOFF_MS           100           /* first retry delay, doubled each time... */
#define KURA_S3_BACKOFF_MAX_MS       5000          /* ...up to this; full jitter (0..delay) */
#define KURA_S3_RESPONSE_MAX         (1024 * 1024) /* an XML answer (list page, errors) */
#define KURA_S3_HANDLES_MAX          32            /* idle connections kept for reuse */
#define KURA_S3_SHARED_GRACE_S       3600          /* shared store: a blob younger than this is never an orphan */
#define KURA_CONNECTION_MEMORY       (64 * 1024)   /* MHD pool per connection: headers + read buffer, zeroed by MHD per request */
#define KURA_THREADS_PER_CPU         16            /* default workers per CPU ([server] threads = 0), SQLite... */
#define KURA_THREADS_DEFAULT_MAX     64            /* ...up to this many */
#define KURA_THREADS_PER_CPU_PG      4             /* PostgreSQL: each worker holds a server connection */
#define KURA_CONNECTION_TIMEOUT_S    60            /* MHD's idle timeout (no byte either way) */
#define KURA_MAX_USER_AGENT          256           /* stored in audit records, truncated beyond */

/* --- connection guard (issue 14): connection limits, request deadlines, drain --- */
#define KURA_MAX_CONNECTIONS         4096          /* [server] max_connections default */
#define KURA_MAX_CONNECTIONS_MIN     16
#define KURA_MAX_CONNECTIONS_MAX     65536
#define KURA_CONNECTIONS_PER_ADDRESS 256           /* per IPv4 address / IPv6 /64 (NAT: a whole office) */
#define KURA_FD_RESERVE              256           /* descriptors beyond connections: db, blobs, logs, mail */
#define KURA_HEADER_TIMEOUT_S        20            /* request line + headers, total (Apache reqtimeout: 20-40) */
#define KURA_BODY_TIMEOUT_S          20            /* then the body must average KURA_BODY_MIN_RATE */
#define KURA_BODY_MIN_RATE           500           /* bytes/s (Apache mod_reqtimeout's MinRate) */
#define KURA_GUARD_SWEEP_MS          250           /* how often deadlines are checked */
#define KURA_GUARD_BUCKETS           1024          /* per-address counters (hash buckets) */
#define KURA_DRAIN_S                 10            /* [server] drain_seconds default */
#define KURA_DRAIN_RETRY_AFTER_S     5             /* Retry-After of a 503 while draining */
#define KURA_DRAIN_POLL_MS           50            /* how often the drain looks at what is in flight */
#define KURA_CONFIG_MAX_BYTES        (1024 * 1024) /* kura.conf */

/* JSON */
#define KURA_MAX_JSON_DEPTH          8
#define KURA_MAX_JSON_STRING         4096

/* Identity */
#define KURA_TENANT_CODE_MIN         2
#define KURA_TENANT_CODE_MAX         32
#define KURA_TENANT_NAME_MAX         200
#define KURA_LOGIN_MIN               1
#define KURA_LOGIN_MAX               64
#define KURA_EMAIL_MAX               254           /* RFC 5321 path limit */
#define KURA_ACCOUNT_QUERY_MAX       254           /* bytes of GET /api/v1/accounts?q= (an address) */
#define KURA_DISPLAY_NAME_MAX        200
#define KURA_PASSWORD_MIN            12            /* characters (code points), NIST SP 800-63B */
#define KURA_PASSWORD_MAX            128
#define KURA_MAX_SERVICES            8             /* service codes per tenant */
#define KURA_MAX_OPTIONS             32            /* options per tenant */
#define KURA_OPTION_MAX              64            /* bytes per option name */
#define KURA_ACCOUNTS_PER_TENANT     100000

/* Sessions and tokens */
#define KURA_TOKEN_BYTES             32            /* 256-bit session, CSRF, invitation tokens */
#define KURA_SESSION_IDLE_S          (30 * 60)
#define KURA_SESSION_ABSOLUTE_S      (12 * 60 * 60)
#define KURA_INVITATION_TTL_S        (72 * 60 * 60)
#define KURA_SESSIONS_PER_ACCOUNT    64            /* oldest is ended beyond this */

/* Lockout defaults (C3) */
#define KURA_LOCKOUT_THRESHOLD       5
#define KURA_LOCKOUT_WINDOW_S        (15 * 60)
#define KURA_LOCKOUT_DURATION_S      (15 * 60)
#define KURA_LOCKOUT_PENDING_STALE_S 60            /* a check in flight longer than this was cut */
#define KURA_LOGIN_MISSES_MAX        10000         /* login names without an account, counted (oldest go) */

/* Multi-factor authentication (C3) */
#define KURA_MFA_CHALLENGE_TTL_S     (5 * 60)      /* login second step, WebAuthn ceremonies */
#define KURA_MFA_CHALLENGE_ATTEMPTS  5             /* wrong second factors per login challenge */
#define KURA_TOTP_SECRET_BYTES       20            /* 160 bits (RFC 4226 recommends) */
#define KURA_TOTP_STEP_S             30
#define KURA_TOTP_WINDOW             1             /* steps accepted either side of now */
#define KURA_RECOVERY_CODES          10
#define KURA_RECOVERY_CODE_CHARS     16            /* 80 bits, shown as xxxx-xxxx-xxxx-xxxx */
#define KURA_WEBAUTHN_PER_ACCOUNT    16
#define KURA_WEBAUTHN_NAME_MAX       64            /* characters of an authenticator's name */
#define KURA_WEBAUTHN_ID_MAX         1023          /* credential id bytes (WebAuthn L2) */
#define KURA_WEBAUTHN_CLIENTDATA_MAX 4096          /* clientDataJSON bytes */
#define KURA_WEBAUTHN_ATTOBJ_MAX     (16 * 1024)   /* attestationObject / authenticatorData */
#define KURA_WEBAUTHN_CHALLENGE      32            /* random bytes */
#define KURA_WEBAUTHN_CBOR_DEPTH_MAX 16            /* nesting of arrays, maps, tags (core/cborval.h) */

/* --- access (C3, C4): allowlist, throttling, tenant lockout bounds, reset, app passwords --- */
#define KURA_IP_ALLOWLIST_MAX        100           /* CIDR ranges per tenant */
#define KURA_CIDR_TEXT_MAX           64            /* "ffff:...:ffff/128" is 43 bytes */
#define KURA_TRUSTED_PROXIES_MAX     32            /* [server] trusted_proxies ranges */
#define KURA_XFF_MAX_BYTES           2048          /* all X-Forwarded-For values together */
#define KURA_XFF_MAX_HOPS            16            /* entries walked from the right */
#define KURA_THROTTLE_FREE_FAILURES  10            /* failures per address before delays start */
#define KURA_THROTTLE_WINDOW_S       (15 * 60)     /* failures of an address count this long */
#define KURA_THROTTLE_BASE_MS        100           /* delay 2^k x base after the free failures */
#define KURA_THROTTLE_MAX_MS         5000          /* ... capped here */
#define KURA_THROTTLE_TABLE          4096          /* addresses tracked (oldest evicted) */
#define KURA_THROTTLE_MAX_SLEEPERS   8             /* delayed requests at once (others: 429) */
#define KURA_LOCKOUT_THRESHOLD_MIN   1             /* tenant lockout settings bounds */
#define KURA_LOCKOUT_THRESHOLD_MAX   100           /* SP 800-63B: at most 100 attempts */
#define KURA_LOCKOUT_WINDOW_MIN_S    60
#define KURA_LOCKOUT_WINDOW_MAX_S    (24 * 60 * 60)
#define KURA_LOCKOUT_DURATION_MIN_S  60
#define KURA_LOCKOUT_DURATION_MAX_S  (7 * 24 * 60 * 60)
#define KURA_RESET_TTL_S             (30 * 60)     /* password reset link lifetime */
#define KURA_RESETS_PER_HOUR         5             /* reset mails per account per hour */
#define KURA_APP_PASSWORDS_PER_ACCOUNT 50
#define KURA_APP_PASSWORD_NAME_MAX   100           /* code points */
#define KURA_APP_PASSWORD_TOUCH_S    60            /* last-used written at most this often */

/* Client certificates (issue 16, auth/clientcert.c) */
#define KURA_CSR_PEM_MAX             8192          /* bytes of a CSR PEM in a request body */
#define KURA_CSR_RSA_BITS_MAX        8192
#define KURA_CERT_PEM_MAX            8192          /* a client certificate (X-Client-Cert, escaped: x3) */
#define KURA_CERT_NAME_MAX           100           /* code points of a certificate's name */
#define KURA_CERT_SUBJECT_MAX        512           /* bytes of a subject DN kept and recorded */
#define KURA_CERT_LIFETIME_MAX_DAYS  825
#define KURA_CERTS_PER_ACCOUNT       20            /* unrevoked, unexpired */
#define KURA_CERT_LIST_MAX           1000
#define KURA_CERT_EXPIRY_NOTICE_DAYS 14            /* the owner is mailed this long before expiry */
#define KURA_CERT_EXPIRY_BATCH       50            /* announcements per mail-sender round */
#define KURA_CLIENT_CAS_MAX          10            /* a tenant's own CAs */

/* Paging */
#define KURA_PAGE_DEFAULT            100
#define KURA_PAGE_MAX                1000

/* Mail */
#define KURA_MAIL_SUBJECT_MAX        998
#define KURA_MAIL_BODY_MAX           (256 * 1024)
#define KURA_MAIL_MAX_ATTEMPTS       12
#define KURA_MAIL_BACKOFF_MIN_S      30
#define KURA_MAIL_BACKOFF_MAX_S      (6 * 60 * 60)

/* Mail templates (mail/, src/notify/mail.c) */
#define KURA_MAIL_TEMPLATE_MAX       (16 * 1024)   /* bytes of one mail/<name>.<lang>.txt */
#define KURA_MAIL_VALUE_MAX          (8 * 1024)    /* bytes of one value put into a mail */
#define KURA_MAIL_VARS_MAX           32            /* values given to one mail */
#define KURA_MAIL_MANAGERS_MAX       50            /* managers one notify_managers() mails */

/* Management plane */
#define KURA_ADMIN_MAX_REQUEST       (64 * 1024)
#define KURA_ADMIN_MAX_CLIENTS       16
#define KURA_ADMIN_EVENTS_MAX        100           /* records per audit provider-events answer: at ~5 KiB
                                                    * each at most, well inside kura admin's 1 MiB read */

/* Operator access by approval (C7; src/files/lockbox.c, docs/security.md) */
#define KURA_ACCESS_HOURS_MAX        72            /* hours one grant may run */
#define KURA_ACCESS_REASON_MAX       500           /* code points of a request's reason */
#define KURA_ACCESS_CASE_MAX         64            /* bytes of its case reference */
#define KURA_ACCESS_LAPSE_S          (12 * 60 * 60) /* a pending request lapses (default) */
#define KURA_ACCESS_LAPSE_MIN_S      (5 * 60)
#define KURA_ACCESS_LAPSE_MAX_S      (7 * 86400)
#define KURA_ACCESS_LIST_MAX         100           /* requests per page (API and kura admin) */
#define KURA_ACCESS_PENDING_MAX      5             /* open requests per tenant: each one mails its managers */
#define KURA_SUPPORT_LIST_MAX        500           /* entries one support ls shows */
#define KURA_SUPPORT_GET_MAX         (512 * 1024)  /* bytes one support get hands out: base64 in
                                                    * kura admin's 1 MiB answer */

/* Audit */
#define KURA_AUDIT_DETAILS_MAX       4096
#define KURA_AUDIT_TARGET_MAX        512
#define KURA_AUDIT_LINE_MAX          (64 * 1024)   /* one JSONL line read by kura audit verify */
#define KURA_AUDIT_FILTER_MAX        512           /* bytes of one query filter value */
#define KURA_AUDIT_RETENTION_MIN     1             /* days, [audit] retention_*_days */
#define KURA_AUDIT_RETENTION_MAX     3660
#define KURA_AUDIT_KEYS_MAX          64            /* signing keys a deployment keeps, or kura audit verify trusts */

/* Files (W1, F2) */
#define KURA_FILE_NAME_MAX           255           /* bytes of UTF-8 per file or folder name */
#define KURA_FILE_MAX_BYTES          (64LL * 1024 * 1024 * 1024)  /* one file's plaintext */
#define KURA_INLINE_MAX_BYTES        (64 * 1024)   /* plaintext up to this: ciphertext kept in the row, no blob (docs/performance.md) */
#define KURA_UPLOAD_DEFER_MAX_BYTES  KURA_INLINE_MAX_BYTES  /* a WebDAV PUT up to this (no Expect): its path and checks in the commit's transaction only */
#define KURA_QUOTA_DEFAULT_BYTES     (10LL * 1024 * 1024 * 1024)  /* per tenant, until set */
#define KURA_CONTENT_TYPE_MAX        127
#define KURA_LABEL_MAX               64            /* code points per label */
#define KURA_LABELS_PER_ITEM         32
#define KURA_FOLDER_DEPTH_MAX        64            /* nesting of folders */
#define KURA_TRASH_RETENTION_S       (30 * 24 * 60 * 60)
#define KURA_TRASH_PURGE_INTERVAL_S  (60 * 60)
#define KURA_KEY_CACHE_ENTRIES       64            /* unwrapped tenant keys held in memory */
/* every node drops a cached key whose version left tenant_keys (a rotation by `kura admin`, an
 * erasure run by another node) at most this long after, plus one outbox poll */
#define KURA_KEY_CACHE_RECHECK_S     5
/* tenants whose settings one process keeps (tenant/settings.h), in sets of _WAYS by tenant
 * id; about 1.9 KiB each */
#define KURA_TENANT_CACHE_MAX        1024
#define KURA_TENANT_CACHE_WAYS       4

/* Share links (W3) */
#define KURA_SHARE_EXPIRY_DEFAULT_S  (7 * 24 * 60 * 60)   /* tenant policy default, until set */
#define KURA_SHARE_EXPIRY_MAX_S      (30 * 24 * 60 * 60)  /* tenant policy maximum, until set */
#define KURA_SHARE_EXPIRY_CEILING_S  (365 * 24 * 60 * 60) /* no tenant policy may pass this */
#define KURA_SHARE_RECIPIENTS_MAX    20            /* e-mail recipients per link */
#define KURA_SHARE_DOWNLOADS_MAX     1000000       /* largest download limit */
#define KURA_SHARE_PW_FAILURES       10            /* wrong link passwords within the window ... */
#define KURA_SHARE_PW_WINDOW_S       (15 * 60)
#define KURA_SHARE_PW_LOCK_S         (15 * 60)     /* ... lock the link for this long */
#define KURA_SHARE_SESSION_S         (60 * 60)     /* link session after a password unlock */
#define KURA_SHARE_DEDUP_MAX         999           /* "name (2)" ... "name (999)" */
#define KURA_SHARE_ACCESS_PAGE_MAX   500           /* records per page of a link's access log */
#define KURA_SHARES_PER_TENANT       100000        /* live and revoked links kept */

/* WebDAV (W2; docs/webdav.md) */
#define KURA_DAV_XML_BODY_MAX        (64 * 1024)   /* PROPFIND, PROPPATCH and LOCK bodies */
#define KURA_DAV_XML_DEPTH_MAX       32            /* element nesting of a request body */
#define KURA_DAV_XML_NODES_MAX       4096          /* elements of a request body */
#define KURA_DAV_PROPFIND_DEPTH_MAX  1             /* Depth: infinity is refused (403) */
#define KURA_DAV_LIST_MAX            100000        /* members listed by one PROPFIND Depth 1 */
#define KURA_DAV_RESPONSE_MAX        (256LL * 1024 * 1024)  /* one multistatus body */
/* PROPFIND answers kept per process (http/dav_cache.c; docs/performance.md step 16) */
#define KURA_DAV_CACHE_BYTES         (48 * 1024 * 1024)  /* all kept answers together */
#define KURA_DAV_CACHE_ENTRY_BYTES   (16 * 1024 * 1024)  /* one kept answer (~21,000 members) */
#define KURA_DAV_CACHE_ENTRIES       512           /* answers kept */
#define KURA_DAV_CACHE_LIVE_BYTES    (96 * 1024 * 1024)  /* kept and still held by responses */
#define KURA_DAV_CACHE_BUILDS        2             /* answers copied to be kept at once */
#define KURA_DAV_CACHE_AGE_S         600           /* an answer unused this long is dropped */
#define KURA_DAV_PROPS_PER_NODE      64            /* dead properties of one file or folder */
#define KURA_DAV_PROP_BYTES_MAX      (8 * 1024)    /* one dead property, serialized XML */
#define KURA_DAV_PROP_NAME_MAX       255           /* bytes of a property name or namespace */
#define KURA_DAV_LOCKS_PER_TENANT    10000
#define KURA_DAV_LOCK_OWNER_MAX      2048          /* bytes of a lock's <owner>, serialized */
#define KURA_DAV_LOCK_TIMEOUT_S      (10 * 60)     /* when the client asks none (or Infinite) */
#define KURA_DAV_LOCK_TIMEOUT_MAX_S  (7 * 24 * 60 * 60)
#define KURA_DAV_IF_LISTS_MAX        32            /* lists in one If header */
#define KURA_DAV_IF_CONDITIONS_MAX   64            /* conditions in one If header, all lists */
#define KURA_DAV_COPY_NODES_MAX      10000         /* files and folders one COPY may create */
#define KURA_TREE_LIST_MAX           (16 * 1024 * 1024) /* nodes one purge or key rotation lists in memory */

/* Files and WebDAV hardening (issue 14; docs/files.md, docs/webdav.md) */
#define KURA_QUOTA_ITEM_BYTES        256           /* quota charge per file, folder, label, dead property */
#define KURA_RESERVE_MIB_DEFAULT     1024          /* [storage] reserve_mib: free space kept for db and audit */
#define KURA_RESERVE_PERCENT_DEFAULT 5             /* [storage] reserve_percent: ... or this share, the larger */
#define KURA_RESERVE_CHECK_BYTES     (1024 * 1024) /* an upload re-checks free space this often */
#define KURA_LOCKS_LIST_MAX          1000          /* locks in one GET /api/v1/locks answer */

/* Internal growable buffers (core/dbuf.h, issue 12): bounds on memory, not on client input */
#define KURA_AUDIT_EXPORT_BUFFER_MAX (64 * 1024 * 1024)   /* one export batch of lines */
#define KURA_DOWNLOAD_BUFFER_MAX     (64 * 1024)   /* answers up to this size are decrypted whole into one buffer */
#define KURA_DB_RELAXED_SYNC_MS      50            /* a read's audit record is durable at most this long after it is answered */
#define KURA_DB_WRITER_CACHE_KIB     16384         /* SQLite: the writer connection's page cache (others: SQLite's 2 MiB) */
#define KURA_DB_CHECKPOINT_FRAMES    4000          /* SQLite: the commit that finds the WAL this long copies it back (SQLite's default: 1000) */
#define KURA_DB_LIST_MAX_BYTES       (256 * 1024 * 1024)  /* ids or rows read from the database at once */

/* Resumable uploads (tus 1.0 at /api/v1/uploads, issue 15; docs/files.md) */
#define KURA_UPLOAD_EXPIRY_S         (24 * 60 * 60)  /* an unfinished upload lives this long */
#define KURA_UPLOADS_PER_ACCOUNT_MAX 64            /* unfinished uploads one account may hold */
#define KURA_UPLOADS_INFLIGHT_MAX    256           /* uploads being written at once (server-wide) */
#define KURA_UPLOAD_METADATA_MAX     4096          /* bytes of an Upload-Metadata header */
#define KURA_UPLOAD_SWEEP_BATCH      100           /* expired uploads removed per statement */

/* Search by name (GET /api/v1/search, issue 15) */
#define KURA_SEARCH_QUERY_MAX        100           /* code points of a query */
#define KURA_SEARCH_PAGE_DEFAULT     50
#define KURA_SEARCH_PAGE_MAX         200           /* results per page (each with its path) */
#define KURA_SEARCH_TRIGRAM_MIN      3             /* shorter queries: prefix match instead */
#define KURA_NAME_FOLD_BATCH         256           /* queued names folded into the SQLite name index at once */

/* ZIP download of a folder (GET /api/v1/folders/{id}/archive, issue 15) */
#define KURA_ARCHIVE_ENTRIES_MAX     10000         /* files and folders in one archive */
#define KURA_ARCHIVE_SELECTION_MAX   1000          /* ids of GET /api/v1/archive?ids= and POST /api/v1/archive */
#define KURA_BACKUP_ATTEMPTS         5             /* fresh database copies when blobs vanish under kura backup */
#define KURA_BACKUP_SMALL_FILE_MAX   (1024 * 1024) /* kura.conf, keys, manifest.json of a backup */
#define KURA_BACKUP_LINE_MAX         512           /* a line of a snapshot's blobs.jsonl */
#define KURA_BACKUP_KEEP_DAYS_MAX    3650          /* kura backup --keep-days */
#define KURA_EXPORT_ENTRIES_MAX      1000000       /* files and folders in one GET /api/v1/export */
#define KURA_EXPORT_PAGE             256           /* metadata rows read per query of an export */
#define KURA_EXPORT_PAGE_BYTES_MAX   (16 * 1024 * 1024)   /* their lines (256 rows of ~4 KiB at most) */

/* Contacts, announcements, incidents (issue 9; docs/announcements.md) */
#define KURA_CONTACTS_MAX            20            /* contacts one tenant may register */
#define KURA_CONTACT_NAME_MAX        100           /* code points of a contact's name */
#define KURA_CONTACT_TOKEN_TTL_S     (72 * 60 * 60) /* a confirmation link works this long */
#define KURA_ANNOUNCE_TITLE_MAX      200           /* code points of a title (each language) */
#define KURA_ANNOUNCE_BODY_MAX       8000          /* bytes of a Markdown body (each language; fits a mail value) */
#define KURA_ANNOUNCE_TARGET_MAX     1024          /* bytes of a --target spec */
#define KURA_ANNOUNCE_TENANTS_MAX    64            /* tenant codes in one tenant:CODE,... target */
#define KURA_ANNOUNCE_PAGE_DEFAULT   20
#define KURA_ANNOUNCE_PAGE_MAX       100           /* announcements in one GET answer */
#define KURA_ANNOUNCE_LIST_MAX       1000          /* rows of kura admin announce/incident list */
#define KURA_ANNOUNCE_SHOW_TENANTS_MAX 1000       /* per-tenant rows of announce/incident show (totals count all) */
#define KURA_ADMIN_FILE_MAX          65536         /* bytes kura admin reads for a --*-file option */
#define KURA_MARKDOWN_BLOCKS_MAX     256           /* paragraphs and list items of a body */
#define KURA_MARKDOWN_LINK_MAX       2048          /* bytes of a link's address */
#define KURA_INCIDENT_UPDATES_MAX    200           /* timeline entries of one incident */
#define KURA_STATUS_INCIDENTS_MAX    50            /* incidents on /status and /status.atom */

/* Event reports and notices (issue 9; G2, G3, W4; docs/reports.md) */
#define KURA_REPORT_TITLE_MAX        200           /* code points of a report's or a notice's title */
#define KURA_REPORT_BODY_MAX         10000         /* code points of a message or a notice's body */
#define KURA_REPORT_MESSAGES_MAX     500           /* messages in one report's thread */
#define KURA_REPORT_ATTACHMENT_MAX   (4 * 1024 * 1024)  /* bytes of one attachment */
#define KURA_REPORT_ATTACHMENTS_MAX  10            /* attachments of one report (both sides) */
#define KURA_REPORT_OPEN_MAX         100           /* open reports one tenant may have at once */
#define KURA_REPORT_LIST_MAX         500           /* reports per list answer */
#define KURA_REPORT_EXPORT_MAX       (16 * 1024 * 1024) /* bytes of a signed records export */
#define KURA_NOTICE_TARGETS_MAX      200           /* accounts a notice names */
#define KURA_NOTICE_LIST_MAX         200           /* notices per list answer */
#define KURA_NOTICE_READS_MAX        10000         /* rows of one notice's read list */
#define KURA_MGMT_FILE_MAX           (64 * 1024)   /* bytes of a file kura admin sends (--body-file) */

/* Rate limits of actions that mail someone (security review; tenant/rate.c, counted in the
 * database so every node sees the same count; answered 429 with Retry-After, docs/api.md) */
#define KURA_RATE_CONTACT_MAILS      20            /* contact confirmation mails per tenant ... */
#define KURA_RATE_CONTACT_MAILS_S    (60 * 60)     /* ... per hour */
#define KURA_RATE_CONTACT_ADDRESS    3             /* confirmation mails to one address per tenant ... */
#define KURA_RATE_CONTACT_ADDRESS_S  (24 * 60 * 60) /* ... per day */
#define KURA_RATE_REPORTS            10            /* event reports one account opens ... */
#define KURA_RATE_REPORTS_S          (60 * 60)     /* ... per hour */
#define KURA_RATE_REPORT_MESSAGES    30            /* report messages one account writes ... */
#define KURA_RATE_REPORT_MESSAGES_S  (60 * 60)     /* ... per hour */
#define KURA_RATE_ACCESS_REQUESTS    20            /* operator access requests (emergency ones too) per tenant ... */
#define KURA_RATE_ACCESS_REQUESTS_S  (60 * 60)     /* ... per hour */
#define KURA_RATE_COMPLIANCE         60            /* statements built for a tenant's managers (each verifies the chain) ... */
#define KURA_RATE_COMPLIANCE_S       (60 * 60)     /* ... per hour */

/* Operations: /metrics, capacity alerts (issue 13; docs/operations.md) */
#define KURA_METRICS_MAX_BYTES       (8 * 1024 * 1024)  /* one exposition */
#define KURA_METRICS_CONNECTIONS     8             /* open connections to metrics_listen */
#define KURA_METRICS_TIMEOUT_S       10            /* idle time before one is closed */
#define KURA_ALERT_STORAGE_PERCENT   80            /* default [ops] disk_alert_percent, quota_alert_percent */
#define KURA_ALERT_OUTBOX_BACKLOG    100           /* default [ops] outbox_alert_backlog */
#define KURA_ALERT_CHECK_S           60            /* default [ops] check_seconds */
#define KURA_ALERT_REPEAT_S          (24 * 60 * 60)  /* default [ops] alert_repeat_seconds */

/* The compliance statement and its evidence bundle (src/compliance/, docs/compliance.md) */
#define KURA_COMPLIANCE_CHAINS_MAX   1000          /* audit chains the deployment statement verifies */
#define KURA_COMPLIANCE_HTML_MAX     (4 * 1024 * 1024)   /* bytes of one rendered statement */
#define KURA_COMPLIANCE_CERTS_MAX    200           /* erasure certificates one statement lists */
#define KURA_EVIDENCE_MAX            (24 * 1024 * 1024)  /* bytes of one evidence bundle: base64 in one
                                                    * management answer (KURA_ADMIN_MAX_RESPONSE) */
#define KURA_EVIDENCE_MEMBERS_MAX    (KURA_COMPLIANCE_CERTS_MAX + 16)  /* members verify accepts */
#define KURA_ADMIN_MAX_RESPONSE      (40 * 1024 * 1024)  /* bytes kura admin reads of one answer */

#endif
