/* Rects, damage lists and clipped drawing primitives of the synthetic vGPU.
 *
 * Owns nothing but code: every function works on the canvas and rects it is given.
 * Clipping is done once per call, so the inner loops touch only pixels that are drawn.
 */
#include "synthetic_draw.h"

#include "synthetic_font.h"

static int imin(int a, int b)
{
	return a < b ? a : b;
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

struct synth_rect synth_rect_intersect(struct synth_rect a, struct synth_rect b)
{
	int x0 = imax(a.x, b.x), y0 = imax(a.y, b.y);
	/* 64-bit ends: rects near INT_MAX must not overflow. */
	long long x1 = (long long)a.x + a.w, y1 = (long long)a.y + a.h;
	long long bx1 = (long long)b.x + b.w, by1 = (long long)b.y + b.h;

	if (bx1 < x1)
		x1 = bx1;
	if (by1 < y1)
		y1 = by1;
	return synth_rect_make(x0, y0, x1 > x0 ? (int)(x1 - x0) : 0, y1 > y0 ? (int)(y1 - y0) : 0);
}

struct synth_rect synth_rect_bbox(struct synth_rect a, struct synth_rect b)
{
	if (synth_rect_empty(a))
		return b;
	if (synth_rect_empty(b))
		return a;
	int x0 = imin(a.x, b.x), y0 = imin(a.y, b.y);
	int x1 = imax(a.x + a.w, b.x + b.w), y1 = imax(a.y + a.h, b.y + b.h);
	return synth_rect_make(x0, y0, x1 - x0, y1 - y0);
}

bool synth_rect_contains(struct synth_rect outer, struct synth_rect inner)
{
	if (synth_rect_empty(outer))
		return false;
	return inner.x >= outer.x && inner.y >= outer.y &&
	       inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

bool synth_rect_equal(struct synth_rect a, struct synth_rect b)
{
	return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

struct synth_rect synth_rect_inset(struct synth_rect r, int d)
{
	return synth_rect_make(r.x + d, r.y + d, r.w - 2 * d, r.h - 2 * d);
}

void synth_damage_clear(struct synth_damage *d)
{
	d->n = 0;
}

void synth_damage_add(struct synth_damage *d, struct synth_rect r)
{
	if (synth_rect_empty(r))
		return;
	for (int i = 0; i < d->n; i++)
		if (synth_rect_contains(d->r[i], r))
			return;
	if (d->n < SYNTH_DAMAGE_MAX) {
		d->r[d->n++] = r;
		return;
	}
	struct synth_rect box = r;
	for (int i = 0; i < d->n; i++)
		box = synth_rect_bbox(box, d->r[i]);
	d->r[0] = box;
	d->n = 1;
}

void synth_damage_add_moved(struct synth_damage *d, struct synth_rect from, struct synth_rect to)
{
	struct synth_rect i = synth_rect_intersect(from, to);

	synth_damage_add(d, to);
	if (synth_rect_empty(i)) {
		synth_damage_add(d, from);
		return;
	}
	/* from minus to: the strips above, below, left and right of the overlap. */
	synth_damage_add(d, synth_rect_make(from.x, from.y, from.w, i.y - from.y));
	synth_damage_add(d, synth_rect_make(from.x, i.y + i.h, from.w, from.y + from.h - i.y - i.h));
	synth_damage_add(d, synth_rect_make(from.x, i.y, i.x - from.x, i.h));
	synth_damage_add(d, synth_rect_make(i.x + i.w, i.y, from.x + from.w - i.x - i.w, i.h));
}

struct synth_rect synth_canvas_clip(const struct synth_canvas *c, struct synth_rect clip,
				    struct synth_rect r)
{
	r = synth_rect_intersect(r, clip);
	return synth_rect_intersect(r, synth_rect_make(0, 0, c->w, c->h));
}

void synth_fill(const struct synth_canvas *c, struct synth_rect clip, struct synth_rect r,
		uint32_t rgb)
{
	r = synth_canvas_clip(c, clip, r);
	if (synth_rect_empty(r))
		return;
	uint32_t v = synth_pack(c, rgb);
	for (int y = r.y; y < r.y + r.h; y++) {
		uint32_t *row = synth_canvas_row(c, y) + r.x;
		for (int x = 0; x < r.w; x++)
			row[x] = v;
	}
}

void synth_frame_rect(const struct synth_canvas *c, struct synth_rect clip, struct synth_rect r,
		      int t, uint32_t rgb)
{
	if (t * 2 >= r.w || t * 2 >= r.h) {
		synth_fill(c, clip, r, rgb);
		return;
	}
	synth_fill(c, clip, synth_rect_make(r.x, r.y, r.w, t), rgb);
	synth_fill(c, clip, synth_rect_make(r.x, r.y + r.h - t, r.w, t), rgb);
	synth_fill(c, clip, synth_rect_make(r.x, r.y + t, t, r.h - 2 * t), rgb);
	synth_fill(c, clip, synth_rect_make(r.x + r.w - t, r.y + t, t, r.h - 2 * t), rgb);
}

/* Runs of scale pixels per glyph bit, so no division per pixel: text is most of what
 * the typing and scroll scenes draw. */
void synth_glyph(const struct synth_canvas *c, struct synth_rect clip, int x, int y, int scale,
		 unsigned char ch, uint32_t fg, uint32_t bg)
{
	struct synth_rect cell = synth_rect_make(x, y, SYNTHETIC_FONT_W * scale,
						 SYNTHETIC_FONT_H * scale);
	struct synth_rect r = synth_canvas_clip(c, clip, cell);
	if (synth_rect_empty(r))
		return;
	const uint8_t *glyph = synthetic_font_glyph(ch);
	uint32_t on = synth_pack(c, fg), off = synth_pack(c, bg);
	int gx0 = (r.x - x) / scale, sub0 = (r.x - x) % scale, end = r.x + r.w;
	for (int py = r.y; py < r.y + r.h; py++) {
		unsigned bits = glyph[(py - y) / scale] >> gx0;
		uint32_t *row = synth_canvas_row(c, py);
		int px = r.x, run = scale - sub0;
		while (px < end) {
			uint32_t v = (bits & 1u) ? on : off;
			for (int stop = imin(px + run, end); px < stop; px++)
				row[px] = v;
			bits >>= 1;
			run = scale;
		}
	}
}

void synth_text(const struct synth_canvas *c, struct synth_rect clip, int x, int y, int scale,
		const char *s, size_t max_chars, uint32_t fg, uint32_t bg)
{
	int cw = SYNTHETIC_FONT_W * scale;
	for (size_t i = 0; i < max_chars && s[i]; i++, x += cw) {
		if (x >= clip.x + clip.w || x >= c->w)
			break;
		if (x + cw > clip.x)
			synth_glyph(c, clip, x, y, scale, (unsigned char)s[i], fg, bg);
	}
}
