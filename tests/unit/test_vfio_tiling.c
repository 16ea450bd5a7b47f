/* Intel X/Y tiling: detiling synthetic tiled buffers laid out here from the i915 rules
 * (not with the code under test), validation of tiled planes, and the dmabuf cache's
 * detile path (begin_read fills a linear staging buffer that `pixels` points at). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dmabuf_cache.h"
#include "fake_plane_source.h"
#include "plane.h"
#include "unit_util.h"
#include "vfio_tiling.h"

static uint32_t pixel(uint32_t x, uint32_t y)
{
	return 0xff000000u | (x * 2654435761u ^ y * 40503u) >> 8;
}

/* Byte offset of byte xb of row y, straight from the layouts in i915's tiled_offset():
 * X tiles are 512 bytes x 8 rows with rows contiguous; Y tiles are 128 bytes x 32 rows
 * made of 16-byte columns of 32 rows (512 bytes each); 4 KiB tiles, row-major. */
static size_t x_offset(size_t stride, size_t xb, size_t y)
{
	size_t tiles_per_row = stride / 512;
	size_t tile = (y / 8) * tiles_per_row + xb / 512;
	return tile * 4096 + (y % 8) * 512 + xb % 512;
}

static size_t y_offset(size_t stride, size_t xb, size_t y)
{
	size_t tiles_per_row = stride / 128;
	size_t tile = (y / 32) * tiles_per_row + xb / 128;
	return tile * 4096 + ((xb % 128) / 16) * 512 + (y % 32) * 16 + xb % 16;
}

/* A tiled buffer of w x h pixels (4 bytes each): every byte placed by the formula. */
static uint8_t *make_tiled(uint64_t mod, uint32_t w, uint32_t h, uint32_t stride, size_t *len)
{
	uint32_t rows = mod == PLANE_MODIFIER_INTEL_X_TILED ? 8 : 32;
	*len = (size_t)stride * ((h + rows - 1) / rows * rows);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	memset(buf, 0xee, *len); /* padding that must never show */
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint32_t v = pixel(x, y);
			for (int b = 0; b < 4; b++) {
				size_t xb = (size_t)x * 4 + b;
				size_t off = mod == PLANE_MODIFIER_INTEL_X_TILED ? x_offset(stride, xb, y)
										 : y_offset(stride, xb, y);
				assert_true(off < *len);
				buf[off] = (uint8_t)(v >> (8 * b));
			}
		}
	return buf;
}

static void check_linear(const uint8_t *lin, size_t lin_stride, uint32_t w, uint32_t h)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint32_t v;
			memcpy(&v, lin + y * lin_stride + (size_t)x * 4, 4);
			if (v != pixel(x, y))
				fail_msg("pixel %u,%u is 0x%08x, want 0x%08x", x, y, v, pixel(x, y));
		}
}

static void detile_case(uint64_t mod, uint32_t w, uint32_t h, uint32_t stride)
{
	size_t len;
	uint8_t *tiled = make_tiled(mod, w, h, stride, &len);
	struct vfio_tile_layout t;
	assert_int_equal(vfio_tiling_layout(mod, &t), 0);
	size_t lin_stride = (size_t)w * 4 + 12; /* a different pitch on purpose */
	uint8_t *lin = calloc(lin_stride, h);
	vfio_tiling_detile(&t, lin, lin_stride, tiled, stride, (size_t)w * 4, h);
	check_linear(lin, lin_stride, w, h);
	/* and back: tiling the linear picture reproduces every pixel byte */
	uint8_t *again = malloc(len);
	memset(again, 0xee, len);
	vfio_tiling_tile(&t, again, stride, lin, lin_stride, (size_t)w * 4, h);
	assert_memory_equal(again, tiled, len);
	free(again);
	free(lin);
	free(tiled);
}

static void test_x_tiled(void **state)
{
	(void)state;
	detile_case(PLANE_MODIFIER_INTEL_X_TILED, 256, 16, 1024);  /* exact tiles */
	detile_case(PLANE_MODIFIER_INTEL_X_TILED, 200, 13, 1024);  /* partial tile, padding */
	detile_case(PLANE_MODIFIER_INTEL_X_TILED, 640, 480, 2560); /* 5 tiles a row */
}

static void test_y_tiled(void **state)
{
	(void)state;
	detile_case(PLANE_MODIFIER_INTEL_Y_TILED, 64, 64, 256);
	detile_case(PLANE_MODIFIER_INTEL_Y_TILED, 37, 45, 256);    /* partial columns and tiles */
	detile_case(PLANE_MODIFIER_INTEL_Y_TILED, 640, 480, 2560);
}

static void test_layouts(void **state)
{
	(void)state;
	struct vfio_tile_layout t;
	assert_int_equal(vfio_tiling_layout(PLANE_MODIFIER_LINEAR, &t), 0);
	assert_int_equal(vfio_tiling_layout(PLANE_MODIFIER_INTEL_X_TILED, &t), 0);
	assert_int_equal(t.width_bytes * t.rows, 4096);
	assert_int_equal(vfio_tiling_layout(PLANE_MODIFIER_INTEL_Y_TILED, &t), 0);
	assert_int_equal(t.width_bytes * t.rows, 4096);
	assert_int_equal(t.span_bytes, 16);
	assert_int_equal(vfio_tiling_layout(0x0100000000000003ull, &t), -EINVAL); /* Yf */
	assert_int_equal(vfio_tiling_layout(0x0100000000000004ull, &t), -EINVAL); /* Y CCS */
	assert_false(vfio_tiling_is_tiled(PLANE_MODIFIER_LINEAR));
	assert_true(vfio_tiling_is_tiled(PLANE_MODIFIER_INTEL_Y_TILED));
}

static struct plane_info tiled_plane(uint64_t mod, uint32_t w, uint32_t h, uint32_t stride)
{
	uint32_t rows = mod == PLANE_MODIFIER_INTEL_X_TILED ? 8 : 32;
	return (struct plane_info){
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888, .modifier = mod,
		.width = w, .height = h, .stride = stride,
		.size = stride * ((h + rows - 1) / rows * rows), .dmabuf_id = 1,
	};
}

static void test_validate_tiled(void **state)
{
	(void)state;
	char why[200];
	struct plane_info p = tiled_plane(PLANE_MODIFIER_INTEL_X_TILED, 1000, 700, 4096);
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	assert_int_equal(plane_info_bytes_needed(&p), 4096ull * 704);
	p = tiled_plane(PLANE_MODIFIER_INTEL_Y_TILED, 1000, 700, 4096);
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	assert_int_equal(plane_info_bytes_needed(&p), 4096ull * 704);
	/* stride not a whole number of tiles */
	p = tiled_plane(PLANE_MODIFIER_INTEL_X_TILED, 1000, 700, 4000);
	expect_plane_rejected(p, "512-byte tiles");
	p = tiled_plane(PLANE_MODIFIER_INTEL_Y_TILED, 1000, 700, 4000 + 64);
	expect_plane_rejected(p, "128-byte tiles");
	/* size covers the rows but not the last whole tile row */
	p = tiled_plane(PLANE_MODIFIER_INTEL_Y_TILED, 1000, 700, 4096);
	p.size = 4096 * 700;
	expect_plane_rejected(p, "needed");
	/* a tiled cursor is refused */
	p = tiled_plane(PLANE_MODIFIER_INTEL_X_TILED, 64, 64, 512);
	p.drm_plane_type = PLANE_CURSOR;
	expect_plane_rejected(p, "cursor");
	/* unknown Intel modifiers */
	p = tiled_plane(PLANE_MODIFIER_INTEL_Y_TILED, 64, 64, 256);
	p.modifier = 0x0100000000000005ull;
	expect_plane_rejected(p, "modifier");
}

/* ---- the cache's detile path, with a memfd holding the tiled bytes ---- */

struct one_source {
	struct plane_source base;
	int memfd;
	int gets;
};

static int one_get(struct plane_source *s, uint32_t id)
{
	struct one_source *o = (struct one_source *)s;
	(void)id;
	o->gets++;
	return dup(o->memfd);
}

static const struct plane_source_ops one_ops = {
	.name = "one", .query = fake_plane_source_no_query, .get_dmabuf = one_get, .destroy = fake_plane_source_no_destroy,
};

static void cache_case(uint64_t mod, uint32_t w, uint32_t h, uint32_t stride)
{
	size_t len;
	uint8_t *tiled = make_tiled(mod, w, h, stride, &len);
	struct one_source src = {.base.ops = &one_ops};
	src.memfd = memfd_create("tiled", MFD_CLOEXEC);
	assert_true(src.memfd >= 0);
	assert_int_equal(write(src.memfd, tiled, len), (ssize_t)len);
	struct plane_info p = tiled_plane(mod, w, h, stride);
	char why[200];
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	struct dmabuf_cache c;
	assert_int_equal(dmabuf_cache_init(&c, &src.base, 2), 0);
	struct dmabuf_buffer *b;
	if (dmabuf_cache_get(&c, &p, &b, why, sizeof(why)) != 0)
		fail_msg("get: %s", why);
	assert_int_equal(b->path, DMABUF_READ_DETILE);
	assert_int_equal(dmabuf_buffer_begin_read(b), 0);
	check_linear(b->pixels, p.stride, w, h); /* readers use the plane's stride */
	dmabuf_buffer_end_read(b);
	/* the guest draws in place: the next read shows it */
	uint32_t v = 0x00123456;
	size_t off = mod == PLANE_MODIFIER_INTEL_X_TILED ? x_offset(stride, 4 * 5, 3)
							 : y_offset(stride, 4 * 5, 3);
	assert_int_equal(pwrite(src.memfd, &v, 4, (off_t)off), 4);
	assert_int_equal(dmabuf_buffer_begin_read(b), 0);
	uint32_t got;
	memcpy(&got, b->pixels + 3 * (size_t)p.stride + 5 * 4, 4);
	assert_int_equal(got, v);
	dmabuf_buffer_end_read(b);
	assert_int_equal(src.gets, 1);
	dmabuf_cache_destroy(&c);
	close(src.memfd);
	free(tiled);
}

static void test_cache_detiles(void **state)
{
	(void)state;
	cache_case(PLANE_MODIFIER_INTEL_X_TILED, 300, 21, 1536);
	cache_case(PLANE_MODIFIER_INTEL_Y_TILED, 300, 45, 1280);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_x_tiled),
		cmocka_unit_test(test_y_tiled),
		cmocka_unit_test(test_validate_tiled),
		cmocka_unit_test(test_cache_detiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
