/* Shared inside src/notice. */
#ifndef KURA_NOTICE_NOTICE_INT_H
#define KURA_NOTICE_NOTICE_INT_H
#include "notice/notice.h"


/* The channels (notify/channels.h) of the tenant's services that are in services (a
 * NULL-terminated list; NULL: every service of the tenant). 0 when none applies. */
int notice_tenant_channels(struct db *db, int64_t tenant_id, const char *const *services,
			   unsigned *ret) KURA_WUR;
#endif
