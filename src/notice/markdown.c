/*
 * The small Markdown subset of announcement and incident bodies, parsed on the server into a
 * structure the portal turns into DOM nodes with textContent (never markup), and into plain
 * text for mails.
 *
 * Blocks: paragraphs (lines up to a blank line; line breaks kept as "\n" in the text) and
 * lists ("- ", "* " or "1. " at the start of a line; a following line that is neither blank
 * nor an item continues the item). Inline: **strong**, *em* / _em_, `code`, [text](URL) with
 * an http: or https: URL, and "\" before punctuation for the character itself. Nothing nests;
 * emphasis starts and ends next to a non-space; a marker without its closing partner, a link
 * to another scheme (javascript:, data:, …) or
 * raw HTML is text, shown as written.
 *
 * SECURITY: the output carries text and hrefs only; an href is an absolute http(s) URL
 * without spaces, control characters, quotes or angle brackets, at most
 * KURA_MARKDOWN_LINK_MAX bytes. The browser puts the text into textContent and the href into
 * an <a> with rel="noopener noreferrer"; no input reaches the document as markup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dbuf.h"
#include "core/limits.h"
#include "notice/notice.h"

bool markdown_source_valid(const char *src)
{
	size_t n, i = 0;

	if (!src)
		return false;
	n = strlen(src);
	if (n > KURA_ANNOUNCE_BODY_MAX)
		return false;
	while (i < n) {
		size_t e = i + strcspn(src + i, "\n");

		if (e > i && !utf8_is_clean_text(src + i, e - i))
			return false;
		i = e + 1;
	}
	return true;
}

static bool href_ok(const char *p, size_t n)
{
	size_t skip;

	if (n >= 8 && !strncasecmp(p, "https://", 8))
		skip = 8;
	else if (n >= 7 && !strncasecmp(p, "http://", 7))
		skip = 7;
	else
		return false;
	if (n == skip || n > KURA_MARKDOWN_LINK_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' ||
		    c == '`')
			return false;
	}
	return utf8_is_clean_text(p, n);
}

/* ---- inline runs ---- */

struct runs {
	json_t *arr;           /* parse: the inline array; NULL when writing plain text */
	struct dbuf *plain;    /* plain text */
	struct dbuf text;      /* the pending run of plain text */
};

static void flush(struct runs *r)
{
	if (!dbuf_len(&r->text))
		return;
	if (r->arr)
		json_array_append_new(r->arr, json_pack("{s:s%}", "text", dbuf_str(&r->text), dbuf_len(&r->text)));
	else
		dbuf_add(r->plain, dbuf_str(&r->text), dbuf_len(&r->text));
	dbuf_reset(&r->text);
}

static void run_styled(struct runs *r, const char *style, const char *p, size_t n)
{
	flush(r);
	if (r->arr)
		json_array_append_new(r->arr, json_pack("{s:s%, s:b}", "text", p, n, style, 1));
	else
		dbuf_add(r->plain, p, n);
}

static void run_link(struct runs *r, const char *t, size_t tn, const char *u, size_t un)
{
	flush(r);
	if (r->arr) {
		json_array_append_new(r->arr, json_pack("{s:s%, s:s%}", "text", t, tn, "href", u, un));
	} else {
		dbuf_add(r->plain, t, tn);
		dbuf_puts(r->plain, " <");
		dbuf_add(r->plain, u, un);
		dbuf_puts(r->plain, ">");
	}
}

/* The closing marker at or after p (within n bytes), on the same text; NULL when none. */
static const char *closing(const char *p, size_t n, const char *marker)
{
	size_t m = strlen(marker);

	for (size_t i = 0; i + m <= n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (!memcmp(p + i, marker, m))
			return p + i;
	}
	return NULL;
}

static void inline_parse(struct runs *r, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *c = p + i, *e;
		size_t left = n - i;

		if (c[0] == '\\' && left > 1 && strchr("\\`*_[]()#+-.!<>", c[1]) && c[1]) {
			dbuf_add(&r->text, c + 1, 1);
			i += 2;
			continue;
		}
		if (left > 4 && !strncmp(c, "**", 2) && (e = closing(c + 2, left - 2, "**")) && e > c + 2) {
			run_styled(r, "strong", c + 2, (size_t)(e - c - 2));
			i = (size_t)(e - p) + 2;
			continue;
		}
		if ((c[0] == '*' || c[0] == '_') && left > 2 && c[1] != c[0] && c[1] != ' ') {
			char m[2] = { c[0], 0 };

			e = closing(c + 1, left - 1, m);
			if (e && e > c + 1 && e[-1] != ' ') {
				run_styled(r, "em", c + 1, (size_t)(e - c - 1));
				i = (size_t)(e - p) + 1;
				continue;
			}
		}
		if (c[0] == '`' && left > 2 && (e = memchr(c + 1, '`', left - 1)) && e > c + 1) {
			run_styled(r, "code", c + 1, (size_t)(e - c - 1));
			i = (size_t)(e - p) + 1;
			continue;
		}
		if (c[0] == '[') {
			const char *close = memchr(c, ']', left);

			if (close && close > c + 1 && (size_t)(close - c) + 1 < left && close[1] == '(') {
				const char *u = close + 2, *ue = memchr(u, ')', n - (size_t)(u - p));

				if (ue && href_ok(u, (size_t)(ue - u))) {
					run_link(r, c + 1, (size_t)(close - c - 1), u, (size_t)(ue - u));
					i = (size_t)(ue - p) + 1;
					continue;
				}
			}
		}
		dbuf_add(&r->text, c, 1);
		i++;
	}
	flush(r);
}

/* ---- blocks ---- */

/* Length of a list marker at the start of line (0: none); *ret_ordered. */
static size_t item_marker(const char *line, size_t n, bool *ret_ordered)
{
	size_t i = 0;

	if (n >= 2 && (line[0] == '-' || line[0] == '*') && line[1] == ' ') {
		*ret_ordered = false;
		return 2;
	}
	while (i < n && i < 9 && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i > 0 && i + 1 < n && line[i] == '.' && line[i + 1] == ' ') {
		*ret_ordered = true;
		return i + 2;
	}
	return 0;
}

struct block {
	enum { B_NONE, B_P, B_UL, B_OL } kind, prev;   /* prev: the piece before (a list goes on) */
	struct dbuf src;       /* the source of the current paragraph or item */
};

static void emit_inline(struct runs *r, const char *p, size_t n)
{
	inline_parse(r, p, n);
}

static void end_piece(struct block *b, json_t *blocks, struct dbuf *plain, size_t *n_pieces)
{
	struct runs r = { 0 };

	if (b->kind == B_NONE)
		return;
	dbuf_init(&r.text, KURA_ANNOUNCE_BODY_MAX + 1);
	r.plain = plain;
	if (blocks) {
		json_t *last = json_array_size(blocks) ? json_array_get(blocks, json_array_size(blocks) - 1) : NULL;
		const char *want = b->kind == B_P ? "p" : b->kind == B_UL ? "ul" : "ol";

		r.arr = json_array();
		emit_inline(&r, dbuf_str(&b->src), dbuf_len(&b->src));
		if (b->kind == B_P) {
			json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "p", "inline", r.arr));
		} else if (b->prev == b->kind && last &&
			   !strcmp(json_string_value(json_object_get(last, "type")), want)) {
			json_array_append_new(json_object_get(last, "items"), r.arr);
		} else {
			json_array_append_new(blocks, json_pack("{s:s, s:[o]}", "type", want, "items", r.arr));
		}
	} else {
		if (dbuf_len(plain))
			dbuf_puts(plain, b->kind != B_P && b->prev == b->kind ? "\n" : "\n\n");
		if (b->kind != B_P)
			dbuf_puts(plain, "- ");
		emit_inline(&r, dbuf_str(&b->src), dbuf_len(&b->src));
	}
	(*n_pieces)++;
	dbuf_free(&r.text);
	dbuf_reset(&b->src);
	b->prev = b->kind;
	b->kind = B_NONE;
}

/* One pass for both outputs: blocks (parse) or plain (markdown_plain). */
static void parse(const char *src, json_t *blocks, struct dbuf *plain)
{
	struct block b = { .kind = B_NONE };
	size_t n = src ? strlen(src) : 0, i = 0, pieces = 0;

	dbuf_init(&b.src, KURA_ANNOUNCE_BODY_MAX + 1);
	while (i < n) {
		size_t e = i + strcspn(src + i, "\n"), len = e - i, m;
		const char *line = src + i;
		bool ordered = false;

		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
			len--;
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		i = e + 1;
		if (len == 0) {
			/* the last piece the limit allows takes the rest of the body */
			if (b.kind != B_NONE && pieces + 1 < KURA_MARKDOWN_BLOCKS_MAX) {
				end_piece(&b, blocks, plain, &pieces);
				b.prev = B_NONE;   /* a blank line ends a list */
			}
			continue;
		}
		m = item_marker(line, len, &ordered);
		if (m && pieces + (b.kind != B_NONE) < KURA_MARKDOWN_BLOCKS_MAX) {
			end_piece(&b, blocks, plain, &pieces);
			b.kind = ordered ? B_OL : B_UL;
			dbuf_add(&b.src, line + m, len - m);
			continue;
		}
		if (b.kind == B_NONE)
			b.kind = B_P;
		else
			dbuf_puts(&b.src, b.kind == B_P ? "\n" : " ");
		dbuf_add(&b.src, line, len);
	}
	end_piece(&b, blocks, plain, &pieces);
	dbuf_free(&b.src);
}

json_t *markdown_parse(const char *src)
{
	json_t *blocks = json_array();

	if (blocks)
		parse(src, blocks, NULL);
	return blocks;
}

char *markdown_plain(const char *src)
{
	struct dbuf out;

	dbuf_init(&out, 2 * KURA_ANNOUNCE_BODY_MAX + 16);
	parse(src, NULL, &out);
	if (!dbuf_len(&out))
		return strdup("");
	return dbuf_take(&out, NULL);
}
