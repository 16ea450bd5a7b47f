/* VPP and ENCODE parameters for low-latency H.264 (the why is in the header). */
#include "h264_vpl_params.h"

#include <drm_fourcc.h>
#include <string.h>

unsigned h264_vpl_quality_qp(unsigned quality)
{
	if (quality > 9)
		quality = 9;
	return 40 - (20 * quality + 4) / 9;
}

bool h264_vpl_format_taken(uint32_t drm_fourcc, bool *red_first)
{
	switch (drm_fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		*red_first = false; /* bytes B,G,R,X */
		return true;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		*red_first = true; /* bytes R,G,B,X */
		return true;
	default:
		return false;
	}
}

static void frame_info(mfxFrameInfo *fi, const struct h264_encoder_config *cfg, mfxU32 fourcc,
		       mfxU16 chroma)
{
	memset(fi, 0, sizeof(*fi));
	fi->FourCC = fourcc;
	fi->ChromaFormat = chroma;
	fi->PicStruct = MFX_PICSTRUCT_PROGRESSIVE;
	fi->Width = h264_vpl_align16(cfg->width);
	fi->Height = h264_vpl_align16(cfg->height);
	fi->CropX = 0;
	fi->CropY = 0;
	fi->CropW = (mfxU16)cfg->width;
	fi->CropH = (mfxU16)cfg->height;
	fi->FrameRateExtN = cfg->fps ? cfg->fps : 30;
	fi->FrameRateExtD = 1;
	fi->AspectRatioW = 1;
	fi->AspectRatioH = 1;
}

static void ext_header(mfxExtBuffer *h, mfxU32 id, mfxU32 size)
{
	h->BufferId = id;
	h->BufferSz = size;
}

static void build_enc(struct h264_vpl_params *p, const struct h264_encoder_config *cfg,
		      unsigned qp, mfxU32 fourcc, mfxU16 chroma, mfxU16 matrix)
{
	mfxVideoParam *v = &p->enc;
	v->AsyncDepth = 1;
	v->IOPattern = MFX_IOPATTERN_IN_VIDEO_MEMORY;
	mfxInfoMFX *m = &v->mfx;
	m->CodecId = MFX_CODEC_AVC;
	m->CodecProfile = MFX_PROFILE_AVC_CONSTRAINED_BASELINE;
	m->CodecLevel = 0; /* the runtime picks it from size and rate */
	m->TargetUsage = MFX_TARGETUSAGE_BALANCED;
	m->GopPicSize = 0xFFFF;
	m->GopRefDist = 1;
	m->IdrInterval = 0;
	m->NumSlice = 1;
	m->NumRefFrame = 1;
	m->RateControlMethod = MFX_RATECONTROL_CQP;
	m->QPI = (mfxU16)qp;
	m->QPP = (mfxU16)qp;
	m->QPB = (mfxU16)qp; /* unused without B-frames; a sane value for Query */
	frame_info(&m->FrameInfo, cfg, fourcc, chroma);

	ext_header(&p->co.Header, MFX_EXTBUFF_CODING_OPTION, sizeof(p->co));
	p->co.MaxDecFrameBuffering = 1;
	p->co.AUDelimiter = MFX_CODINGOPTION_OFF;
	p->co.NalHrdConformance = MFX_CODINGOPTION_OFF;
	p->co.PicTimingSEI = MFX_CODINGOPTION_OFF;

	ext_header(&p->co2.Header, MFX_EXTBUFF_CODING_OPTION2, sizeof(p->co2));
	p->co2.RepeatPPS = MFX_CODINGOPTION_ON;

	/* VUI: limited range, BT.709 primaries (sRGB), the matrix (see the header). */
	ext_header(&p->vsi.Header, MFX_EXTBUFF_VIDEO_SIGNAL_INFO, sizeof(p->vsi));
	p->vsi.VideoFormat = 5; /* unspecified */
	p->vsi.VideoFullRange = 0;
	p->vsi.ColourDescriptionPresent = 1;
	p->vsi.ColourPrimaries = 1;
	p->vsi.TransferCharacteristics = 1;
	p->vsi.MatrixCoefficients = matrix;

	p->enc_ext[0] = &p->co.Header;
	p->enc_ext[1] = &p->co2.Header;
	p->enc_ext[2] = &p->vsi.Header;
	v->ExtParam = p->enc_ext;
	v->NumExtParam = 3;
}

static void build_vpp(struct h264_vpl_params *p, const struct h264_encoder_config *cfg)
{
	mfxVideoParam *v = &p->vpp;
	v->AsyncDepth = 1;
	v->IOPattern = MFX_IOPATTERN_IN_VIDEO_MEMORY | MFX_IOPATTERN_OUT_VIDEO_MEMORY;
	frame_info(&v->vpp.In, cfg, MFX_FOURCC_RGB4, MFX_CHROMAFORMAT_YUV444);
	frame_info(&v->vpp.Out, cfg, MFX_FOURCC_NV12, MFX_CHROMAFORMAT_YUV420);

	ext_header(&p->vpp_vsi.Header, MFX_EXTBUFF_VPP_VIDEO_SIGNAL_INFO, sizeof(p->vpp_vsi));
	p->vpp_vsi.In.TransferMatrix = MFX_TRANSFERMATRIX_BT601;
	p->vpp_vsi.In.NominalRange = MFX_NOMINALRANGE_0_255;
	p->vpp_vsi.Out.TransferMatrix = MFX_TRANSFERMATRIX_BT601;
	p->vpp_vsi.Out.NominalRange = MFX_NOMINALRANGE_16_235;
	p->vpp_ext[0] = &p->vpp_vsi.Header;
	v->ExtParam = p->vpp_ext;
	v->NumExtParam = 1;
}

void h264_vpl_params_build(struct h264_vpl_params *p, const struct h264_encoder_config *cfg,
			   unsigned qp, bool rgb_encode, bool low_power)
{
	memset(p, 0, sizeof(*p));
	if (rgb_encode) {
		/* The AVC encoder takes RGB4 only as 4:4:4 and converts inside. */
		build_enc(p, cfg, qp, MFX_FOURCC_RGB4, MFX_CHROMAFORMAT_YUV444, 2);
	} else {
		build_enc(p, cfg, qp, MFX_FOURCC_NV12, MFX_CHROMAFORMAT_YUV420, 6);
		build_vpp(p, cfg);
	}
	if (low_power)
		p->enc.mfx.LowPower = MFX_CODINGOPTION_ON;
}
