/* A fake VPL runtime, for testing the VPL back end without an Intel GPU.
 *
 * Built as libvplfake.so.1 in a directory of its own; the real libvpl 2.8 dispatcher finds
 * it through ONEVPL_SEARCH_PATH (it loads every libvpl*.so* there that exports
 * MFXInitialize), enumerates it through MFXQueryImplsDescription and forwards the
 * application's calls to it. It exports every function the dispatcher looks up: the 2.x
 * entry points it validates, and the 1.x table of dispatcher/linux/mfxvideo_functions.h
 * (v2023.1.1) plus MFXInit, MFXInitEx, MFXClose, MFXJoinSession. What the tests do not
 * need returns MFX_ERR_UNSUPPORTED.
 *
 * Implementations offered ($FAKE_VPL_IMPLS), so that the test can see which filters the
 * application set from which one it got:
 *   unset/"legacy": 0 "fake-sw"     software, API 2.8, VA-API
 *                   1 "fake-d3d11"  hardware, API 2.8, D3D11 only
 *                   2 "fake-msdk"   hardware, API 1.35, VA-API, no capability lists: what
 *                                   the dispatcher makes of Gen9's Media SDK runtime
 *   "vpl2":         the three above and 3 "fake-vpl2" hardware, API 2.8, VA-API
 *   "sw":           0 only
 * Other knobs: FAKE_VPL_ENC_RGB=1 (ENCODE accepts RGB4/BGR4 input),
 * FAKE_VPL_LOWPOWER_ONLY=1 (ENCODE accepts only mfx.LowPower on), FAKE_VPL_NO_HEADERS=1
 * (IDRs without SPS/PPS; GetVideoParam still gives them), FAKE_VPL_FAIL_ENC_INIT=<status>
 * and FAKE_VPL_FAIL_VPP_INIT=<status> (Init fails so), FAKE_VPL_MIN_BITSTREAM=<bytes>
 * (EncodeFrameAsync wants at least that much room, else MFX_ERR_NOT_ENOUGH_BUFFER),
 * FAKE_VPL_FAIL_FRAMES=<n>-<m> (a session's frames n..m, from 0, fail: MFX_ERR_DEVICE_FAILED).
 *
 * It records what it was asked for, one "event=... key=value ..." line per call, appended
 * to the file named by $FAKE_VPL_LOG, and encodes by copying the canned access units of
 * fake_stream.h. Descriptions are static: one loader at a time.
 */
#define MFX_DEPRECATED_OFF
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vpl/mfx.h>

#include "fake_stream.h"

struct fake_session {
	mfxVersion version;
	mfxFrameAllocator alloc;
	bool has_alloc;
	mfxHDL va_display;
	mfxVideoParam enc; /* what Init got, ExtParam cleared */
	bool enc_init, vpp_init;
	mfxFrameAllocResponse internal; /* "reconstructed frames" from the app's allocator */
	bool has_internal;
	unsigned frames;
	unsigned calls; /* frames offered to ENCODE, for FAKE_VPL_FAIL_FRAMES */
};

#define S(session) ((struct fake_session *)(session))

/* An entry point the dispatcher looks up but the tests never need: it exists (the
 * dispatcher refuses a runtime without it) and answers MFX_ERR_UNSUPPORTED. PARAMS is the
 * parameter list of mfx.h's prototype, in parentheses; nothing here reads them. */
#define UNSUPPORTED(fn, params)                                                            \
	_Pragma("GCC diagnostic push")                                                     \
	_Pragma("GCC diagnostic ignored \"-Wunused-parameter\"")                            \
	mfxStatus fn params                                                                \
	{                                                                                  \
		return MFX_ERR_UNSUPPORTED;                                                \
	}                                                                                  \
	_Pragma("GCC diagnostic pop")

static void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec(const char *fmt, ...)
{
	const char *path = getenv("FAKE_VPL_LOG");
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static bool env_on(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* "RGB4", "NV12", "P8" ... in the caller's buffer. */
static const char *fcc(mfxU32 f, char buf[8])
{
	if (f == MFX_FOURCC_P8) {
		snprintf(buf, 8, "P8");
		return buf;
	}
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = (c >= 32 && c < 127) ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

/* ---- Implementation descriptions ---- */

static mfxAccelerationMode mode_vaapi = MFX_ACCEL_MODE_VIA_VAAPI;
static mfxAccelerationMode mode_d3d11 = MFX_ACCEL_MODE_VIA_D3D11;
static mfxImplDescription descs[4];
static mfxHDL desc_handles[4];

static void describe(mfxImplDescription *d, mfxU32 idx, const char *name, mfxImplType impl,
		     mfxU16 major, mfxU16 minor, mfxAccelerationMode *mode)
{
	memset(d, 0, sizeof(*d));
	d->Version.Version = MFX_IMPLDESCRIPTION_VERSION;
	d->Impl = impl;
	d->AccelerationMode = *mode;
	d->ApiVersion.Major = major;
	d->ApiVersion.Minor = minor;
	snprintf(d->ImplName, sizeof(d->ImplName), "%s", name);
	snprintf(d->License, sizeof(d->License), "MIT");
	d->VendorID = 0x8086;
	d->VendorImplID = idx;
	d->Dev.Version.Version = MFX_DEVICEDESCRIPTION_VERSION;
	snprintf(d->Dev.DeviceID, sizeof(d->Dev.DeviceID), "5916");
	d->AccelerationModeDescription.Version.Version = MFX_ACCELERATIONMODESCRIPTION_VERSION;
	d->AccelerationModeDescription.NumAccelerationModes = 1;
	d->AccelerationModeDescription.Mode = mode;
	d->PoolPolicies.Version.Version = MFX_POOLPOLICYDESCRIPTION_VERSION;
}

mfxHDL *MFXQueryImplsDescription(mfxImplCapsDeliveryFormat format, mfxU32 *num_impls)
{
	*num_impls = 0;
	if (format != MFX_IMPLCAPS_IMPLDESCSTRUCTURE)
		return NULL; /* no mfxImplementedFunctions: allowed, the dispatcher copes */
	const char *set = getenv("FAKE_VPL_IMPLS");
	if (!set || !*set)
		set = "legacy";
	mfxU32 n = 0;
	describe(&descs[n++], 0, "fake-sw", MFX_IMPL_TYPE_SOFTWARE, 2, 8, &mode_vaapi);
	if (strcmp(set, "sw") != 0) {
		describe(&descs[n++], 1, "fake-d3d11", MFX_IMPL_TYPE_HARDWARE, 2, 8, &mode_d3d11);
		describe(&descs[n++], 2, "fake-msdk", MFX_IMPL_TYPE_HARDWARE, 1, 35, &mode_vaapi);
	}
	if (strcmp(set, "vpl2") == 0)
		describe(&descs[n++], 3, "fake-vpl2", MFX_IMPL_TYPE_HARDWARE, 2, 8, &mode_vaapi);
	for (mfxU32 i = 0; i < n; i++)
		desc_handles[i] = &descs[i];
	*num_impls = n;
	rec("event=query_impls set=%s n=%u", set, n);
	return desc_handles;
}

mfxStatus MFXReleaseImplDescription(mfxHDL hdl)
{
	(void)hdl;
	return MFX_ERR_NONE;
}

/* ---- Sessions ---- */

static mfxStatus new_session(mfxU16 major, mfxU16 minor, mfxSession *session)
{
	struct fake_session *s = calloc(1, sizeof(*s));
	if (!s)
		return MFX_ERR_MEMORY_ALLOC;
	s->version.Major = major;
	s->version.Minor = minor;
	*session = (mfxSession)s;
	return MFX_ERR_NONE;
}

mfxStatus MFXInitialize(mfxInitializationParam par, mfxSession *session)
{
	rec("event=init api=MFXInitialize accel=0x%x vendor_impl_id=%u", par.AccelerationMode,
	    par.VendorImplID);
	return new_session(2, 8, session);
}

mfxStatus MFXInitEx(mfxInitParam par, mfxSession *session)
{
	rec("event=init api=MFXInitEx impl=0x%x version=%u.%u", par.Implementation,
	    par.Version.Major, par.Version.Minor);
	return new_session(par.Version.Major, par.Version.Minor, session);
}

mfxStatus MFXInit(mfxIMPL impl, mfxVersion *ver, mfxSession *session)
{
	rec("event=init api=MFXInit impl=0x%x", impl);
	return new_session(ver ? ver->Major : 1, ver ? ver->Minor : 35, session);
}

static void free_internal(struct fake_session *s)
{
	if (!s->has_internal)
		return;
	mfxStatus st = s->alloc.Free(s->alloc.pthis, &s->internal);
	rec("event=free_internal sts=%d", st);
	s->has_internal = false;
}

mfxStatus MFXClose(mfxSession session)
{
	if (!session)
		return MFX_ERR_INVALID_HANDLE;
	free_internal(S(session));
	rec("event=close");
	free(session);
	return MFX_ERR_NONE;
}

mfxStatus MFXQueryIMPL(mfxSession session, mfxIMPL *impl)
{
	(void)session;
	*impl = MFX_IMPL_HARDWARE | MFX_IMPL_VIA_VAAPI;
	return MFX_ERR_NONE;
}

mfxStatus MFXQueryVersion(mfxSession session, mfxVersion *version)
{
	*version = S(session)->version;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXJoinSession, (mfxSession session, mfxSession child))
UNSUPPORTED(MFXDisjoinSession, (mfxSession session))
UNSUPPORTED(MFXCloneSession, (mfxSession session, mfxSession *clone))
UNSUPPORTED(MFXSetPriority, (mfxSession session, mfxPriority priority))
UNSUPPORTED(MFXGetPriority, (mfxSession session, mfxPriority *priority))

/* ---- CORE ---- */

mfxStatus MFXVideoCORE_SetFrameAllocator(mfxSession session, mfxFrameAllocator *allocator)
{
	struct fake_session *s = S(session);
	if (!allocator)
		return MFX_ERR_NULL_PTR;
	s->alloc = *allocator;
	s->has_alloc = true;
	rec("event=set_allocator alloc=%d lock=%d unlock=%d gethdl=%d free=%d",
	    allocator->Alloc != NULL, allocator->Lock != NULL, allocator->Unlock != NULL,
	    allocator->GetHDL != NULL, allocator->Free != NULL);
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoCORE_SetHandle(mfxSession session, mfxHandleType type, mfxHDL hdl)
{
	rec("event=set_handle type=%d hdl=%p", (int)type, hdl);
	if (type != MFX_HANDLE_VA_DISPLAY)
		return MFX_ERR_UNSUPPORTED;
	S(session)->va_display = hdl;
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoCORE_GetHandle(mfxSession session, mfxHandleType type, mfxHDL *hdl)
{
	if (type != MFX_HANDLE_VA_DISPLAY || !S(session)->va_display)
		return MFX_ERR_NOT_FOUND;
	*hdl = S(session)->va_display;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoCORE_QueryPlatform, (mfxSession session, mfxPlatform *platform))

mfxStatus MFXVideoCORE_SyncOperation(mfxSession session, mfxSyncPoint syncp, mfxU32 wait)
{
	(void)session;
	rec("event=sync syncp=%p wait=%u", (void *)syncp, wait);
	return syncp ? MFX_ERR_NONE : MFX_ERR_NULL_PTR;
}

/* The VASurfaceID behind a MemId, through the application's GetHDL, as a runtime does. */
static long surface_of(struct fake_session *s, mfxMemId mid)
{
	mfxHDL h = NULL;
	if (!s->has_alloc || s->alloc.GetHDL(s->alloc.pthis, mid, &h) != MFX_ERR_NONE || !h)
		return -1;
	return (long)*(const uint32_t *)h; /* VASurfaceID * */
}

/* Ask the application's allocator for internal frames, as the Media SDK encoder does for
 * its reconstructed frames and bitstream buffers. */
static void internal_allocs(struct fake_session *s, const mfxFrameInfo *fi)
{
	mfxFrameAllocRequest req;
	memset(&req, 0, sizeof(req));
	req.Info = *fi;
	req.Info.FourCC = MFX_FOURCC_NV12;
	req.Info.ChromaFormat = MFX_CHROMAFORMAT_YUV420;
	req.Type = MFX_MEMTYPE_INTERNAL_FRAME | MFX_MEMTYPE_FROM_ENCODE |
		   MFX_MEMTYPE_VIDEO_MEMORY_DECODER_TARGET;
	req.NumFrameMin = req.NumFrameSuggested = 2;
	mfxStatus st = s->alloc.Alloc(s->alloc.pthis, &req, &s->internal);
	s->has_internal = st == MFX_ERR_NONE;
	char buf[8];
	rec("event=alloc_internal fourcc=%s sts=%d n=%u surface0=%ld surface1=%ld",
	    fcc(req.Info.FourCC, buf), st, s->has_internal ? s->internal.NumFrameActual : 0,
	    s->has_internal ? surface_of(s, s->internal.mids[0]) : -1,
	    s->has_internal && s->internal.NumFrameActual > 1 ? surface_of(s, s->internal.mids[1])
							      : -1);

	mfxFrameAllocResponse resp;
	memset(&resp, 0, sizeof(resp));
	req.Info.FourCC = MFX_FOURCC_P8;
	req.NumFrameMin = req.NumFrameSuggested = 1;
	st = s->alloc.Alloc(s->alloc.pthis, &req, &resp);
	rec("event=alloc_internal fourcc=P8 sts=%d", st);
	if (st == MFX_ERR_NONE)
		s->alloc.Free(s->alloc.pthis, &resp);
}

/* ---- ENCODE ---- */

/* "ext=ID,ID,... key=value ...": the ext buffers' ids, then the fields we check. */
static void rec_ext(char *out, size_t len, const mfxVideoParam *par)
{
	char ids[64] = "", det[480] = "";
	size_t ni = 0, nd = 0;
	for (mfxU16 i = 0; i < par->NumExtParam && par->ExtParam; i++) {
		const mfxExtBuffer *b = par->ExtParam[i];
		char buf[8];
		ni += (size_t)snprintf(ids + ni, ni < sizeof(ids) ? sizeof(ids) - ni : 0, "%s%s",
				       i ? "," : "", b ? fcc(b->BufferId, buf) : "NULL");
		if (!b)
			continue;
		size_t room = nd < sizeof(det) ? sizeof(det) - nd : 0;
		switch (b->BufferId) {
		case MFX_EXTBUFF_CODING_OPTION: {
			const mfxExtCodingOption *c = (const void *)b;
			nd += (size_t)snprintf(det + nd, room,
					       " co.maxdecframebuffering=%u co.audelimiter=%u "
					       "co.nalhrdconformance=%u co.pictimingsei=%u",
					       c->MaxDecFrameBuffering, c->AUDelimiter,
					       c->NalHrdConformance, c->PicTimingSEI);
			break;
		}
		case MFX_EXTBUFF_CODING_OPTION2: {
			const mfxExtCodingOption2 *c = (const void *)b;
			nd += (size_t)snprintf(det + nd, room, " co2.repeatpps=%u co2.lookahead=%u",
					       c->RepeatPPS, c->LookAheadDepth);
			break;
		}
		case MFX_EXTBUFF_VIDEO_SIGNAL_INFO: {
			const mfxExtVideoSignalInfo *v = (const void *)b;
			nd += (size_t)snprintf(det + nd, room,
					       " vsi.fullrange=%u vsi.matrix=%u vsi.primaries=%u",
					       v->VideoFullRange, v->MatrixCoefficients,
					       v->ColourPrimaries);
			break;
		}
		case MFX_EXTBUFF_VPP_VIDEO_SIGNAL_INFO: {
			const mfxExtVPPVideoSignalInfo *v = (const void *)b;
			nd += (size_t)snprintf(det + nd, room,
					       " vvsi.in_matrix=%u vvsi.in_range=%u "
					       "vvsi.out_matrix=%u vvsi.out_range=%u",
					       v->In.TransferMatrix, v->In.NominalRange,
					       v->Out.TransferMatrix, v->Out.NominalRange);
			break;
		}
		default:
			break;
		}
	}
	snprintf(out, len, "ext=%s%s", ni ? ids : "none", det);
}

static void rec_frameinfo(char *out, size_t len, const char *prefix, const mfxFrameInfo *fi)
{
	char buf[8];
	snprintf(out, len,
		 "%sfourcc=%s %schroma=%u %sw=%u %sh=%u %scropx=%u %scropy=%u %scropw=%u "
		 "%scroph=%u %spicstruct=%u %sfps=%u/%u",
		 prefix, fcc(fi->FourCC, buf), prefix, fi->ChromaFormat, prefix, fi->Width, prefix,
		 fi->Height, prefix, fi->CropX, prefix, fi->CropY, prefix, fi->CropW, prefix,
		 fi->CropH, prefix, fi->PicStruct, prefix, fi->FrameRateExtN, fi->FrameRateExtD);
}

/* What this "encoder" takes: NV12; RGB4/BGR4 with FAKE_VPL_ENC_RGB; anything only with
 * LowPower on under FAKE_VPL_LOWPOWER_ONLY (a VDEnc-only driver). */
static bool accepts(const mfxInfoMFX *m)
{
	if (env_on("FAKE_VPL_LOWPOWER_ONLY") && m->LowPower != MFX_CODINGOPTION_ON)
		return false;
	mfxU32 f = m->FrameInfo.FourCC;
	if (f == MFX_FOURCC_NV12)
		return true;
	return (f == MFX_FOURCC_RGB4 || f == MFX_FOURCC_BGR4) && env_on("FAKE_VPL_ENC_RGB");
}

mfxStatus MFXVideoENCODE_Query(mfxSession session, mfxVideoParam *in, mfxVideoParam *out)
{
	(void)session;
	if (!out)
		return MFX_ERR_NULL_PTR;
	if (!in)
		return MFX_ERR_NONE;
	char buf[8];
	mfxU32 f = in->mfx.FrameInfo.FourCC;
	bool ok = accepts(&in->mfx);
	rec("event=enc_query fourcc=%s chroma=%u iopattern=0x%x lowpower=%u sts=%d", fcc(f, buf),
	    in->mfx.FrameInfo.ChromaFormat, in->IOPattern, in->mfx.LowPower,
	    ok ? 0 : MFX_ERR_UNSUPPORTED);
	out->mfx = in->mfx;
	out->IOPattern = in->IOPattern;
	out->AsyncDepth = in->AsyncDepth;
	if (!ok) {
		out->mfx.FrameInfo.FourCC = 0; /* as the runtime zeroes what it cannot do */
		return MFX_ERR_UNSUPPORTED;
	}
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_QueryIOSurf(mfxSession session, mfxVideoParam *par,
				     mfxFrameAllocRequest *request)
{
	(void)session;
	memset(request, 0, sizeof(*request));
	request->Info = par->mfx.FrameInfo;
	request->NumFrameMin = request->NumFrameSuggested = 2;
	request->Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_ENCODE |
			MFX_MEMTYPE_VIDEO_MEMORY_DECODER_TARGET;
	rec("event=enc_query_io_surf n=2");
	return MFX_ERR_NONE;
}

static mfxStatus env_status(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? (mfxStatus)atoi(v) : MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_Init(mfxSession session, mfxVideoParam *par)
{
	struct fake_session *s = S(session);
	const mfxInfoMFX *m = &par->mfx;
	char fi[400], ext[600], rc[64];
	rec_frameinfo(fi, sizeof(fi), "", &m->FrameInfo);
	rec_ext(ext, sizeof(ext), par);
	/* QPI/QPP/QPB share their storage with the bitrate fields: print what the mode uses. */
	if (m->RateControlMethod == MFX_RATECONTROL_CQP)
		snprintf(rc, sizeof(rc), "qpi=%u qpp=%u qpb=%u", m->QPI, m->QPP, m->QPB);
	else
		snprintf(rc, sizeof(rc), "kbps=%u maxkbps=%u bufferkb=%u", m->TargetKbps,
			 m->MaxKbps, m->BufferSizeInKB);
	rec("event=enc_init iopattern=0x%x async=%u codec=0x%x profile=%u level=%u tu=%u "
	    "rc=%u %s gop=%u refdist=%u idrinterval=%u numref=%u slices=%u lowpower=%u %s %s",
	    par->IOPattern, par->AsyncDepth, m->CodecId, m->CodecProfile, m->CodecLevel,
	    m->TargetUsage, m->RateControlMethod, rc, m->GopPicSize, m->GopRefDist,
	    m->IdrInterval, m->NumRefFrame, m->NumSlice, m->LowPower, fi, ext);
	/* What the Media SDK checks: video memory needs the application's allocator and,
	 * on Linux, its VA display. */
	if (!s->va_display)
		return MFX_ERR_INVALID_HANDLE;
	if ((par->IOPattern & MFX_IOPATTERN_IN_VIDEO_MEMORY) && !s->has_alloc)
		return MFX_ERR_INVALID_VIDEO_PARAM;
	if (!accepts(m))
		return MFX_ERR_UNSUPPORTED;
	mfxStatus fail = env_status("FAKE_VPL_FAIL_ENC_INIT");
	if (fail != MFX_ERR_NONE)
		return fail;
	s->enc = *par;
	s->enc.ExtParam = NULL;
	s->enc.NumExtParam = 0;
	s->enc_init = true;
	s->frames = 0;
	internal_allocs(s, &m->FrameInfo);
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_Reset(mfxSession session, mfxVideoParam *par)
{
	struct fake_session *s = S(session);
	rec("event=enc_reset rc=%u qpi=%u qpp=%u qpb=%u", par->mfx.RateControlMethod,
	    par->mfx.QPI, par->mfx.QPP, par->mfx.QPB);
	if (!s->enc_init)
		return MFX_ERR_NOT_INITIALIZED;
	s->enc.mfx = par->mfx;
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_Close(mfxSession session)
{
	struct fake_session *s = S(session);
	rec("event=enc_close");
	free_internal(s);
	s->enc_init = false;
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_GetVideoParam(mfxSession session, mfxVideoParam *par)
{
	struct fake_session *s = S(session);
	if (!s->enc_init)
		return MFX_ERR_NOT_INITIALIZED;
	par->mfx = s->enc.mfx;
	par->mfx.BufferSizeInKB = 16;
	par->IOPattern = s->enc.IOPattern;
	par->AsyncDepth = s->enc.AsyncDepth;
	for (mfxU16 i = 0; i < par->NumExtParam; i++) {
		mfxExtBuffer *b = par->ExtParam[i];
		if (!b || b->BufferId != MFX_EXTBUFF_CODING_OPTION_SPSPPS)
			continue;
		mfxExtCodingOptionSPSPPS *sp = (mfxExtCodingOptionSPSPPS *)b;
		if (sp->SPSBufSize < sizeof(fake_sps) || sp->PPSBufSize < sizeof(fake_pps))
			return MFX_ERR_NOT_ENOUGH_BUFFER;
		memcpy(sp->SPSBuffer, fake_sps, sizeof(fake_sps));
		sp->SPSBufSize = sizeof(fake_sps);
		memcpy(sp->PPSBuffer, fake_pps, sizeof(fake_pps));
		sp->PPSBufSize = sizeof(fake_pps);
	}
	rec("event=enc_get_video_param");
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoENCODE_GetEncodeStat, (mfxSession session, mfxEncodeStat *stat))

static bool put(mfxBitstream *bs, const uint8_t *p, size_t n)
{
	if ((size_t)bs->MaxLength < (size_t)bs->DataOffset + bs->DataLength + n)
		return false;
	memcpy(bs->Data + bs->DataOffset + bs->DataLength, p, n);
	bs->DataLength += (mfxU32)n;
	return true;
}

mfxStatus MFXVideoENCODE_EncodeFrameAsync(mfxSession session, mfxEncodeCtrl *ctrl,
					  mfxFrameSurface1 *surface, mfxBitstream *bs,
					  mfxSyncPoint *syncp)
{
	struct fake_session *s = S(session);
	if (!s->enc_init)
		return MFX_ERR_NOT_INITIALIZED;
	if (!surface)
		return MFX_ERR_MORE_DATA; /* draining: nothing buffered */
	unsigned fail_first, fail_last, call = s->calls++;
	const char *fail = getenv("FAKE_VPL_FAIL_FRAMES");
	if (fail && sscanf(fail, "%u-%u", &fail_first, &fail_last) == 2 && call >= fail_first &&
	    call <= fail_last) {
		rec("event=encode_fail frame=%u", call);
		return MFX_ERR_DEVICE_FAILED;
	}
	const char *min = getenv("FAKE_VPL_MIN_BITSTREAM");
	if (min && *min && bs->MaxLength < (mfxU32)atol(min)) {
		rec("event=encode_not_enough_buffer maxlength=%u", bs->MaxLength);
		return MFX_ERR_NOT_ENOUGH_BUFFER;
	}
	bool idr = s->frames == 0 || (ctrl && (ctrl->FrameType & MFX_FRAMETYPE_IDR));
	bool ok;
	if (idr) {
		bool headers = !env_on("FAKE_VPL_NO_HEADERS");
		ok = (!headers || (put(bs, fake_sps, sizeof(fake_sps)) &&
				   put(bs, fake_pps, sizeof(fake_pps)))) &&
		     put(bs, fake_idr_slice, sizeof(fake_idr_slice));
	} else {
		ok = put(bs, fake_p_slice, sizeof(fake_p_slice));
	}
	if (!ok)
		return MFX_ERR_NOT_ENOUGH_BUFFER;
	bs->FrameType = idr ? (MFX_FRAMETYPE_I | MFX_FRAMETYPE_IDR | MFX_FRAMETYPE_REF)
			    : (MFX_FRAMETYPE_P | MFX_FRAMETYPE_REF);
	char ctrlbuf[32], fi[400];
	if (ctrl)
		snprintf(ctrlbuf, sizeof(ctrlbuf), "0x%x", ctrl->FrameType);
	else
		snprintf(ctrlbuf, sizeof(ctrlbuf), "none");
	rec_frameinfo(fi, sizeof(fi), "", &surface->Info);
	rec("event=encode n=%u ctrl=%s memid=%p surface=%ld idr=%d bytes=%u %s", s->frames,
	    ctrlbuf, surface->Data.MemId, surface_of(s, surface->Data.MemId), idr,
	    bs->DataLength, fi);
	s->frames++;
	*syncp = (mfxSyncPoint)(uintptr_t)(0x5000 + s->frames);
	return MFX_ERR_NONE;
}

/* ---- VPP ---- */

mfxStatus MFXVideoVPP_Query(mfxSession session, mfxVideoParam *in, mfxVideoParam *out)
{
	(void)session;
	if (in && out) {
		out->vpp = in->vpp;
		out->IOPattern = in->IOPattern;
		out->AsyncDepth = in->AsyncDepth;
	}
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoVPP_QueryIOSurf(mfxSession session, mfxVideoParam *par,
				  mfxFrameAllocRequest request[2])
{
	(void)session;
	memset(request, 0, 2 * sizeof(*request));
	request[0].Info = par->vpp.In;
	request[0].NumFrameMin = request[0].NumFrameSuggested = 1;
	request[0].Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPIN |
			  MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	request[1].Info = par->vpp.Out;
	request[1].NumFrameMin = request[1].NumFrameSuggested = 1;
	request[1].Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPOUT |
			  MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	rec("event=vpp_query_io_surf in=1 out=1");
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoVPP_Init(mfxSession session, mfxVideoParam *par)
{
	struct fake_session *s = S(session);
	char in[400], out[400], ext[600];
	rec_frameinfo(in, sizeof(in), "in_", &par->vpp.In);
	rec_frameinfo(out, sizeof(out), "out_", &par->vpp.Out);
	rec_ext(ext, sizeof(ext), par);
	rec("event=vpp_init iopattern=0x%x async=%u %s %s %s", par->IOPattern,
	    par->AsyncDepth, in, out, ext);
	if (!s->va_display)
		return MFX_ERR_INVALID_HANDLE;
	if (!s->has_alloc)
		return MFX_ERR_INVALID_VIDEO_PARAM;
	mfxStatus fail = env_status("FAKE_VPL_FAIL_VPP_INIT");
	if (fail != MFX_ERR_NONE)
		return fail;
	s->vpp_init = true;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoVPP_Reset, (mfxSession session, mfxVideoParam *par))

mfxStatus MFXVideoVPP_Close(mfxSession session)
{
	rec("event=vpp_close");
	S(session)->vpp_init = false;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoVPP_GetVideoParam, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoVPP_GetVPPStat, (mfxSession session, mfxVPPStat *stat))

mfxStatus MFXVideoVPP_RunFrameVPPAsync(mfxSession session, mfxFrameSurface1 *in,
				       mfxFrameSurface1 *out, mfxExtVppAuxData *aux,
				       mfxSyncPoint *syncp)
{
	(void)aux;
	struct fake_session *s = S(session);
	if (!s->vpp_init)
		return MFX_ERR_NOT_INITIALIZED;
	if (!in || !out)
		return MFX_ERR_NULL_PTR;
	char fi[400], buf[8];
	rec_frameinfo(fi, sizeof(fi), "in_", &in->Info);
	rec("event=vpp in_memid=%p in_surface=%ld out_memid=%p out_surface=%ld out_fourcc=%s %s",
	    in->Data.MemId, surface_of(s, in->Data.MemId), out->Data.MemId,
	    surface_of(s, out->Data.MemId), fcc(out->Info.FourCC, buf), fi);
	*syncp = (mfxSyncPoint)(uintptr_t)0x4000;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoVPP_ProcessFrameAsync,
	    (mfxSession session, mfxFrameSurface1 *in, mfxFrameSurface1 **out))

/* ---- Not used by the encoder: present because the dispatcher looks them up ---- */

UNSUPPORTED(MFXMemory_GetSurfaceForVPP, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForVPPOut, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForEncode, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForDecode, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXVideoDECODE_Query, (mfxSession session, mfxVideoParam *in, mfxVideoParam *out))
UNSUPPORTED(MFXVideoDECODE_DecodeHeader,
	    (mfxSession session, mfxBitstream *bs, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_QueryIOSurf,
	    (mfxSession session, mfxVideoParam *par, mfxFrameAllocRequest *request))
UNSUPPORTED(MFXVideoDECODE_Init, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_Reset, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_Close, (mfxSession session))
UNSUPPORTED(MFXVideoDECODE_GetVideoParam, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_GetDecodeStat, (mfxSession session, mfxDecodeStat *stat))
UNSUPPORTED(MFXVideoDECODE_SetSkipMode, (mfxSession session, mfxSkipMode mode))
UNSUPPORTED(MFXVideoDECODE_GetPayload, (mfxSession session, mfxU64 *ts, mfxPayload *payload))
UNSUPPORTED(MFXVideoDECODE_DecodeFrameAsync,
	    (mfxSession session, mfxBitstream *bs, mfxFrameSurface1 *surface_work,
	     mfxFrameSurface1 **surface_out, mfxSyncPoint *syncp))
UNSUPPORTED(MFXVideoDECODE_VPP_Init,
	    (mfxSession session, mfxVideoParam *decode_par, mfxVideoChannelParam **vpp_par_array,
	     mfxU32 num_vpp_par))
UNSUPPORTED(MFXVideoDECODE_VPP_DecodeFrameAsync,
	    (mfxSession session, mfxBitstream *bs, mfxU32 *skip_channels,
	     mfxU32 num_skip_channels, mfxSurfaceArray **surf_array_out))
UNSUPPORTED(MFXVideoDECODE_VPP_Reset,
	    (mfxSession session, mfxVideoParam *decode_par, mfxVideoChannelParam **vpp_par_array,
	     mfxU32 num_vpp_par))
UNSUPPORTED(MFXVideoDECODE_VPP_GetChannelParam,
	    (mfxSession session, mfxVideoChannelParam *par, mfxU32 channel_id))
UNSUPPORTED(MFXVideoDECODE_VPP_Close, (mfxSession session))
