/*
 * Operator command results for people (kura admin without --json): a command's list as an
 * aligned table, everything else as key: value lines, arrays of objects as tables of their
 * own. Values read as people write them: true/false as yes/no, null and "" as -, arrays of
 * words joined with ", ".
 *
 * Alignment counts display columns, not bytes: a Japanese tenant name "株式会社アルファ" is 16
 * columns wide. libc's wcwidth() gives them under a UTF-8 LC_CTYPE (kura admin sets
 * C.UTF-8; glibc 2.35+ has it built in: CJK and fullwidth forms 2, combining marks 0); when
 * it does not know a character (the "C" locale) a small East Asian Width table stands in.
 *
 * SECURITY: results carry text that clients sent (audit targets, user agents, names), and a
 * terminal obeys escape sequences. Every C0/C1 control (tab and newline too), DEL, every
 * bidirectional control (U+061C, U+200E/F, U+202A-E, U+2066-9: they reorder what follows)
 * and every invalid byte is shown as U+FFFD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "mgmt/command.h"

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

static bool hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || cp == 0x200E ||
	       cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* East Asian Width W and F (Unicode 15, UAX #11), the ranges that matter for text people
 * type; and the zero-width marks most often met. Used only where wcwidth() says -1. */
static int fallback_width(uint32_t cp)
{
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2E80, 0x303E }, { 0x3041, 0x33FF },
		{ 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF }, { 0xA960, 0xA97F },
		{ 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6F },
		{ 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x1F300, 0x1F64F }, { 0x1F900, 0x1F9FF },
		{ 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
	};
	static const uint32_t zero[][2] = {
		{ 0x0300, 0x036F }, { 0x200B, 0x200D }, { 0x3099, 0x309A }, { 0xFE00, 0xFE0F },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(zero); i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (i = 0; i < ARRAY_SIZE(wide); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

static int cp_width(uint32_t cp)
{
	int w = wcwidth((wchar_t)cp);

	return w >= 0 ? w : fallback_width(cp);
}

char *mgmt_view_clean(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0, o = 0, k;
	char *out = malloc(n * 3 + 1);   /* each byte at worst becomes U+FFFD */
	uint32_t cp;

	if (!out)
		return NULL;
	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (k == 0 || hidden(cp)) {
			memcpy(out + o, REPLACEMENT, 3);
			o += 3;
			i += k ? k : 1;
			continue;
		}
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

size_t mgmt_view_width(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text), i = 0, w = 0, k;
	uint32_t cp;

	while (i < n) {
		k = utf8_decode(s + i, n - i, &cp);
		if (k == 0 || hidden(cp)) {
			w += 1;   /* shown as U+FFFD */
			i += k ? k : 1;
			continue;
		}
		w += (size_t)cp_width(cp);
		i += k;
	}
	return w;
}

/* ---------------------------------------------------------------- values */

static bool scalar(const json_t *v)
{
	return !json_is_object(v) && !json_is_array(v);
}

static bool has_objects(const json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_object(v))
			return true;
	return false;
}

/* A value as people read it, sanitised; malloc'd. */
static char *text_of(const json_t *v)
{
	char *raw = NULL, *clean;
	size_t len = 0, i;
	FILE *f;
	json_t *e;

	if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		return strdup("-");
	if (json_is_string(v))
		return mgmt_view_clean(json_string_value(v));
	if (json_is_true(v))
		return strdup("yes");
	if (json_is_false(v))
		return strdup("no");
	f = open_memstream(&raw, &len);
	if (!f)
		return NULL;
	if (json_is_integer(v)) {
		fprintf(f, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		fprintf(f, "%g", json_real_value(v));
	} else if (json_is_array(v) && !has_objects(v)) {
		json_array_foreach(v, i, e) {
			char *t = text_of(e);

			fprintf(f, "%s%s", i ? ", " : "", t ? t : "?");
			free(t);
		}
	} else {
		char *j = json_dumps(v, JSON_COMPACT);

		fputs(j ? j : "?", f);
		free(j);
	}
	fclose(f);
	clean = raw ? mgmt_view_clean(raw) : NULL;
	free(raw);
	return clean;
}

/* obj's member at a dotted path ("actor.name"), or NULL. */
static json_t *member(json_t *obj, const char *path)
{
	char key[128];
	const char *dot;

	while (obj && (dot = strchr(path, '.'))) {
		if (str_printf(key, sizeof(key), "%.*s", (int)(dot - path), path) < 0)
			return NULL;
		obj = json_object_get(obj, key);
		path = dot + 1;
	}
	return json_object_get(obj, path);
}

static void pad(FILE *out, size_t n)
{
	while (n--)
		fputc(' ', out);
}

/* ---------------------------------------------------------------- tables */

/* rows (objects) under the columns, every column as wide as its widest cell; two spaces
 * between columns, none after the last. */
static void print_table(FILE *out, const char *indent, const struct mgmt_column *cols, json_t *rows)
{
	size_t n_cols = 0, n_rows = json_array_size(rows), i, c, *width;
	char **cell;

	while (cols[n_cols].header)
		n_cols++;
	if (n_cols == 0)
		return;
	width = calloc(n_cols, sizeof(*width));
	cell = calloc((n_rows + 1) * n_cols, sizeof(*cell));
	if (!width || !cell)
		goto out;
	for (c = 0; c < n_cols; c++)
		cell[c] = mgmt_view_clean(cols[c].header);
	for (i = 0; i < n_rows; i++)
		for (c = 0; c < n_cols; c++)
			cell[(i + 1) * n_cols + c] = text_of(member(json_array_get(rows, i), cols[c].key));
	for (i = 0; i <= n_rows; i++)
		for (c = 0; c < n_cols; c++) {
			size_t w = cell[i * n_cols + c] ? mgmt_view_width(cell[i * n_cols + c]) : 1;

			if (w > width[c])
				width[c] = w;
		}
	for (i = 0; i <= n_rows; i++) {
		fputs(indent, out);
		for (c = 0; c < n_cols; c++) {
			const char *t = cell[i * n_cols + c] ? cell[i * n_cols + c] : "?";

			fputs(t, out);
			if (c + 1 < n_cols)
				pad(out, width[c] - mgmt_view_width(t) + 2);
		}
		fputc('\n', out);
	}
	if (n_rows == 0)
		fprintf(out, "%s(none)\n", indent);
out:
	if (cell)
		for (i = 0; i < (n_rows + 1) * n_cols; i++)
			free(cell[i]);
	free(cell);
	free(width);
}

/* A table of objects whose columns are their members, in order of first appearance. */
static void print_objects(FILE *out, const char *indent, json_t *rows)
{
	struct mgmt_column *cols = NULL;
	size_t n = 0, i, c;
	const char *key;
	json_t *row, *v;

	json_array_foreach(rows, i, row) {
		json_object_foreach(row, key, v) {
			struct mgmt_column *grown;

			for (c = 0; c < n && strcmp(cols[c].key, key); c++)
				;
			if (c < n)
				continue;
			grown = realloc(cols, (n + 2) * sizeof(*cols));
			if (!grown)
				goto out;
			cols = grown;
			cols[n].header = cols[n].key = key;   /* borrowed from rows, which outlive cols */
			n++;
		}
	}
	if (!cols)
		return;
	cols[n] = (struct mgmt_column){ NULL, NULL };
	print_table(out, indent, cols, rows);
out:
	free(cols);
}

/* ---------------------------------------------------------------- key: value */

struct line {
	char *label, *text;
};

struct block {
	struct line *lines;
	size_t n;
};

static void add_line(struct block *b, const char *label, char *text)
{
	struct line *grown = realloc(b->lines, (b->n + 1) * sizeof(*grown));

	if (!grown) {
		free(text);
		return;
	}
	b->lines = grown;
	b->lines[b->n].label = mgmt_view_clean(label);
	b->lines[b->n].text = text;
	b->n++;
}

/* obj's members as lines; objects inside flatten to "outer.inner"; arrays of objects are
 * left for tables of their own. skip: a member shown elsewhere (NULL: none). */
static void collect(struct block *b, json_t *obj, const char *prefix, const char *skip)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char label[256];

		if (skip && !strcmp(key, skip))
			continue;
		str_printf(label, sizeof(label), "%s%s%s", prefix, *prefix ? "." : "", key);
		if (json_is_object(v) && json_object_size(v) > 0)
			collect(b, v, label, NULL);
		else if (!(json_is_array(v) && has_objects(v)))
			add_line(b, label, text_of(v));
	}
}

static void print_block(FILE *out, json_t *obj, const char *skip)
{
	struct block b = { NULL, 0 };
	size_t i, w = 0;
	const char *key;
	json_t *v;

	collect(&b, obj, "", skip);
	for (i = 0; i < b.n; i++)
		if (b.lines[i].label && mgmt_view_width(b.lines[i].label) > w)
			w = mgmt_view_width(b.lines[i].label);
	for (i = 0; i < b.n; i++) {
		const char *label = b.lines[i].label ? b.lines[i].label : "?";

		fprintf(out, "%s:", label);
		pad(out, w - mgmt_view_width(label) + 2);
		fprintf(out, "%s\n", b.lines[i].text ? b.lines[i].text : "?");
		free(b.lines[i].label);
		free(b.lines[i].text);
	}
	free(b.lines);
	json_object_foreach(obj, key, v) {
		if ((skip && !strcmp(key, skip)) || !json_is_array(v) || !has_objects(v))
			continue;
		{
			char *title = mgmt_view_clean(key);

			fprintf(out, "\n%s:\n", title ? title : "?");
			free(title);
		}
		print_objects(out, "  ", v);
	}
}

void mgmt_view_print(FILE *out, const struct mgmt_command *cmd, json_t *result)
{
	json_t *rows = cmd && cmd->list ? json_object_get(result, cmd->list) : NULL;

	if (scalar(result) || json_is_array(result)) {
		char *t = text_of(result);

		fprintf(out, "%s\n", t ? t : "?");
		free(t);
		return;
	}
	if (json_is_array(rows) && cmd->columns) {
		print_table(out, "", cmd->columns, rows);
		if (json_object_size(result) > 1) {
			fputc('\n', out);
			print_block(out, result, cmd->list);
		}
		return;
	}
	print_block(out, result, NULL);
}
