/*
 * The notice channels of each service come from the service catalog (core/catalog.c: CONTROLS
 * F1 changes and maintenance by mail to the managers for MAIL, on the portal for DOCX and
 * IAAS, both for ZTNA, portal plus individual mail to pre-registered addresses for COLLAB;
 * G1 incidents likewise), with the deployment's [service.CODE] overrides.
 */
#include <string.h>

#include "notify/channels.h"

unsigned channels_for(const char *service, enum notice_kind kind)
{
	int i = service ? catalog_index(service) : -1;
	const struct catalog_params *p = i >= 0 ? catalog_params_of((size_t)i) : NULL;

	if (!p)
		return 0;
	return kind == NOTICE_INCIDENT ? p->incident_channels : p->change_channels;
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
