/*
 * The notice channel of each service (CONTROLS F1: changes and maintenance by mail to the
 * managers for MAIL, on the portal for DOCX and IAAS, both for ZTNA, portal plus individual
 * mail to pre-registered addresses for COLLAB).
 *
 * TODO(issue 8): the service catalog absorbs this table; channels_for() then reads the
 * catalog's channel of the service, and nothing else changes.
 */
#include <string.h>

#include "notify/channels.h"

static const struct {
	const char *service;
	unsigned channels;
} table[] = {
	{ "MAIL", CHANNEL_MAIL_MANAGERS },
	{ "DOCX", CHANNEL_PORTAL },
	{ "IAAS", CHANNEL_PORTAL },
	{ "ZTNA", CHANNEL_PORTAL | CHANNEL_MAIL_MANAGERS },
	{ "COLLAB", CHANNEL_PORTAL | CHANNEL_MAIL_CONTACTS },
};

unsigned channels_for(const char *service)
{
	for (size_t i = 0; service && i < ARRAY_SIZE(table); i++)
		if (!strcmp(table[i].service, service))
			return table[i].channels;
	return 0;
}

void channels_name(unsigned channels, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = { { CHANNEL_PORTAL, "portal" }, { CHANNEL_MAIL_MANAGERS, "managers" },
		      { CHANNEL_MAIL_CONTACTS, "contacts" } };
	size_t n = 0;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(channels & names[i].bit))
			continue;
		if (n)
			str_printf(buf + strlen(buf), size - strlen(buf), ",");
		str_printf(buf + strlen(buf), size - strlen(buf), "%s", names[i].name);
		n++;
	}
}
