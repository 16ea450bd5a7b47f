/* The VPL back end against the Gen9 runtime's rules (Media SDK 22.5, libmfx1): VPP
 * refuses BGR4 input, the AVC encoder takes NV12 only. The fake runtime applies them with
 * FAKE_VPL_PROFILE=gen9 (tests/fake_vpl/fake_rules.c). Also: the dispatcher's loader is
 * made once per process, not per encoder.
 */
#include "vpl_harness.h"

#include <errno.h>
#include <stdlib.h>

static void test_gen9_xbgr_goes_through_vpp_as_rgb4(void **state)
{
	(void)state;
	setenv("FAKE_VPL_PROFILE", "gen9", 1);
	struct vpl_run r = run_start(6);
	encode_ok(r.enc, r.a, 1, false, true);
	/* The guest switches to XBGR8888: still RGB4 to VPP, the surface says RGBX. */
	struct h264_frame f = frame_of(r.b, 2, DRM_FORMAT_XBGR8888);
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), 0);
	assert_packet(&p, false);
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 1);
	assert_true(log_line("vpp_init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(va.imports[1].va_fourcc, VA_FOURCC_RGBX);
	assert_true(log_line("vpp", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), va.imports[1].id);
	assert_str(line, "in_fourcc", "RGB4");
	run_end(&r);
}

static void test_gen9_never_rgb_into_encode(void **state)
{
	(void)state;
	setenv("FAKE_VPL_PROFILE", "gen9", 1);
	struct vpl_run r = run_start(6);
	char line[2048];
	for (int i = 0; i < 2; i++) {
		assert_true(log_line("enc_query", i, line, sizeof(line)) >= 0);
		assert_str(line, "fourcc", "RGB4");
		assert_int_equal(num(line, "sts"), MFX_ERR_UNSUPPORTED);
	}
	assert_int_equal(log_count("enc_init"), 1);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "fourcc", "NV12");
	assert_int_equal(num(line, "vsi.matrix"), 6); /* VPP applies BT.601, the VUI says so */
	encode_ok(r.enc, r.a, 1, false, true);
	encode_ok(r.enc, r.a, 1, false, false);
	run_end(&r);
}

static void test_loader_is_made_once(void **state)
{
	(void)state;
	/* Two encoders (two streams), one alive while the other is made, then a third:
	 * the runtimes are enumerated once; each encoder has its own session. */
	struct h264_encoder *a = create_ok(6);
	struct h264_encoder *b = create_ok(3);
	h264_encoder_destroy(a);
	assert_int_equal(h264_vpl_unload(), -EBUSY); /* b's session needs the loader */
	h264_encoder_destroy(b);
	assert_int_equal(log_count("query_impls"), 1);
	teardown(state);
	setup(state); /* a new log; h264_vpl_unload() then succeeded */
	struct h264_encoder *c = create_ok(6);
	struct h264_encoder *d = create_ok(6);
	assert_int_equal(log_count("query_impls"), 1);
	assert_int_equal(log_count("init"), 2);
	h264_encoder_destroy(c);
	h264_encoder_destroy(d);
	assert_int_equal(va.n_live, 0);
	assert_int_equal(log_count("close"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gen9_xbgr_goes_through_vpp_as_rgb4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gen9_never_rgb_into_encode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_is_made_once, setup, teardown),
	};
	return VPL_MAIN(tests);
}
