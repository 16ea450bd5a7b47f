/* Which rectangles a Tight-JPEG update is sent as: the per-tile decision and the merge.
 *
 * The unit is the damage tile (DAMAGE_TILE, 64x64): the capture thread reports damage by
 * tile, and each tile of an update is classified on its own (tight_classify_tiles): one
 * colour -> fill (in grayscale, the colour's luma, as a gray JPEG of it would show); a few
 * colours (text, window decorations) -> palette, which is exact and far smaller than JPEG
 * for such content (what TurboVNC's encoder does too); lossy since long enough
 * (tight_jpeg_lossless.h) -> lossless; else JPEG. The cheap tests go first: a tile with
 * content fails the solid test within a row or so, a photographic one the colour count
 * within a few dozen pixels.
 *
 * Sending every tile as its own JPEG would cost ~600 bytes of JPEG headers (and a
 * compressor start) per tile, so tiles are merged (tight_plan_rects): first horizontal
 * runs of equal kind (and equal colour for fills) within a tile row, then runs with the
 * same columns and kind in consecutive rows grow downwards. Rectangles stay within what
 * clients decode:
 *   - JPEG: at most 2048 pixels wide (the Tight row limit of TigerVNC's and TurboVNC's
 *     decoders; noVNC and libvncclient take any width) and small enough that the worst
 *     case JPEG (tjBufSize for 4:4:4) fits a 22-bit compact length (< 4 MiB);
 *   - lossless and palette (Tight basic, tight_jpeg_lossless.h): at most 2048 wide and
 *     65536 pixels, libvncserver's own Tight limits; palette rectangles also merge only
 *     while the colour counts of their tiles add up to at most 256 (so that the merged
 *     rectangle still takes the palette filter);
 *   - fill: any size.
 *
 * Pure functions, no allocation: they read the pixels and the lossy times and write the
 * caller's arrays. Any thread.
 */
#ifndef VGPU_TIGHT_JPEG_PLAN_H
#define VGPU_TIGHT_JPEG_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIGHT_PLAN_MAX_WIDTH 2048u
#define TIGHT_PLAN_LOSSLESS_MAX_AREA 65536u
#define TIGHT_PLAN_MAX_PALETTE 256u

enum tight_plan_kind {
	TIGHT_PLAN_NONE = 0, /* not in this update */
	TIGHT_PLAN_JPEG,
	TIGHT_PLAN_FILL,
	TIGHT_PLAN_LOSSLESS, /* a lossless refresh */
	TIGHT_PLAN_PALETTE,  /* few colours: sent exactly */
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
	uint32_t colours;    /* TIGHT_PLAN_PALETTE: sum of the tiles' colour counts */
};

/* A grid of tile x tile tiles over width x height. */
void tight_plan_grid_init(struct tight_plan_grid *g, uint32_t width, uint32_t height,
			  uint32_t tile);

/* Pixel rectangle of tile (tx, ty), clipped to the frame. */
void tight_plan_tile_rect(const struct tight_plan_grid *g, uint32_t tx, uint32_t ty, uint32_t *x,
			  uint32_t *y, uint32_t *w, uint32_t *h);

/* May a rectangle of that kind be w x h pixels? */
bool tight_plan_fits(uint8_t kind, uint32_t w, uint32_t h);

/* Merge the classified tiles (kind[i]; rgb[i] for fills; colours[i] for palette tiles;
 * row-major, cols * rows) into rectangles. out holds up to cols * rows entries; scratch
 * 2 * cols. Every tile whose kind is not NONE is covered by exactly one rectangle of its
 * kind; returns how many. The result depends only on the inputs (clients with equal damage
 * get equal rectangles, which is what lets them share encoded JPEGs). */
size_t tight_plan_rects(const struct tight_plan_grid *g, const uint8_t *kind, const uint32_t *rgb,
			const uint16_t *colours, struct tight_plan_rect *out, int32_t *scratch);

/* Is the w x h block of XRGB8888 pixels (rows stride bytes apart) one colour? The X byte
 * is ignored. On true, *rgb = 0xRRGGBB. Compares 32-bit words and returns at the first row
 * that differs, so tiles with content cost a row or so. */
bool tight_plan_tile_solid(const uint8_t *px, size_t stride, uint32_t w, uint32_t h,
			   uint32_t *rgb);

/* Scratch for tight_plan_tile_colours: a hash set of up to TIGHT_PLAN_COLOUR_SLOTS / 2
 * colours. */
#define TIGHT_PLAN_COLOUR_SLOTS 512u

/* How many colours (X byte ignored) the block has, counting up to max (<= 255); max + 1
 * means "more". Stops at the first colour over max, so photographic content costs a few
 * dozen pixels; runs of one colour (text rows) are skipped without hashing. */
unsigned tight_plan_tile_colours(const uint8_t *px, size_t stride, uint32_t w, uint32_t h,
				 unsigned max, uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS]);

/* ---- the per-tile decision ---- */

struct tight_classify_opts {
	uint64_t now_ms;
	uint32_t delay_ms, slack_ms; /* lossless refresh; delay 0 = off */
	unsigned palette_max;        /* 0 = no palette tiles; at most 255 */
	bool grayscale;              /* fills get the colour's luma */
};

/* What a tile's pixels are, whoever asks: the part of the decision that depends on the
 * frame only, so that clients of one frame can share it (tight_jpeg_cache.h). */
struct tight_tile_facts {
	uint32_t rgb;        /* solid: 0xRRGGBB */
	uint16_t colours;    /* not solid: the colour count, counted_to + 1 meaning "more" */
	uint16_t counted_to; /* the palette_max the count was made for (0: not counted) */
	bool solid;
};

/* Are the facts enough to decide with palette_max? */
static inline bool tight_tile_facts_enough(const struct tight_tile_facts *f, unsigned palette_max)
{
	return f->solid || f->colours <= f->counted_to || f->counted_to >= palette_max;
}

/* Tile (tx, ty)'s facts, enough for palette_max (<= 255). Keeps what *f already knows
 * when that is enough (known: the caller says the pixels did not change since). */
void tight_tile_facts_compute(const struct tight_plan_grid *g, const uint8_t *fb, size_t pitch,
			      uint32_t tx, uint32_t ty, unsigned palette_max, bool known,
			      struct tight_tile_facts *f, uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS]);

/* The decision from facts (enough for o->palette_max) for the tiles with kind[i] !=
 * TIGHT_PLAN_NONE: as tight_classify_tiles below, without reading a pixel. */
void tight_classify_facts(const struct tight_plan_grid *g, const struct tight_tile_facts *facts,
			  const uint64_t *since, const struct tight_classify_opts *o, uint8_t *kind,
			  uint32_t *rgb, uint16_t *colours, uint8_t *sent);

/* For tiles i with kind[i] != TIGHT_PLAN_NONE on entry (row-major, g->cols * g->rows):
 * kind[i] = FILL (rgb[i]), PALETTE (colours[i]), LOSSLESS or JPEG, and sent[i] the
 * matching enum tight_refresh_sent (UNSENT for tiles not in the update). fb: XRGB8888
 * with pitch bytes a row; since: the lossy times; slots: scratch. */
void tight_classify_tiles(const struct tight_plan_grid *g, const uint8_t *fb, size_t pitch,
			  const uint64_t *since, const struct tight_classify_opts *o, uint8_t *kind,
			  uint32_t *rgb, uint16_t *colours, uint8_t *sent,
			  uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS]);

/* 0xRRGGBB -> its full-range JPEG luma as a gray 0xYYYYYY. */
uint32_t tight_classify_gray(uint32_t rgb);

#endif
