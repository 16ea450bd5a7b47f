/* VGPU_TEST_H264_FAIL_FRAMES: encoders that fail the frames asked for. See open_h264_fault.h. */
#include "open_h264_fault.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* The frames to fail, read once. */
static struct {
	unsigned first, last;
	atomic_uint frames;
	struct h264_encoder_impl impl[2]; /* x264's and VPL's name and caps, our calls */
} g;

struct faulty {
	struct h264_encoder base; /* first, as h264_encoder.h requires */
	struct h264_encoder *inner;
};

static void faulty_destroy(struct h264_encoder *base)
{
	struct faulty *f = (struct faulty *)base;
	h264_encoder_destroy(f->inner);
	free(f);
}

static int faulty_encode(struct h264_encoder *base, const struct h264_frame *frame,
			 bool force_idr, struct h264_packet *out)
{
	struct faulty *f = (struct faulty *)base;
	unsigned n = atomic_fetch_add(&g.frames, 1);
	if (n >= g.first && n <= g.last)
		return -EIO;
	return h264_encoder_encode(f->inner, frame, force_idr, out);
}

static int faulty_create(enum h264_backend backend, const struct h264_encoder_config *cfg,
			 struct h264_encoder **out, char *why, size_t why_len)
{
	struct h264_encoder *inner;
	int r = h264_encoder_create(backend, cfg, &inner, why, why_len);
	if (r < 0)
		return r;
	struct faulty *f = calloc(1, sizeof(*f));
	if (!f) {
		h264_encoder_destroy(inner);
		return -ENOMEM;
	}
	f->base.impl = &g.impl[inner->impl == &h264_vpl_impl];
	f->base.cfg = *cfg;
	f->inner = inner;
	*out = &f->base;
	return 0;
}

h264_factory_fn open_h264_fault_factory(void)
{
	const char *v = getenv("VGPU_TEST_H264_FAIL_FRAMES");
	if (!v || !*v)
		return h264_encoder_create;
	char end;
	if (sscanf(v, "%u-%u%c", &g.first, &g.last, &end) != 2 || g.first > g.last) {
		log_warn("VGPU_TEST_H264_FAIL_FRAMES=%s: not <first>-<last>; ignored", v);
		return h264_encoder_create;
	}
	const struct h264_encoder_impl *inner[2] = {&h264_x264_impl, &h264_vpl_impl};
	for (int i = 0; i < 2; i++)
		g.impl[i] = (struct h264_encoder_impl){.name = inner[i]->name, .caps = inner[i]->caps,
						       .destroy = faulty_destroy,
						       .encode = faulty_encode};
	log_warn("VGPU_TEST_H264_FAIL_FRAMES: H.264 frames %u to %u will fail (a test setting)",
		 g.first, g.last);
	return faulty_create;
}
