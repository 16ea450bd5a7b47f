/* Fuzz target: damage tracking with random geometry, checked against the pixels.
 *
 * The input picks a frame size (1..320 x 1..320), a stride (whole pixels, with up to 256
 * bytes of padding), two frames (the second a mutation of the first: bytes the input
 * chooses, anywhere, padding included) and runs damage_refine() over both. Oracle: a
 * tile is reported changed on the second refine exactly when its pixels differ between
 * the frames (padding changes must not count), every tile rectangle lies inside the frame,
 * and the first refine reports every tile. Half the runs go through damage_refine_copy()
 * with one of the four formats instead: then the copy must also equal the second frame,
 * converted, pixel for pixel. ASan and UBSan judge the memory side. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "damage.h"
#include "plane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool tile_differs(const uint8_t *a, const uint8_t *b, size_t stride, uint32_t x,
			 uint32_t y, uint32_t w, uint32_t h)
{
	for (uint32_t r = 0; r < h; r++)
		if (memcmp(a + (size_t)(y + r) * stride + (size_t)x * 4,
			   b + (size_t)(y + r) * stride + (size_t)x * 4, (size_t)w * 4))
			return true;
	return false;
}

/* dst must hold frame f in XRGB8888 (f in fourcc). */
static void check_copy(const uint8_t *dst, const uint8_t *f, size_t stride, uint32_t w,
		       uint32_t h, bool swap)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *s = f + (size_t)y * stride + (size_t)x * 4;
			const uint8_t *o = dst + ((size_t)y * w + x) * 4;
			if (o[0] != s[swap ? 2 : 0] || o[1] != s[1] || o[2] != s[swap ? 0 : 2] ||
			    o[3] != s[3])
				abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	if (size < 8)
		return 0;
	/* Up to 320 x 320: every tile edge case (partial tiles, one column, one row) without
	 * spending the run on megapixel frames. */
	uint32_t w = 1 + ((uint32_t)d[0] | (uint32_t)(d[1] & 1) << 8) % 320;
	uint32_t h = 1 + ((uint32_t)d[2] | (uint32_t)(d[3] & 1) << 8) % 320;
	size_t stride = (size_t)w * 4 + ((size_t)d[4] % 64) * 4;
	size_t len = stride * h;
	uint8_t *a = malloc(len), *b = malloc(len);
	struct damage dmg;
	if (!a || !b || damage_init(&dmg, w, h) < 0) {
		free(a);
		free(b);
		return 0;
	}
	/* Frame A: the input's bytes repeated; frame B: A with the input's edits. */
	const uint8_t *body = d + 8;
	size_t body_len = size - 8;
	for (size_t i = 0; i < len; i++)
		a[i] = body_len ? body[i % body_len] : (uint8_t)i;
	memcpy(b, a, len);
	for (size_t i = 0; i + 3 < body_len; i += 4) {
		size_t at = ((size_t)body[i] << 16 | (size_t)body[i + 1] << 8 | body[i + 2]) % len;
		b[at] ^= body[i + 3] | 1;
	}
	size_t tiles = damage_tile_count(&dmg);
	uint8_t *changed = calloc(tiles, 1);
	if (!changed)
		abort();
	static const uint32_t fourccs[] = {PLANE_FORMAT_XRGB8888, PLANE_FORMAT_ARGB8888,
					   PLANE_FORMAT_XBGR8888, PLANE_FORMAT_ABGR8888};
	bool copy = d[5] & 1;
	uint32_t fourcc = fourccs[(d[5] >> 1) & 3];
	bool swap = fourcc == PLANE_FORMAT_XBGR8888 || fourcc == PLANE_FORMAT_ABGR8888;
	uint8_t *dst = copy ? malloc((size_t)w * h * 4) : NULL;
	if (copy && !dst)
		abort();
	size_t first = copy ? damage_refine_copy(&dmg, a, stride, fourcc, dst, (size_t)w * 4, changed)
			    : damage_refine(&dmg, a, stride, changed);
	if (first != tiles)
		abort(); /* the first frame is all new */
	if (copy)
		check_copy(dst, a, stride, w, h, swap);
	size_t n = copy ? damage_refine_copy(&dmg, b, stride, fourcc, dst, (size_t)w * 4, changed)
			: damage_refine(&dmg, b, stride, changed);
	size_t counted = 0;
	if (copy)
		check_copy(dst, b, stride, w, h, swap);
	free(dst);
	for (size_t i = 0; i < tiles; i++) {
		uint32_t x, y, tw, th;
		damage_tile_rect(&dmg, i, &x, &y, &tw, &th);
		if (!tw || !th || x + tw > w || y + th > h)
			abort();
		if (changed[i] != tile_differs(a, b, stride, x, y, tw, th))
			abort();
		counted += changed[i];
	}
	if (counted != n)
		abort();
	free(changed);
	free(a);
	free(b);
	damage_destroy(&dmg);
	return 0;
}
