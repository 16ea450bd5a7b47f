/* The VPL pipeline of one encoder: VPP (RGB → NV12) and ENCODE on a session it is given.
 *
 * Owns the two components' lifetimes, the NV12 surfaces between them, the bitstream buffer
 * and the SPS/PPS read back from the encoder. Chooses the path when opened:
 *  - RGB straight into ENCODE where Query says the encoder takes it (Kaby Lake+ VDEnc),
 *    first with the runtime's choice of encoder, then with LowPower (VDEnc);
 *  - else VPP to NV12, then ENCODE; LowPower once more if ENCODE Init refuses the
 *    runtime's default (Debian's free media driver encodes AVC on VDEnc only).
 * Runs one frame at a time and waits for it: AsyncDepth 1, nothing in flight after
 * h264_vpl_pipeline_run() returns.
 *
 * Called by the encoder's owner thread. The struct must not move once opened (params
 * point into themselves).
 */
#ifndef VGPU_H264_VPL_PIPELINE_H
#define VGPU_H264_VPL_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpl/mfx.h>

#include "h264_encoder.h"
#include "h264_vpl_alloc.h"
#include "h264_vpl_params.h"

#define H264_VPL_HEADERS_MAX 1024

struct h264_vpl_pipeline {
	/* Set by the owner before opening. */
	mfxSession session;
	struct h264_vpl_alloc *alloc;
	struct h264_encoder_config cfg;
	unsigned qp;

	struct h264_vpl_params par;
	mfxU32 in_fourcc; /* the input it was opened for; 0 = closed */
	bool rgb_encode;  /* ENCODE takes the RGB surfaces, no VPP */
	bool low_power;   /* ENCODE asked for VDEnc */
	bool vpp_open, enc_open;
	mfxFrameAllocResponse pool_resp; /* NV12 surfaces between VPP and ENCODE */
	mfxFrameSurface1 *pool;
	mfxU16 pool_n;
	mfxBitstream bs; /* the last access unit, as the runtime wrote it */
	uint8_t headers[H264_VPL_HEADERS_MAX]; /* SPS + PPS, Annex B, from GetVideoParam */
	size_t headers_len;
};

/* (Re)open for input surfaces of this MFX fourcc (RGB4, BGR4). 0; -ENODEV with why when
 * the runtime or driver cannot do it; -ENOMEM, -EIO. Closed again on failure. */
int h264_vpl_pipeline_open(struct h264_vpl_pipeline *p, mfxU32 fourcc, char *why,
			   size_t why_len);
/* Close the components and free their surfaces; the bitstream buffer stays. */
void h264_vpl_pipeline_close(struct h264_vpl_pipeline *p);
/* Close, and free the bitstream buffer. */
void h264_vpl_pipeline_free(struct h264_vpl_pipeline *p);

/* The frame info input surfaces must carry. */
const mfxFrameInfo *h264_vpl_pipeline_input_info(const struct h264_vpl_pipeline *p);

/* Encode one input surface (an IDR with idr) and wait for it; the access unit is in
 * p->bs. 0, -EBUSY, -ETIMEDOUT, -EIO. Failures are logged, rate-limited. */
int h264_vpl_pipeline_run(struct h264_vpl_pipeline *p, mfxFrameSurface1 *in, bool idr);

#endif
