/* Tile hashing. The inner loop walks each row once, left to right, hashing the part of the
 * row that belongs to each tile column and folding it into that column's accumulator; at
 * the end of a tile row the accumulators are compared with the stored hashes. */
#include "damage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int damage_init(struct damage *d, uint32_t width, uint32_t height)
{
	memset(d, 0, sizeof(*d));
	if (width == 0 || height == 0 || width > 65535 || height > 65535)
		return -EINVAL;
	d->width = width;
	d->height = height;
	d->cols = (width + DAMAGE_TILE - 1) / DAMAGE_TILE;
	d->rows = (height + DAMAGE_TILE - 1) / DAMAGE_TILE;
	d->hashes = calloc((size_t)d->cols * d->rows, sizeof(*d->hashes));
	d->row_acc = calloc(d->cols, sizeof(*d->row_acc));
	if (!d->hashes || !d->row_acc) {
		damage_destroy(d);
		return -ENOMEM;
	}
	return 0;
}

void damage_destroy(struct damage *d)
{
	free(d->hashes);
	free(d->row_acc);
	memset(d, 0, sizeof(*d));
}

void damage_invalidate(struct damage *d)
{
	d->valid = false;
}

void damage_tile_rect(const struct damage *d, size_t i, uint32_t *x, uint32_t *y, uint32_t *w,
		      uint32_t *h)
{
	uint32_t tx = (uint32_t)(i % d->cols), ty = (uint32_t)(i / d->cols);
	*x = tx * DAMAGE_TILE;
	*y = ty * DAMAGE_TILE;
	*w = d->width - *x < DAMAGE_TILE ? d->width - *x : DAMAGE_TILE;
	*h = d->height - *y < DAMAGE_TILE ? d->height - *y : DAMAGE_TILE;
}

/* Order-dependent fold of one row segment's hash into its tile's accumulator. */
static inline uint64_t fold(uint64_t acc, uint64_t h)
{
	acc ^= h;
	acc *= 0x9E3779B97F4A7C15ull;
	return acc ^ (acc >> 29);
}

size_t damage_refine(struct damage *d, const uint8_t *frame, size_t stride, uint8_t *changed)
{
	const size_t tile_bytes = (size_t)DAMAGE_TILE * 4;
	const size_t row_bytes = (size_t)d->width * 4;
	size_t n_changed = 0;

	for (uint32_t ty = 0; ty < d->rows; ty++) {
		uint32_t y0 = ty * DAMAGE_TILE;
		uint32_t y1 = y0 + DAMAGE_TILE < d->height ? y0 + DAMAGE_TILE : d->height;
		for (uint32_t tx = 0; tx < d->cols; tx++)
			d->row_acc[tx] = (uint64_t)tx + 1;
		for (uint32_t y = y0; y < y1; y++) {
			const uint8_t *row = frame + (size_t)y * stride;
			size_t off = 0;
			for (uint32_t tx = 0; tx < d->cols; tx++, off += tile_bytes) {
				size_t len = row_bytes - off < tile_bytes ? row_bytes - off : tile_bytes;
				d->row_acc[tx] = fold(d->row_acc[tx], XXH3_64bits(row + off, len));
			}
		}
		uint64_t *stored = d->hashes + (size_t)ty * d->cols;
		uint8_t *out = changed + (size_t)ty * d->cols;
		for (uint32_t tx = 0; tx < d->cols; tx++) {
			bool diff = !d->valid || stored[tx] != d->row_acc[tx];
			stored[tx] = d->row_acc[tx];
			out[tx] = diff;
			n_changed += diff;
		}
	}
	d->valid = true;
	return n_changed;
}
