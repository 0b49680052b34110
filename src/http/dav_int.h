/* Shared by dav.c and dav_xml.c: XML escaping and hrefs into bounded buffers (core/dbuf.h),
 * safe parsing. */
#ifndef KURA_HTTP_DAV_INT_H
#define KURA_HTTP_DAV_INT_H
#include <libxml/tree.h>

#include "core/core.h"
#include "core/dbuf.h"

#define DAV_NS "DAV:"

/* s with & < > " ' escaped for element content and attribute values. */
void dav_esc(struct dbuf *b, const char *s);
/* A path percent-encoded segment by segment (unreserved characters and "/" stay). */
void dav_pct(struct dbuf *b, const char *path);

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
