/* Damage from the frame itself: the uAPI says nothing about what changed.
 *
 * The state is one 64-bit hash per tile. damage_refine() hashes every tile of a frame
 * (XXH3's long-input core, accumulated per tile column as the rows go by, in memory order,
 * so the frame is read once, sequentially: see damage.c) and reports the tiles whose hash
 * differs from the last frame's. Comparing hashes instead of pixels means no copy of the
 * previous frame is read: one pass over memory. damage_refine_copy() also copies the
 * changed tiles into the shadow framebuffer in that same pass where it can. A new dmabuf
 * id (page flip) is refined the same way, against the last frame shown.
 *
 * Owned by the capture thread; pure computation (and the copy into the caller's buffer),
 * no locking, no I/O.
 */
#ifndef VGPU_DAMAGE_H
#define VGPU_DAMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DAMAGE_TILE 64u

struct damage {
	uint32_t width, height;  /* pixels */
	uint32_t cols, rows;     /* tiles */
	uint64_t *hashes;        /* cols * rows, row-major */
	uint64_t *row_acc;       /* cols * 8: accumulators of the tile row being read */
	uint8_t *hot;            /* cols * rows: changed in the last refine (copy guess) */
	bool valid;              /* false: the next refine reports every tile */
	void (*band)(void);      /* the hashing kernel chosen at init (damage.c) */
};

/* 0 or -ENOMEM / -EINVAL. Sizes 1..65535. */
int damage_init(struct damage *d, uint32_t width, uint32_t height);
void damage_destroy(struct damage *d);

/* Forget the stored hashes: the next refine reports every tile as changed. */
void damage_invalidate(struct damage *d);

/* Hash the frame (4 bytes a pixel, rows stride bytes apart) and set changed[i] to 1 for
 * every tile i (row-major, cols * rows entries) that differs from the last frame, 0
 * otherwise. Returns the number of changed tiles. */
size_t damage_refine(struct damage *d, const uint8_t *frame, size_t stride, uint8_t *changed);

/* damage_refine() that also brings dst (XRGB8888, dst_stride bytes a row, the frame's
 * size) up to date: when it returns, every tile it reports as changed has been copied
 * there as pixel_copy_rect() would (fourcc: XR24/AR24 as they are, XB24/AB24 swizzled;
 * any other format: nothing is copied). Tiles that changed in the last refine are copied
 * in the same pass that hashes them, so a frame that keeps changing is read once; others
 * that changed are copied right after their tile row was hashed, while it is in cache.
 * A tile copied on that guess that turns out unchanged is rewritten with the bytes dst
 * already holds, so dst must hold the last frame refined (true when every frame goes
 * through this call; after damage_invalidate() every tile is copied anyway). */
size_t damage_refine_copy(struct damage *d, const uint8_t *frame, size_t stride, uint32_t fourcc,
			  uint8_t *dst, size_t dst_stride, uint8_t *changed);

/* The tiles flagged in changed (from the source's own damage, plane_source.h) copied into
 * dst as damage_refine_copy() would, without hashing. Returns how many. The stored hashes
 * no longer hold afterwards: the next refine reports every tile. */
size_t damage_copy_tiles(struct damage *d, const uint8_t *frame, size_t stride, uint32_t fourcc,
			 uint8_t *dst, size_t dst_stride, const uint8_t *changed);

static inline size_t damage_tile_count(const struct damage *d)
{
	return (size_t)d->cols * d->rows;
}

/* Rectangle of tile i, clipped to the frame. */
void damage_tile_rect(const struct damage *d, size_t i, uint32_t *x, uint32_t *y, uint32_t *w,
		      uint32_t *h);

/* The flagged tiles of a width x height frame (flags[i] != 0; DAMAGE_TILE tiles, row-major)
 * as rectangles: one per run of adjacent flagged tiles in a tile row, clipped to the frame,
 * x, y, w, h in rects (4 values a run; room for one run per tile is always enough).
 * Returns the number of runs. Pure; any thread. */
size_t damage_tile_runs(uint32_t width, uint32_t height, const uint8_t *flags, uint32_t *rects);

#endif
