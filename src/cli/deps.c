/*
 * kura version --deps and kura sbom (F7): every library kura links, with the version it was
 * compiled against (pkg-config at build time, or the library's header) and the version the
 * library reports at run time, and the Debian package that provides the copy this process
 * has loaded (run time: the shared object found with dl_iterate_phdr, its owner and version
 * asked from dpkg-query). kura sbom writes the same as a CycloneDX 1.6 JSON document.
 */
#include <fcntl.h>
#include <getopt.h>
#include <link.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <curl/curl.h>
#include <gnu/libc-version.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlversion.h>
#include <liboath/oath.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <qrencode.h>
#include <seccomp.h>
#include <sodium.h>
#include <sqlite3.h>
#include <libpq-fe.h>
#include <utf8proc.h>

#include "cli/cli.h"
#include "core/core.h"

extern char **environ;

#define STR2(x) #x
#define STR(x) STR2(x)
#define DEPS_OUT_MAX 4096     /* bytes read from one dpkg-query answer */

struct dep {
	const char *name;       /* the upstream project's usual name */
	const char *pc;         /* its pkg-config module ("" when not linked through pkg-config) */
	const char *soname;     /* prefix of the shared object's file name */
	const char *license;    /* SPDX identifier */
	const char *use;        /* what kura uses it for */
	const char *header;     /* compile-time version from the header, or NULL */
	const char *(*runtime)(void);
};

static const char *rt_mhd(void) { return MHD_get_version(); }
static const char *rt_gnutls(void) { return gnutls_check_version(NULL); }
static const char *rt_sodium(void) { return sodium_version_string(); }
static const char *rt_sqlite(void) { return sqlite3_libversion(); }
static const char *rt_pq(void)
{
	/* PQlibVersion() is 150018 for 15.18 */
	static char buf[32];
	int v = PQlibVersion();

	if (str_printf(buf, sizeof(buf), "%d.%d", v / 10000, v % 10000) < 0)
		return NULL;
	return buf;
}
static const char *rt_jansson(void) { return jansson_version_str(); }
static const char *rt_curl(void) { return curl_version_info(CURLVERSION_NOW)->version; }
static const char *rt_oath(void) { return oath_check_version(NULL); }
static const char *rt_qrencode(void) { return QRcode_APIVersionString(); }
static const char *rt_utf8proc(void) { return utf8proc_version(); }
static const char *rt_seccomp(void)
{
	static char buf[32];
	const struct scmp_version *v = seccomp_version();

	if (!v || str_printf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro) < 0)
		return NULL;
	return buf;
}
static const char *rt_openssl(void) { return OpenSSL_version(OPENSSL_VERSION_STRING); }
static const char *rt_glibc(void) { return gnu_get_libc_version(); }
static const char *rt_zlib(void) { return curl_version_info(CURLVERSION_NOW)->libz_version; }
static const char *rt_libxml2(void)
{
	/* xmlParserVersion is "21004" for 2.10.4 */
	static char buf[32];
	const char *v = xmlParserVersion;
	size_t n = strlen(v);

	if (n < 5 || str_printf(buf, sizeof(buf), "%.*s.%d.%d", (int)(n - 4), v,
				(v[n - 4] - '0') * 10 + (v[n - 3] - '0'), (v[n - 2] - '0') * 10 + (v[n - 1] - '0')) < 0)
		return v;
	return buf;
}

static const struct dep deps[] = {
	{ "libmicrohttpd", "libmicrohttpd", "libmicrohttpd.so", "LGPL-2.1-or-later", "HTTP server", NULL, rt_mhd },
	{ "gnutls", "gnutls", "libgnutls.so", "LGPL-2.1-or-later", "TLS, certificates", GNUTLS_VERSION, rt_gnutls },
	{ "libsodium", "libsodium", "libsodium.so", "ISC",
	  "AEAD, Argon2id password hashing, Ed25519, random numbers", SODIUM_VERSION_STRING, rt_sodium },
	{ "sqlite", "sqlite3", "libsqlite3.so", "blessing", "database", SQLITE_VERSION, rt_sqlite },
	{ "libpq", "libpq", "libpq.so", "PostgreSQL", "PostgreSQL client (optional database, docs/scale-out.md)", NULL,
	  rt_pq },
	{ "jansson", "jansson", "libjansson.so", "MIT", "JSON", JANSSON_VERSION, rt_jansson },
	{ "curl", "libcurl", "libcurl", "curl", "SMTP delivery", LIBCURL_VERSION, rt_curl },
	{ "inih", "inih", "libinih.so", "BSD-3-Clause", "kura.conf parser", NULL, NULL },
	{ "oath-toolkit", "liboath", "liboath.so", "LGPL-2.1-or-later", "TOTP", OATH_VERSION, rt_oath },
	{ "libqrencode", "libqrencode", "libqrencode.so", "LGPL-2.1-or-later", "QR codes for TOTP enrolment", NULL,
	  rt_qrencode },
	{ "libfido2", "libfido2", "libfido2.so", "BSD-2-Clause", "WebAuthn signature checks", NULL, NULL },
	{ "libcbor", "libcbor", "libcbor.so", "MIT", "WebAuthn CBOR",
	  STR(CBOR_MAJOR_VERSION) "." STR(CBOR_MINOR_VERSION) "." STR(CBOR_PATCH_VERSION), NULL },
	{ "libxml2", "libxml-2.0", "libxml2.so", "MIT", "WebDAV XML", LIBXML_DOTTED_VERSION, rt_libxml2 },
	{ "utf8proc", "libutf8proc", "libutf8proc.so", "MIT", "Unicode normalisation (NFC)",
	  STR(UTF8PROC_VERSION_MAJOR) "." STR(UTF8PROC_VERSION_MINOR) "." STR(UTF8PROC_VERSION_PATCH), rt_utf8proc },
	{ "libseccomp", "libseccomp", "libseccomp.so", "LGPL-2.1-only", "system-call allowlist of kura serve",
	  STR(SCMP_VER_MAJOR) "." STR(SCMP_VER_MINOR) "." STR(SCMP_VER_MICRO), rt_seccomp },
	{ "openssl", "libcrypto", "libcrypto.so", "Apache-2.0", "AES-256-GCM of file contents", OPENSSL_VERSION_STR,
	  rt_openssl },
	{ "glibc", "", "libc.so", "LGPL-2.1-or-later", "C library",
	  STR(__GLIBC__) "." STR(__GLIBC_MINOR__), rt_glibc },
	{ "zlib", "", "libz.so", "Zlib", "compression inside libcurl (not called by kura)", NULL, rt_zlib },
};

#define N_DEPS ARRAY_SIZE(deps)

struct dep_info {
	char compiled[64];      /* "" = unknown */
	char runtime[64];
	char path[1024];        /* the loaded shared object */
	char package[128];      /* Debian package, "" when dpkg does not know the file */
	char pkg_version[128];
	char pkg_arch[32];
};

/* pkg-config's versions at build time: "name=version,name=version,…" (CMakeLists.txt) */
static void compiled_version(const struct dep *d, char *out, size_t size)
{
	const char *all = KURA_PKGCONFIG_VERSIONS, *p = all;
	size_t n = strlen(d->pc);

	out[0] = '\0';
	/* the header first: Debian's libutf8proc.pc says 2.6.0 for 2.8.0 */
	if (d->header) {
		str_copy(out, size, d->header);
		return;
	}
	while (n && (p = strstr(p, d->pc))) {
		if ((p == all || p[-1] == ',') && p[n] == '=') {
			const char *end = strchr(p + n + 1, ',');
			size_t len = end ? (size_t)(end - p - n - 1) : strlen(p + n + 1);

			if (len > 0 && len < size) {
				memcpy(out, p + n + 1, len);
				out[len] = '\0';
			}
			return;
		}
		p += n;
	}
}

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct dep_info *infos = data;
	const char *base;

	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	for (size_t i = 0; i < N_DEPS; i++)
		if (!infos[i].path[0] && !strncmp(base, deps[i].soname, strlen(deps[i].soname)))
			str_copy(infos[i].path, sizeof(infos[i].path), info->dlpi_name);
	return 0;
}

/* Runs dpkg-query with args; its stdout (at most DEPS_OUT_MAX - 1 bytes) into out. 0 when it
 * exited 0. No shell: the arguments are passed as they are. */
static int dpkg_query(char *const args[], char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, r;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "dpkg-query", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return -r;
	}
	while (n + 1 < size && (k = read(pipefd[0], out + n, size - n - 1)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOENT;
}

/* The Debian package owning path (tried as loaded, resolved, and with /usr added or taken away:
 * merged-/usr systems list a file under one of the two), its version and architecture. */
static void debian_package(struct dep_info *di)
{
	char cand[4][1024], out[DEPS_OUT_MAX], *colon;
	size_t nc = 0;

	if (!di->path[0])
		return;
	str_copy(cand[nc++], sizeof(cand[0]), di->path);
	if (realpath(di->path, cand[nc]))
		nc++;
	for (size_t i = 0, m = nc; i < m; i++) {
		if (!strncmp(cand[i], "/usr/", 5))
			str_copy(cand[nc++], sizeof(cand[0]), cand[i] + 4);
		else if (str_printf(cand[nc], sizeof(cand[0]), "/usr%s", cand[i]) == 0)
			nc++;
		if (nc == ARRAY_SIZE(cand))
			break;
	}
	for (size_t i = 0; i < nc; i++) {
		char *args[] = { "dpkg-query", "-S", cand[i], NULL };

		if (dpkg_query(args, out, sizeof(out)) == 0 && (colon = strstr(out, ": "))) {
			*colon = '\0';
			/* "libsqlite3-0:amd64"; several owners are separated by ", " */
			out[strcspn(out, ",")] = '\0';
			str_copy(di->package, sizeof(di->package), out);
			break;
		}
	}
	if (di->package[0]) {
		char *args[] = { "dpkg-query", "-W", "-f", "${Version}\t${Architecture}", di->package, NULL };
		char *tab;

		if (dpkg_query(args, out, sizeof(out)) == 0 && (tab = strchr(out, '\t'))) {
			*tab = '\0';
			str_copy(di->pkg_version, sizeof(di->pkg_version), out);
			str_copy(di->pkg_arch, sizeof(di->pkg_arch), tab + 1);
			di->package[strcspn(di->package, ":")] = '\0';
		} else {
			di->package[0] = '\0';
		}
	}
}

static void collect(struct dep_info *infos, bool with_packages)
{
	memset(infos, 0, sizeof(*infos) * N_DEPS);
	dl_iterate_phdr(find_object, infos);
	for (size_t i = 0; i < N_DEPS; i++) {
		const char *rt = deps[i].runtime ? deps[i].runtime() : NULL;

		compiled_version(&deps[i], infos[i].compiled, sizeof(infos[i].compiled));
		if (rt)
			str_copy(infos[i].runtime, sizeof(infos[i].runtime), rt);
		if (with_packages)
			debian_package(&infos[i]);
	}
}

int cmd_version_deps(void)
{
	struct dep_info infos[N_DEPS];

	collect(infos, false);
	printf("kura %s\n", KURA_VERSION);
	printf("%-14s %-12s %-12s %s\n", "library", "compiled", "running", "loaded from");
	for (size_t i = 0; i < N_DEPS; i++)
		printf("%-14s %-12s %-12s %s\n", deps[i].name, infos[i].compiled[0] ? infos[i].compiled : "-",
		       infos[i].runtime[0] ? infos[i].runtime : "(not reported)",
		       infos[i].path[0] ? infos[i].path : "(static or not loaded)");
	printf("TLS in libcurl: %s\n", curl_version_info(CURLVERSION_NOW)->ssl_version);
	return 0;
}

json_t *cmd_deps_inventory(void)
{
	struct dep_info infos[N_DEPS];
	json_t *arr = json_array();

	collect(infos, false);
	for (size_t i = 0; i < N_DEPS; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", deps[i].name, "compiled",
						     infos[i].compiled, "running", infos[i].runtime, "use", deps[i].use,
						     "license", deps[i].license));
	return arr;
}

/* purl component: percent-encodes what is not unreserved (a Debian version's '+', '~', ':') */
static void purl_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *in && n + 4 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '-' || c == '_') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

/* /etc/os-release VERSION_ID ("12"), for the purl's distro qualifier; "" when unknown */
static void debian_release(char *out, size_t size)
{
	char line[256];
	FILE *f = fopen("/etc/os-release", "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VERSION_ID=", 11)) {
			char *v = line + 11;

			v[strcspn(v, "\n")] = '\0';
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			str_copy(out, size, v);
		}
	}
	fclose(f);
}

static json_t *property(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *sbom_build(const struct dep_info *infos)
{
	unsigned char rnd[16];
	char uuid[64], stamp[32], purl[512], ver[256], rel[32];
	json_t *components = json_array(), *depends = json_array(), *bom;
	time_t now = time(NULL);
	struct tm tm;

	randombytes_buf(rnd, sizeof(rnd));
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	str_printf(uuid, sizeof(uuid),
		   "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		   rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11], rnd[12], rnd[13],
		   rnd[14], rnd[15]);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	debian_release(rel, sizeof(rel));

	for (size_t i = 0; i < N_DEPS; i++) {
		const struct dep_info *di = &infos[i];
		const char *version = di->runtime[0] ? di->runtime : di->compiled[0] ? di->compiled : NULL;
		json_t *c, *props = json_array();
		char ref[96];

		str_printf(ref, sizeof(ref), "lib:%s", deps[i].name);
		c = json_pack("{s:s, s:s, s:s, s:s}", "type", "library", "bom-ref", ref, "name", deps[i].name,
			      "description", deps[i].use);
		if (!version && di->pkg_version[0]) {
			/* the upstream part of the Debian version: no epoch, no revision */
			const char *v = strchr(di->pkg_version, ':');

			str_copy(ver, sizeof(ver), v ? v + 1 : di->pkg_version);
			if (strrchr(ver, '-'))
				*strrchr(ver, '-') = '\0';
			version = ver;
		}
		if (version)
			json_object_set_new(c, "version", json_string(version));
		if (di->package[0]) {
			char pv[256];

			purl_escape(di->pkg_version, pv, sizeof(pv));
			if (str_printf(purl, sizeof(purl), "pkg:deb/debian/%s@%s?arch=%s%s%s", di->package, pv,
				       di->pkg_arch, rel[0] ? "&distro=debian-" : "", rel) == 0)
				json_object_set_new(c, "purl", json_string(purl));
			json_array_append_new(props, property("kura:debian-package", di->package));
			json_array_append_new(props, property("kura:debian-version", di->pkg_version));
		} else if (version) {
			purl_escape(version, ver, sizeof(ver));
			if (str_printf(purl, sizeof(purl), "pkg:generic/%s@%s", deps[i].name, ver) == 0)
				json_object_set_new(c, "purl", json_string(purl));
		}
		json_object_set_new(c, "licenses",
				    json_pack("[{s:{s:s}}]", "license", "id", deps[i].license));
		if (di->compiled[0])
			json_array_append_new(props, property("kura:compiled-version", di->compiled));
		if (di->runtime[0])
			json_array_append_new(props, property("kura:runtime-version", di->runtime));
		if (di->path[0])
			json_array_append_new(props, property("kura:loaded-from", di->path));
		json_object_set_new(c, "properties", props);
		json_array_append_new(components, c);
		json_array_append_new(depends, json_string(ref));
	}
	bom = json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s, s:s, s:s, s:s, s:s}},"
			" s:o, s:[{s:s, s:o}]}",
			"bomFormat", "CycloneDX", "specVersion", "1.6", "serialNumber", uuid, "version", 1,
			"metadata", "timestamp", stamp, "tools", "components", "type", "application", "name", "kura",
			"version", KURA_VERSION,
			"component", "type", "application", "bom-ref", "kura", "name", "kura", "version", KURA_VERSION,
			"purl", "pkg:generic/kura@" KURA_VERSION,
			"components", components, "dependencies", "ref", "kura", "dependsOn", depends);
	return bom;
}

int cmd_sbom(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage_line[] = "usage: kura sbom [--output FILE]\n";
	struct dep_info infos[N_DEPS];
	const char *output = NULL;
	json_t *bom;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h': fputs(usage_line, stdout); return 0;
		default: fputs(usage_line, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage_line, stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("kura sbom: libsodium failed to initialize\n", stderr);
		return 1;
	}
	collect(infos, true);
	bom = sbom_build(infos);
	if (!bom) {
		fputs("kura sbom: out of memory\n", stderr);
		return 1;
	}
	if (output) {
		r = json_dump_file(bom, output, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	} else {
		r = json_dumpf(bom, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (r == 0)
			putchar('\n');
	}
	json_decref(bom);
	if (r != 0) {
		fprintf(stderr, "kura sbom: cannot write %s\n", output ? output : "stdout");
		return 1;
	}
	return 0;
}
