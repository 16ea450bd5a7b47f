/* The per-tile decision of a Tight-JPEG update. See tight_jpeg_classify.h. */
#include "tight_jpeg_classify.h"

#include "tight_jpeg_refresh.h"

uint32_t tight_classify_gray(uint32_t rgb)
{
	uint32_t r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
	uint32_t y = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;

	return y << 16 | y << 8 | y;
}

void tight_classify_tiles(const struct tight_plan_grid *g, const uint8_t *fb, size_t pitch,
			  const uint64_t *since, const struct tight_classify_opts *o, uint8_t *kind,
			  uint32_t *rgb, uint16_t *colours, uint8_t *sent,
			  uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS])
{
	for (uint32_t ty = 0; ty < g->rows; ty++) {
		for (uint32_t tx = 0; tx < g->cols; tx++) {
			size_t i = (size_t)ty * g->cols + tx;
			uint32_t x, y, w, h, c;
			unsigned n = 0;

			sent[i] = TIGHT_REFRESH_UNSENT;
			if (kind[i] == TIGHT_PLAN_NONE)
				continue;
			tight_plan_tile_rect(g, tx, ty, &x, &y, &w, &h);
			const uint8_t *px = fb + (size_t)y * pitch + (size_t)x * 4;
			if (tight_plan_tile_solid(px, pitch, w, h, &c)) {
				kind[i] = TIGHT_PLAN_FILL;
				rgb[i] = o->grayscale ? tight_classify_gray(c) : c;
				sent[i] = TIGHT_REFRESH_EXACT;
			} else if (o->palette_max &&
				   (n = tight_plan_tile_colours(px, pitch, w, h, o->palette_max,
								slots)) <= o->palette_max) {
				kind[i] = TIGHT_PLAN_PALETTE;
				colours[i] = (uint16_t)n;
				sent[i] = TIGHT_REFRESH_EXACT;
			} else if (tight_refresh_due(since[i], o->now_ms, o->delay_ms,
						     o->slack_ms)) {
				kind[i] = TIGHT_PLAN_LOSSLESS;
				sent[i] = TIGHT_REFRESH_EXACT;
			} else {
				kind[i] = TIGHT_PLAN_JPEG;
				sent[i] = TIGHT_REFRESH_LOSSY;
			}
		}
	}
}
