/*
 * Which channels a service's change and incident notices go through (F1, G1; issue 9):
 * the service catalog's change_channels and incident_channels (core/catalog.h, with the
 * kura.conf overrides of [service.CODE]); the bits are the catalog's CATALOG_CH_*.
 */
#ifndef KURA_NOTIFY_CHANNELS_H
#define KURA_NOTIFY_CHANNELS_H
#include "core/core.h"
#include "core/catalog.h"

enum channel {
	CHANNEL_PORTAL = CATALOG_CH_PORTAL,          /* shown in the portal (announcements, incidents) */
	CHANNEL_MAIL_MANAGERS = CATALOG_CH_MANAGERS, /* mailed to the tenant's active managers */
	CHANNEL_MAIL_CONTACTS = CATALOG_CH_CONTACTS, /* mailed to each confirmed contact of the tenant */
};

enum notice_kind {
	NOTICE_CHANGE,      /* announcements: change, maintenance (F1) */
	NOTICE_INCIDENT,    /* incidents and announcements of kind incident (G1) */
};

/* The channels of one service code (MAIL, DOCX, IAAS, ZTNA, COLLAB) for that kind of notice;
 * 0 for an unknown one. */
unsigned channels_for(const char *service, enum notice_kind kind);
/* "portal,managers,contacts" (the set bits, in that order) into buf. */
void channels_name(unsigned channels, char *buf, size_t size);
#endif
