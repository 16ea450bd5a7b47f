/* Zero copy end to end: while every client takes H.264 from the VPL back end, the capture
 * thread reads no pixel of the guest's frame; once a client that needs CPU pixels (a
 * Tight-JPEG one) joins, it reads them again. The rig (tests/fake_vpl/zero_copy_rig.h):
 * the real capture tick, frame store, server and shared stream, the real VPL back end on
 * the fake runtime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zero_copy_rig.h"

#define W 320
#define H 240
#define TICKS 10

static void test_vpl_only_session_reads_no_pixels(void **state)
{
	(void)state;
	static struct zc_rig r;
	char err[256];
	assert_int_equal(zc_rig_create(&r, "320x240:desktop", W, H, err, sizeof(err)), 0);

	/* Until the client's stream imports, pixels are read. */
	assert_int_equal(zc_rig_tick(&r, 0, err, sizeof(err)), 0);
	assert_true(zc_rig_pixel_bytes(&r) > 0);
	assert_true(r.zero_copy);
	assert_int_equal(r.b.n, 1);

	/* H.264 from VPL only: ticks read nothing, and each one is encoded. */
	uint64_t before = zc_rig_pixel_bytes(&r);
	uint64_t encodes = atomic_load(&h264_hub_stats(r.hub)->encodes);
	for (unsigned t = 1; t <= TICKS; t++) {
		assert_int_equal(zc_rig_tick(&r, t, err, sizeof(err)), 0);
		assert_int_equal(r.b.n, 1);
	}
	assert_int_equal(zc_rig_pixel_bytes(&r) - before, 0);
	assert_int_equal(atomic_load(&capture_stats(r.cap)->frames_unread), TICKS);
	assert_int_equal(atomic_load(&h264_hub_stats(r.hub)->encodes) - encodes, TICKS);

	/* A Tight-JPEG client joins: it needs CPU pixels, the next tick reads them. */
	frame_store_count_client(&r.frames, 1);
	assert_int_equal(zc_rig_tick(&r, TICKS + 1, err, sizeof(err)), 0);
	assert_true(zc_rig_pixel_bytes(&r) - before >= (uint64_t)W * H * 4);
	zc_rig_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vpl_only_session_reads_no_pixels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
