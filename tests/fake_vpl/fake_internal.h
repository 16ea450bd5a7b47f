/* Inside the fake VPL runtime: the session, the log, the knobs, and the rules by which it
 * says no (fake_rules.c). See fake_runtime.c for what it is. */
#ifndef FAKE_VPL_INTERNAL_H
#define FAKE_VPL_INTERNAL_H

#define MFX_DEPRECATED_OFF
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vpl/mfx.h>

#define FAKE_TASKS 16

/* One submitted VPP or ENCODE operation, until a SyncOperation completes it. */
struct fake_task {
	mfxSyncPoint syncp;
	bool encode;
	mfxFrameSurface1 *surf[2]; /* what it locked (Data.Locked) */
	unsigned calls_left;       /* SyncOperation calls until done */
	mfxStatus result;          /* what the completing SyncOperation returns */
};

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
	struct fake_task tasks[FAKE_TASKS]; /* in submission order */
	unsigned n_tasks, submitted;
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

/* One "event=... key=value" line appended to $FAKE_VPL_LOG. */
void fake_rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool fake_env_on(const char *name);
/* $name as an mfxStatus (a number), MFX_ERR_NONE if unset. */
mfxStatus fake_env_status(const char *name);
/* "RGB4", "NV12", "P8" ... in buf. */
const char *fake_fcc(mfxU32 f, char buf[8]);
/* The VASurfaceID behind a MemId, through the application's GetHDL; -1 if none. */
long fake_surface_of(struct fake_session *s, mfxMemId mid);

/* ---- Rules (fake_rules.c) ---- */

/* Does ENCODE take this input? ($FAKE_VPL_PROFILE, $FAKE_VPL_ENC_RGB,
 * $FAKE_VPL_LOWPOWER_ONLY) query: Query's view, which $FAKE_VPL_RGB_INIT_FAILS makes
 * kinder than Init's. MFX_ERR_NONE or the refusal. */
mfxStatus fake_enc_takes(const mfxInfoMFX *m, bool query);
/* Does VPP take this input? MFX_ERR_NONE or the refusal. */
mfxStatus fake_vpp_takes(const mfxFrameInfo *in);
/* Check a surface handed to VPP (where "vpp_in"/"vpp_out") or ENCODE ("enc_in") against
 * what the driver says it is; MFX_ERR_NONE, or logs event=bad_surface and refuses. */
mfxStatus fake_check_surface(struct fake_session *s, const mfxFrameSurface1 *f,
			     const char *where);
/* Lock the surfaces for a new task; refuses one still locked (event=locked_reuse) unless
 * an unfinished VPP task of ours holds it as ENCODE's input. */
mfxStatus fake_submit(struct fake_session *s, bool encode, mfxFrameSurface1 *a,
		      mfxFrameSurface1 *b, mfxSyncPoint *syncp);
/* SyncOperation. */
mfxStatus fake_sync(struct fake_session *s, mfxSyncPoint syncp);
/* Finish every task (Close). */
void fake_drain(struct fake_session *s);
/* Hand the internal frames back to the application's allocator (ENCODE Close, MFXClose). */
void fake_free_internal(struct fake_session *s);

#endif
