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
	/* Media SDK's VPP refuses BGR4: XBGR8888 must reach it as RGB4 (an RGBX surface). */
	struct vpl_run r = run_on("FAKE_VPL_PROFILE", "gen9");
	xbgr_after_xrgb(&r);
	run_end(&r);
}

static void test_gen9_never_rgb_into_encode(void **state)
{
	(void)state;
	char line[2048];
	struct vpl_run r = run_on("FAKE_VPL_PROFILE", "gen9");
	for (int i = 0; i < 2; i++) {
		assert_true(log_line("enc_query", i, line, sizeof(line)) >= 0);
		assert_str(line, "fourcc", "RGB4");
		assert_int_equal(num(line, "sts"), MFX_ERR_UNSUPPORTED);
	}
	assert_int_equal(log_count("enc_init"), 1);
	enc_init_is(0, line, sizeof(line), "NV12");
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
	assert_int_equal(log_count("query_impls"), 1);
	assert_int_equal(log_count("init"), 2);
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
		VPL_TEST(test_gen9_xbgr_goes_through_vpp_as_rgb4),
		VPL_TEST(test_gen9_never_rgb_into_encode),
		VPL_TEST(test_loader_is_made_once),
	};
	return VPL_MAIN(tests);
}
