/* Rectangle planning for the Tight-JPEG path: which rectangles an update is sent as.
 *
 * The unit is the damage tile (DAMAGE_TILE, 64x64): the capture thread reports damage by
 * tile, and each tile of an update is classified on its own (one colour -> fill; else
 * JPEG, or lossless when its lossless refresh is due). Sending every tile as its own JPEG
 * would cost ~600 bytes of JPEG headers (and a compressor start) per tile, so tiles are
 * merged: first horizontal runs of equal kind (and equal colour for fills) within a tile
 * row, then runs with the same columns and kind in consecutive rows grow downwards.
 * Rectangles stay within what clients decode:
 *   - JPEG: at most 2048 pixels wide (the Tight row limit of TigerVNC's and TurboVNC's
 *     decoders; noVNC and libvncclient take any width) and small enough that the worst
 *     case JPEG (tjBufSize for 4:4:4) fits a 22-bit compact length (< 4 MiB);
 *   - lossless (Tight basic, tight_jpeg_lossless.h): at most 2048 wide and 65536 pixels,
 *     libvncserver's own Tight limits;
 *   - fill: any size.
 *
 * Pure functions, no allocation; any thread.
 */
#ifndef VGPU_TIGHT_JPEG_PLAN_H
#define VGPU_TIGHT_JPEG_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIGHT_PLAN_MAX_WIDTH 2048u
#define TIGHT_PLAN_LOSSLESS_MAX_AREA 65536u

enum tight_plan_kind {
	TIGHT_PLAN_NONE = 0, /* not in this update */
	TIGHT_PLAN_JPEG,
	TIGHT_PLAN_FILL,
	TIGHT_PLAN_LOSSLESS,
};

struct tight_plan_grid {
	uint32_t width, height; /* pixels, 1..65535 */
	uint32_t tile;          /* tile edge in pixels */
	uint32_t cols, rows;    /* tiles */
};

struct tight_plan_rect {
	uint32_t x, y, w, h; /* pixels, clipped to the frame */
	uint8_t kind;        /* enum tight_plan_kind, never NONE */
	uint32_t rgb;        /* TIGHT_PLAN_FILL: 0xRRGGBB */
};

/* A grid of tile x tile tiles over width x height. */
void tight_plan_grid_init(struct tight_plan_grid *g, uint32_t width, uint32_t height,
			  uint32_t tile);

/* Pixel rectangle of tile (tx, ty), clipped to the frame. */
void tight_plan_tile_rect(const struct tight_plan_grid *g, uint32_t tx, uint32_t ty, uint32_t *x,
			  uint32_t *y, uint32_t *w, uint32_t *h);

/* May a rectangle of that kind be w x h pixels? */
bool tight_plan_fits(uint8_t kind, uint32_t w, uint32_t h);

/* Merge the classified tiles (kind[i], rgb[i] for fills; row-major, cols * rows) into
 * rectangles. out holds up to cols * rows entries; scratch 2 * cols. Every tile whose kind
 * is not NONE is covered by exactly one rectangle of its kind; returns how many. The
 * result depends only on the inputs (clients with equal damage get equal rectangles,
 * which is what lets them share encoded JPEGs). */
size_t tight_plan_rects(const struct tight_plan_grid *g, const uint8_t *kind, const uint32_t *rgb,
			struct tight_plan_rect *out, int32_t *scratch);

/* Is the w x h block of XRGB8888 pixels (rows stride bytes apart) one colour? The X byte
 * is ignored. On true, *rgb = 0xRRGGBB. Compares 32-bit words and returns at the first row
 * that differs, so tiles with content cost a row or so. */
bool tight_plan_tile_solid(const uint8_t *px, size_t stride, uint32_t w, uint32_t h,
			   uint32_t *rgb);

#endif
