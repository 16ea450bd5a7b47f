/* The VPL pipeline of one encoder: VPP (RGB → NV12) and ENCODE on a session it is given.
 *
 * Owns the two components' lifetimes, the NV12 surfaces between them, the bitstream buffer
 * and the SPS/PPS read back from the encoder. Chooses the path when opened:
 *  - if the owner allows it, RGB straight into ENCODE where Query says the encoder takes
 *    it (Gen11+, vpl-gpu-rt; never Gen9, whose AVC encoder is 4:2:0 only), first with the
 *    runtime's choice of encoder, then with LowPower (VDEnc); if Init then refuses what
 *    Query accepted, the VPP path below after all;
 *  - else VPP to NV12, then ENCODE; LowPower once more if ENCODE Init refuses the
 *    runtime's default (Debian's free media driver encodes AVC on VDEnc only).
 * Runs one frame at a time and waits for it: AsyncDepth 1. A frame the runtime is still
 * running after the waits is kept as pending and waited for before the next one (its
 * surfaces stay locked until then: the runtime sets Data.Locked, and we never hand a
 * locked surface back).
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
	bool open;
	bool rgb_encode;  /* ENCODE takes the RGB surfaces, no VPP */
	bool reopen;      /* after a GPU hang: the owner must reopen before the next frame */
	mfxSyncPoint pending; /* a frame given up on while still running, or NULL */
	bool low_power;   /* ENCODE asked for VDEnc */
	bool vpp_open, enc_open;
	mfxFrameAllocResponse pool_resp; /* NV12 surfaces between VPP and ENCODE */
	mfxFrameSurface1 *pool;
	mfxU16 pool_n;
	mfxBitstream bs; /* the last access unit, as the runtime wrote it */
	uint8_t headers[H264_VPL_HEADERS_MAX]; /* SPS + PPS, Annex B, from GetVideoParam */
	size_t headers_len;
};

/* (Re)open; try_rgb allows RGB straight into ENCODE. 0; -ENODEV with why when the
 * runtime or driver cannot do it; -ENOMEM, -EIO. Closed again on failure. */
int h264_vpl_pipeline_open(struct h264_vpl_pipeline *p, bool try_rgb, char *why,
			   size_t why_len);
/* Close the components and free their surfaces; the bitstream buffer stays. */
void h264_vpl_pipeline_close(struct h264_vpl_pipeline *p);
/* Close, and free the bitstream buffer. */
void h264_vpl_pipeline_free(struct h264_vpl_pipeline *p);

/* The frame info input surfaces must carry. */
const mfxFrameInfo *h264_vpl_pipeline_input_info(const struct h264_vpl_pipeline *p);

/* A frame given up on while still running: wait for it before new work (its surfaces are
 * the runtime's until then); its result no longer matters. 0; -EAGAIN (still running, or
 * it hung the GPU: p->reopen); -ENODEV. */
int h264_vpl_pipeline_settle(struct h264_vpl_pipeline *p);

/* Encode one input surface (an IDR with idr) and wait for it; the access unit is in
 * p->bs. 0; -EAGAIN: this frame is lost (busy, still running, or the runtime failed it),
 * the pipeline stays usable (after a reopen if p->reopen); -ENODEV: the device is gone.
 * Failures are logged, rate-limited. */
int h264_vpl_pipeline_run(struct h264_vpl_pipeline *p, mfxFrameSurface1 *in, bool idr);

#endif
