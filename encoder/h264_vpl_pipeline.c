/* VPP + ENCODE set-up, one frame through them, QP changes. See h264_vpl_pipeline.h. */
#include "h264_vpl_pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h264_vpl_session.h"
#include "log.h"

#define SYNC_WAIT_MS 500 /* per SyncOperation call */
#define SYNC_TRIES 4      /* calls while the runtime says MFX_WRN_IN_EXECUTION */
#define BUSY_RETRIES 200          /* 1 ms apart, on MFX_WRN_DEVICE_BUSY */
#define BITSTREAM_MAX (64u << 20) /* growing on MFX_ERR_NOT_ENOUGH_BUFFER stops here */

static void mfx_error(const char *what, mfxStatus st)
{
	log_error("VPL encoder: %s: %s (%d)", what, h264_vpl_status_str(st), (int)st);
}

/* Set-up failures that mean "this GPU or driver cannot do it" give -ENODEV, so that auto
 * mode falls back to software. */
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

/* A component's Init (what) returned st: an error fails the set-up as fail_init() does;
 * otherwise the component is open (*open: close must release it), and a warning status
 * is logged. */
static int init_done(const char *what, mfxStatus st, const char *hint, bool *open, char *why,
		     size_t why_len)
{
	if (st < MFX_ERR_NONE)
		return fail_init(what, st, hint, why, why_len);
	*open = true;
	if (st > MFX_ERR_NONE)
		log_error("VPL encoder: %s warns: %s (%d)", what, h264_vpl_status_str(st), (int)st);
	return 0;
}

static bool has_start_code(const uint8_t *p, size_t n)
{
	return (n >= 3 && !p[0] && !p[1] && p[2] == 1) ||
	       (n >= 4 && !p[0] && !p[1] && !p[2] && p[3] == 1);
}

static bool append_nal(uint8_t *dst, size_t cap, size_t *len, const uint8_t *nal, size_t n)
{
	static const uint8_t start[4] = {0, 0, 0, 1};
	bool has_start = has_start_code(nal, n);
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

static int bitstream_reserve(struct h264_vpl_pipeline *p, size_t size)
{
	if (size <= p->bs.MaxLength)
		return 0;
	if (size > BITSTREAM_MAX)
		return -E2BIG;
	uint8_t *b = realloc(p->bs.Data, size);
	if (!b)
		return -ENOMEM;
	p->bs.Data = b;
	p->bs.MaxLength = (mfxU32)size;
	return 0;
}

/* After ENCODE Init or Reset: SPS/PPS for IDRs a runtime sends bare, the output buffer
 * size, and a warning if the runtime changed what noVNC depends on. */
static int read_back(struct h264_vpl_pipeline *p)
{
	uint8_t sps[H264_VPL_HEADERS_MAX / 2], pps[H264_VPL_HEADERS_MAX / 2];
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
	mfxStatus st = MFXVideoENCODE_GetVideoParam(p->session, &gp);
	p->headers_len = 0;
	if (st != MFX_ERR_NONE) {
		/* Only needed if the runtime writes IDRs without headers; h264_vpl.c says so. */
		mfx_error("MFXVideoENCODE_GetVideoParam (SPS/PPS)", st);
	} else if (!append_nal(p->headers, sizeof(p->headers), &p->headers_len, sps,
			       sp.SPSBufSize) ||
		   !append_nal(p->headers, sizeof(p->headers), &p->headers_len, pps,
			       sp.PPSBufSize)) {
		log_warn("VPL encoder: GetVideoParam gave no usable SPS/PPS (%u/%u bytes)",
			 sp.SPSBufSize, sp.PPSBufSize);
		p->headers_len = 0;
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
	size_t raw = (size_t)p->cfg.width * p->cfg.height * 3 / 2 + 65536;
	size_t size = want > raw ? want : raw;
	return bitstream_reserve(p, size < BITSTREAM_MAX ? size : BITSTREAM_MAX);
}

void h264_vpl_pipeline_close(struct h264_vpl_pipeline *p)
{
	mfxStatus st;
	if (p->enc_open && (st = MFXVideoENCODE_Close(p->session)) != MFX_ERR_NONE)
		mfx_error("MFXVideoENCODE_Close", st);
	if (p->vpp_open && (st = MFXVideoVPP_Close(p->session)) != MFX_ERR_NONE)
		mfx_error("MFXVideoVPP_Close", st);
	p->enc_open = p->vpp_open = false;
	if (p->pool_resp.mids)
		h264_vpl_free_frames(p->alloc, &p->pool_resp);
	memset(&p->pool_resp, 0, sizeof(p->pool_resp));
	free(p->pool);
	p->pool = NULL;
	p->pool_n = 0;
	p->open = p->reopen = false;
	p->pending = NULL; /* Close waited for it */
}

void h264_vpl_pipeline_free(struct h264_vpl_pipeline *p)
{
	h264_vpl_pipeline_close(p);
	free(p->bs.Data);
	memset(&p->bs, 0, sizeof(p->bs));
}

/* Does ENCODE take RGB4 itself (into p->par if so)? Gen11+ can, Gen9 cannot: ask, with
 * the runtime's choice of encoder and then with VDEnc. */
static bool encoder_takes_rgb(struct h264_vpl_pipeline *p)
{
	struct h264_vpl_params *q = malloc(sizeof(*q));
	if (!q)
		return false;
	mfxStatus st = MFX_ERR_UNSUPPORTED;
	bool ok = false;
	for (int lp = 0; lp < 2 && !ok; lp++) {
		h264_vpl_params_build(&p->par, &p->cfg, p->qp, true, lp);
		h264_vpl_params_build(q, &p->cfg, p->qp, true, lp);
		st = MFXVideoENCODE_Query(p->session, &p->par.enc, &q->enc);
		ok = st == MFX_ERR_NONE && q->enc.mfx.FrameInfo.FourCC == MFX_FOURCC_RGB4;
		p->low_power = lp;
	}
	free(q);
	if (ok)
		log_info("VPL encoder: ENCODE takes RGB4 surfaces itself%s, no VPP",
			 p->low_power ? " (VDEnc)" : "");
	else
		log_info("VPL encoder: ENCODE does not take RGB4 (Query: %s); VPP converts to NV12",
			 h264_vpl_status_str(st));
	return ok;
}

/* ENCODE Init; if the runtime's default encoder is refused, VDEnc (LowPower) once more. */
static mfxStatus init_encode(struct h264_vpl_pipeline *p)
{
	mfxStatus st = MFXVideoENCODE_Init(p->session, &p->par.enc);
	if (st < MFX_ERR_NONE && !p->low_power && init_errno(st) == -ENODEV) {
		log_warn("VPL encoder: MFXVideoENCODE_Init: %s (%d); trying LowPower (VDEnc)",
			 h264_vpl_status_str(st), (int)st);
		p->par.enc.mfx.LowPower = MFX_CODINGOPTION_ON;
		p->low_power = true;
		st = MFXVideoENCODE_Init(p->session, &p->par.enc);
	}
	return st;
}

static int open_pool(struct h264_vpl_pipeline *p, char *why, size_t why_len)
{
	mfxFrameAllocRequest vreq[2], ereq;
	memset(vreq, 0, sizeof(vreq));
	memset(&ereq, 0, sizeof(ereq));
	mfxStatus st = MFXVideoVPP_QueryIOSurf(p->session, &p->par.vpp, vreq);
	if (st < MFX_ERR_NONE)
		return fail_init("MFXVideoVPP_QueryIOSurf (RGB→NV12)", st,
				 "; on Gen9 VPP colour conversion needs "
				 "intel-media-va-driver-non-free",
				 why, why_len);
	st = MFXVideoENCODE_QueryIOSurf(p->session, &p->par.enc, &ereq);
	if (st < MFX_ERR_NONE)
		return fail_init("MFXVideoENCODE_QueryIOSurf", st, "", why, why_len);

	mfxFrameAllocRequest req;
	memset(&req, 0, sizeof(req));
	req.Info = p->par.enc.mfx.FrameInfo;
	req.Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPOUT | MFX_MEMTYPE_FROM_ENCODE |
		   MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	unsigned n = (unsigned)vreq[1].NumFrameSuggested + ereq.NumFrameSuggested;
	req.NumFrameSuggested = req.NumFrameMin = (mfxU16)(n ? n : 1);
	st = h264_vpl_alloc_frames(p->alloc, &req, &p->pool_resp);
	if (st != MFX_ERR_NONE)
		return fail_init("allocating the NV12 surfaces between VPP and ENCODE", st, "", why,
				 why_len);
	p->pool_n = p->pool_resp.NumFrameActual;
	p->pool = calloc(p->pool_n, sizeof(*p->pool));
	if (!p->pool) {
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	for (mfxU16 i = 0; i < p->pool_n; i++) {
		p->pool[i].Info = p->par.enc.mfx.FrameInfo;
		p->pool[i].Data.MemId = p->pool_resp.mids[i];
	}
	return 0;
}

static int open_components(struct h264_vpl_pipeline *p, bool try_rgb, char *why,
			   size_t why_len)
{
	static const char enc_what[] = "MFXVideoENCODE_Init (H.264 constrained baseline, CQP)";
	p->rgb_encode = try_rgb && encoder_takes_rgb(p);
	if (p->rgb_encode) {
		mfxStatus st = init_encode(p);
		if (st >= MFX_ERR_NONE) {
			init_done(enc_what, st, "", &p->enc_open, why, why_len);
		} else {
			/* Query only checks the runtime's tables; Init asks the driver. */
			log_warn("VPL encoder: MFXVideoENCODE_Init refused RGB4 that Query accepted: "
				 "%s (%d); VPP converts to NV12 instead",
				 h264_vpl_status_str(st), (int)st);
			p->rgb_encode = false;
		}
	}
	if (!p->rgb_encode) {
		p->low_power = false;
		h264_vpl_params_build(&p->par, &p->cfg, p->qp, false, false);
		int r = open_pool(p, why, why_len);
		if (r < 0)
			return r;
		r = init_done("MFXVideoVPP_Init (RGB→NV12)", MFXVideoVPP_Init(p->session, &p->par.vpp),
			      "; on Gen9 VPP colour conversion needs intel-media-va-driver-non-free",
			      &p->vpp_open, why, why_len);
		if (r < 0)
			return r;
		r = init_done(enc_what, init_encode(p),
			      "; on Gen9, H.264 encode other than VDEnc needs "
			      "intel-media-va-driver-non-free",
			      &p->enc_open, why, why_len);
		if (r < 0)
			return r;
	}
	int r = read_back(p);
	if (r < 0) {
		snprintf(why, why_len, "bitstream buffer: %s", strerror(-r));
		return r;
	}
	return 0;
}

int h264_vpl_pipeline_open(struct h264_vpl_pipeline *p, bool try_rgb, char *why,
			   size_t why_len)
{
	h264_vpl_pipeline_close(p);
	int r = open_components(p, try_rgb, why, why_len);
	if (r < 0) {
		h264_vpl_pipeline_close(p);
		return r;
	}
	p->open = true;
	return 0;
}

const mfxFrameInfo *h264_vpl_pipeline_input_info(const struct h264_vpl_pipeline *p)
{
	return p->rgb_encode ? &p->par.enc.mfx.FrameInfo : &p->par.vpp.vpp.In;
}

static mfxFrameSurface1 *free_pool_surface(struct h264_vpl_pipeline *p)
{
	for (mfxU16 i = 0; i < p->pool_n; i++)
		if (!p->pool[i].Data.Locked)
			return &p->pool[i];
	return NULL;
}

/* What a failed VPP/ENCODE/sync status means for the frame: -ENODEV when the device is
 * gone (the session is dead), else -EAGAIN (this frame is lost, the next may work). After
 * a GPU hang the runtimes want the components initialised again: p->reopen. */
static int frame_errno(struct h264_vpl_pipeline *p, mfxStatus st)
{
	switch (st) {
	case MFX_ERR_DEVICE_LOST:
	case MFX_ERR_DEVICE_FAILED:
	case MFX_ERR_NOT_INITIALIZED:
		return -ENODEV;
	case MFX_ERR_GPU_HANG:
	case MFX_ERR_MORE_DATA: /* it buffers despite AsyncDepth 1: start it afresh */
		p->reopen = true;
		return -EAGAIN;
	default:
		return -EAGAIN;
	}
}

/* A runtime call (what) for this frame failed with st: logged, and frame_errno(). */
static int frame_fail(struct h264_vpl_pipeline *p, const char *what, mfxStatus st)
{
	VPL_FRAME_ERROR("%s: %s (%d)", what, h264_vpl_status_str(st), (int)st);
	return frame_errno(p, st);
}

/* SyncOperation, again while the runtime says the task still runs (SYNC_TRIES calls);
 * MFX_WRN_IN_EXECUTION if it still does after them. */
static mfxStatus wait_sync(struct h264_vpl_pipeline *p, mfxSyncPoint sync)
{
	mfxStatus st = MFX_WRN_IN_EXECUTION;
	for (int i = 0; i < SYNC_TRIES && st == MFX_WRN_IN_EXECUTION; i++)
		st = MFXVideoCORE_SyncOperation(p->session, sync, SYNC_WAIT_MS);
	return st;
}

int h264_vpl_pipeline_settle(struct h264_vpl_pipeline *p)
{
	if (!p->pending)
		return 0;
	mfxStatus st = wait_sync(p, p->pending);
	if (st == MFX_WRN_IN_EXECUTION) {
		VPL_FRAME_ERROR("an earlier frame still runs on the GPU; frame skipped");
		return -EAGAIN;
	}
	p->pending = NULL;
	if (st < MFX_ERR_NONE && frame_fail(p, "SyncOperation (an earlier frame)", st) == -ENODEV)
		return -ENODEV;
	return p->reopen ? -EAGAIN : 0;
}

static int run_vpp(struct h264_vpl_pipeline *p, mfxFrameSurface1 *in, mfxFrameSurface1 **out,
		   mfxSyncPoint *sync)
{
	mfxFrameSurface1 *o = free_pool_surface(p);
	if (!o) {
		VPL_FRAME_ERROR("no free NV12 surface between VPP and ENCODE");
		return -EAGAIN;
	}
	mfxStatus st;
	for (int i = 0;; i++) {
		st = MFXVideoVPP_RunFrameVPPAsync(p->session, in, o, NULL, sync);
		if (st != MFX_WRN_DEVICE_BUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	/* No frame-rate conversion or deinterlacing: one frame in gives one out, now. The
	 * sync point is waited for through ENCODE's, which depends on the surface. */
	if (st != MFX_ERR_NONE || !*sync)
		return frame_fail(p, "MFXVideoVPP_RunFrameVPPAsync", st);
	*out = o;
	return 0;
}

/* ENCODE the surface and wait; vpp_sync is VPP's task for it, if any, kept as pending if
 * ENCODE takes nothing. */
static int run_encode(struct h264_vpl_pipeline *p, mfxFrameSurface1 *surf, bool idr,
		      mfxSyncPoint vpp_sync)
{
	mfxEncodeCtrl ctrl;
	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.FrameType = MFX_FRAMETYPE_I | MFX_FRAMETYPE_IDR | MFX_FRAMETYPE_REF;
	mfxSyncPoint sync = NULL;
	mfxStatus st;
	for (int i = 0;; i++) {
		p->bs.DataOffset = 0;
		p->bs.DataLength = 0;
		st = MFXVideoENCODE_EncodeFrameAsync(p->session, idr ? &ctrl : NULL, surf, &p->bs,
						     &sync);
		if (st == MFX_ERR_NOT_ENOUGH_BUFFER &&
		    bitstream_reserve(p, (size_t)p->bs.MaxLength * 2) == 0)
			continue;
		if (st != MFX_WRN_DEVICE_BUSY || i >= BUSY_RETRIES)
			break;
		usleep(1000);
	}
	if (st < MFX_ERR_NONE || !sync) {
		p->pending = vpp_sync;
		if (st == MFX_ERR_MORE_DATA)
			VPL_FRAME_ERROR("ENCODE held the frame back (AsyncDepth 1, GopRefDist 1)");
		return frame_fail(p, "MFXVideoENCODE_EncodeFrameAsync", st);
	}
	st = wait_sync(p, sync);
	if (st == MFX_WRN_IN_EXECUTION) {
		p->pending = sync;
		VPL_FRAME_ERROR("frame not done after %d × %d ms; skipped", SYNC_TRIES, SYNC_WAIT_MS);
		return -EAGAIN;
	}
	if (st != MFX_ERR_NONE)
		return frame_fail(p, "MFXVideoCORE_SyncOperation", st);
	return 0;
}

int h264_vpl_pipeline_run(struct h264_vpl_pipeline *p, mfxFrameSurface1 *in, bool idr)
{
	if (!p->enc_open)
		return -ENODEV;
	int r = h264_vpl_pipeline_settle(p);
	if (r < 0)
		return r;
	mfxSyncPoint vpp_sync = NULL;
	if (!p->rgb_encode) {
		r = run_vpp(p, in, &in, &vpp_sync);
		if (r < 0)
			return r;
	}
	return run_encode(p, in, idr, vpp_sync);
}
