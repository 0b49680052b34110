/* Shared inside src/notice. */
#ifndef KURA_NOTICE_NOTICE_INT_H
#define KURA_NOTICE_NOTICE_INT_H
#include "notice/notice.h"
#include "notify/channels.h"


/* The channels (notify/channels.h, from the service catalog) for that kind of notice of the
 * tenant's services that are in services (a NULL-terminated list; NULL: every service of the
 * tenant). 0 when none applies. */
int notice_tenant_channels(struct db *db, int64_t tenant_id, const char *const *services,
			   enum notice_kind kind, unsigned *ret) KURA_WUR;
#endif
