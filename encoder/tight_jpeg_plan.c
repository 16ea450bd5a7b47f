/* Tiles -> kinds -> rectangles, and the solid and colour-count tests. See tight_jpeg_plan.h. */
#include "tight_jpeg_plan.h"

#include <string.h>

#include "rfb_wire.h"
#include "tight_jpeg_lossless.h"

void tight_plan_grid_init(struct tight_plan_grid *g, uint32_t width, uint32_t height,
			  uint32_t tile)
{
	g->width = width;
	g->height = height;
	g->tile = tile;
	g->cols = (width + tile - 1) / tile;
	g->rows = (height + tile - 1) / tile;
}

void tight_plan_tile_rect(const struct tight_plan_grid *g, uint32_t tx, uint32_t ty, uint32_t *x,
			  uint32_t *y, uint32_t *w, uint32_t *h)
{
	*x = tx * g->tile;
	*y = ty * g->tile;
	*w = g->width - *x < g->tile ? g->width - *x : g->tile;
	*h = g->height - *y < g->tile ? g->height - *y : g->tile;
}

bool tight_plan_fits(uint8_t kind, uint32_t w, uint32_t h)
{
	if (w == 0 || h == 0 || w > 65535 || h > 65535)
		return false;
	switch (kind) {
	case TIGHT_PLAN_FILL:
		return true;
	case TIGHT_PLAN_JPEG: {
		/* libjpeg-turbo's worst case (tjBufSize), 4:4:4 being the worst subsampling:
		 * 8x8 MCUs, 6 bytes a pixel, 2 KiB of headers. */
		uint64_t worst = (uint64_t)((w + 7) & ~7u) * ((h + 7) & ~7u) * 6 + 2048;
		return w <= TIGHT_PLAN_MAX_WIDTH && worst <= RFB_WIRE_TIGHT_MAX_COMPACT;
	}
	case TIGHT_PLAN_LOSSLESS:
	case TIGHT_PLAN_PALETTE:
		return w <= TIGHT_PLAN_MAX_WIDTH && w * h <= TIGHT_PLAN_LOSSLESS_MAX_AREA;
	default:
		return false;
	}
}

static bool same(uint8_t kind_a, uint32_t rgb_a, uint8_t kind_b, uint32_t rgb_b)
{
	return kind_a == kind_b && (kind_a != TIGHT_PLAN_FILL || rgb_a == rgb_b);
}

/* Palette tiles merge while their colour counts stay within one palette. */
static bool colours_fit(uint8_t kind, uint32_t colours)
{
	return kind != TIGHT_PLAN_PALETTE || colours <= TIGHT_PLAN_MAX_PALETTE;
}

size_t tight_plan_rects(const struct tight_plan_grid *g, const uint8_t *kind, const uint32_t *rgb,
			const uint16_t *colours, struct tight_plan_rect *out, int32_t *scratch)
{
	/* prev[c]: the rectangle that starts at column c and ends at the previous tile row
	 * (-1: none); cur[c]: the same for this row, for the next one. */
	int32_t *prev = scratch, *cur = scratch + g->cols;
	size_t n = 0;

	for (uint32_t c = 0; c < g->cols; c++)
		prev[c] = -1;
	for (uint32_t ty = 0; ty < g->rows; ty++) {
		const uint8_t *krow = kind + (size_t)ty * g->cols;
		const uint32_t *crow = rgb + (size_t)ty * g->cols;
		uint32_t x0, y0, tw, th;

		for (uint32_t c = 0; c < g->cols; c++)
			cur[c] = -1;
		for (uint32_t tx = 0; tx < g->cols;) {
			uint8_t k = krow[tx];
			uint32_t colour = k == TIGHT_PLAN_FILL ? crow[tx] : 0, end = tx + 1;

			if (k == TIGHT_PLAN_NONE) {
				tx++;
				continue;
			}
			const uint16_t *nrow = colours ? colours + (size_t)ty * g->cols : NULL;
			uint32_t ncol = nrow && k == TIGHT_PLAN_PALETTE ? nrow[tx] : 0;

			tight_plan_tile_rect(g, tx, ty, &x0, &y0, &tw, &th);
			/* The run: equal neighbours, as long as the rectangle may grow. */
			uint32_t w = tw;
			while (end < g->cols && same(krow[end], crow[end], k, colour)) {
				uint32_t ex, ey, ew, eh;
				uint32_t nc =
					ncol + (nrow && k == TIGHT_PLAN_PALETTE ? nrow[end] : 0);

				tight_plan_tile_rect(g, end, ty, &ex, &ey, &ew, &eh);
				if (!tight_plan_fits(k, w + ew, th) || !colours_fit(k, nc))
					break;
				w += ew;
				ncol = nc;
				end++;
			}
			/* Grow the rectangle above if it has exactly these columns. */
			int32_t up = prev[tx];
			if (up >= 0 && out[up].w == w &&
			    same(out[up].kind, out[up].rgb, k, colour) &&
			    tight_plan_fits(k, w, out[up].h + th) &&
			    colours_fit(k, out[up].colours + ncol)) {
				out[up].h += th;
				out[up].colours += ncol;
				cur[tx] = up;
			} else {
				out[n] = (struct tight_plan_rect){.x = x0, .y = y0, .w = w, .h = th,
								  .kind = k, .rgb = colour,
								  .colours = ncol};
				cur[tx] = (int32_t)n++;
			}
			tx = end;
		}
		memcpy(prev, cur, g->cols * sizeof(*prev));
	}
	return n;
}

bool tight_plan_tile_solid(const uint8_t *px, size_t stride, uint32_t w, uint32_t h,
			   uint32_t *rgb)
{
	uint32_t first;

	memcpy(&first, px, 4);
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = px + (size_t)y * stride;
		uint32_t diff = 0;

		/* OR of differences over the row: no branch per pixel, so it vectorises. */
		for (uint32_t x = 0; x < w; x++) {
			uint32_t v;

			memcpy(&v, row + (size_t)x * 4, 4);
			diff |= v ^ first;
		}
		if (diff & 0x00ffffffu)
			return false;
	}
	*rgb = first & 0x00ffffffu;
	return true;
}

_Static_assert(TIGHT_PLAN_COLOUR_SLOTS == 1u << TIGHT_COLOUR_BITS,
	       "tight_colour_slot() indexes the slots");

unsigned tight_plan_tile_colours(const uint8_t *px, size_t stride, uint32_t w, uint32_t h,
				 unsigned max, uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS])
{
	const uint32_t empty = 0xffffffffu; /* never a 24-bit colour */
	unsigned n = 0;
	uint32_t last = empty;

	memset(slots, 0xff, TIGHT_PLAN_COLOUR_SLOTS * sizeof(*slots));
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *row = px + (size_t)y * stride;

		for (uint32_t x = 0; x < w; x++) {
			uint32_t v = tight_pixel_rgb(row, x);

			if (v == last)
				continue;
			last = v;
			uint32_t s = tight_colour_slot(v);
			while (slots[s] != empty && slots[s] != v)
				s = (s + 1) & (TIGHT_PLAN_COLOUR_SLOTS - 1);
			if (slots[s] == empty) {
				if (n == max)
					return max + 1;
				slots[s] = v;
				n++;
			}
		}
	}
	return n;
}

/* ---- the per-tile decision ---- */

uint32_t tight_classify_gray(uint32_t rgb)
{
	uint32_t r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
	uint32_t y = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;

	return y << 16 | y << 8 | y;
}

void tight_tile_facts_compute(const struct tight_plan_grid *g, const uint8_t *fb, size_t pitch,
			      uint32_t tx, uint32_t ty, unsigned palette_max, bool known,
			      struct tight_tile_facts *f, uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS])
{
	uint32_t x, y, w, h;

	if (known && tight_tile_facts_enough(f, palette_max))
		return;
	tight_plan_tile_rect(g, tx, ty, &x, &y, &w, &h);
	const uint8_t *px = fb + (size_t)y * pitch + (size_t)x * 4;
	if (!known) {
		f->solid = tight_plan_tile_solid(px, pitch, w, h, &f->rgb);
		f->counted_to = 0;
		f->colours = 1; /* "more than 0" */
		if (f->solid)
			return;
	}
	if (palette_max) {
		f->colours = (uint16_t)tight_plan_tile_colours(px, pitch, w, h, palette_max, slots);
		f->counted_to = (uint16_t)palette_max;
	}
}

/* One tile's decision from its facts. */
static void decide(const struct tight_tile_facts *f, uint64_t since,
		   const struct tight_classify_opts *o, uint8_t *kind, uint32_t *rgb,
		   uint16_t *colours, uint8_t *sent)
{
	if (f->solid) {
		*kind = TIGHT_PLAN_FILL;
		*rgb = o->grayscale ? tight_classify_gray(f->rgb) : f->rgb;
		*sent = TIGHT_REFRESH_EXACT;
	} else if (o->palette_max && f->colours <= o->palette_max) {
		*kind = TIGHT_PLAN_PALETTE;
		*colours = f->colours;
		*sent = TIGHT_REFRESH_EXACT;
	} else if (tight_refresh_due(since, o->now_ms, o->delay_ms, o->slack_ms)) {
		*kind = TIGHT_PLAN_LOSSLESS;
		*sent = TIGHT_REFRESH_EXACT;
	} else {
		*kind = TIGHT_PLAN_JPEG;
		*sent = TIGHT_REFRESH_LOSSY;
	}
}

void tight_classify_facts(const struct tight_plan_grid *g, const struct tight_tile_facts *facts,
			  const uint64_t *since, const struct tight_classify_opts *o, uint8_t *kind,
			  uint32_t *rgb, uint16_t *colours, uint8_t *sent)
{
	for (size_t i = 0; i < (size_t)g->cols * g->rows; i++) {
		sent[i] = TIGHT_REFRESH_UNSENT;
		if (kind[i] != TIGHT_PLAN_NONE)
			decide(&facts[i], since[i], o, &kind[i], &rgb[i], &colours[i], &sent[i]);
	}
}

void tight_classify_tiles(const struct tight_plan_grid *g, const uint8_t *fb, size_t pitch,
			  const uint64_t *since, const struct tight_classify_opts *o, uint8_t *kind,
			  uint32_t *rgb, uint16_t *colours, uint8_t *sent,
			  uint32_t slots[TIGHT_PLAN_COLOUR_SLOTS])
{
	for (uint32_t ty = 0; ty < g->rows; ty++) {
		for (uint32_t tx = 0; tx < g->cols; tx++) {
			size_t i = (size_t)ty * g->cols + tx;
			struct tight_tile_facts f;

			sent[i] = TIGHT_REFRESH_UNSENT;
			if (kind[i] == TIGHT_PLAN_NONE)
				continue;
			tight_tile_facts_compute(g, fb, pitch, tx, ty, o->palette_max, false, &f,
						 slots);
			decide(&f, since[i], o, &kind[i], &rgb[i], &colours[i], &sent[i]);
		}
	}
}
