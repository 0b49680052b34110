/*
 * Capacity alerts (F2, docs/operations.md "Alerts"): every [ops] check_seconds, the data
 * directory's disk and each tenant's quota against disk_alert_percent and
 * quota_alert_percent, and the outbox
 * backlog against outbox_alert_backlog. A threshold passed is a log line (ops.alert) and a
 * provider mail to [ops] alert_mail, once; again only after alert_repeat_seconds while it
 * stands; its end is a log line (ops.alert.cleared).
 */
#ifndef KURA_HTTP_ALERTS_H
#define KURA_HTTP_ALERTS_H
#include "core/core.h"

struct config;
struct mailer;
struct alerts;

struct alerts *alerts_start(const struct config *cfg, const char *dir, struct mailer *mailer);
struct alerts *alerts_stop(struct alerts *a);
#endif
