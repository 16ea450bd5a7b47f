/* The VPL H.264 back end: session, pipeline (VPP → ENCODE, or ENCODE alone), encode loop.
 *
 * One frame: the plane's dma-buf is imported once per dmabuf id (h264_vpl_alloc.c); VPP
 * converts it to an NV12 surface on the GPU, unless ENCODE takes RGB itself (Gen11+, a
 * B,G,R,X buffer whose rows and columns reach the 16-aligned size the encoder reads:
 * otherwise the pipeline goes over to VPP for good), and ENCODE
 * writes Annex B (h264_vpl_pipeline.c), waited for: one frame in flight. We hand out the
 * access unit, with SPS/PPS put in front of an IDR if the runtime left them out. No pixel
 * passes through the CPU.
 *
 * Untested on Intel hardware: CI drives it through tests/fake_vpl (see h264_vpl.h).
 */
#include "h264_vpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h264_annexb.h"
#include "h264_vpl_alloc.h"
#include "h264_vpl_pipeline.h"
#include "h264_vpl_session.h"
#include "h264_vpl_va.h"
#include "log.h"

struct vpl_encoder {
	struct h264_encoder base; /* first, as h264_encoder.h requires */
	struct h264_vpl_session s;
	struct h264_vpl_display disp; /* opened by us (create), else drm_fd -1 */
	struct h264_vpl_alloc alloc;
	struct h264_vpl_pipeline pipe;
	uint8_t *out; /* an IDR with the headers put in front */
	size_t out_cap;
	bool need_idr; /* the stream (re)starts, or a frame was lost: SPS, PPS, IDR */
	bool rgb_ok;   /* RGB straight into ENCODE still allowed */
	bool dead;     /* the session failed for good: -ENODEV */
};

static void vpl_destroy(struct h264_encoder *base)
{
	struct vpl_encoder *e = (struct vpl_encoder *)base;
	if (!e)
		return;
	h264_vpl_pipeline_free(&e->pipe);
	/* Closing the session may hand internal frames back through Free: the allocator
	 * and the display stay until after it. */
	h264_vpl_session_close(&e->s);
	h264_vpl_alloc_release(&e->alloc);
	h264_vpl_display_close(&e->disp);
	free(e->out);
	free(e);
}

/* The status of a session set-up call (what): 0, or -ENODEV with why, as the runtime
 * cannot serve this display (auto mode then falls back to software). */
static int core_call(const char *what, mfxStatus st, char *why, size_t why_len)
{
	if (st == MFX_ERR_NONE)
		return 0;
	snprintf(why, why_len, "%s: %s (%d)", what, h264_vpl_status_str(st), (int)st);
	log_error("VPL encoder: %s", why);
	return -ENODEV;
}

static int create_common(const struct h264_encoder_config *cfg, VADisplay dpy,
			 const struct h264_vpl_va_fns *va, struct h264_encoder **out, char *why,
			 size_t why_len)
{
	if (!cfg->width || !cfg->height || cfg->width > 8192 || cfg->height > 8192) {
		snprintf(why, why_len, "bad frame size %ux%u", cfg->width, cfg->height);
		return -EINVAL;
	}
	struct vpl_encoder *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	e->base.impl = &h264_vpl_impl;
	e->base.cfg = *cfg;
	e->disp.drm_fd = -1;

	/* The session first: no runtime is the common case (CI, non-Intel hosts), and the
	 * cheapest to find out. */
	int r = h264_vpl_session_open(&e->s, why, why_len);
	if (r < 0)
		goto fail;
	if (!dpy) {
		r = h264_vpl_display_open(&e->disp, why, why_len);
		if (r < 0)
			goto fail;
		dpy = e->disp.dpy;
		va = &h264_vpl_va_real;
	}
	h264_vpl_alloc_init(&e->alloc, dpy, va);

	r = core_call("MFXVideoCORE_SetHandle(VA display)",
		      MFXVideoCORE_SetHandle(e->s.session, MFX_HANDLE_VA_DISPLAY, dpy), why, why_len);
	if (r < 0)
		goto fail;
	r = core_call("MFXVideoCORE_SetFrameAllocator",
		      MFXVideoCORE_SetFrameAllocator(e->s.session, &e->alloc.allocator), why,
		      why_len);
	if (r < 0)
		goto fail;
	e->pipe.session = e->s.session;
	e->pipe.alloc = &e->alloc;
	e->pipe.cfg = *cfg;
	e->pipe.qp = h264_vpl_quality_qp(cfg->quality);
	e->rgb_ok = true;
	r = h264_vpl_pipeline_open(&e->pipe, true, why, why_len);
	if (r < 0)
		goto fail;
	e->need_idr = true;
	log_info("VPL encoder: %ux%u, CQP %u, %s%s", cfg->width, cfg->height, e->pipe.qp,
		 e->pipe.rgb_encode ? "RGB straight into ENCODE" : "VPP RGB→NV12, then ENCODE",
		 e->pipe.low_power ? " (VDEnc)" : "");
	*out = &e->base;
	return 0;
fail:
	vpl_destroy(&e->base);
	return r;
}

static int vpl_create(const struct h264_encoder_config *cfg, struct h264_encoder **out,
		      char *why, size_t why_len)
{
	return create_common(cfg, NULL, NULL, out, why, why_len);
}

int h264_vpl_create_with_display(const struct h264_encoder_config *cfg, VADisplay display,
				 const struct h264_vpl_va_fns *va, struct h264_encoder **out,
				 char *why, size_t why_len)
{
	if (!display || !va || !va->create_surfaces || !va->destroy_surfaces) {
		snprintf(why, why_len, "no VA display or VA calls given");
		return -EINVAL;
	}
	return create_common(cfg, display, va, out, why, why_len);
}

/* The coded access unit, with SPS/PPS in front of an IDR that came without them. */
static int packet(struct vpl_encoder *e, struct h264_packet *out)
{
	const mfxBitstream *bs = &e->pipe.bs;
	const uint8_t *p = bs->Data + bs->DataOffset;
	size_t n = bs->DataLength;
	struct h264_annexb_scan scan;
	if (h264_annexb_scan(p, n, &scan) < 0 || !scan.types) {
		VPL_FRAME_ERROR("the runtime's output is not Annex B (%zu bytes)", n);
		return -EAGAIN;
	}
	bool idr = scan.types & (1u << H264_NAL_IDR);
	out->data = p;
	out->len = n;
	out->idr = idr;
	if (!idr || (scan.types & (1u << H264_NAL_SPS)))
		return 0;
	size_t hl = e->pipe.headers_len;
	if (!hl) {
		VPL_FRAME_ERROR("IDR without SPS/PPS, and GetVideoParam gave none");
		return -EAGAIN;
	}
	if (hl + n > e->out_cap) {
		uint8_t *b = realloc(e->out, hl + n);
		if (!b)
			return -ENOMEM;
		e->out = b;
		e->out_cap = hl + n;
	}
	memcpy(e->out, e->pipe.headers, hl);
	memcpy(e->out + hl, p, n);
	out->data = e->out;
	out->len = hl + n;
	return 0;
}

/* Does this B,G,R,X buffer hold the 16-aligned frame the encoder reads when it takes
 * RGB itself? (The runtime gives the encoder Width × Height, and the hardware reads whole
 * macroblocks, past the crop.) */
static bool holds_aligned(const struct vpl_encoder *e, const struct h264_frame *f)
{
	uint32_t w = h264_vpl_align16(e->base.cfg.width), h = h264_vpl_align16(e->base.cfg.height);
	return f->dmabuf_stride / 4 >= w &&
	       (uint64_t)f->dmabuf_stride * h <= h264_vpl_dmabuf_size(f);
}

/* The pipeline fit for this frame: opened again after a GPU hang, or over to VPP if the
 * encoder took RGB and this buffer is R,G,B,X or too small for it. 0, -EAGAIN, -ENODEV. */
static int ready_pipeline(struct vpl_encoder *e, const struct h264_frame *f, bool red_first)
{
	bool reopen = e->pipe.reopen;
	if (e->pipe.rgb_encode && (red_first || !holds_aligned(e, f))) {
		log_info("VPL encoder: dma-buf %u (%s) cannot go straight into ENCODE; VPP "
			 "converts from now on",
			 f->dmabuf_id,
			 red_first ? "R,G,B,X bytes" : "smaller than the 16-aligned frame");
		e->rgb_ok = false;
		reopen = true;
	}
	if (reopen) {
		char why[256];
		int r = h264_vpl_pipeline_open(&e->pipe, e->rgb_ok, why, sizeof(why));
		if (r < 0) {
			VPL_FRAME_ERROR("reopening the pipeline: %s; the session is lost", why);
			e->dead = true;
			return -ENODEV;
		}
		e->need_idr = true;
	}
	int r = h264_vpl_pipeline_settle(&e->pipe);
	if (r == -ENODEV)
		e->dead = true;
	if (r < 0 && e->pipe.reopen)
		return ready_pipeline(e, f, red_first); /* the earlier frame hung the GPU */
	return r;
}

static int vpl_encode(struct h264_encoder *base, const struct h264_frame *f, bool force_idr,
		      struct h264_packet *out)
{
	struct vpl_encoder *e = (struct vpl_encoder *)base;
	memset(out, 0, sizeof(*out));
	if (e->dead) {
		VPL_FRAME_ERROR("the session failed before; the encoder must be replaced");
		return -ENODEV;
	}
	if (f->dmabuf_fd < 0) {
		VPL_FRAME_ERROR("frame without a dma-buf (this back end imports, never uploads)");
		return -ENOTSUP;
	}
	bool red_first;
	if (!h264_vpl_format_taken(f->fourcc, &red_first)) {
		VPL_FRAME_ERROR("DRM format 0x%08x not taken", f->fourcc);
		return -EINVAL;
	}
	int r = ready_pipeline(e, f, red_first);
	if (r < 0)
		return r;
	/* ENCODE reads the 16-aligned frame from the surface; VPP only the crop. */
	uint32_t w = e->base.cfg.width, h = e->base.cfg.height;
	if (e->pipe.rgb_encode) {
		w = h264_vpl_align16(w);
		h = h264_vpl_align16(h);
	}
	mfxFrameSurface1 *surf;
	r = h264_vpl_alloc_import(&e->alloc, f, w, h, &surf);
	if (r < 0)
		return r;
	surf->Info = *h264_vpl_pipeline_input_info(&e->pipe);
	r = h264_vpl_pipeline_run(&e->pipe, surf, force_idr || e->need_idr);
	if (r == 0)
		r = packet(e, out);
	if (r < 0) {
		/* The runtime may hold the lost frame as its reference: restart the stream. */
		e->need_idr = true;
		if (r == -ENODEV)
			e->dead = true;
		return r;
	}
	e->need_idr = false;
	return 0;
}

int h264_vpl_unload(void)
{
	return h264_vpl_session_unload();
}

const struct h264_encoder_impl h264_vpl_impl = {
	.name = "vpl",
	.create = vpl_create,
	.destroy = vpl_destroy,
	.encode = vpl_encode,
	.caps = H264_TAKES_DMABUF,
};
