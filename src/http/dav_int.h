/* Shared by dav.c and dav_xml.c: bounded output buffers, XML escaping, hrefs, safe parsing. */
#ifndef KURA_HTTP_DAV_INT_H
#define KURA_HTTP_DAV_INT_H
#include <libxml/tree.h>

#include "core/core.h"

#define DAV_NS "DAV:"

/* A growable byte buffer with a maximum; after a failure (memory, maximum) it only counts
 * and dbuf_failed() says so. malloc'd: release with dbuf_release. */
struct dbuf {
	char *p;
	size_t n, cap, max;
	bool failed;
};
void dbuf_init(struct dbuf *b, size_t max);
void dbuf_release(struct dbuf *b);
void dbuf_put(struct dbuf *b, const char *s, size_t n);
void dbuf_puts(struct dbuf *b, const char *s);
void dbuf_put_i64(struct dbuf *b, int64_t v);
void dbuf_printf(struct dbuf *b, const char *fmt, ...) KURA_PRINTF(2, 3);
/* s with & < > " ' escaped for element content and attribute values. */
void dbuf_esc(struct dbuf *b, const char *s);
/* A path percent-encoded segment by segment (unreserved characters and "/" stay). */
void dbuf_pct(struct dbuf *b, const char *path);

/* Parses a request body: no network, no DTD, no entities (a DOCTYPE is refused before
 * parsing), namespaces checked (a namespace error is an error), at most
 * KURA_DAV_XML_DEPTH_MAX deep and KURA_DAV_XML_NODES_MAX elements. -EINVAL when it is not
 * acceptable XML, -E2BIG over the bounds. */
int dav_xml_parse(const char *body, size_t n, xmlDocPtr *ret) KURA_WUR;
/* Is node the element DAV:name? */
bool dav_xml_is(const xmlNode *node, const char *name);
/* The namespace URI of an element ("" for none). */
const char *dav_xml_ns(const xmlNode *node);
/* node serialized on its own, every namespace it uses declared on it; malloc'd, NULL when
 * over max bytes or out of memory. */
char *dav_xml_serialize(xmlNodePtr node, size_t max);
#endif
