/* plane_info_validate: every guest-controlled field, good and bad. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "plane.h"
#include "unit_util.h"

static struct plane_info good_primary(void)
{
	return (struct plane_info){
		.drm_plane_type = PLANE_PRIMARY, .fourcc = PLANE_FORMAT_XRGB8888,
		.width = 640, .height = 480, .stride = 2560, .size = 2560 * 480, .dmabuf_id = 1,
	};
}

static struct plane_info good_cursor(void)
{
	return (struct plane_info){
		.drm_plane_type = PLANE_CURSOR, .fourcc = PLANE_FORMAT_ARGB8888,
		.width = 64, .height = 64, .stride = 256, .size = 256 * 64, .dmabuf_id = 7,
		.x_hot = 3, .y_hot = 5,
	};
}

static void test_accepts_good_planes(void **state)
{
	(void)state;
	char why[200] = "";
	struct plane_info p = good_primary();
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	p.fourcc = PLANE_FORMAT_XBGR8888;
	p.stride = 4096; /* padded rows */
	p.size = 4096 * 480;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	/* The last row need not be padded. */
	p.size = 4096 * 479 + 2560;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	struct plane_info c = good_cursor();
	assert_int_equal(plane_info_validate(&c, why, sizeof(why)), 0);
}

/* Yf-tiled and the CCS variants are refused, and the reason names the modifier (iHD
 * would import Yf as Y and show garbage); X- and Y-tiled stay accepted. */
static void test_yf_tiled_refused_by_name(void **state)
{
	(void)state;
	char why[200] = "";
	struct plane_info p = good_primary();
	p.modifier = PLANE_MODIFIER_INTEL_X_TILED;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	p.modifier = PLANE_MODIFIER_INTEL_Y_TILED;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), 0);
	p.modifier = PLANE_MODIFIER_INTEL_Yf_TILED;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "0x0100000000000003 (I915_FORMAT_MOD_Yf_TILED)"));
	assert_non_null(strstr(why, "Yf tiling is not read"));
	p.modifier = PLANE_MODIFIER_INTEL_Yf_TILED_CCS;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "(I915_FORMAT_MOD_Yf_TILED_CCS)"));
	p.modifier = PLANE_MODIFIER_INTEL_Y_TILED_CCS;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "(I915_FORMAT_MOD_Y_TILED_CCS)"));
	/* One nobody names is still refused, by number. */
	p.modifier = 0x0100000000000009ull;
	assert_int_equal(plane_info_validate(&p, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "unsupported modifier 0x0100000000000009");
}

static void test_rejects_bad_fields(void **state)
{
	(void)state;
	struct plane_info p = good_primary();
	p.fourcc = PLANE_FOURCC('R', 'G', '1', '6');
	expect_plane_rejected(p, "RG16");
	p = good_primary();
	p.modifier = 0x0100000000000003ull; /* I915_FORMAT_MOD_Yf_TILED: not detiled */
	expect_plane_rejected(p, "modifier");
	p = good_primary();
	p.width = 0;
	expect_plane_rejected(p, "size 0x480");
	p = good_primary();
	p.height = PLANE_MAX_HEIGHT + 1;
	expect_plane_rejected(p, "size");
	p = good_primary();
	p.stride = 2559;
	expect_plane_rejected(p, "stride 2559");
	p = good_primary();
	p.size = 2560 * 480 - 1;
	expect_plane_rejected(p, "size 1228799");
	p = good_primary();
	p.drm_plane_type = 3;
	expect_plane_rejected(p, "plane type 3");
}

static void test_rejects_overflowing_geometry(void **state)
{
	(void)state;
	/* stride * height overflows 32 bits: must not wrap into "small enough". */
	struct plane_info p = good_primary();
	p.width = 8192;
	p.height = 8192;
	p.stride = 0x80000000u;
	p.size = 0xffffffffu;
	expect_plane_rejected(p, "size 4294967295");
	p = good_primary();
	p.width = 0xffffffffu;
	expect_plane_rejected(p, "size");
}

static void test_cursor_limits(void **state)
{
	(void)state;
	struct plane_info c = good_cursor();
	c.x_hot = 64;
	expect_plane_rejected(c, "hotspot");
	c = good_cursor();
	c.y_hot = 0xffffffffu;
	expect_plane_rejected(c, "hotspot");
	c = good_cursor();
	c.width = c.height = PLANE_MAX_CURSOR + 1;
	c.stride = c.width * 4;
	c.size = c.stride * c.height;
	expect_plane_rejected(c, "size");
}

static void test_same_geometry_and_fourcc_text(void **state)
{
	(void)state;
	struct plane_info a = good_primary(), b = good_primary();
	b.dmabuf_id = 9; /* a flip: same geometry, other buffer */
	assert_true(plane_info_same_geometry(&a, &b));
	b.stride = 4096;
	assert_false(plane_info_same_geometry(&a, &b));
	char buf[5];
	assert_string_equal(plane_fourcc_str(PLANE_FORMAT_XBGR8888, buf), "XB24");
	assert_string_equal(plane_fourcc_str(0x00000001u, buf), "????");
	assert_int_equal(plane_format_bpp(PLANE_FORMAT_ABGR8888), 4);
	assert_int_equal(plane_format_bpp(PLANE_FOURCC('N', 'V', '1', '2')), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_good_planes),
		cmocka_unit_test(test_rejects_bad_fields),
		cmocka_unit_test(test_rejects_overflowing_geometry),
		cmocka_unit_test(test_cursor_limits),
		cmocka_unit_test(test_yf_tiled_refused_by_name),
		cmocka_unit_test(test_same_geometry_and_fourcc_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
