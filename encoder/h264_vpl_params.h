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
 *    (MatrixCoefficients 6), the same matrix libyuv's ARGBToI420 uses for x264 (with RGB
 *    straight into ENCODE, see h264_vpl_params_build);
 *  - rate control: CQP, QP from the client's quality level, see h264_vpl_quality_qp();
 *  - LowPower (VDEnc) left to the runtime unless asked for: h264_vpl.c asks when the
 *    default path is refused (VDEnc is what Debian's free media driver has for AVC;
 *    without HuC it can only do CQP, which is ours). RGB input to the AVC encoder exists
 *    on Gen11+ (Ice Lake and later, vpl-gpu-rt) only: Gen9 (Skylake to Coffee Lake, Media
 *    SDK) encodes AVC from 4:2:0 alone and refuses RGB4 (Color420Only).
 *
 * The struct points into itself (ExtParam arrays): build it in place, never copy it.
 */
#ifndef VGPU_H264_VPL_PARAMS_H
#define VGPU_H264_VPL_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

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

/* Whether the back end takes a dma-buf of this DRM fourcc (XRGB/ARGB/XBGR/ABGR 8888);
 * *red_first says the bytes in memory are R,G,B,X (XBGR/ABGR) rather than B,G,R,X.
 *
 * Every input surface is labelled MFX_FOURCC_RGB4 for the runtime, whatever its byte
 * order: Gen9's Media SDK VPP refuses BGR4 input (mfx_vpp_utils.cpp, CheckFrameInfo),
 * and on Linux neither runtime reads the pixels or converts by the mfx label; they hand
 * the VASurfaceID to the media driver, which converts by the format the surface was
 * created with (the dma-buf import's VA fourcc, RGBX for XBGR8888). So RGB4 plus an
 * RGBX-imported surface is right on Media SDK and vpl-gpu-rt alike, and a guest
 * switching between XRGB and XBGR needs no new pipeline. The one place where the label
 * would matter is the encoder's own colour conversion (RGB straight into ENCODE): that
 * path is kept to B,G,R,X buffers (h264_vpl.c). */
bool h264_vpl_format_taken(uint32_t drm_fourcc, bool *red_first);

/* Fill p for cfg at this QP; input surfaces are RGB4 (above). rgb_encode: the encoder
 * takes the RGB surfaces itself (no VPP; enc gets RGB4 with 4:4:4 chroma, which only
 * Gen11+ runtimes accept); otherwise vpp converts to NV12 for enc. low_power: ask for
 * the VDEnc encoder (mfx.LowPower on); otherwise leave the choice to the runtime.
 *
 * The VUI's matrix: BT.601 when VPP converts (we tell VPP which matrix to apply); with
 * rgb_encode the encoder's conversion is the media driver's choice, which no API reports,
 * so the VUI leaves the matrix unspecified (2) rather than claim one. */
void h264_vpl_params_build(struct h264_vpl_params *p, const struct h264_encoder_config *cfg,
			   unsigned qp, bool rgb_encode, bool low_power);

/* Frame size in the 16-aligned units the runtimes want (crop keeps the real size). */
static inline mfxU16 h264_vpl_align16(uint32_t v)
{
	return (mfxU16)((v + 15) & ~15u);
}

#endif
