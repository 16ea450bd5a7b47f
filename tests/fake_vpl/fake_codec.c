/* The fake runtime's ENCODE and VPP: record what they are asked, apply fake_rules.c,
 * "encode" by copying the canned access units of fake_stream.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"
#include "fake_stream.h"

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
	fake_rec("event=alloc_internal fourcc=%s sts=%d n=%u surface0=%ld surface1=%ld",
	    fake_fcc(req.Info.FourCC, buf), st, s->has_internal ? s->internal.NumFrameActual : 0,
	    s->has_internal ? fake_surface_of(s, s->internal.mids[0]) : -1,
	    s->has_internal && s->internal.NumFrameActual > 1 ? fake_surface_of(s, s->internal.mids[1])
							      : -1);

	mfxFrameAllocResponse resp;
	memset(&resp, 0, sizeof(resp));
	req.Info.FourCC = MFX_FOURCC_P8;
	req.NumFrameMin = req.NumFrameSuggested = 1;
	st = s->alloc.Alloc(s->alloc.pthis, &req, &resp);
	fake_rec("event=alloc_internal fourcc=P8 sts=%d", st);
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
				       i ? "," : "", b ? fake_fcc(b->BufferId, buf) : "NULL");
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
		 prefix, fake_fcc(fi->FourCC, buf), prefix, fi->ChromaFormat, prefix, fi->Width, prefix,
		 fi->Height, prefix, fi->CropX, prefix, fi->CropY, prefix, fi->CropW, prefix,
		 fi->CropH, prefix, fi->PicStruct, prefix, fi->FrameRateExtN, fi->FrameRateExtD);
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
	mfxStatus st = fake_enc_takes(&in->mfx, true);
	fake_rec("event=enc_query fourcc=%s chroma=%u iopattern=0x%x lowpower=%u sts=%d",
		 fake_fcc(f, buf), in->mfx.FrameInfo.ChromaFormat, in->IOPattern,
		 in->mfx.LowPower, st);
	out->mfx = in->mfx;
	out->IOPattern = in->IOPattern;
	out->AsyncDepth = in->AsyncDepth;
	if (st != MFX_ERR_NONE) {
		/* as the runtime zeroes what it cannot do */
		out->mfx.FrameInfo.FourCC = 0;
		out->mfx.FrameInfo.ChromaFormat = 0;
	}
	return st;
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
	fake_rec("event=enc_query_io_surf n=2");
	return MFX_ERR_NONE;
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
	fake_rec("event=enc_init iopattern=0x%x async=%u codec=0x%x profile=%u level=%u tu=%u "
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
	mfxStatus takes = fake_enc_takes(m, false);
	if (takes != MFX_ERR_NONE)
		return takes;
	mfxStatus fail = fake_env_status("FAKE_VPL_FAIL_ENC_INIT");
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
	fake_rec("event=enc_reset rc=%u qpi=%u qpp=%u qpb=%u", par->mfx.RateControlMethod,
	    par->mfx.QPI, par->mfx.QPP, par->mfx.QPB);
	if (!s->enc_init)
		return MFX_ERR_NOT_INITIALIZED;
	s->enc.mfx = par->mfx;
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoENCODE_Close(mfxSession session)
{
	struct fake_session *s = S(session);
	fake_rec("event=enc_close");
	fake_drain(s);
	fake_free_internal(s);
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
	fake_rec("event=enc_get_video_param");
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
	mfxStatus bad = fake_check_surface(s, surface, "enc_in");
	if (bad != MFX_ERR_NONE)
		return bad;
	unsigned fail_first, fail_last, call = s->calls++;
	const char *fail = getenv("FAKE_VPL_FAIL_FRAMES");
	if (fail && sscanf(fail, "%u-%u", &fail_first, &fail_last) == 2 && call >= fail_first &&
	    call <= fail_last) {
		mfxStatus st = fake_env_status("FAKE_VPL_FAIL_FRAMES_STATUS");
		fake_rec("event=encode_fail frame=%u status=%d", call, st ? st : MFX_ERR_UNKNOWN);
		return st != MFX_ERR_NONE ? st : MFX_ERR_UNKNOWN;
	}
	const char *min = getenv("FAKE_VPL_MIN_BITSTREAM");
	if (min && *min && bs->MaxLength < (mfxU32)atol(min)) {
		fake_rec("event=encode_not_enough_buffer maxlength=%u", bs->MaxLength);
		return MFX_ERR_NOT_ENOUGH_BUFFER;
	}
	bool idr = s->frames == 0 || (ctrl && (ctrl->FrameType & MFX_FRAMETYPE_IDR));
	bool ok;
	if (idr) {
		bool headers = !fake_env_on("FAKE_VPL_NO_HEADERS");
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
	fake_rec("event=encode n=%u ctrl=%s memid=%p surface=%ld idr=%d bytes=%u %s", s->frames,
	    ctrlbuf, surface->Data.MemId, fake_surface_of(s, surface->Data.MemId), idr,
	    bs->DataLength, fi);
	mfxStatus st = fake_submit(s, true, surface, NULL, syncp);
	if (st == MFX_ERR_NONE)
		s->frames++;
	return st;
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
	return in ? fake_vpp_takes(&in->vpp.In) : MFX_ERR_NONE;
}

mfxStatus MFXVideoVPP_QueryIOSurf(mfxSession session, mfxVideoParam *par,
				  mfxFrameAllocRequest request[2])
{
	(void)session;
	mfxStatus takes = fake_vpp_takes(&par->vpp.In);
	if (takes != MFX_ERR_NONE)
		return takes;
	memset(request, 0, 2 * sizeof(*request));
	request[0].Info = par->vpp.In;
	request[0].NumFrameMin = request[0].NumFrameSuggested = 1;
	request[0].Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPIN |
			  MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	request[1].Info = par->vpp.Out;
	request[1].NumFrameMin = request[1].NumFrameSuggested = 1;
	request[1].Type = MFX_MEMTYPE_EXTERNAL_FRAME | MFX_MEMTYPE_FROM_VPPOUT |
			  MFX_MEMTYPE_VIDEO_MEMORY_PROCESSOR_TARGET;
	fake_rec("event=vpp_query_io_surf in=1 out=1");
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoVPP_Init(mfxSession session, mfxVideoParam *par)
{
	struct fake_session *s = S(session);
	char in[400], out[400], ext[600];
	rec_frameinfo(in, sizeof(in), "in_", &par->vpp.In);
	rec_frameinfo(out, sizeof(out), "out_", &par->vpp.Out);
	rec_ext(ext, sizeof(ext), par);
	fake_rec("event=vpp_init iopattern=0x%x async=%u %s %s %s", par->IOPattern,
	    par->AsyncDepth, in, out, ext);
	if (!s->va_display)
		return MFX_ERR_INVALID_HANDLE;
	if (!s->has_alloc)
		return MFX_ERR_INVALID_VIDEO_PARAM;
	mfxStatus takes = fake_vpp_takes(&par->vpp.In);
	if (takes != MFX_ERR_NONE)
		return takes;
	mfxStatus fail = fake_env_status("FAKE_VPL_FAIL_VPP_INIT");
	if (fail != MFX_ERR_NONE)
		return fail;
	s->vpp_init = true;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoVPP_Reset, (mfxSession session, mfxVideoParam *par))

mfxStatus MFXVideoVPP_Close(mfxSession session)
{
	fake_rec("event=vpp_close");
	fake_drain(S(session));
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
	fake_rec("event=vpp in_memid=%p in_surface=%ld out_memid=%p out_surface=%ld out_fourcc=%s %s",
	    in->Data.MemId, fake_surface_of(s, in->Data.MemId), out->Data.MemId,
	    fake_surface_of(s, out->Data.MemId), fake_fcc(out->Info.FourCC, buf), fi);
	mfxStatus st = fake_check_surface(s, in, "vpp_in");
	if (st == MFX_ERR_NONE)
		st = fake_check_surface(s, out, "vpp_out");
	if (st == MFX_ERR_NONE)
		st = fake_submit(s, false, in, out, syncp);
	return st;
}

UNSUPPORTED(MFXVideoVPP_ProcessFrameAsync,
	    (mfxSession session, mfxFrameSurface1 *in, mfxFrameSurface1 **out))

