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
	struct frame f = frame_new(640, 480, 0);
	struct damage d;
	uint8_t changed[80];
	assert_int_equal(damage_init(&d, 640, 480), 0);
	refine(&d, &f, changed);
	put_pixel(&f, 0, 0, 0xdeadbeef);       /* tile (0,0) */
	put_pixel(&f, 639, 479, 0x12345678);   /* tile (9,7) */
	put_pixel(&f, 64, 63, 0x00ff00ff);     /* tile (1,0): last row of the tile */
	put_pixel(&f, 191, 128, 0x11111111);   /* tile (2,2): last column of the tile */
	assert_int_equal(refine(&d, &f, changed), 4);
	for (int i = 0; i < 80; i++) {
		int expect = i == 0 || i == 79 || i == 1 || i == 2 * 10 + 2;
		if (changed[i] != expect)
			fail_msg("tile %d: changed=%d, expected %d", i, changed[i], expect);
	}
	uint32_t x, y, w, h;
	damage_tile_rect(&d, 79, &x, &y, &w, &h);
	assert_int_equal(x, 576);
	assert_int_equal(y, 448);
	assert_int_equal(w, 64);
	assert_int_equal(h, 32);
	damage_destroy(&d);
	free(f.px);
}

static void test_edge_tiles_and_padding(void **state)
{
	(void)state;
	/* 100x70 with 24 bytes of row padding: partial tiles on the right and bottom; the
	 * padding is not part of the picture, so changing it is no damage. */
	struct frame f = frame_new(100, 70, 24);
	struct damage d;
	uint8_t changed[4];
	assert_int_equal(damage_init(&d, 100, 70), 0);
	assert_int_equal(damage_tile_count(&d), 4);
	refine(&d, &f, changed);
	f.px[5 * f.stride + 100 * 4 + 3] ^= 0xff; /* padding byte */
	assert_int_equal(refine(&d, &f, changed), 0);
	put_pixel(&f, 99, 69, 0xabcdef01);
	assert_int_equal(refine(&d, &f, changed), 1);
	assert_int_equal(changed[3], 1);
	uint32_t x, y, w, h;
	damage_tile_rect(&d, 3, &x, &y, &w, &h);
	assert_int_equal(x, 64);
	assert_int_equal(y, 64);
	assert_int_equal(w, 36);
	assert_int_equal(h, 6);
	damage_destroy(&d);
	free(f.px);
}

static void test_flip_between_two_buffers_damages_only_differences(void **state)
{
	(void)state;
	/* Two buffers that differ in one tile: alternating between them (page flips)
	 * damages that tile only, each time. */
	struct frame a = frame_new(256, 256, 0), b = frame_new(256, 256, 0);
	put_pixel(&b, 130, 200, 0x01020304); /* tile (2,3) */
	struct damage d;
	uint8_t changed[16];
	assert_int_equal(damage_init(&d, 256, 256), 0);
	refine(&d, &a, changed);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(refine(&d, &b, changed), 1);
		assert_int_equal(changed[3 * 4 + 2], 1);
		assert_int_equal(refine(&d, &a, changed), 1);
		assert_int_equal(changed[3 * 4 + 2], 1);
	}
	damage_destroy(&d);
	free(a.px);
	free(b.px);
}

static void test_swapped_rows_are_damage(void **state)
{
	(void)state;
	/* The same rows in another order (a scroll) must not hash equal. */
	struct frame f = frame_new(64, 64, 0);
	struct damage d;
	uint8_t changed[1];
	assert_int_equal(damage_init(&d, 64, 64), 0);
	refine(&d, &f, changed);
	uint8_t tmp[256];
	memcpy(tmp, f.px, 256);
	memcpy(f.px, f.px + 256, 256);
	memcpy(f.px + 256, tmp, 256);
	assert_int_equal(refine(&d, &f, changed), 1);
	damage_destroy(&d);
	free(f.px);
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
