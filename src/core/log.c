/*
 * JSON-lines logging. Each line is built whole and written with one write(2), so lines from
 * different threads never interleave. Values are escaped by jansson: a hostile string in a
 * log field cannot forge another field or line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	min_level = level;
}

static void emit(json_t *obj)
{
	char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;

	if (!line)
		return;
	n = strlen(line);
	line[n] = '\n';  /* json_dumps leaves room for the NUL we overwrite */
	if (write(STDERR_FILENO, line, n + 1) < 0) {
		/* nowhere left to report to */
	}
	free(line);
}

static json_t *start(enum log_level level, const char *event)
{
	char ts[CLOCK_RFC3339_LEN];
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	clock_format_utc(clock_now_us(), ts, sizeof(ts));
	json_object_set_new(obj, "time", json_string(ts));
	json_object_set_new(obj, "level", json_string(level_names[level]));
	json_object_set_new(obj, "event", json_string(event));
	return obj;
}

void log_event(enum log_level level, const char *event, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *obj;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	obj = start(level, event);
	if (!obj)
		return;
	json_object_set_new(obj, "msg", json_stringn_nocheck(msg, strlen(msg)));
	emit(obj);
	json_decref(obj);
}

void log_fields(enum log_level level, const char *event, const char *const *kv)
{
	json_t *obj;

	if (level < min_level)
		return;
	obj = start(level, event);
	if (!obj)
		return;
	for (; kv && kv[0]; kv += 2) {
		json_t *v = kv[1] ? json_string(kv[1]) : json_null();
		json_object_set_new(obj, kv[0], v ? v : json_string("(invalid utf-8)"));
	}
	emit(obj);
	json_decref(obj);
}
