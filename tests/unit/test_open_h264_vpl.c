/* The shared H.264 stream on the VPL back end: the real stream code, the real VPL back end
 * driven through the real libvpl dispatcher into the fake runtime of tests/fake_vpl (as
 * test_h264_vpl does), and the real x264 back end for the pixel path and the fallback.
 *
 * What it shows: a frame the runtime fails is skipped, not the end of H.264; failed frames
 * in a row move the stream to x264 with a new context; a frame without a dma-buf (display
 * off, mode switch, region plane) goes through x264 from the CPU pixels without ending
 * H.264, and VPL takes over again, with a new context, when a plane is back; the
 * start-up probe encodes a real frame and reports one that fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <drm_fourcc.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_stream.h"
#include "fake_va_factory.h"
#include "h264_encoder.h"
#include "h264_vpl.h"
#include "open_h264_stream.h"

#define W 96
#define H 64
#define STRIDE 512
#define SIZE (STRIDE * H)

/* ---- the picture: a memfd as the plane's dma-buf, and CPU pixels ---- */

static struct {
	int fd;            /* -1: no plane (display off, region plane) */
	uint64_t gen;
	uint8_t px[W * H * 4];
} pic;

static int pic_get(void *opaque, struct h264_frame *f, uint64_t *gen, uint64_t *overlay)
{
	(void)opaque;
	f->pixels = pic.px;
	f->stride = W * 4;
	f->fourcc = DRM_FORMAT_XRGB8888;
	f->dmabuf_fd = pic.fd;
	f->dmabuf_id = 7;
	f->modifier = I915_FORMAT_MOD_X_TILED;
	f->dmabuf_stride = STRIDE;
	f->dmabuf_size = SIZE;
	*gen = pic.gen;
	*overlay = 0;
	return 0;
}

static void pic_put(void *opaque, struct h264_frame *f)
{
	(void)opaque, (void)f;
}

static const struct h264_source src = {.get = pic_get, .put = pic_put};

struct t {
	struct h264_hub *hub;
	struct h264_stream *s;
	struct h264_stream_pos pos;
	struct h264_au *slots[64];
	struct h264_batch b;
	int memfd;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	unsetenv("FAKE_VPL_FAIL_FRAMES");
	unsetenv("FAKE_VPL_FAIL_FRAMES_STATUS");
	t->memfd = memfd_create("fake-dmabuf", MFD_CLOEXEC);
	assert_true(t->memfd >= 0);
	assert_int_equal(ftruncate(t->memfd, SIZE), 0);
	pic.fd = t->memfd;
	pic.gen = 1;
	for (size_t i = 0; i < sizeof(pic.px); i++)
		pic.px[i] = (uint8_t)(i * 7);
	struct h264_hub_config cfg = {
		.backend = H264_BACKEND_VPL, .fps = 30, .threads = 1,
		.limits = {64, 1 << 20, 1 << 20, 0}, .create = fake_va_factory,
	};
	assert_int_equal(h264_hub_create(&cfg, &t->hub), 0);
	struct h264_stream_key key = {W, H, 6, false};
	t->s = h264_hub_acquire(t->hub, &key);
	assert_non_null(t->s);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	h264_batch_release(&t->b);
	h264_hub_release(t->hub, t->s);
	h264_hub_destroy(t->hub);
	close(t->memfd);
	free(t);
	return 0;
}

static int turn(struct t *t, bool damage)
{
	char why[256];
	h264_batch_release(&t->b);
	t->b.aus = t->slots;
	t->b.cap = 64;
	struct h264_need need = {.gen = pic.gen, .damage = damage};
	return h264_stream_update(t->hub, t->s, &t->pos, &need, &src, &t->b, why, sizeof(why));
}

/* The fake runtime's canned IDR (SPS first) or P, or something else (x264's). */
static bool is_fake_vpl(const struct h264_au *au)
{
	return (au->len >= sizeof(fake_sps) && !memcmp(au->data, fake_sps, sizeof(fake_sps))) ||
	       (au->len == sizeof(fake_p_slice) && !memcmp(au->data, fake_p_slice, au->len));
}

/* One AU came, from VPL or not, an IDR with ResetContext or a P without. */
static void got_one(struct t *t, bool vpl, bool idr)
{
	assert_int_equal(t->b.n, 1);
	assert_int_equal(is_fake_vpl(t->b.aus[0]), vpl);
	assert_int_equal(t->b.aus[0]->idr, idr);
	assert_int_equal(t->b.reset, idr);
	assert_int_equal(t->b.zero_copy, vpl);
}

static void test_vpl_failed_frames_skip_then_move_to_x264(void **state)
{
	struct t *t = *state;
	setenv("FAKE_VPL_FAIL_FRAMES", "1-1000", 1);
	assert_int_equal(turn(t, true), 0);
	got_one(t, true, true);
	assert_int_equal(t->b.aus[0]->gen, 1);
	/* Frame 1 fails: skipped, nothing handed out, the stream goes on. */
	pic.gen = 2;
	assert_int_equal(turn(t, true), H264_STREAM_SKIPPED);
	assert_int_equal(t->b.n, 0);
	/* The screen stands still: the next turn, without new damage, tries again. */
	for (unsigned i = 2; i < H264_STREAM_MAX_FAILURES; i++)
		assert_int_equal(turn(t, false), H264_STREAM_SKIPPED);
	/* The 30th failure in a row moves the stream to x264: a new encoder, a new context. */
	assert_int_equal(turn(t, false), H264_STREAM_SKIPPED);
	assert_int_equal(turn(t, false), 0);
	got_one(t, false, true);
	assert_int_equal(t->b.aus[0]->gen, 2);
	pic.gen = 3;
	assert_int_equal(turn(t, true), 0);
	got_one(t, false, false);
	const struct h264_hub_stats *st = h264_hub_stats(t->hub);
	assert_int_equal(atomic_load(&st->skipped), H264_STREAM_MAX_FAILURES);
	assert_int_equal(atomic_load(&st->moves), 1);
}

/* A device that failed (a GPU hang the runtime could not recover, the device gone) ends
 * the VPL session for good: the stream moves to x264 at once, not after 30 frames. */
static void test_vpl_device_failure_moves_to_x264_at_once(void **state)
{
	struct t *t = *state;
	setenv("FAKE_VPL_FAIL_FRAMES", "1-1000", 1);
	setenv("FAKE_VPL_FAIL_FRAMES_STATUS", "-17", 1); /* MFX_ERR_DEVICE_FAILED */
	assert_int_equal(turn(t, true), 0);
	got_one(t, true, true);
	pic.gen = 2;
	assert_int_equal(turn(t, true), H264_STREAM_SKIPPED);
	assert_int_equal(turn(t, false), 0);
	got_one(t, false, true);
	assert_int_equal(t->b.aus[0]->gen, 2);
	assert_int_equal(atomic_load(&h264_hub_stats(t->hub)->moves), 1);
	assert_int_equal(atomic_load(&h264_hub_stats(t->hub)->skipped), 1);
}

static void test_vpl_frame_without_plane_goes_through_pixels(void **state)
{
	struct t *t = *state;
	assert_int_equal(turn(t, true), 0);
	got_one(t, true, true);
	pic.gen = 2;
	assert_int_equal(turn(t, true), 0);
	got_one(t, true, false);
	/* No dma-buf (display off, a mode switch, a region plane): x264 from the pixels,
	 * a new context, H.264 goes on. */
	pic.fd = -1;
	pic.gen = 3;
	assert_int_equal(turn(t, true), 0);
	got_one(t, false, true);
	pic.gen = 4;
	assert_int_equal(turn(t, true), 0);
	got_one(t, false, false);
	/* The plane is back: VPL again, again a new context. */
	pic.fd = t->memfd;
	pic.gen = 5;
	assert_int_equal(turn(t, true), 0);
	got_one(t, true, true);
	assert_int_equal(atomic_load(&h264_hub_stats(t->hub)->moves), 2);
	assert_int_equal(atomic_load(&h264_hub_stats(t->hub)->skipped), 0);
}

/* The start-up probe imports and encodes a real frame; one the runtime cannot encode
 * says so (the server then goes on with x264, or exits for --encoder vpl). */
static void test_vpl_probe_encodes_a_frame_of_the_source(void **state)
{
	struct t *t = *state;
	char why[256] = "";
	unsigned surfaces = fake_va_next_surface;
	assert_int_equal(h264_hub_probe(t->hub, W, H, &src, why, sizeof(why)), 0);
	assert_true(fake_va_next_surface > surfaces); /* VA surfaces: the pool and the import */
	setenv("FAKE_VPL_FAIL_FRAMES", "0-0", 1);
	assert_true(h264_hub_probe(t->hub, W, H, &src, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "vpl could not encode a 96x64 frame of the source"));
	/* The hub then makes x264 streams. */
	h264_hub_set_backend(t->hub, H264_BACKEND_X264);
	assert_int_equal(turn(t, true), 0);
	got_one(t, false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vpl_failed_frames_skip_then_move_to_x264,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpl_device_failure_moves_to_x264_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpl_frame_without_plane_goes_through_pixels,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_vpl_probe_encodes_a_frame_of_the_source,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
