/* The VPL H.264 back end: session, pipeline (VPP → ENCODE, or ENCODE alone), encode loop.
 *
 * One frame: the plane's dma-buf is imported once per dmabuf id (h264_vpl_alloc.c); VPP
 * converts it to an NV12 pool surface on the GPU (unless ENCODE takes RGB itself);
 * ENCODE writes Annex B into our bitstream; we wait for it (one frame in flight) and hand
 * out the access unit, with SPS/PPS put in front of an IDR if the runtime left them out.
 * No pixel passes through the CPU.
 *
 * Untested on Intel hardware: CI drives this file through tests/fake_vpl (h264_vpl.h).
 */
#include "h264_vpl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h264_vpl_alloc.h"
#include "h264_vpl_params.h"
#include "h264_vpl_session.h"
#include "h264_vpl_va.h"
#include "log.h"

#define SYNC_TIMEOUT_MS 2000
#define BUSY_RETRIES 200         /* 1 ms apart, on MFX_WRN_DEVICE_BUSY */
#define BITSTREAM_MAX (64u << 20) /* growing on MFX_ERR_NOT_ENOUGH_BUFFER stops here */
#define HEADERS_MAX 1024

struct vpl_encoder {
	struct h264_encoder base; /* first, as h264_encoder.h requires */
	struct h264_vpl_session s;
	struct h264_vpl_display disp; /* opened by us (create), else drm_fd -1 */
	struct h264_vpl_alloc alloc;
	struct h264_vpl_params par;
	unsigned qp;
	mfxU32 in_fourcc; /* the pipeline is built for this input; 0 = no pipeline */
	bool rgb_encode;  /* ENCODE takes the RGB surfaces, no VPP */
	bool vpp_open, enc_open;
	mfxFrameAllocResponse pool_resp; /* NV12 surfaces between VPP and ENCODE */
	mfxFrameSurface1 *pool;
	mfxU16 pool_n;
	mfxBitstream bs;
	uint8_t headers[HEADERS_MAX]; /* SPS + PPS, Annex B, from GetVideoParam */
	size_t headers_len;
	uint8_t *out; /* an IDR with the headers put in front */
	size_t out_cap;
	bool need_idr;
};

static void mfx_error(const char *what, mfxStatus st)
{
	log_error("VPL encoder: %s: %s (%d)", what, h264_vpl_status_str(st), (int)st);
}

/* Pipeline set-up failures that mean "this GPU/driver cannot do it" make create() say
 * -ENODEV, so that auto mode falls back to software. */
static int init_errno(mfxStatus st)
{
	switch (st) {
	case MFX_ERR_UNSUPPORTED:
	case MFX_ERR_INVALID_VIDEO_PARAM:
	case MFX_ERR_INCOMPATIBLE_VIDEO_PARAM:
	case MFX_ERR_INVALID_HANDLE:
		return -ENODEV;
	case MFX_ERR_MEMORY_ALLOC:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int fail_init(const char *what, mfxStatus st, const char *hint, char *why, size_t why_len)
{
	mfx_error(what, st);
	snprintf(why, why_len, "%s: %s (%d)%s", what, h264_vpl_status_str(st), (int)st, hint);
	return init_errno(st);
}

/* Which NAL unit types an Annex B buffer holds (bit n = type n); 0 if it does not start
 * with a start code. Emulation prevention keeps 00 00 01 out of NAL payloads. */
static uint32_t annexb_nal_types(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] == 0)
		i++;
	if (i < 2 || i + 1 >= n || p[i] != 1)
		return 0;
	uint32_t mask = 0;
	for (size_t j = 2; j + 1 < n; j++) {
		if (p[j - 2] == 0 && p[j - 1] == 0 && p[j] == 1) {
			mask |= 1u << (p[j + 1] & 0x1f);
			j++;
		}
	}
	return mask;
}

static bool append_nal(uint8_t *dst, size_t cap, size_t *len, const uint8_t *nal, size_t n)
{
	static const uint8_t start[4] = {0, 0, 0, 1};
	bool has_start = annexb_nal_types(nal, n) != 0;
	size_t need = n + (has_start ? 0 : sizeof(start));
	if (!n || *len + need > cap)
		return false;
	if (!has_start) {
		memcpy(dst + *len, start, sizeof(start));
		*len += sizeof(start);
	}
	memcpy(dst + *len, nal, n);
	*len += n;
	return true;
}

static int bitstream_reserve(struct vpl_encoder *e, size_t size)
{
	if (size <= e->bs.MaxLength)
		return 0;
	if (size > BITSTREAM_MAX)
		return -E2BIG;
	uint8_t *p = realloc(e->bs.Data, size);
	if (!p)
		return -ENOMEM;
	e->bs.Data = p;
	e->bs.MaxLength = (mfxU32)size;
	return 0;
}

/* After ENCODE Init or Reset: SPS/PPS for IDRs the runtime sends bare, the output buffer
 * size, and a warning if the runtime changed what noVNC depends on. */
static int read_back(struct vpl_encoder *e)
{
	uint8_t sps[HEADERS_MAX / 2], pps[HEADERS_MAX / 2];
	mfxExtCodingOptionSPSPPS sp;
	memset(&sp, 0, sizeof(sp));
	sp.Header.BufferId = MFX_EXTBUFF_CODING_OPTION_SPSPPS;
	sp.Header.BufferSz = sizeof(sp);
	sp.SPSBuffer = sps;
	sp.SPSBufSize = sizeof(sps);
	sp.PPSBuffer = pps;
	sp.PPSBufSize = sizeof(pps);
	mfxExtBuffer *ext[1] = {&sp.Header};
	mfxVideoParam gp;
	memset(&gp, 0, sizeof(gp));
	gp.ExtParam = ext;
	gp.NumExtParam = 1;
	mfxStatus st = MFXVideoENCODE_GetVideoParam(e->s.session, &gp);
	e->headers_len = 0;
	if (st != MFX_ERR_NONE) {
		/* Only needed if the runtime writes IDRs without headers; packet() says so. */
		mfx_error("MFXVideoENCODE_GetVideoParam (SPS/PPS)", st);
	} else if (!append_nal(e->headers, sizeof(e->headers), &e->headers_len, sps,
			       sp.SPSBufSize) ||
		   !append_nal(e->headers, sizeof(e->headers), &e->headers_len, pps,
			       sp.PPSBufSize)) {
		log_warn("VPL encoder: GetVideoParam gave no usable SPS/PPS (%u/%u bytes)",
			 sp.SPSBufSize, sp.PPSBufSize);
		e->headers_len = 0;
	}
	if (st == MFX_ERR_NONE &&
	    (gp.mfx.NumSlice > 1 || gp.mfx.GopRefDist > 1 || gp.mfx.NumRefFrame > 1 ||
	     gp.mfx.CodecProfile != MFX_PROFILE_AVC_CONSTRAINED_BASELINE))
		log_warn("VPL encoder: runtime changed the stream: profile %u, %u slices, "
			 "GopRefDist %u, %u references (wanted constrained baseline, 1, 1, 1)",
			 gp.mfx.CodecProfile, gp.mfx.NumSlice, gp.mfx.GopRefDist,
			 gp.mfx.NumRefFrame);

	/* Room for the worst access unit: what the runtime asks for, and at least an
	 * uncompressed 4:2:0 frame, which I_PCM bounds the coded size by. */
	size_t mult = gp.mfx.BRCParamMultiplier ? gp.mfx.BRCParamMultiplier : 1;
	size_t want = (size_t)gp.mfx.BufferSizeInKB * 1000 * mult;
	size_t raw = (size_t)e->base.cfg.width * e->base.cfg.height * 3 / 2 + 65536;
	return bitstream_reserve(e, want > raw ? want : raw);
}

static void pipeline_close(struct vpl_encoder *e)
{
	mfxStatus st;
	if (e->enc_open && (st = MFXVideoENCODE_Close(e->s.session)) != MFX_ERR_NONE)
		mfx_error("MFXVideoENCODE_Close", st);
	if (e->vpp_open && (st = MFXVideoVPP_Close(e->s.session)) != MFX_ERR_NONE)
		mfx_error("MFXVideoVPP_Close", st);
	e->enc_open = e->vpp_open = false;
	if (e->pool_resp.mids)
		h264_vpl_free_frames(&e->alloc, &e->pool_resp);
	memset(&e->pool_resp, 0, sizeof(e->pool_resp));
	free(e->pool);
	e->pool = NULL;
	e->pool_n = 0;
	e->in_fourcc = 0;
}

/* Does ENCODE take this RGB input itself? Kaby Lake+ VDEnc can, Gen9 VME cannot: ask. */
static bool encoder_takes_rgb(struct vpl_encoder *e, mfxU32 fourcc)
{
	struct h264_vpl_params *q = malloc(sizeof(*q));
	if (!q)
		return false;
	h264_vpl_params_build(&e->par, &e->base.cfg, e->qp, fourcc, true);
	h264_vpl_params_build(q, &e->base.cfg, e->qp, fourcc, true);
	mfxStatus st = MFXVideoENCODE_Query(e->s.session, &e->par.enc, &q->enc);
	bool ok = st == MFX_ERR_NONE && q->enc.mfx.FrameInfo.FourCC == fourcc;
	free(q);
	if (ok)
		log_info("VPL encoder: ENCODE takes %.4s surfaces itself, no VPP", (char *)&fourcc);
	else
		log_info("VPL encoder: ENCODE does not take %.4s (Query: %s); VPP converts to NV12",
			 (char *)&fourcc, h264_vpl_status_str(st));
	return ok;
}

static int open_pool(struct vpl_encoder *e, char *why, size_t why_len)
{
	mfxFrameAllocRequest vreq[2], ereq;
	memset(vreq, 0, sizeof(vreq));
	memset(&ereq, 0, sizeof(ereq));
	mfxStatus st = MFXVideoVPP_QueryIOSurf(e->s.session, &e->par.vpp, vreq);
	if (st < MFX_ERR_NONE)
		return fail_init("MFXVideoVPP_QueryIOSurf (RGB→NV12)", st,
				 "; on Gen9 VPP colour conversion needs "
				 "intel-media-va-driver-non-free",
				 why, why_len);
	st = MFXVideoENCODE_QueryIOSurf(e->s.session, &e->par.enc, &ereq);
	if (st < MFX_ERR_NONE)
		return fail_init("MFXVideoENCODE_QueryIOSurf", st, "", why, why_len);

	mfxFrameAllocRequest req;
	memset(&req, 0, sizeof(req));
	req.Info = e->par.enc.mfx.FrameInfo;
	req.Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPOUT | MFX_MEMTYPE_FROM_ENCODE |
		   MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	unsigned n = (unsigned)vreq[1].NumFrameSuggested + ereq.NumFrameSuggested;
	req.NumFrameSuggested = req.NumFrameMin = (mfxU16)(n ? n : 1);
	st = h264_vpl_alloc_frames(&e->alloc, &req, &e->pool_resp);
	if (st != MFX_ERR_NONE)
		return fail_init("allocating the NV12 surfaces between VPP and ENCODE", st, "", why,
				 why_len);
	e->pool_n = e->pool_resp.NumFrameActual;
	e->pool = calloc(e->pool_n, sizeof(*e->pool));
	if (!e->pool) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	for (mfxU16 i = 0; i < e->pool_n; i++) {
		e->pool[i].Info = e->par.enc.mfx.FrameInfo;
		e->pool[i].Data.MemId = e->pool_resp.mids[i];
	}
	return 0;
}

static int pipeline_open(struct vpl_encoder *e, mfxU32 fourcc, char *why, size_t why_len)
{
	pipeline_close(e);
	e->rgb_encode = encoder_takes_rgb(e, fourcc);
	if (!e->rgb_encode) {
		h264_vpl_params_build(&e->par, &e->base.cfg, e->qp, fourcc, false);
		int r = open_pool(e, why, why_len);
		if (r < 0)
			return r;
		mfxStatus st = MFXVideoVPP_Init(e->s.session, &e->par.vpp);
		if (st < MFX_ERR_NONE)
			return fail_init("MFXVideoVPP_Init (RGB→NV12)", st,
					 "; on Gen9 VPP colour conversion needs "
					 "intel-media-va-driver-non-free",
					 why, why_len);
		e->vpp_open = true;
		if (st > MFX_ERR_NONE)
			mfx_error("MFXVideoVPP_Init warns", st);
	}
	mfxStatus st = MFXVideoENCODE_Init(e->s.session, &e->par.enc);
	if (st < MFX_ERR_NONE)
		return fail_init("MFXVideoENCODE_Init (H.264 constrained baseline, CQP)", st, "",
				 why, why_len);
	e->enc_open = true;
	if (st > MFX_ERR_NONE)
		mfx_error("MFXVideoENCODE_Init warns", st);
	int r = read_back(e);
	if (r < 0) {
		snprintf(why, why_len, "bitstream buffer: %s", strerror(-r));
		return r;
	}
	e->in_fourcc = fourcc;
	e->need_idr = true; /* a new stream starts with SPS, PPS, IDR */
	return 0;
}

static void vpl_destroy(struct h264_encoder *base)
{
	struct vpl_encoder *e = (struct vpl_encoder *)base;
	if (!e)
		return;
	pipeline_close(e);
	/* Closing the session may hand internal frames back through Free: the allocator
	 * and the display stay until after it. */
	h264_vpl_session_close(&e->s);
	h264_vpl_alloc_release(&e->alloc);
	h264_vpl_display_close(&e->disp);
	free(e->bs.Data);
	free(e->out);
	free(e);
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
	e->qp = h264_vpl_quality_qp(cfg->quality);

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

	mfxStatus st = MFXVideoCORE_SetHandle(e->s.session, MFX_HANDLE_VA_DISPLAY, dpy);
	if (st != MFX_ERR_NONE) {
		r = fail_init("MFXVideoCORE_SetHandle(VA display)", st, "", why, why_len);
		goto fail;
	}
	st = MFXVideoCORE_SetFrameAllocator(e->s.session, &e->alloc.allocator);
	if (st != MFX_ERR_NONE) {
		r = fail_init("MFXVideoCORE_SetFrameAllocator", st, "", why, why_len);
		goto fail;
	}
	r = pipeline_open(e, MFX_FOURCC_RGB4, why, why_len);
	if (r < 0)
		goto fail;
	log_info("VPL encoder: %ux%u, CQP %u, %s", cfg->width, cfg->height, e->qp,
		 e->rgb_encode ? "RGB straight into ENCODE" : "VPP RGB→NV12, then ENCODE");
	*out = &e->base;
	return 0;
fail:
	vpl_destroy(&e->base);
	return r < 0 ? r : -EIO;
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

static mfxFrameSurface1 *free_pool_surface(struct vpl_encoder *e)
{
	for (mfxU16 i = 0; i < e->pool_n; i++)
		if (!e->pool[i].Data.Locked)
			return &e->pool[i];
	return NULL;
}

/* The coded access unit, with SPS/PPS in front of an IDR that came without them. */
static int packet(struct vpl_encoder *e, struct h264_packet *out)
{
	const uint8_t *p = e->bs.Data + e->bs.DataOffset;
	size_t n = e->bs.DataLength;
	uint32_t types = annexb_nal_types(p, n);
	if (!types) {
		log_error("VPL encoder: the runtime's output is not Annex B (%zu bytes)", n);
		return -EPROTO;
	}
	bool idr = types & (1u << 5);
	out->data = p;
	out->len = n;
	out->idr = idr;
	if (!idr || (types & (1u << 7)))
		return 0;
	if (!e->headers_len) {
		log_error("VPL encoder: IDR without SPS/PPS, and GetVideoParam gave none");
		return -EPROTO;
	}
	size_t need = e->headers_len + n;
	if (need > e->out_cap) {
		uint8_t *b = realloc(e->out, need);
		if (!b)
			return -ENOMEM;
		e->out = b;
		e->out_cap = need;
	}
	memcpy(e->out, e->headers, e->headers_len);
	memcpy(e->out + e->headers_len, p, n);
	out->data = e->out;
	out->len = need;
	return 0;
}

static int run_vpp(struct vpl_encoder *e, mfxFrameSurface1 *in, mfxFrameSurface1 **out)
{
	mfxFrameSurface1 *o = free_pool_surface(e);
	if (!o) {
		log_error("VPL encoder: no free NV12 surface between VPP and ENCODE");
		return -EBUSY;
	}
	mfxSyncPoint sync = NULL;
	mfxStatus st;
	for (int i = 0;; i++) {
		st = MFXVideoVPP_RunFrameVPPAsync(e->s.session, in, o, NULL, &sync);
		if (st != MFX_WRN_DEVICE_BUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	/* No frame-rate conversion or deinterlacing: one frame in gives one out, now. */
	if (st != MFX_ERR_NONE || !sync) {
		mfx_error("MFXVideoVPP_RunFrameVPPAsync", st);
		return st == MFX_WRN_DEVICE_BUSY ? -EBUSY : -EIO;
	}
	*out = o;
	return 0;
}

static int run_encode(struct vpl_encoder *e, mfxFrameSurface1 *surf, bool idr)
{
	mfxEncodeCtrl ctrl;
	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.FrameType = MFX_FRAMETYPE_I | MFX_FRAMETYPE_IDR | MFX_FRAMETYPE_REF;
	mfxSyncPoint sync = NULL;
	mfxStatus st;
	for (int i = 0;; i++) {
		e->bs.DataOffset = 0;
		e->bs.DataLength = 0;
		st = MFXVideoENCODE_EncodeFrameAsync(e->s.session, idr ? &ctrl : NULL, surf, &e->bs,
						     &sync);
		if (st == MFX_ERR_NOT_ENOUGH_BUFFER &&
		    bitstream_reserve(e, (size_t)e->bs.MaxLength * 2) == 0)
			continue;
		if (st != MFX_WRN_DEVICE_BUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	if (st == MFX_ERR_MORE_DATA) {
		/* Would mean the runtime buffers frames despite AsyncDepth 1, GopRefDist 1. */
		log_error("VPL encoder: ENCODE held the frame back (MFX_ERR_MORE_DATA)");
		return -EIO;
	}
	if (st < MFX_ERR_NONE || !sync) {
		mfx_error("MFXVideoENCODE_EncodeFrameAsync", st);
		return st == MFX_WRN_DEVICE_BUSY ? -EBUSY : -EIO;
	}
	st = MFXVideoCORE_SyncOperation(e->s.session, sync, SYNC_TIMEOUT_MS);
	if (st == MFX_WRN_IN_EXECUTION) {
		log_error("VPL encoder: frame not done after %d ms", SYNC_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (st != MFX_ERR_NONE) {
		mfx_error("MFXVideoCORE_SyncOperation", st);
		return -EIO;
	}
	return 0;
}

static int vpl_encode(struct h264_encoder *base, const struct h264_frame *f, bool force_idr,
		      struct h264_packet *out)
{
	struct vpl_encoder *e = (struct vpl_encoder *)base;
	memset(out, 0, sizeof(*out));
	if (f->dmabuf_fd < 0) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 10000, LOG_ERROR,
				"VPL encoder: frame without a dma-buf (it imports, never uploads)");
		return -ENOTSUP;
	}
	mfxU32 fourcc = h264_vpl_mfx_fourcc(f->fourcc);
	if (!fourcc) {
		static struct log_ratelimit rl;
		log_ratelimited(&rl, 10000, LOG_ERROR, "VPL encoder: DRM format 0x%08x not taken",
				f->fourcc);
		return -EINVAL;
	}
	if (fourcc != e->in_fourcc) {
		/* The guest switched between XRGB and XBGR: a new pipeline and stream. */
		char why[256];
		int r = pipeline_open(e, fourcc, why, sizeof(why));
		if (r < 0) {
			log_error("VPL encoder: rebuilding the pipeline for %.4s: %s",
				  (char *)&fourcc, why);
			pipeline_close(e);
			return r;
		}
	}
	mfxFrameSurface1 *surf;
	int r = h264_vpl_alloc_import(&e->alloc, f, e->base.cfg.width, e->base.cfg.height, &surf);
	if (r < 0)
		return r;
	surf->Info = e->rgb_encode ? e->par.enc.mfx.FrameInfo : e->par.vpp.vpp.In;
	if (!e->rgb_encode && (r = run_vpp(e, surf, &surf)) < 0)
		return r;
	r = run_encode(e, surf, force_idr || e->need_idr);
	if (r < 0)
		return r;
	r = packet(e, out);
	if (r < 0)
		return r;
	e->need_idr = false;
	return 0;
}

static int vpl_set_quality(struct h264_encoder *base, unsigned quality)
{
	struct vpl_encoder *e = (struct vpl_encoder *)base;
	unsigned qp = h264_vpl_quality_qp(quality);
	if (qp == e->qp || !e->enc_open) {
		e->qp = qp; /* a pipeline built later takes it */
		e->base.cfg.quality = quality;
		return 0;
	}
	mfxInfoMFX saved = e->par.enc.mfx;
	e->par.enc.mfx.QPI = e->par.enc.mfx.QPP = e->par.enc.mfx.QPB = (mfxU16)qp;
	mfxStatus st = MFXVideoENCODE_Reset(e->s.session, &e->par.enc);
	if (st < MFX_ERR_NONE) {
		e->par.enc.mfx = saved;
		log_warn("VPL encoder: MFXVideoENCODE_Reset to QP %u: %s (%d); keeping QP %u", qp,
			 h264_vpl_status_str(st), (int)st, e->qp);
		return -ENOTSUP;
	}
	e->qp = qp;
	e->base.cfg.quality = quality;
	/* The PPS may carry the new initial QP: refresh the copy put before bare IDRs
	 * (RepeatPPS sends it with every frame anyway). */
	return read_back(e);
}

const struct h264_encoder_impl h264_vpl_impl = {
	.name = "vpl",
	.create = vpl_create,
	.destroy = vpl_destroy,
	.encode = vpl_encode,
	.set_quality = vpl_set_quality,
};
