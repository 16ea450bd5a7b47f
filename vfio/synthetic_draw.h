/* Drawing for the synthetic vGPU: rects, damage lists, and clipped primitives on a
 * canvas of 32-bit pixels.
 *
 * Colours are canonical 0xRRGGBB everywhere; synth_pack() converts to the canvas format
 * on store (XR24 keeps 0xRRGGBB, XB24 swaps R and B), so a scene looks the same in both.
 * Every primitive clips to the clip rect and to the canvas, so callers may pass any
 * geometry, including rects partly or wholly off the canvas. Pure; any thread.
 */
#ifndef VGPU_SYNTHETIC_DRAW_H
#define VGPU_SYNTHETIC_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct synth_rect {
	int x, y, w, h;
};

struct synth_canvas {
	uint32_t *px;  /* pixel (0,0) */
	int w, h;      /* pixels */
	size_t pitch;  /* pixels from one row to the next */
	bool bgr;      /* XB24 (memory order R,G,B,X) rather than XR24 (B,G,R,X) */
};

/* The damage list is small on purpose: past its capacity it collapses to one bounding
 * box, which costs some overdraw but keeps every operation O(1). */
#define SYNTH_DAMAGE_MAX 32

struct synth_damage {
	int n;
	struct synth_rect r[SYNTH_DAMAGE_MAX];
};

static inline uint32_t synth_pack(const struct synth_canvas *c, uint32_t rgb)
{
	if (c->bgr)
		rgb = (rgb & 0x00ff00u) | (rgb >> 16 & 0xffu) | (rgb & 0xffu) << 16;
	return 0xff000000u | rgb;
}

static inline uint32_t synth_rgb(unsigned r, unsigned g, unsigned b)
{
	return (r & 0xffu) << 16 | (g & 0xffu) << 8 | (b & 0xffu);
}

static inline struct synth_rect synth_rect_make(int x, int y, int w, int h)
{
	struct synth_rect r = { x, y, w > 0 ? w : 0, h > 0 ? h : 0 };
	return r;
}

static inline bool synth_rect_empty(struct synth_rect r)
{
	return r.w <= 0 || r.h <= 0;
}

struct synth_rect synth_rect_intersect(struct synth_rect a, struct synth_rect b);
struct synth_rect synth_rect_bbox(struct synth_rect a, struct synth_rect b);
bool synth_rect_contains(struct synth_rect outer, struct synth_rect inner);
bool synth_rect_equal(struct synth_rect a, struct synth_rect b);
/* r shrunk by d on every side (never negative in size). */
struct synth_rect synth_rect_inset(struct synth_rect r, int d);

void synth_damage_clear(struct synth_damage *d);
/* Adds r (empty rects are ignored, rects inside one already listed too). */
void synth_damage_add(struct synth_damage *d, struct synth_rect r);

/* Something drawn at from is now drawn at to: adds to, and what it uncovered of from. */
void synth_damage_add_moved(struct synth_damage *d, struct synth_rect from, struct synth_rect to);

/* The part of r that lies on the canvas and inside clip. */
struct synth_rect synth_canvas_clip(const struct synth_canvas *c, struct synth_rect clip,
				    struct synth_rect r);

static inline uint32_t *synth_canvas_row(const struct synth_canvas *c, int y)
{
	return c->px + (size_t)y * c->pitch;
}

void synth_fill(const struct synth_canvas *c, struct synth_rect clip, struct synth_rect r,
		uint32_t rgb);

/* A border of thickness t inside r. */
void synth_frame_rect(const struct synth_canvas *c, struct synth_rect clip, struct synth_rect r,
		      int t, uint32_t rgb);

/* One opaque character cell of 8*scale pixels square at (x,y): glyph pixels in fg, the
 * rest in bg. */
void synth_glyph(const struct synth_canvas *c, struct synth_rect clip, int x, int y, int scale,
		 unsigned char ch, uint32_t fg, uint32_t bg);

/* A line of opaque character cells from (x,y); stops at max_chars or the string's end. */
void synth_text(const struct synth_canvas *c, struct synth_rect clip, int x, int y, int scale,
		const char *s, size_t max_chars, uint32_t fg, uint32_t bg);

#endif
