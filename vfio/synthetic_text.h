/* Text on the synthetic screen: greedy word wrap and grids of character cells.
 *
 * A synth_grid is a window's text as cells (one character each, or the caret); the
 * scenes fill grids (the Notes window from typed text, the editor from the typing
 * scene's paragraph), draw them, and compare two grids to find the rows that changed.
 * Below synthetic_scenes.c, above synthetic_draw.h and the font. Pure functions of their
 * arguments (callers hold the source's lock); a grid allocates its cells.
 */
#ifndef VGPU_SYNTHETIC_TEXT_H
#define VGPU_SYNTHETIC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthetic_draw.h"

/* Greedy word wrap: visual lines of at most cols characters. A '\n' ends a line (and a
 * text ending in '\n' ends with an empty line); a line too long breaks at its last space,
 * which is consumed, or mid-word if there is none. */
struct synth_wrap {
	const char *s;
	size_t n, pos;
	size_t cols;
	bool done;
};

void synth_wrap_init(struct synth_wrap *w, const char *s, size_t n, int cols);

/* The next visual line: text[*start .. *start + *len). false after the last one. */
bool synth_wrap_next(struct synth_wrap *w, size_t *start, size_t *len);

/* A grid of character cells; a cell holding SYNTH_CARET shows the caret. */
#define SYNTH_CARET '\x7f'

struct synth_grid {
	struct synth_rect area;      /* cols*cw x rows*ch from cell (0,0) */
	int cols, rows;
	int cw, ch;                  /* cell size; a glyph fills the top 8*scale rows */
	int scale;
	char *cells;                 /* cols*rows, ' ' = empty; NULL if the grid is empty */
};

/* The grid that fits in body (inset by 2*scale), all blank. Cells are a glyph of the font
 * at that scale plus 2*scale rows of leading, which reads better than bare 8x8. 0 or
 * -ENOMEM; the caller frees g->cells. */
int synth_grid_init(struct synth_grid *g, int scale, struct synth_rect body);

/* Text s[0..n) into row (n may be 0 with s NULL); the caret at (row, col) if col fits. */
void synth_grid_put(struct synth_grid *g, uint64_t row, const char *s, size_t n);
void synth_grid_caret(struct synth_grid *g, uint64_t row, size_t col);

/* The Notes window: the end of the typed text, and the caret after it (on a line of its
 * own when the last line is full). */
void synth_grid_fill_notes(struct synth_grid *g, const char *text, size_t len);

/* Adds to d the rects of the rows where two grids differ, from the first to the last
 * differing cell (the whole area if their shapes differ). */
void synth_grid_diff(const struct synth_grid *a, const struct synth_grid *b,
		     struct synth_damage *d);

/* The cells inside clip, glyphs in fg on bg. */
void synth_grid_draw(const struct synth_grid *g, const struct synth_canvas *c,
		     struct synth_rect clip, uint32_t fg, uint32_t bg);

#endif
