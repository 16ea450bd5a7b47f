/* Tile damage: exactly the tiles that changed, none for a static frame, edge tiles. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "damage.h"
#include "plane.h"

struct frame {
	uint32_t w, h;
	size_t stride;
	uint8_t *px;
};

static struct frame frame_new(uint32_t w, uint32_t h, size_t pad)
{
	struct frame f = {w, h, (size_t)w * 4 + pad, NULL};
	f.px = malloc(f.stride * h);
	assert_non_null(f.px);
	/* A pseudo-random picture: no two rows alike. */
	uint32_t seed = 12345;
	for (size_t i = 0; i < f.stride * h; i++) {
		seed = seed * 1103515245u + 12345u;
		f.px[i] = (uint8_t)(seed >> 16);
	}
	return f;
}

static void put_pixel(struct frame *f, uint32_t x, uint32_t y, uint32_t v)
{
	memcpy(f->px + (size_t)y * f->stride + (size_t)x * 4, &v, 4);
}

static size_t refine(struct damage *d, const struct frame *f, uint8_t *changed)
{
	return damage_refine(d, f->px, f->stride, changed);
}

/* A frame and a damage tracker that has seen it once: only later edits are damage. */
struct tracked {
	struct frame f;
	struct damage d;
	uint8_t changed[80]; /* one per tile: enough for 640x480 */
};

static struct tracked tracked_new(uint32_t w, uint32_t h, size_t pad)
{
	struct tracked t = {.f = frame_new(w, h, pad)};
	assert_int_equal(damage_init(&t.d, w, h), 0);
	assert_true((size_t)t.d.cols * t.d.rows <= sizeof(t.changed));
	refine(&t.d, &t.f, t.changed);
	return t;
}

static void tracked_end(struct tracked *t)
{
	damage_destroy(&t->d);
	free(t->f.px);
}

static void expect_tile_rect(const struct damage *d, size_t tile, uint32_t x, uint32_t y,
			     uint32_t w, uint32_t h)
{
	uint32_t gx, gy, gw, gh;
	damage_tile_rect(d, tile, &gx, &gy, &gw, &gh);
	if (gx != x || gy != y || gw != w || gh != h)
		fail_msg("tile %zu: %u,%u %ux%u; want %u,%u %ux%u", tile, gx, gy, gw, gh, x, y, w, h);
}

static void test_first_frame_is_all_damage_then_static_is_none(void **state)
{
	(void)state;
	struct frame f = frame_new(640, 480, 0);
	struct damage d;
	assert_int_equal(damage_init(&d, 640, 480), 0);
	assert_int_equal(d.cols, 10);
	assert_int_equal(d.rows, 8);
	uint8_t changed[80];
	assert_int_equal(refine(&d, &f, changed), 80);
	for (int i = 0; i < 80; i++)
		assert_int_equal(changed[i], 1);
	assert_int_equal(refine(&d, &f, changed), 0);
	for (int i = 0; i < 80; i++)
		assert_int_equal(changed[i], 0);
	damage_invalidate(&d);
	assert_int_equal(refine(&d, &f, changed), 80);
	damage_destroy(&d);
	free(f.px);
}

static void test_exact_tiles_for_known_edits(void **state)
{
	(void)state;
	struct tracked t = tracked_new(640, 480, 0);
	put_pixel(&t.f, 0, 0, 0xdeadbeef);       /* tile (0,0) */
	put_pixel(&t.f, 639, 479, 0x12345678);   /* tile (9,7) */
	put_pixel(&t.f, 64, 63, 0x00ff00ff);     /* tile (1,0): last row of the tile */
	put_pixel(&t.f, 191, 128, 0x11111111);   /* tile (2,2): last column of the tile */
	assert_int_equal(refine(&t.d, &t.f, t.changed), 4);
	for (int i = 0; i < 80; i++) {
		int expect = i == 0 || i == 79 || i == 1 || i == 2 * 10 + 2;
		if (t.changed[i] != expect)
			fail_msg("tile %d: changed=%d, expected %d", i, t.changed[i], expect);
	}
	expect_tile_rect(&t.d, 79, 576, 448, 64, 32);
	tracked_end(&t);
}

static void test_edge_tiles_and_padding(void **state)
{
	(void)state;
	/* 100x70 with 24 bytes of row padding: partial tiles on the right and bottom; the
	 * padding is not part of the picture, so changing it is no damage. */
	struct tracked t = tracked_new(100, 70, 24);
	assert_int_equal(damage_tile_count(&t.d), 4);
	t.f.px[5 * t.f.stride + 100 * 4 + 3] ^= 0xff; /* padding byte */
	assert_int_equal(refine(&t.d, &t.f, t.changed), 0);
	put_pixel(&t.f, 99, 69, 0xabcdef01);
	assert_int_equal(refine(&t.d, &t.f, t.changed), 1);
	assert_int_equal(t.changed[3], 1);
	expect_tile_rect(&t.d, 3, 64, 64, 36, 6);
	tracked_end(&t);
}

static void test_flip_between_two_buffers_damages_only_differences(void **state)
{
	(void)state;
	/* Two buffers that differ in one tile: alternating between them (page flips)
	 * damages that tile only, each time. */
	struct tracked a = tracked_new(256, 256, 0);
	struct frame b = frame_new(256, 256, 0);
	put_pixel(&b, 130, 200, 0x01020304); /* tile (2,3) */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(refine(&a.d, &b, a.changed), 1);
		assert_int_equal(a.changed[3 * 4 + 2], 1);
		assert_int_equal(refine(&a.d, &a.f, a.changed), 1);
		assert_int_equal(a.changed[3 * 4 + 2], 1);
	}
	tracked_end(&a);
	free(b.px);
}

static void test_swapped_rows_are_damage(void **state)
{
	(void)state;
	/* The same rows in another order (a scroll) must not hash equal. */
	struct tracked t = tracked_new(64, 64, 0);
	uint8_t tmp[256];
	memcpy(tmp, t.f.px, 256);
	memcpy(t.f.px, t.f.px + 256, 256);
	memcpy(t.f.px + 256, tmp, 256);
	assert_int_equal(refine(&t.d, &t.f, t.changed), 1);
	tracked_end(&t);
}

/* damage_refine_copy: after every call the destination holds the frame (XBGR swizzled),
 * over a sequence of edits, flips and unchanged frames. */
static void test_refine_copy_keeps_destination_equal(void **state)
{
	(void)state;
	const uint32_t fourccs[2] = {PLANE_FORMAT_XRGB8888, PLANE_FORMAT_XBGR8888};
	for (int f = 0; f < 2; f++) {
		struct frame a = frame_new(200, 130, 16), b = frame_new(200, 130, 16);
		put_pixel(&b, 5, 5, 0x11223344);
		size_t dst_stride = 200 * 4;
		uint8_t *dst = calloc(dst_stride, 130);
		struct damage d;
		uint8_t changed[4 * 3];
		assert_int_equal(damage_init(&d, 200, 130), 0);
		const struct frame *seq[6] = {&a, &a, &b, &a, &b, &b};
		for (int i = 0; i < 6; i++) {
			if (i == 3)
				put_pixel(&a, 199, 129, 0x55667788u + (uint32_t)i);
			damage_refine_copy(&d, seq[i]->px, seq[i]->stride, fourccs[f], dst, dst_stride,
					   changed);
			for (uint32_t y = 0; y < 130; y++) {
				for (uint32_t x = 0; x < 200; x++) {
					const uint8_t *s = seq[i]->px + y * seq[i]->stride + x * 4;
					const uint8_t *o = dst + y * dst_stride + x * 4;
					int sw = f == 1;
					if (o[0] != s[sw ? 2 : 0] || o[1] != s[1] || o[2] != s[sw ? 0 : 2])
						fail_msg("format %d step %d: pixel %u,%u differs", f, i, x, y);
				}
			}
		}
		damage_destroy(&d);
		free(dst);
		free(a.px);
		free(b.px);
	}
}

static void test_bad_sizes(void **state)
{
	(void)state;
	struct damage d;
	assert_int_not_equal(damage_init(&d, 0, 10), 0);
	assert_int_not_equal(damage_init(&d, 10, 70000), 0);
	assert_int_equal(damage_init(&d, 1, 1), 0);
	damage_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_frame_is_all_damage_then_static_is_none),
		cmocka_unit_test(test_exact_tiles_for_known_edits),
		cmocka_unit_test(test_edge_tiles_and_padding),
		cmocka_unit_test(test_flip_between_two_buffers_damages_only_differences),
		cmocka_unit_test(test_swapped_rows_are_damage),
		cmocka_unit_test(test_refine_copy_keeps_destination_equal),
		cmocka_unit_test(test_bad_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
