/* The synthetic vGPU's published numbers and shapes: size limits, the cursor plane, the
 * modes scene's timing, paint, the tick stamp, and the rect and text-grid types that
 * synthetic.h's introspection calls fill in.
 *
 * A leaf: synthetic.c, the scene and cursor drawing below it and the tests all read it,
 * and it includes nothing of theirs. Constants and pure inline functions; any thread.
 */
#ifndef VGPU_SYNTHETIC_DEFS_H
#define VGPU_SYNTHETIC_DEFS_H

#include <stdint.h>

/* Limits of WIDTH and HEIGHT. */
#define SYNTHETIC_MIN_DIM 16
#define SYNTHETIC_MAX_DIM 8192

/* The cursor plane, for tests. */
#define SYNTHETIC_CURSOR_SIZE 32u
#define SYNTHETIC_CURSOR_HOT_X 2u   /* arrow */
#define SYNTHETIC_CURSOR_HOT_Y 1u
#define SYNTHETIC_HAND_HOT_X 9u     /* hand, while button 1 is down */
#define SYNTHETIC_HAND_HOT_Y 1u

/* The modes scene's timing, in ticks. */
#define SYNTHETIC_MODE_TICKS 60u
#define SYNTHETIC_NOPLANE_TICKS 5u

/* Paint: a square of this size, covering [x - size/2, x + size/2) around the pointer. */
#define SYNTHETIC_STAMP_SIZE 6u
#define SYNTHETIC_STAMP_RGB 0xe0206eu

/* Ticks beyond this are clamped to it (about 1100 years at 30 ticks a second). */
#define SYNTHETIC_TICK_MAX (1ull << 40)

/* Introspection for tests and benchmarks: where things are on the current primary plane
 * (the first mode's, while there is no plane). Rects are in pixels, colours 0xRRGGBB. */
struct synthetic_rect {
	int32_t x, y, w, h;
};

/* The tick stamp (stamp=on): a 4x4 grid of 16x16 blocks, bit i at column i % 4, row i / 4,
 * in the bottom-left corner on the 16-pixel grid (where H.264 macroblocks and JPEG blocks
 * fall), away from the pointer's start in the middle. Clipped on screens under 64 pixels. */
#define SYNTHETIC_TICK_STAMP_BLOCK 16
#define SYNTHETIC_TICK_STAMP_COLS 4
#define SYNTHETIC_TICK_STAMP_BITS 16

static inline struct synthetic_rect synthetic_tick_stamp_rect(int w, int h)
{
	const int side = SYNTHETIC_TICK_STAMP_BLOCK * SYNTHETIC_TICK_STAMP_COLS;
	int y = h > side ? (h - side) / SYNTHETIC_TICK_STAMP_BLOCK * SYNTHETIC_TICK_STAMP_BLOCK : 0;
	(void)w;
	return (struct synthetic_rect){ 0, y, side, side };
}

/* The "Notes" window's character grid: cell (c, r) is at (x + c*cell_w, y + r*cell_h);
 * glyph pixel (gx, gy) of the 8x8 font covers scale x scale pixels from
 * (cell x + gx*scale, cell y + gy*scale); the rows under the glyph are background. The
 * caret is a fg block of 8*scale x 8*scale after the last character. */
struct synthetic_textbox {
	int32_t x, y;
	uint32_t cell_w, cell_h, cols, rows, scale;
	uint32_t fg_rgb, bg_rgb;
};

#endif
