/* pixel_copy_rect: XRGB copied as is, XBGR swizzled, only the rectangle touched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "pixel_copy.h"
#include "plane.h"

#define W 37
#define H 11
#define SRC_STRIDE (W * 4 + 12)
#define DST_STRIDE (W * 4)

static void fill_src(uint8_t *src)
{
	for (int i = 0; i < SRC_STRIDE * H; i++)
		src[i] = (uint8_t)(i * 13 + 1);
}

static void check_rect(const uint8_t *dst, const uint8_t *src, int x0, int y0, int w, int h,
		       int swap)
{
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			const uint8_t *d = dst + y * DST_STRIDE + x * 4;
			const uint8_t *s = src + y * SRC_STRIDE + x * 4;
			int inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
			if (!inside) {
				for (int c = 0; c < 4; c++)
					assert_int_equal(d[c], 0xAA);
				continue;
			}
			/* dst is bytes B,G,R,(X); XBGR sources are bytes R,G,B,X */
			assert_int_equal(d[0], swap ? s[2] : s[0]);
			assert_int_equal(d[1], s[1]);
			assert_int_equal(d[2], swap ? s[0] : s[2]);
		}
	}
}

static void run_case(uint32_t fourcc, int swap)
{
	static uint8_t src[SRC_STRIDE * H], dst[DST_STRIDE * H];
	fill_src(src);
	memset(dst, 0xAA, sizeof(dst));
	assert_int_equal(pixel_copy_rect(dst, DST_STRIDE, src, SRC_STRIDE, fourcc, 3, 2, 17, 5), 0);
	check_rect(dst, src, 3, 2, 17, 5, swap);
}

static void test_xrgb_is_copied(void **state)
{
	(void)state;
	run_case(PLANE_FORMAT_XRGB8888, 0);
	run_case(PLANE_FORMAT_ARGB8888, 0);
}

static void test_xbgr_is_swizzled(void **state)
{
	(void)state;
	run_case(PLANE_FORMAT_XBGR8888, 1);
	run_case(PLANE_FORMAT_ABGR8888, 1);
}

static void test_unknown_format(void **state)
{
	(void)state;
	uint8_t src[16] = {0}, dst[16] = {0};
	assert_int_equal(pixel_copy_rect(dst, 16, src, 16, PLANE_FOURCC('N', 'V', '1', '2'), 0, 0, 1, 1),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xrgb_is_copied),
		cmocka_unit_test(test_xbgr_is_swizzled),
		cmocka_unit_test(test_unknown_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
