/* How each tile of a Tight-JPEG update is sent: the per-tile decision.
 *
 * For every tile flagged as part of the update: one colour -> fill (in grayscale, the
 * colour's luma, as a gray JPEG of it would show); at most palette_max colours ->
 * palette (exact; text and flat UI); lossy since long enough (tight_jpeg_refresh.h) ->
 * lossless; else JPEG. The cheap tests go first: a tile with content fails the solid test
 * within a row or so, a photographic one the colour count within a few dozen pixels.
 *
 * Pure: reads the pixels and the lossy times, writes the caller's arrays. Any thread.
 */
#ifndef VGPU_TIGHT_JPEG_CLASSIFY_H
#define VGPU_TIGHT_JPEG_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tight_jpeg_plan.h"

struct tight_classify_opts {
	uint64_t now_ms;
	uint32_t delay_ms, slack_ms; /* lossless refresh; delay 0 = off */
	unsigned palette_max;        /* 0 = no palette tiles; at most 255 */
	bool grayscale;              /* fills get the colour's luma */
};

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
