/* The EDID generator: header, checksum, the preferred detailed timing byte by byte (EDID
 * 1.4 layout), clamping to the device maximum, and the parser's refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "vfio_edid.h"

static unsigned sum(const uint8_t *e)
{
	unsigned s = 0;
	for (int i = 0; i < 128; i++)
		s += e[i];
	return s & 0xff;
}

/* The detailed timing at byte 54, decoded by hand from the EDID 1.4 table. */
static void check_dtd(const uint8_t *e, uint32_t w, uint32_t h)
{
	const uint8_t *d = e + 54;
	unsigned clock = d[0] | d[1] << 8;
	assert_true(clock > 0); /* a timing, not a display descriptor */
	unsigned hactive = d[2] | (d[4] & 0xf0) << 4;
	unsigned hblank = d[3] | (d[4] & 0x0f) << 8;
	unsigned vactive = d[5] | (d[7] & 0xf0) << 4;
	unsigned vblank = d[6] | (d[7] & 0x0f) << 8;
	unsigned hfront = d[8] | (d[11] >> 6 & 3) << 8;
	unsigned hsync = d[9] | (d[11] >> 4 & 3) << 8;
	unsigned vfront = (d[10] >> 4) | (d[11] >> 2 & 3) << 4;
	unsigned vsync = (d[10] & 0xf) | (d[11] & 3) << 4;
	assert_int_equal(hactive, w);
	assert_int_equal(vactive, h);
	assert_true(hfront + hsync <= hblank);
	assert_true(vfront + vsync <= vblank);
	/* 60 Hz where the 16-bit clock allows: clock * 10 kHz = total pixels * 60, to the
	 * nearest 10 kHz; the largest modes get the largest clock and a lower refresh */
	double total = (double)(w + hblank) * (h + vblank);
	if (clock < 65535)
		assert_true(fabs(clock * 10000.0 - total * 60) <= 5000);
	else
		assert_true(total * 60 > 65535 * 10000.0);
	/* the other descriptors are display descriptors (pixel clock 0) */
	for (int off = 72; off < 126; off += 18)
		assert_true(e[off] == 0 && e[off + 1] == 0);
}

static void test_generate(void **state)
{
	(void)state;
	static const uint32_t sizes[][2] = {{640, 480}, {800, 600}, {1024, 768},  {1920, 1080},
					    {1000, 700}, {4095, 4095}, {1, 1},    {2560, 1440}};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t e[VFIO_EDID_BLOCK];
		memset(e, 0x5a, sizeof(e));
		assert_int_equal(vfio_edid_generate(e, sizes[i][0], sizes[i][1]), 0);
		static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
		assert_memory_equal(e, header, 8);
		assert_int_equal(sum(e), 0);
		assert_true(vfio_edid_checksum_ok(e));
		assert_int_equal(e[18], 1); /* EDID 1.4 */
		assert_int_equal(e[19], 4);
		assert_int_equal(e[126], 0); /* no extensions */
		assert_true(e[24] & 0x02);   /* the first detailed timing is the preferred mode */
		check_dtd(e, sizes[i][0], sizes[i][1]);
		uint32_t w = 0, h = 0;
		assert_int_equal(vfio_edid_preferred_mode(e, sizeof(e), &w, &h), 0);
		assert_int_equal(w, sizes[i][0]);
		assert_int_equal(h, sizes[i][1]);
	}
}

static void test_vendor_and_name(void **state)
{
	(void)state;
	uint8_t e[VFIO_EDID_BLOCK];
	assert_int_equal(vfio_edid_generate(e, 1024, 768), 0);
	unsigned v = (unsigned)e[8] << 8 | e[9];
	char vendor[4] = {(char)('@' + (v >> 10 & 31)), (char)('@' + (v >> 5 & 31)),
			  (char)('@' + (v & 31)), 0};
	assert_string_equal(vendor, "VGV");
	bool named = false;
	for (int off = 54; off < 126; off += 18)
		if (e[off] == 0 && e[off + 1] == 0 && e[off + 3] == 0xfc)
			named = memcmp(e + off + 5, "vgpu-vnc\n", 9) == 0;
	assert_true(named);
	/* established timings: all three fit 1024x768; only 640x480 fits 700x500 */
	assert_int_equal(e[35], 0x21);
	assert_int_equal(e[36], 0x08);
	assert_int_equal(vfio_edid_generate(e, 700, 500), 0);
	assert_int_equal(e[35], 0x20);
	assert_int_equal(e[36], 0x00);
}

static void test_clamp(void **state)
{
	(void)state;
	static const struct {
		uint32_t w, h, max_w, max_h, want_w, want_h;
	} cases[] = {
		{1000, 700, 800, 600, 800, 600},     /* mbochs-small */
		{2000, 1000, 1920, 1440, 1920, 1000},
		{9000, 5000, 0, 0, 4095, 4095},      /* no device limit: the EDID's own */
		{0, 0, 0, 0, 1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t w = cases[i].w, h = cases[i].h;
		vfio_edid_clamp(&w, &h, cases[i].max_w, cases[i].max_h);
		assert_int_equal(w, cases[i].want_w);
		assert_int_equal(h, cases[i].want_h);
	}
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t e[VFIO_EDID_BLOCK];
	uint32_t w, h;
	assert_int_equal(vfio_edid_generate(e, 0, 480), -EINVAL);
	assert_int_equal(vfio_edid_generate(e, 4096, 480), -EINVAL);
	assert_int_equal(vfio_edid_generate(e, 640, 480), 0);
	assert_int_equal(vfio_edid_preferred_mode(e, 127, &w, &h), -EINVAL); /* short */
	e[60] ^= 1;
	assert_int_equal(vfio_edid_preferred_mode(e, 128, &w, &h), -EINVAL); /* checksum */
	e[60] ^= 1;
	e[0] = 1;
	assert_int_equal(vfio_edid_preferred_mode(e, 128, &w, &h), -EINVAL); /* header */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_vendor_and_name),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
