/*
 * libFuzzer target for the WebDAV request-body parser (dav_xml_parse): PROPFIND, PROPPATCH
 * and LOCK bodies. Beyond not crashing, what kura relies on: an accepted document has a
 * root element, stays within the depth bound, and every element it serializes for storage
 * (dead properties, lock owners) parses again on its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/dav_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t depth(const xmlNode *n)
{
	size_t max = 0, d;
	const xmlNode *c;

	for (c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		d = depth(c);
		if (d > max)
			max = d;
	}
	return max + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xmlDocPtr doc = NULL, again = NULL;
	xmlNodePtr root, c;
	char *text;

	if (size > KURA_DAV_XML_BODY_MAX)
		return 0;
	if (dav_xml_parse((const char *)data, size, &doc) < 0)
		return 0;
	root = xmlDocGetRootElement(doc);
	if (!root || depth(root) > KURA_DAV_XML_DEPTH_MAX + 1)
		abort();
	for (c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		text = dav_xml_serialize(c, 64 * 1024);
		if (!text)
			continue;
		if (dav_xml_parse(text, strlen(text), &again) < 0)
			abort();   /* what kura stores must be acceptable XML again */
		xmlFreeDoc(again);
		again = NULL;
		free(text);
	}
	xmlFreeDoc(doc);
	return 0;
}
