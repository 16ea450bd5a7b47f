/* Text on the synthetic screen: word wrap and grids of character cells.
 *
 * See synthetic_text.h. Pure functions of their arguments; grids own their cells.
 */
#include "synthetic_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "synthetic_font.h"

void synth_wrap_init(struct synth_wrap *w, const char *s, size_t n, int cols)
{
	*w = (struct synth_wrap){ .s = s, .n = n, .cols = (size_t)cols, .done = cols <= 0 };
}

bool synth_wrap_next(struct synth_wrap *w, size_t *start, size_t *len)
{
	if (w->done)
		return false;
	/* Look no further than one past a full line: a long text stays O(n) to wrap. */
	size_t p = w->pos, e = p, lim = w->n - p > w->cols ? p + w->cols + 1 : w->n;
	while (e < lim && w->s[e] != '\n')
		e++;
	*start = p;
	if (e - p <= w->cols) {
		*len = e - p;
		if (e < w->n)
			w->pos = e + 1;
		else
			w->done = true;
		return true;
	}
	size_t sp = p + w->cols; /* < e: the character after a full line */
	while (sp > p && w->s[sp] != ' ')
		sp--;
	if (sp > p) {
		*len = sp - p;
		w->pos = sp + 1;
	} else {
		*len = w->cols;
		w->pos = p + w->cols;
	}
	return true;
}

int synth_grid_init(struct synth_grid *g, int scale, struct synth_rect body)
{
	struct synth_rect in = synth_rect_inset(body, 2 * scale);

	g->scale = scale;
	g->cw = SYNTHETIC_FONT_W * scale;
	g->ch = SYNTHETIC_FONT_H * scale + 2 * scale;
	g->cols = in.w / g->cw;
	g->rows = in.h / g->ch;
	g->cells = NULL;
	if (g->cols <= 0 || g->rows <= 0) {
		g->cols = g->rows = 0;
		g->area = synth_rect_make(in.x, in.y, 0, 0);
		return 0;
	}
	g->area = synth_rect_make(in.x, in.y, g->cols * g->cw, g->rows * g->ch);
	g->cells = malloc((size_t)g->cols * (size_t)g->rows);
	if (!g->cells)
		return -ENOMEM;
	memset(g->cells, ' ', (size_t)g->cols * (size_t)g->rows);
	return 0;
}

void synth_grid_put(struct synth_grid *g, uint64_t row, const char *s, size_t n)
{
	if (n) /* s may be NULL then: no text typed yet */
		memcpy(g->cells + row * (size_t)g->cols, s, n);
}

void synth_grid_caret(struct synth_grid *g, uint64_t row, size_t col)
{
	if (col < (size_t)g->cols)
		g->cells[row * (size_t)g->cols + col] = SYNTH_CARET;
}

void synth_grid_fill_notes(struct synth_grid *g, const char *text, size_t len)
{
	if (!g->cells)
		return;
	struct synth_wrap w;
	size_t start, n, last_len = 0;
	uint64_t lines = 0;

	synth_wrap_init(&w, text, len, g->cols);
	while (synth_wrap_next(&w, &start, &n)) {
		lines++;
		last_len = n;
	}
	uint64_t caret_line = lines - 1;
	size_t caret_col = last_len;
	if (caret_col >= (size_t)g->cols) {
		caret_line++;
		caret_col = 0;
	}
	uint64_t top = caret_line + 1 > (uint64_t)g->rows ? caret_line + 1 - (uint64_t)g->rows : 0;

	synth_wrap_init(&w, text, len, g->cols);
	for (uint64_t i = 0; synth_wrap_next(&w, &start, &n); i++)
		if (i >= top)
			synth_grid_put(g, i - top, text + start, n);
	synth_grid_caret(g, caret_line - top, caret_col);
}

void synth_grid_diff(const struct synth_grid *a, const struct synth_grid *b,
		     struct synth_damage *d)
{
	if (!a->cells || !b->cells || a->cols != b->cols || a->rows != b->rows ||
	    !synth_rect_equal(a->area, b->area)) {
		if (a->cells || b->cells)
			synth_damage_add(d, synth_rect_bbox(a->area, b->area));
		return;
	}
	for (int r = 0; r < a->rows; r++) {
		const char *ra = a->cells + (size_t)r * a->cols, *rb = b->cells + (size_t)r * b->cols;
		int c0 = 0, c1 = a->cols - 1;
		while (c0 <= c1 && ra[c0] == rb[c0])
			c0++;
		if (c0 > c1)
			continue;
		while (ra[c1] == rb[c1])
			c1--;
		synth_damage_add(d, synth_rect_make(a->area.x + c0 * a->cw, a->area.y + r * a->ch,
						    (c1 - c0 + 1) * a->cw, a->ch));
	}
}

void synth_grid_draw(const struct synth_grid *g, const struct synth_canvas *c,
		     struct synth_rect clip, uint32_t fg, uint32_t bg)
{
	struct synth_rect r = synth_canvas_clip(c, clip, g->area);
	if (!g->cells || synth_rect_empty(r))
		return;
	int c0 = (r.x - g->area.x) / g->cw, c1 = (r.x + r.w - 1 - g->area.x) / g->cw;
	int r0 = (r.y - g->area.y) / g->ch, r1 = (r.y + r.h - 1 - g->area.y) / g->ch;
	int gh = SYNTHETIC_FONT_H * g->scale;

	for (int row = r0; row <= r1; row++) {
		int y = g->area.y + row * g->ch;
		for (int col = c0; col <= c1; col++) {
			char ch = g->cells[(size_t)row * g->cols + col];
			int x = g->area.x + col * g->cw;
			if (ch == ' ' || ch == SYNTH_CARET)
				synth_fill(c, r, synth_rect_make(x, y, g->cw, gh), ch == ' ' ? bg : fg);
			else
				synth_glyph(c, r, x, y, g->scale, (unsigned char)ch, fg, bg);
		}
		synth_fill(c, r, synth_rect_make(g->area.x + c0 * g->cw, y + gh, (c1 - c0 + 1) * g->cw,
						 g->ch - gh), bg);
	}
}
