/*
 * Which channels a service's change and incident notices go through (F1, G1; issue 9).
 * One table (channels.c) until the service catalog (issue 8) holds the channel of each
 * service; the catalog absorbs it behind the same call.
 */
#ifndef KURA_NOTIFY_CHANNELS_H
#define KURA_NOTIFY_CHANNELS_H
#include "core/core.h"

enum channel {
	CHANNEL_PORTAL = 1u << 0,          /* shown in the portal (announcements, incidents) */
	CHANNEL_MAIL_MANAGERS = 1u << 1,   /* mailed to the tenant's active managers */
	CHANNEL_MAIL_CONTACTS = 1u << 2,   /* mailed to each confirmed contact of the tenant */
};

/* The channels of one service code (MAIL, DOCX, IAAS, ZTNA, COLLAB); 0 for an unknown one. */
unsigned channels_for(const char *service);
/* "portal,managers,contacts" (the set bits, in that order) into buf. */
void channels_name(unsigned channels, char *buf, size_t size);
#endif
