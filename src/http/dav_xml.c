/*
 * WebDAV XML (dav_int.h): request bodies parsed with libxml2 under tight rules, and the
 * small output helpers the multistatus writer uses.
 *
 * SECURITY: request bodies are at most KURA_DAV_XML_BODY_MAX bytes (dav.c) and are parsed
 * with XML_PARSE_NONET and without XML_PARSE_NOENT, XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR
 * or XML_PARSE_HUGE. A body that holds "<!DOCTYPE" is refused before libxml2 sees it, so
 * no internal or external entity is ever declared, loaded or expanded (billion laughs,
 * XXE). Namespace errors count as errors (RFC 4918 8.2: xmlns:a="" is not well-formed).
 * Depth and element count are bounded after parsing (libxml2's own depth limit of 256 is
 * the backstop while parsing). Output escapes every text and attribute value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "core/limits.h"
#include "http/dav_int.h"

void dav_esc(struct dbuf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: break;
		}
		if (!rep)
			continue;
		dbuf_add(b, run, (size_t)(s - run));
		dbuf_puts(b, rep);
		run = s + 1;
	}
	dbuf_add(b, run, (size_t)(s - run));
}

void dav_pct(struct dbuf *b, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *run = path;

	for (; *path; path++) {
		unsigned char c = (unsigned char)*path;
		char e[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
			continue;
		dbuf_add(b, run, (size_t)(path - run));
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		dbuf_add(b, e, 3);
		run = path + 1;
	}
	dbuf_add(b, run, (size_t)(path - run));
}

/* ---- parsing ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static int check_tree(const xmlNode *node, unsigned depth, size_t *count)
{
	int r;

	for (; node; node = node->next) {
		if (node->type == XML_ENTITY_REF_NODE || node->type == XML_ENTITY_DECL ||
		    node->type == XML_DTD_NODE)
			return -EINVAL;
		if (node->type != XML_ELEMENT_NODE)
			continue;
		if (depth > KURA_DAV_XML_DEPTH_MAX || ++*count > KURA_DAV_XML_NODES_MAX)
			return -E2BIG;
		r = check_tree(node->children, depth + 1, count);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool has_doctype(const char *body, size_t n)
{
	static const char needle[] = "<!DOCTYPE";
	size_t i, k = sizeof(needle) - 1;

	for (i = 0; i + k <= n; i++)
		if (body[i] == '<' && !memcmp(body + i, needle, k))
			return true;
	return false;
}

int dav_xml_parse(const char *body, size_t n, xmlDocPtr *ret)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	size_t count = 0;
	int r;

	if (n == 0 || n > KURA_DAV_XML_BODY_MAX || n > INT32_MAX)
		return -EINVAL;
	if (has_doctype(body, n))
		return -EINVAL;
	pthread_once(&xml_once, xml_init);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	doc = xmlCtxtReadMemory(ctxt, body, (int)n, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed || doc->intSubset || doc->extSubset ||
	    !xmlDocGetRootElement(doc)) {
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	xmlFreeParserCtxt(ctxt);
	r = check_tree(xmlDocGetRootElement(doc), 1, &count);
	if (r < 0) {
		xmlFreeDoc(doc);
		return r;
	}
	*ret = doc;
	return 0;
}

bool dav_xml_is(const xmlNode *node, const char *name)
{
	return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       !strcmp((const char *)node->ns->href, DAV_NS) && !strcmp((const char *)node->name, name);
}

const char *dav_xml_ns(const xmlNode *node)
{
	return node->ns && node->ns->href ? (const char *)node->ns->href : "";
}

char *dav_xml_serialize(xmlNodePtr node, size_t max)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr copy;
	xmlBufferPtr buf = NULL;
	char *out = NULL;

	if (!doc)
		return NULL;
	copy = xmlDocCopyNode(node, doc, 1);   /* redeclares namespaces from outside the copy */
	if (!copy)
		goto out;
	xmlDocSetRootElement(doc, copy);
	buf = xmlBufferCreate();
	if (!buf || xmlNodeDump(buf, doc, copy, 0, 0) < 0)
		goto out;
	if ((size_t)xmlBufferLength(buf) <= max)
		out = strdup((const char *)xmlBufferContent(buf));
out:
	if (buf)
		xmlBufferFree(buf);
	xmlFreeDoc(doc);
	return out;
}
