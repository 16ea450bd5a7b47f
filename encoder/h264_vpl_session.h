/* Finding a hardware VPL implementation and opening a session on it.
 *
 * The dispatcher's loader is the process's, made once: the first session (open_h264.c's
 * start-up probe, outside any stream lock) loads it, enumerates the implementations (which
 * loads every runtime and lets each probe its adapters) and remembers which one opened;
 * later sessions (one per shared stream, created on a client's thread) go straight to
 * that one. "None there" is remembered too, so auto mode does not probe again per stream.
 * A mutex of its own guards the loader, which libvpl does not make thread-safe; it is
 * held while the dispatcher loads or calls into a runtime, never while a caller holds a
 * lock of ours beyond the stream's own. The filters are only
 * Impl = MFX_IMPL_TYPE_HARDWARE and AccelerationMode = MFX_ACCEL_MODE_VIA_VAAPI: never an
 * API version >= 2 nor an encoder capability, because the Gen9 Media SDK runtime that
 * GVT-g hosts need reports API 1.35 and the dispatcher describes it without capability
 * lists. Whether it can encode is learnt from Query/Init afterwards.
 *
 * Called by any encoder owner thread (create/destroy); the loader state is under its mutex.
 */
#ifndef VGPU_H264_VPL_SESSION_H
#define VGPU_H264_VPL_SESSION_H

#include <stddef.h>

#include <vpl/mfx.h>

#include "log.h"

struct h264_vpl_session {
	mfxSession session;
};

/* 0, or -ENODEV with why when no hardware VA-API implementation gives a session; -ENOMEM. */
int h264_vpl_session_open(struct h264_vpl_session *s, char *why, size_t why_len);
/* Closes the session (the loader stays); safe on a zeroed or closed struct. */
void h264_vpl_session_close(struct h264_vpl_session *s);

/* Forget the loader and what it found, so the next session loads and enumerates again
 * (tests that change ONEVPL_SEARCH_PATH; shutdown). -EBUSY while a session is open. */
int h264_vpl_session_unload(void);

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
