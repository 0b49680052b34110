/* JSON-lines log on stderr: one object per line with time, level, event and message. */
#ifndef KURA_CORE_LOG_H
#define KURA_CORE_LOG_H
#include "core/core.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* event is a stable dotted name ("http.request", "mail.sent"); fmt is a human message. */
void log_event(enum log_level level, const char *event, const char *fmt, ...) KURA_PRINTF(3, 4);
/* Same, with extra fields: kv is NULL-terminated pairs of key, string value. */
void log_fields(enum log_level level, const char *event, const char *const *kv);

#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)
#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#endif
