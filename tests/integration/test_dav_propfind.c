/*
 * Integration: PROPFIND Depth 1 on a large folder (issue 11, dav.c's streamed multistatus)
 * against a real `kura serve`. The answer of a folder of N_MEMBERS members (made with one
 * keep-alive curl, URL glob) parses as one complete DAV:multistatus with exactly the
 * folder and each member once, in name order, each 200; a member's lock and dead property
 * show in it; it is byte for byte what the reference writer (put_live for every member,
 * KURA_TEST_DAV_PROPFIND_SLOW) writes, with and without a lock in the folder (with one it
 * is streamed, chunked; without one it is kept, http/dav_cache.c, written whole with a
 * Content-Length; a listing cut at the limit goes streamed straight into MHD's buffer). A
 * small answer keeps its Content-Length. When the answer breaks off after the status line went out
 * (KURA_TEST_DAV_PROPFIND_FAULT), the client sees a failed transfer and no closing tag:
 * never a short multistatus that looks complete.
 *
 * A folder over the listing limit (KURA_DAV_LIST_MAX, lowered with KURA_TEST_DAV_LIST_MAX)
 * answers 207 with the first members by name and a last response for the folder itself,
 * 507 with DAV:number-of-matches-within-limits (RFC 6578 3.6), so a client never reads the
 * missing members as deleted: whole, streamed (straight into MHD's buffer, and the
 * reference writer byte for byte), for allprop, prop and propname; a folder of exactly the
 * limit is not marked, Depth 0 never is, and the audit record says the listing was cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PW "Dav-propfind-password-1"
#define N_FOLDERS 2400
#define N_FILES 5
#define N_MEMBERS (N_FOLDERS + N_FILES)
#define ALLPROP "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"

struct env {
	struct it_server *s;
	char auth[IT_STR * 2];      /* Authorization header line */
	char curlrc[IT_STR * 2];    /* the same header for the curl command line */
	char lock_token[IT_STR];    /* "Lock-Token: <...>" of test_large_folder's lock */
	struct it_session alice;    /* the tenant's manager: reads the audit log */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct it_response *r;
	char secret[IT_STR];
	FILE *f;

	if (!e)
		return -1;
	e->s = it_server_start(NULL);
	if (!e->s) {
		free(e);
		return -1;
	}
	it_create_tenant(e->s, "alpha", NULL);
	it_create_manager(e->s, "alpha", "alice", PW, &e->alice);
	r = it_send(e->s, &e->alice, "POST", "/api/v1/me/app-passwords",
		    json_pack("{s:s, s:s}", "name", "dav", "scope", "read-write"));
	IT_ASSERT_STATUS(r, 201);
	snprintf(secret, sizeof(secret), "%s", it_json_str(r->json, "secret"));
	it_response_free(r);
	it_basic_auth(e->auth, sizeof(e->auth), "alice@alpha", secret);
	snprintf(e->curlrc, sizeof(e->curlrc), "%s/../propfind.curlrc", e->s->data);
	f = fopen(e->curlrc, "w");
	assert_non_null(f);
	/* the credential goes into a file, never a command line */
	fprintf(f, "header = \"%s\"\nsilent\noutput = /dev/null\n", e->auth);
	if (e->s->tls)
		fprintf(f, "cacert = \"%s/tls/cert.pem\"\n", e->s->data);
	fclose(f);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int status = it_server_stop(e->s);

	free(e);
	return status == 0 ? 0 : -1;
}

static struct it_response *dav(struct env *e, const char *method, const char *path, const char *depth,
			       const char *body)
{
	char d[32];
	const char *headers[] = { e->auth, d, NULL };

	snprintf(d, sizeof(d), "Depth: %s", depth);
	return it_request(e->s, &(struct it_request){ .method = method, .path = path, .body = body,
						     .body_len = body ? strlen(body) : 0,
						     .content_type = body ? "application/xml" : "",
						     .headers = headers });
}

/* curl ARGS... with the credential file; asserts it succeeded */
static void curl_run(struct env *e, const char *method, const char *url_glob, const char *upload)
{
	char url[IT_STR * 2];
	const char *argv[12];
	char *out = NULL, *err = NULL;
	int n = 0, st;

	snprintf(url, sizeof(url), "%s%s", e->s->base_url, url_glob);
	argv[n++] = "/usr/bin/curl";
	argv[n++] = "-K";
	argv[n++] = e->curlrc;
	argv[n++] = "-f";
	if (upload) {
		argv[n++] = "-T";
		argv[n++] = upload;
	} else {
		argv[n++] = "-X";
		argv[n++] = method;
	}
	argv[n++] = url;
	argv[n] = NULL;
	st = it_run(argv, 240, &out, &err);   /* the answers past the first go to stdout */
	if (st != 0)
		fprintf(stderr, "curl %s: %d %s\n", url, st, err ? err : "");
	free(out);
	free(err);
	assert_int_equal(st, 0);
}

static void make_folder(struct env *e)
{
	char glob[IT_STR], file[IT_STR * 2];
	FILE *f;

	curl_run(e, "MKCOL", "/dav/alpha/big/", NULL);
	/* one keep-alive connection for every member; names sort as strings (d1, d10, ...) */
	snprintf(glob, sizeof(glob), "/dav/alpha/big/d[1-%d]/", N_FOLDERS);
	curl_run(e, "MKCOL", glob, NULL);
	snprintf(file, sizeof(file), "%s/../member.txt", e->s->data);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs("a member & <its> \"content\"\n", f);
	fclose(f);
	snprintf(glob, sizeof(glob), "/dav/alpha/big/f%%20%%26[1-%d].txt", N_FILES);
	curl_run(e, NULL, glob, file);
}

/* python3 checks the multistatus in path: parses it (a truncated document does not parse),
 * prints "members=<n> sorted=<0|1> ok=<responses with a 200 propstat>" */
static char *parse_answer(const char *path)
{
	static const char prog[] =
		"import sys, urllib.parse, xml.etree.ElementTree as ET\n"
		"D='{DAV:}'\n"
		"root=ET.parse(sys.argv[1]).getroot()\n"
		"assert root.tag==D+'multistatus', root.tag\n"
		"rs=root.findall(D+'response')\n"
		"hrefs=[r.find(D+'href').text for r in rs]\n"
		"assert hrefs[0]=='/dav/alpha/big/', hrefs[0]\n"
		"assert len(set(hrefs))==len(hrefs), 'a member twice'\n"
		"names=[urllib.parse.unquote(h[len('/dav/alpha/big/'):]).rstrip('/') for h in hrefs[1:]]\n"
		"ok=sum(1 for r in rs if r.find(D+'propstat/'+D+'status').text=='HTTP/1.1 200 OK')\n"
		"print('members=%d sorted=%d ok=%d' % (len(names), int(names==sorted(names, key=lambda s: s.encode())), ok))\n";
	const char *argv[] = { "/usr/bin/python3", "-c", prog, path, NULL };
	char *out = NULL, *err = NULL;
	int st = it_run(argv, 60, &out, &err);

	if (st != 0) {
		free(out);
		out = NULL;
	}
	free(err);
	return out;
}

static void save(const struct it_response *r, const char *path)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(r->body, 1, r->body_len, f), r->body_len);
	fclose(f);
}

static void test_large_folder(void **state)
{
	struct env *e = *state;
	struct it_response *r, *ref;
	char path[IT_STR * 2], want[IT_STR], *out;

	make_folder(e);
	/* a dead property on a member: in the streamed answer */
	r = dav(e, "PROPPATCH", "/dav/alpha/big/f%20%262.txt", "0",
		"<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:x-test\"><D:set>"
		"<D:prop><Z:colour>blue &amp; green</Z:colour></D:prop></D:set></D:propertyupdate>");
	IT_ASSERT_STATUS(r, 207);
	it_response_free(r);

	/* no lock yet: the answer is kept (http/dav_cache.c), so it is written whole with the
	 * fast writer and sent with a Content-Length; the same bytes as the reference writer,
	 * every one (the streamed fast path, pf_direct, is test_listing_over_the_limit's) */
	r = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strcasestr(r->headers, "Content-Length:"));
	assert_non_null(strstr(r->body, "<D:getetag>\""));
	assert_non_null(strstr(r->body, "<D:lockdiscovery/></D:prop>"));
	setenv("KURA_TEST_DAV_PROPFIND_SLOW", "1", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	unsetenv("KURA_TEST_DAV_PROPFIND_SLOW");
	ref = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	IT_ASSERT_STATUS(ref, 207);
	assert_int_equal(r->body_len, ref->body_len);
	assert_memory_equal(r->body, ref->body, r->body_len);
	it_response_free(ref);
	it_response_free(r);
	assert_int_equal(it_server_restart(e->s), 0);

	/* a lock on a member: in the streamed answer (every member through put_live) */
	r = dav(e, "LOCK", "/dav/alpha/big/d7/", "0",
		"<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
		"<D:locktype><D:write/></D:locktype><D:owner>propfind-test</D:owner></D:lockinfo>");
	IT_ASSERT_STATUS(r, 200);
	{
		const char *t = strcasestr(r->headers, "Lock-Token: <");
		size_t n;

		assert_non_null(t);
		n = strcspn(t, "\r\n");
		assert_true(n < sizeof(e->lock_token));
		memcpy(e->lock_token, t, n);
		e->lock_token[n] = '\0';
	}
	it_response_free(r);

	r = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strcasestr(r->headers, "Transfer-Encoding: chunked"));   /* streamed */
	assert_null(strcasestr(r->headers, "Content-Length:"));
	snprintf(path, sizeof(path), "%s/../answer.xml", e->s->data);
	save(r, path);
	out = parse_answer(path);
	assert_non_null(out);
	snprintf(want, sizeof(want), "members=%d sorted=1 ok=%d\n", N_MEMBERS, N_MEMBERS + 1);
	assert_string_equal(out, want);
	free(out);
	assert_non_null(strstr(r->body, "<D:href>/dav/alpha/big/d7/</D:href><D:propstat><D:prop>"));
	assert_non_null(strstr(r->body, "propfind-test</D:owner>"));
	assert_non_null(strstr(r->body, "<D:lockroot><D:href>/dav/alpha/big/d7</D:href></D:lockroot>"));
	assert_non_null(strstr(r->body, "<D:href>/dav/alpha/big/f%20%262.txt</D:href>"));
	assert_non_null(strstr(r->body, "<D:displayname>f &amp;2.txt</D:displayname>"));
	assert_non_null(strstr(r->body, "blue &amp; green</Z:colour>"));
	assert_non_null(strstr(r->body, "<D:getcontentlength>27</D:getcontentlength>"));

	/* the same bytes as the reference writer (the lock's timeout counts down: compared
	 * without it) */
	setenv("KURA_TEST_DAV_PROPFIND_SLOW", "1", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	unsetenv("KURA_TEST_DAV_PROPFIND_SLOW");
	ref = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	IT_ASSERT_STATUS(ref, 207);
	{
		char *a = strstr(r->body, "<D:timeout>Second-"), *b = strstr(ref->body, "<D:timeout>Second-");

		assert_non_null(a);
		assert_non_null(b);
		assert_memory_equal(r->body, ref->body, (size_t)(a - r->body));
		a = strstr(a, "</D:timeout>");
		b = strstr(b, "</D:timeout>");
		assert_string_equal(a, b);
	}
	it_response_free(ref);
	it_response_free(r);
	assert_int_equal(it_server_restart(e->s), 0);

	/* Depth 0 and a small folder: one piece, with its Content-Length as before */
	r = dav(e, "PROPFIND", "/dav/alpha/big/", "0", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strcasestr(r->headers, "Content-Length:"));
	assert_non_null(strstr(r->body, "</D:multistatus>\n"));
	it_response_free(r);
	r = dav(e, "PROPFIND", "/dav/alpha/", "1", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strcasestr(r->headers, "Content-Length:"));
	assert_non_null(strstr(r->body, "<D:href>/dav/alpha/big/</D:href>"));
	it_response_free(r);
}

static void test_broken_off_answer_is_not_complete(void **state)
{
	struct env *e = *state;
	struct it_response *r;

	/* the folder of test_large_folder; the answer fails after 1,000 of its members */
	setenv("KURA_TEST_DAV_PROPFIND_FAULT", "1000", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	unsetenv("KURA_TEST_DAV_PROPFIND_FAULT");
	r = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	/* the status line and the first pieces went out; then the connection closes without
	 * the last chunk: the client sees a failed transfer, not a complete answer */
	assert_int_not_equal(r->curl_code, CURLE_OK);
	if (r->body)
		assert_null(strstr(r->body, "</D:multistatus>"));
	it_response_free(r);
	/* the same without a lock in the folder: the members straight into MHD's buffer
	 * (pf_direct) break off the same way */
	{
		const char *headers[] = { e->auth, e->lock_token, NULL };

		r = it_request(e->s, &(struct it_request){ .method = "UNLOCK", .path = "/dav/alpha/big/d7/",
							   .headers = headers });
		IT_ASSERT_STATUS(r, 204);
	}
	it_response_free(r);
	r = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	assert_int_not_equal(r->curl_code, CURLE_OK);
	if (r->body)
		assert_null(strstr(r->body, "</D:multistatus>"));
	it_response_free(r);
	/* a small answer is unaffected (it is written whole before anything is sent) */
	r = dav(e, "PROPFIND", "/dav/alpha/", "1", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_non_null(strstr(r->body, "</D:multistatus>\n"));
	it_response_free(r);
	assert_int_equal(it_server_restart(e->s), 0);
	r = dav(e, "PROPFIND", "/dav/alpha/big/", "1", ALLPROP);
	IT_ASSERT_STATUS(r, 207);
	assert_int_equal(r->curl_code, CURLE_OK);
	assert_non_null(strstr(r->body, "</D:multistatus>\n"));
	it_response_free(r);
}

/* python3 checks a listing of the folder whose href is base: parses it (a malformed or
 * truncated document does not parse), finds the marker of a cut listing (the last response:
 * base again, 507, DAV:number-of-matches-within-limits, no propstat) and prints
 * "responses=<n> members=<n> sorted=<0|1> ok=<members with a 200 propstat> cut=<0|1>
 * first=<name> last=<name>" */
static char *parse_listing(const char *path, const char *base)
{
	static const char prog[] =
		"import sys, urllib.parse, xml.etree.ElementTree as ET\n"
		"D='{DAV:}'\n"
		"base=sys.argv[2]\n"
		"root=ET.parse(sys.argv[1]).getroot()\n"
		"assert root.tag==D+'multistatus', root.tag\n"
		"rs=root.findall(D+'response')\n"
		"hrefs=[r.find(D+'href').text for r in rs]\n"
		"assert hrefs[0]==base, hrefs[0]\n"
		"last=rs[-1]\n"
		"st=last.find(D+'status')\n"
		"cut=int(len(rs)>1 and hrefs[-1]==base and st is not None"
		" and st.text=='HTTP/1.1 507 Insufficient Storage'"
		" and last.find(D+'error/'+D+'number-of-matches-within-limits') is not None"
		" and last.find(D+'propstat') is None)\n"
		"ms=rs[1:len(rs)-cut]\n"
		"mh=hrefs[1:len(rs)-cut]\n"
		"assert base not in mh, 'the folder among its members'\n"
		"assert len(set(mh))==len(mh), 'a member twice'\n"
		"assert all(r.find(D+'status') is None for r in ms), 'a member with a status'\n"
		"names=[urllib.parse.unquote(h[len(base):]).rstrip('/') for h in mh]\n"
		"ok=sum(1 for r in ms if r.find(D+'propstat/'+D+'status').text=='HTTP/1.1 200 OK')\n"
		"print('responses=%d members=%d sorted=%d ok=%d cut=%d first=%s last=%s' % (len(rs), len(names),"
		" int(names==sorted(names, key=lambda s: s.encode())), ok, cut, names[0] if names else '-',"
		" names[-1] if names else '-'))\n";
	const char *argv[] = { "/usr/bin/python3", "-c", prog, path, base, NULL };
	char *out = NULL, *err = NULL;
	int st = it_run(argv, 60, &out, &err);

	if (st != 0) {
		fprintf(stderr, "parse_listing: %s\n", err ? err : "");
		free(out);
		out = NULL;
	}
	free(err);
	return out;
}

/* PROPFIND path (Depth depth, body) is a 207 whose parse_listing summary is want */
static struct it_response *listing_is(struct env *e, const char *path, const char *depth, const char *body,
				      const char *want)
{
	struct it_response *r = dav(e, "PROPFIND", path, depth, body);
	char file[IT_STR * 2], *out;

	IT_ASSERT_STATUS(r, 207);
	assert_int_equal(r->curl_code, CURLE_OK);
	snprintf(file, sizeof(file), "%s/../listing.xml", e->s->data);
	save(r, file);
	out = parse_listing(file, path);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
	return r;
}

/* dav.propfind records whose details say the listing was cut */
static long cut_records(struct env *e)
{
	json_t *ev = it_audit_events(e->s, &e->alice, NULL, "action=dav.propfind"), *x;
	long n = 0;
	size_t i;

	json_array_foreach(ev, i, x) {
		json_t *det = json_object_get(x, "details");

		n += json_is_true(json_object_get(det, "truncated")) &&
		     json_integer_value(json_object_get(det, "members")) > 0;
	}
	json_decref(ev);
	return n;
}

static void test_listing_over_the_limit(void **state)
{
	struct env *e = *state;
	struct it_response *r, *ref;
	long cut_before;

	/* 50 members m10..m59 (names of one length: their order is plain) and a folder of
	 * exactly 20, e10..e29 */
	curl_run(e, "MKCOL", "/dav/alpha/many/", NULL);
	curl_run(e, "MKCOL", "/dav/alpha/many/m[10-59]/", NULL);
	curl_run(e, "MKCOL", "/dav/alpha/exact/", NULL);
	curl_run(e, "MKCOL", "/dav/alpha/exact/e[10-29]/", NULL);
	setenv("KURA_TEST_DAV_LIST_MAX", "20", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	cut_before = cut_records(e);

	/* the first 20 by name, then the folder again with 507: a small answer, sent whole */
	r = listing_is(e, "/dav/alpha/many/", "1", ALLPROP,
		       "responses=22 members=20 sorted=1 ok=20 cut=1 first=m10 last=m29\n");
	assert_non_null(strcasestr(r->headers, "Content-Length:"));
	assert_non_null(strstr(r->body, "<D:response><D:href>/dav/alpha/many/</D:href>"
					"<D:status>HTTP/1.1 507 Insufficient Storage</D:status>"
					"<D:error><D:number-of-matches-within-limits/></D:error>"));
	/* the marker is the last response, right before the closing tag */
	assert_non_null(strstr(r->body, "</D:responsedescription></D:response>\n</D:multistatus>\n"));
	assert_null(strstr(r->body, "/dav/alpha/many/m30/"));
	it_response_free(r);
	assert_int_equal(cut_records(e), cut_before + 1);
	/* the same for named properties and for names only */
	r = listing_is(e, "/dav/alpha/many/", "1",
		       "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag/>"
		       "<D:resourcetype/></D:prop></D:propfind>",
		       "responses=22 members=20 sorted=1 ok=20 cut=1 first=m10 last=m29\n");
	it_response_free(r);
	r = listing_is(e, "/dav/alpha/many/", "1",
		       "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\"><D:propname/></D:propfind>",
		       "responses=22 members=20 sorted=1 ok=20 cut=1 first=m10 last=m29\n");
	it_response_free(r);
	/* exactly the limit: complete, no marker; Depth 0: never a marker */
	r = listing_is(e, "/dav/alpha/exact/", "1", ALLPROP,
		       "responses=21 members=20 sorted=1 ok=20 cut=0 first=e10 last=e29\n");
	assert_null(strstr(r->body, "Insufficient Storage"));
	it_response_free(r);
	r = listing_is(e, "/dav/alpha/many/", "0", ALLPROP,
		       "responses=1 members=0 sorted=1 ok=0 cut=0 first=- last=-\n");
	assert_null(strstr(r->body, "Insufficient Storage"));
	it_response_free(r);
	assert_int_equal(cut_records(e), cut_before + 3);
	/* a browser's GET of the folder: the first 20 and a line that says the others are not
	 * listed (before: a 500 and nothing) */
	r = dav(e, "GET", "/dav/alpha/many/", "1", NULL);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->body, "<li><a href=\"/dav/alpha/many/m29/\">m29/</a></li>"));
	assert_null(strstr(r->body, "m30/"));
	assert_non_null(strstr(r->body, "Only the first 20 members are listed"));
	it_response_free(r);
	r = dav(e, "GET", "/dav/alpha/exact/", "1", NULL);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->body, "e29/"));
	assert_null(strstr(r->body, "Only the first"));
	it_response_free(r);

	/* a streamed answer: test_large_folder's folder (2,405 members, no lock left) cut at
	 * 2,000 goes straight into MHD's buffer; the marker comes after the last member, the
	 * same bytes as the reference writer's */
	setenv("KURA_TEST_DAV_LIST_MAX", "2000", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	r = listing_is(e, "/dav/alpha/big/", "1", ALLPROP,
		       "responses=2002 members=2000 sorted=1 ok=2000 cut=1 first=d1 last=d638\n");
	assert_non_null(strcasestr(r->headers, "Transfer-Encoding: chunked"));
	setenv("KURA_TEST_DAV_PROPFIND_SLOW", "1", 1);
	assert_int_equal(it_server_restart(e->s), 0);
	unsetenv("KURA_TEST_DAV_PROPFIND_SLOW");
	ref = listing_is(e, "/dav/alpha/big/", "1", ALLPROP,
			 "responses=2002 members=2000 sorted=1 ok=2000 cut=1 first=d1 last=d638\n");
	assert_non_null(strcasestr(ref->headers, "Transfer-Encoding: chunked"));
	assert_int_equal(r->body_len, ref->body_len);
	assert_memory_equal(r->body, ref->body, r->body_len);
	it_response_free(ref);
	it_response_free(r);

	/* the real limit: nothing here is cut */
	unsetenv("KURA_TEST_DAV_LIST_MAX");
	assert_int_equal(it_server_restart(e->s), 0);
	r = listing_is(e, "/dav/alpha/many/", "1", ALLPROP,
		       "responses=51 members=50 sorted=1 ok=50 cut=0 first=m10 last=m59\n");
	it_response_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_large_folder),
		cmocka_unit_test(test_broken_off_answer_is_not_complete),
		cmocka_unit_test(test_listing_over_the_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
