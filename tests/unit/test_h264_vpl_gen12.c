/* The VPL back end against the Gen12 runtime's rules (vpl-gpu-rt, libmfx-gen): ENCODE
 * takes RGB4 itself (4:4:4) and reads whole macroblocks, Width × Height 16-aligned, from
 * the surface. The fake runtime applies them with FAKE_VPL_PROFILE=gen12 and checks each
 * surface against what the VA stand-in made (vpl_harness.c).
 */
#include "vpl_harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct h264_frame big_frame(int fd, uint32_t id)
{
	struct h264_frame f = frame_of(fd, id, DRM_FORMAT_XRGB8888);
	f.dmabuf_size = SIZE_A16;
	return f;
}

static void test_gen12_rgb_into_encode_reads_aligned_surface(void **state)
{
	(void)state;
	char line[2048];
	struct vpl_run r = run_on("FAKE_VPL_PROFILE", "gen12");
	assert_int_equal(log_count("vpp_init"), 0);
	enc_init_is(0, line, sizeof(line), "RGB4");
	/* The encoder converts RGB itself with a matrix no API reports: the VUI claims none. */
	assert_int_equal(num(line, "vsi.matrix"), 2);
	encode_a16_ok(r.enc, r.a, 1, true);
	encode_a16_ok(r.enc, r.a, 1, false);
	/* The import covers what the encoder reads: 112×64, cropped to 100×50. */
	assert_int_equal(va.n_imports, 1);
	assert_int_equal(va.imports[0].width, 112);
	assert_int_equal(va.imports[0].height, 64);
	assert_true(log_line("encode", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "surface"), va.imports[0].id);
	assert_int_equal(num(line, "cropw"), W);
	assert_int_equal(num(line, "croph"), H);
	run_end(&r);
}

static void test_gen12_small_buffer_goes_to_vpp(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_PROFILE", "gen12");
	encode_a16_ok(r.enc, r.a, 1, true);
	/* 56 rows (the 8-row X tile), not the 64 the encoder reads: VPP from now on, a new
	 * stream (IDR), the buffer imported at its real size. */
	encode_ok(r.enc, r.b, 2, false, true);
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 1);
	assert_int_equal(log_count("enc_init"), 2);
	enc_init_is(1, line, sizeof(line), "NV12");
	assert_int_equal(num(line, "vsi.matrix"), 6);
	assert_int_equal(va.imports[1].height, H);
	/* And it stays there, also for the big buffer. */
	encode_a16_ok(r.enc, r.a, 1, false);
	assert_int_equal(log_count("vpp"), 2);
	run_end(&r);
}

static void test_gen12_xbgr_is_not_fed_to_encode(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_PROFILE", "gen12");
	encode_a16_ok(r.enc, r.a, 1, true);
	struct h264_frame f = big_frame(r.b, 2);
	f.fourcc = DRM_FORMAT_XBGR8888;
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), 0);
	assert_packet(&p, true);
	char line[2048];
	assert_true(log_line("vpp", 0, line, sizeof(line)) >= 0);
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(num(line, "in_surface"), va.imports[1].id);
	assert_int_equal(va.imports[1].va_fourcc, VA_FOURCC_RGBX);
	run_end(&r);
}

static void test_gen12_init_refusing_rgb_falls_back_to_vpp(void **state)
{
	(void)state;
	/* Query says yes to RGB4, Init (the driver) no: VPP after all, not a failed create. */
	setenv("FAKE_VPL_PROFILE", "gen12", 1);
	char st[16];
	snprintf(st, sizeof(st), "%d", MFX_ERR_INVALID_VIDEO_PARAM);
	setenv("FAKE_VPL_RGB_INIT_FAILS", st, 1);
	struct vpl_run r = run_start(6);
	char line[2048];
	enc_init_is(0, line, sizeof(line), "RGB4");
	assert_int_equal(log_count("vpp_init"), 1);
	int n = log_count("enc_init");
	enc_init_is(n - 1, line, sizeof(line), "NV12");
	encode_ok(r.enc, r.a, 1, false, true);
	run_end(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VPL_TEST(test_gen12_rgb_into_encode_reads_aligned_surface),
		VPL_TEST(test_gen12_small_buffer_goes_to_vpp),
		VPL_TEST(test_gen12_xbgr_is_not_fed_to_encode),
		VPL_TEST(test_gen12_init_refusing_rgb_falls_back_to_vpp),
	};
	return VPL_MAIN(tests);
}
