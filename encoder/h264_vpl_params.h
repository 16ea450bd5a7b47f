/* Parameters of the VPL pipeline: VPP (RGB → NV12) and ENCODE (H.264), low latency.
 *
 * Pure functions, any thread. The values and why (notes/vpl-zero-copy.md §2):
 *  - constrained baseline, one slice, no B-frames (GopRefDist 1), one reference, AsyncDepth
 *    1 on both VPP and ENCODE, no lookahead: one frame in, one frame out, as noVNC needs;
 *  - GopPicSize 0xFFFF, IdrInterval 0: no periodic key frames; IDRs come on demand through
 *    mfxEncodeCtrl.FrameType (client join, resize, reset);
 *  - mfxExtCodingOption: MaxDecFrameBuffering 1 (decoders output at once), AUDelimiter
 *    off (noVNC warns on NAL 9), NalHrdConformance off (so every RC mode and Reset work
 *    without a forced key frame), PicTimingSEI off;
 *  - mfxExtCodingOption2.RepeatPPS on;
 *  - colour: VPP converts with BT.601 to limited range, and the VUI says so
 *    (MatrixCoefficients 6), the same matrix libyuv's ARGBToI420 uses for x264;
 *  - rate control: CQP, QP from the client's quality level, see h264_vpl_quality_qp();
 *  - LowPower (VDEnc) left to the runtime unless asked for: h264_vpl.c asks when the
 *    default path is refused (VDEnc is what Debian's free media driver has for AVC, and
 *    on Kaby Lake+ it takes RGB itself; without HuC it can only do CQP, which is ours).
 *
 * The struct points into itself (ExtParam arrays): build it in place, never copy it.
 */
#ifndef VGPU_H264_VPL_PARAMS_H
#define VGPU_H264_VPL_PARAMS_H

#include <stdbool.h>

#include <vpl/mfx.h>

#include "h264_encoder.h"

struct h264_vpl_params {
	mfxVideoParam enc;
	mfxExtCodingOption co;
	mfxExtCodingOption2 co2;
	mfxExtVideoSignalInfo vsi;
	mfxExtBuffer *enc_ext[3];

	mfxVideoParam vpp;
	mfxExtVPPVideoSignalInfo vpp_vsi;
	mfxExtBuffer *vpp_ext[1];
};

/* Quality 0..9 (larger is better; above 9 counts as 9) → constant QP 40..20:
 * QP = 40 - round(20 * quality / 9). 0 → 40, 5 → 29, 9 → 20. CQP rather than VBR because
 * frames come only when the screen changes (no steady frame rate for a bitrate to mean
 * anything), and because VDEnc without HuC firmware can do nothing else. */
unsigned h264_vpl_quality_qp(unsigned quality);

/* The MFX fourcc for a DRM fourcc of the dma-buf (XRGB/ARGB → RGB4, XBGR/ABGR → BGR4),
 * 0 if the back end cannot take it. */
mfxU32 h264_vpl_mfx_fourcc(uint32_t drm_fourcc);

/* Fill p for cfg at this QP. in_fourcc is the MFX fourcc of the input surfaces (RGB4 or
 * BGR4). rgb_encode: the encoder takes the RGB surfaces itself (no VPP; enc gets
 * in_fourcc with 4:4:4 chroma); otherwise vpp converts to NV12 for enc. low_power: ask
 * for the VDEnc encoder (mfx.LowPower on); otherwise leave the choice to the runtime. */
void h264_vpl_params_build(struct h264_vpl_params *p, const struct h264_encoder_config *cfg,
			   unsigned qp, mfxU32 in_fourcc, bool rgb_encode, bool low_power);

/* Frame size in the 16-aligned units the runtimes want (crop keeps the real size). */
static inline mfxU16 h264_vpl_align16(uint32_t v)
{
	return (mfxU16)((v + 15) & ~15u);
}

#endif
