/*
 * JSON body members by a declared spec (struct field, http_int.h): the handler says which
 * members it takes and of what kind — string (bounded in code points), bool, object,
 * integer (bounded, optionally one of a few names instead, like "root"), array (bounded
 * item count, each item a bounded string or integer), enumeration (a NULL-terminated list
 * of strings), each optionally nullable — and gets them typed, or a 400 problem+json with
 * the offending member in "field" before it does anything.
 *
 * SECURITY: every member of the body must be in the spec (unknown members are refused, so
 * a misspelt or injected member never goes unnoticed); strings with a NUL inside are
 * refused, since C would see a shorter string than JSON does; integers are JSON integers
 * (not reals, not strings) within the declared bounds; arrays are bounded before their
 * items are looked at. Outputs borrow from req->json (valid for the request).
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/limits.h"
#include "http/http_int.h"

static int refuse(struct field_error *e, const char *field, const char *fmt, ...) KURA_PRINTF(3, 4);
static int refuse(struct field_error *e, const char *field, const char *fmt, ...)
{
	va_list ap;

	/* a member's name is kept whole (the body's key or the spec's name); an item's label is
	 * the caller's buffer */
	if (field == e->item)
		e->field = e->item;
	else
		e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool string_ok(json_t *v, size_t max_chars)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	return json_is_string(v) && strlen(s) == len && utf8_length(s, len) <= max_chars;
}

/* "a", "b" or "c" into buf (cut at its size). */
static void list_names(const char *const *values, char *buf, size_t size)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; values[i] && o < size; i++) {
		int k = snprintf(buf + o, size - o, "%s\"%s\"", i == 0 ? "" : values[i + 1] ? ", " : " or ",
				 values[i]);

		if (k < 0)
			break;
		o += (size_t)k;
	}
}

static const char *in_list(const char *const *values, const char *s)
{
	size_t i;

	for (i = 0; values && values[i]; i++)
		if (!strcmp(values[i], s))
			return values[i];
	return NULL;
}

/* What an integer or enumeration member of f must be, for the detail. */
static void expectation(const struct field *f, enum field_kind kind, char *buf, size_t size)
{
	char names[96] = "";

	if (f->values)
		list_names(f->values, names, sizeof(names));
	if (kind == FIELD_ENUM)
		str_copy(buf, size, names);
	else if (f->max == INT64_MAX)
		str_printf(buf, size, "an integer of at least %lld%s%s", (long long)f->min, *names ? " or " : "",
			   names);
	else
		str_printf(buf, size, "an integer from %lld to %lld%s%s", (long long)f->min, (long long)f->max,
			   *names ? " or " : "", names);
}

/* One value of kind (a member, or an item of an array member) whose problem names field
 * and whose detail calls it label: 0, or -EINVAL with e set. */
static int check_value(const struct field *f, enum field_kind kind, json_t *v, const char *field,
		       const char *label, struct field_error *e)
{
	char want[160];
	json_int_t n;

	switch (kind) {
	case FIELD_STRING:
		if (!json_is_string(v))
			return refuse(e, field, "%s: must be a string", label);
		if (!string_ok(v, f->max_chars))
			return refuse(e, field, "%s: must be at most %zu characters, without NUL", label,
				      f->max_chars);
		return 0;
	case FIELD_BOOL:
		return json_is_boolean(v) ? 0 : refuse(e, field, "%s: must be true or false", label);
	case FIELD_OBJECT:
		return json_is_object(v) ? 0 : refuse(e, field, "%s: must be an object", label);
	case FIELD_INT:
		if (json_is_string(v) && f->values && string_ok(v, KURA_MAX_JSON_STRING) &&
		    in_list(f->values, json_string_value(v)))
			return 0;
		n = json_is_integer(v) ? json_integer_value(v) : 0;
		if (json_is_integer(v) && n >= f->min && n <= f->max)
			return 0;
		break;
	case FIELD_ENUM:
		if (json_is_string(v) && string_ok(v, KURA_MAX_JSON_STRING) && in_list(f->values, json_string_value(v)))
			return 0;
		break;
	case FIELD_ARRAY:
		return refuse(e, field, "%s: arrays of arrays are not taken", label);
	}
	expectation(f, kind, want, sizeof(want));
	return refuse(e, field, "%s: must be %s%s", label, want, f->nullable ? ", or null" : "");
}

static int check_member(const struct field *f, json_t *v, struct field_error *e)
{
	char *label = e->item;
	json_t *item;
	size_t i;
	int r;

	if (json_is_null(v) && f->nullable)
		return 0;
	if (f->kind != FIELD_ARRAY)
		return check_value(f, f->kind, v, f->name, f->name, e);
	if (!json_is_array(v))
		return refuse(e, f->name, "%s: must be an array%s", f->name, f->nullable ? ", or null" : "");
	if (json_array_size(v) > f->max_items)
		return refuse(e, f->name, "%s: at most %zu items", f->name, f->max_items);
	json_array_foreach(v, i, item) {
		str_printf(label, sizeof(e->item), "%.60s[%zu]", f->name, i);
		r = check_value(f, f->item, item, f->item_index ? label : f->name, label, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Sets f's outputs from v (already checked; NULL when absent). */
static void take(const struct field *f, json_t *v)
{
	enum field_state st = !v ? FIELD_ABSENT : json_is_null(v) ? FIELD_NULL : FIELD_SET;

	if (f->ret_state)
		*f->ret_state = st;
	if (st != FIELD_SET)
		return;
	switch (f->kind) {
	case FIELD_STRING:
	case FIELD_ENUM:
		if (f->ret_str)
			*f->ret_str = json_string_value(v);
		break;
	case FIELD_BOOL:
		if (f->ret_bool)
			*f->ret_bool = json_is_true(v);
		break;
	case FIELD_INT:
		if (json_is_string(v)) {
			if (f->ret_str)
				*f->ret_str = in_list(f->values, json_string_value(v));
		} else if (f->ret_int) {
			*f->ret_int = json_integer_value(v);
		}
		break;
	case FIELD_ARRAY:
		if (f->ret_array)
			*f->ret_array = v;
		break;
	case FIELD_OBJECT:
		break;
	}
}

int http_fields_check(json_t *obj, const struct field *spec, size_t n, struct field_error *e)
{
	const char *key;
	json_t *v;
	size_t i;
	int r;

	json_object_foreach(obj, key, v) {
		for (i = 0; i < n && strcmp(spec[i].name, key); i++)
			;
		if (i == n)
			return refuse(e, key, "unknown member \"%.64s\"", key);
	}
	for (i = 0; i < n; i++) {
		const struct field *f = &spec[i];

		/* absent until taken (strings NULL, bools -1; integers keep the caller's default) */
		if (f->ret_str)
			*f->ret_str = NULL;
		if (f->ret_bool)
			*f->ret_bool = -1;
		if (f->ret_array)
			*f->ret_array = NULL;
		if (f->ret_state)
			*f->ret_state = FIELD_ABSENT;
	}
	for (i = 0; i < n; i++) {
		const struct field *f = &spec[i];

		v = json_object_get(obj, f->name);
		if (!v && f->required)
			return refuse(e, f->name, "%s: is required", f->name);
		if (v && (r = check_member(f, v, e)) < 0)
			return r;
	}
	for (i = 0; i < n; i++)
		take(&spec[i], json_object_get(obj, spec[i].name));
	return 0;
}

bool http_take_fields(struct request *req, const struct field *spec, size_t n,
		      enum MHD_Result *ret_result)
{
	struct field_error e;

	if (http_fields_check(req->json, spec, n, &e) == 0)
		return true;
	*ret_result = http_problem(req, 400, "invalid-field", e.detail, e.field);
	return false;
}
