/* Lost frames: what the VPL back end returns when the runtime is slow or fails a frame,
 * and that it goes on (or says it cannot). The fake runtime locks the surfaces it holds
 * (Data.Locked), needs FAKE_VPL_SYNC_CALLS SyncOperation calls per frame and fails every
 * FAKE_VPL_SYNC_FAIL_EVERY-th at sync (tests/fake_vpl/fake_rules.c); destroy_and_check()
 * fails a test in which a locked surface was handed back.
 */
#include "vpl_harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static struct vpl_run run_on_int(const char *name, int v)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", v);
	return run_on(name, s);
}

static void setenv_int(const char *name, int v)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", v);
	setenv(name, s, 1);
}

static int encode_rc(struct h264_encoder *enc, int fd, uint32_t id, struct h264_packet *p)
{
	struct h264_frame f = frame_of(fd, id, DRM_FORMAT_XRGB8888);
	return h264_encoder_encode(enc, &f, false, p);
}

static void test_sync_over_several_calls(void **state)
{
	(void)state;
	struct vpl_run r = run_on_int("FAKE_VPL_SYNC_CALLS", 3);
	encode_ok(r.enc, r.a, 1, false, true);
	encode_ok(r.enc, r.a, 1, false, false);
	assert_int_equal(log_count("sync"), 6);
	run_end(&r);
}

static void test_frame_still_running_is_waited_for(void **state)
{
	(void)state;
	/* Longer than the back end waits: the frame is lost (-EAGAIN), its surfaces stay
	 * the runtime's, and the next call first waits for it. */
	struct h264_packet p;
	struct vpl_run r = run_on_int("FAKE_VPL_SYNC_CALLS", 6);
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -EAGAIN);
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -EAGAIN);
	unsetenv("FAKE_VPL_SYNC_CALLS");
	encode_ok(r.enc, r.a, 1, false, true); /* the lost frames may be references */
	encode_ok(r.enc, r.a, 1, false, false);
	assert_int_equal(log_count("encode"), 4);
	assert_int_equal(va.n_imports, 1);
	run_end(&r);
}

static void test_sync_failure_loses_one_frame(void **state)
{
	(void)state;
	struct h264_packet p;
	struct vpl_run r = run_on_int("FAKE_VPL_SYNC_FAIL_EVERY", 2);
	encode_ok(r.enc, r.a, 1, false, true);
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -EAGAIN);
	encode_ok(r.enc, r.a, 1, false, true);
	assert_int_equal(encode_rc(r.enc, r.b, 2, &p), -EAGAIN);
	encode_ok(r.enc, r.b, 2, false, true);
	assert_int_equal(log_count("enc_init"), 1); /* the session went on */
	run_end(&r);
}

static void test_gpu_hang_rebuilds_pipeline(void **state)
{
	struct h264_packet p;
	(void)state;
	setenv_int("FAKE_VPL_SYNC_FAIL_EVERY", 2);
	struct vpl_run r = run_on_int("FAKE_VPL_SYNC_FAIL_STATUS", MFX_ERR_GPU_HANG);
	encode_ok(r.enc, r.a, 1, false, true);
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -EAGAIN);
	encode_ok(r.enc, r.a, 1, false, true);
	assert_int_equal(log_count("enc_init"), 2);
	assert_int_equal(log_count("vpp_init"), 2);
	run_end(&r);
}

static void test_device_failure_is_final(void **state)
{
	(void)state;
	setenv_int("FAKE_VPL_SYNC_FAIL_EVERY", 1);
	struct h264_packet p;
	struct vpl_run r = run_on_int("FAKE_VPL_SYNC_FAIL_STATUS", MFX_ERR_DEVICE_FAILED);
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -ENODEV);
	unsetenv("FAKE_VPL_SYNC_FAIL_EVERY");
	assert_int_equal(encode_rc(r.enc, r.a, 1, &p), -ENODEV);
	assert_int_equal(log_count("encode"), 1); /* not tried again */
	run_end(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VPL_TEST(test_sync_over_several_calls),
		VPL_TEST(test_frame_still_running_is_waited_for),
		VPL_TEST(test_sync_failure_loses_one_frame),
		VPL_TEST(test_gpu_hang_rebuilds_pipeline),
		VPL_TEST(test_device_failure_is_final),
	};
	return VPL_MAIN(tests);
}
