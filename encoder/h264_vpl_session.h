/* Finding a hardware VPL implementation and opening a session on it.
 *
 * Owns the dispatcher's loader and the session. The filters are only
 * Impl = MFX_IMPL_TYPE_HARDWARE and AccelerationMode = MFX_ACCEL_MODE_VIA_VAAPI: never an
 * API version >= 2 nor an encoder capability, because the Gen9 Media SDK runtime that
 * GVT-g hosts need reports API 1.35 and the dispatcher describes it without capability
 * lists. Whether it can encode is learnt from Query/Init afterwards.
 *
 * Called by the encoder's owner thread only (create/destroy).
 */
#ifndef VGPU_H264_VPL_SESSION_H
#define VGPU_H264_VPL_SESSION_H

#include <stddef.h>

#include <vpl/mfx.h>

#include "log.h"

struct h264_vpl_session {
	mfxLoader loader;
	mfxSession session;
};

/* 0, or -ENODEV with why when no hardware VA-API implementation gives a session; -ENOMEM. */
int h264_vpl_session_open(struct h264_vpl_session *s, char *why, size_t why_len);
/* Closes the session and unloads the dispatcher; safe on a zeroed or half-open struct. */
void h264_vpl_session_close(struct h264_vpl_session *s);

/* "MFX_ERR_UNSUPPORTED" etc., for logs; never NULL. */
const char *h264_vpl_status_str(mfxStatus st);

/* The encoder's per-frame failures (h264_vpl.c, h264_vpl_pipeline.c): logged once per call
 * site every 5 s, however many frames fail. */
#define VPL_FRAME_ERROR(...)                                                         \
	do {                                                                         \
		static struct log_ratelimit rl_;                                     \
		log_ratelimited(&rl_, 5000, LOG_ERROR, "VPL encoder: " __VA_ARGS__); \
	} while (0)

#endif
