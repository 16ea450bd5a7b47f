/* VPL dispatcher: hardware + VA-API filters, first implementation that gives a session. */
#include "h264_vpl_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

const char *h264_vpl_status_str(mfxStatus st)
{
	switch (st) {
#define S(x) \
	case x:  \
		return #x
		S(MFX_ERR_NONE);
		S(MFX_ERR_UNKNOWN);
		S(MFX_ERR_NULL_PTR);
		S(MFX_ERR_UNSUPPORTED);
		S(MFX_ERR_MEMORY_ALLOC);
		S(MFX_ERR_NOT_ENOUGH_BUFFER);
		S(MFX_ERR_INVALID_HANDLE);
		S(MFX_ERR_LOCK_MEMORY);
		S(MFX_ERR_NOT_INITIALIZED);
		S(MFX_ERR_NOT_FOUND);
		S(MFX_ERR_MORE_DATA);
		S(MFX_ERR_MORE_SURFACE);
		S(MFX_ERR_ABORTED);
		S(MFX_ERR_DEVICE_LOST);
		S(MFX_ERR_INCOMPATIBLE_VIDEO_PARAM);
		S(MFX_ERR_INVALID_VIDEO_PARAM);
		S(MFX_ERR_UNDEFINED_BEHAVIOR);
		S(MFX_ERR_DEVICE_FAILED);
		S(MFX_ERR_MORE_BITSTREAM);
		S(MFX_ERR_GPU_HANG);
		S(MFX_ERR_REALLOC_SURFACE);
		S(MFX_ERR_RESOURCE_MAPPED);
		S(MFX_ERR_NOT_IMPLEMENTED);
		S(MFX_WRN_IN_EXECUTION);
		S(MFX_WRN_DEVICE_BUSY);
		S(MFX_WRN_VIDEO_PARAM_CHANGED);
		S(MFX_WRN_PARTIAL_ACCELERATION);
		S(MFX_WRN_INCOMPATIBLE_VIDEO_PARAM);
		S(MFX_WRN_VALUE_NOT_CHANGED);
		S(MFX_WRN_OUT_OF_RANGE);
		S(MFX_WRN_FILTER_SKIPPED);
#undef S
	default:
		return "unknown mfxStatus";
	}
}

/* The process's loader (see the header). All fields under lock. */
static struct {
	pthread_mutex_t lock;
	mfxLoader loader;
	bool probed;       /* loader made and enumerated */
	mfxU32 n_impls;    /* hardware VA-API implementations it found */
	long chosen;       /* the one that last opened a session, -1 none yet */
	char none_why[256]; /* n_impls == 0: why */
	unsigned sessions; /* open sessions: the loader must outlive them */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .chosen = -1};

static int add_u32_filter(mfxLoader loader, const char *name, mfxU32 value, char *why,
			  size_t why_len)
{
	/* One mfxConfig per property: the dispatcher ANDs all configs of a loader. */
	mfxConfig cfg = MFXCreateConfig(loader);
	if (!cfg) {
		snprintf(why, why_len, "MFXCreateConfig failed");
		return -ENOMEM;
	}
	mfxVariant v;
	memset(&v, 0, sizeof(v));
	v.Type = MFX_VARIANT_TYPE_U32;
	v.Data.U32 = value;
	mfxStatus st = MFXSetConfigFilterProperty(cfg, (const mfxU8 *)name, v);
	if (st != MFX_ERR_NONE) {
		snprintf(why, why_len, "MFXSetConfigFilterProperty(%s): %s (%d)", name,
			 h264_vpl_status_str(st), (int)st);
		return -EINVAL;
	}
	return 0;
}

static void log_impl(mfxLoader loader, mfxU32 i)
{
	mfxHDL h = NULL;
	if (MFXEnumImplementations(loader, i, MFX_IMPLCAPS_IMPLDESCSTRUCTURE, &h) != MFX_ERR_NONE ||
	    !h)
		return;
	const mfxImplDescription *d = h;
	mfxHDL path = NULL;
	if (MFXEnumImplementations(loader, i, MFX_IMPLCAPS_IMPLPATH, &path) != MFX_ERR_NONE)
		path = NULL;
	log_info("VPL: implementation %u: %.*s, API %u.%u, device %.*s, %s", (unsigned)i,
		 MFX_IMPL_NAME_LEN, d->ImplName, d->ApiVersion.Major, d->ApiVersion.Minor,
		 (int)sizeof(d->Dev.DeviceID), d->Dev.DeviceID, path ? (const char *)path : "?");
	if (path)
		MFXDispReleaseImplDescription(loader, path);
	MFXDispReleaseImplDescription(loader, h);
}

/* Make the loader and count what it offers. g.lock held. */
static int probe(char *why, size_t why_len)
{
	mfxLoader loader = MFXLoad();
	if (!loader) {
		snprintf(why, why_len, "MFXLoad failed (libvpl dispatcher)");
		return -ENOMEM;
	}
	int r = add_u32_filter(loader, "mfxImplDescription.Impl", MFX_IMPL_TYPE_HARDWARE, why,
			       why_len);
	if (r == 0)
		r = add_u32_filter(loader, "mfxImplDescription.AccelerationMode",
				   MFX_ACCEL_MODE_VIA_VAAPI, why, why_len);
	if (r < 0) {
		MFXUnload(loader);
		return r;
	}
	mfxU32 n = 0;
	for (;; n++) {
		mfxHDL desc = NULL;
		if (MFXEnumImplementations(loader, n, MFX_IMPLCAPS_IMPLDESCSTRUCTURE, &desc) !=
		    MFX_ERR_NONE)
			break;
		MFXDispReleaseImplDescription(loader, desc);
	}
	g.loader = loader;
	g.n_impls = n;
	g.chosen = -1;
	g.probed = true;
	snprintf(g.none_why, sizeof(g.none_why),
		 "no hardware VA-API VPL implementation (the libvpl dispatcher found none in its "
		 "default paths or ONEVPL_SEARCH_PATH; Gen9 needs libmfx1, newer Intel GPUs "
		 "libmfx-gen1.2)");
	return 0;
}

static mfxStatus try_impl(mfxU32 i, struct h264_vpl_session *s)
{
	mfxStatus st = MFXCreateSession(g.loader, i, &s->session);
	if (st == MFX_ERR_NONE) {
		if (g.chosen != (long)i)
			log_impl(g.loader, i);
		g.chosen = i;
		return st;
	}
	s->session = NULL;
	log_warn("VPL: MFXCreateSession on implementation %u: %s (%d)", (unsigned)i,
		 h264_vpl_status_str(st), (int)st);
	return st;
}

int h264_vpl_session_open(struct h264_vpl_session *s, char *why, size_t why_len)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&g.lock);
	int r = g.probed ? 0 : probe(why, why_len);
	if (r < 0)
		goto out;
	if (g.n_impls == 0) {
		snprintf(why, why_len, "%s", g.none_why);
		r = -ENODEV;
		goto out;
	}
	/* The one that opened last time first; else the first that opens, in the
	 * dispatcher's order (hardware, then highest API). One that fails (a runtime
	 * installed for another GPU) is skipped and named in the log. */
	mfxStatus last = MFX_ERR_NOT_FOUND;
	if (g.chosen >= 0 && (last = try_impl((mfxU32)g.chosen, s)) == MFX_ERR_NONE)
		goto opened;
	for (mfxU32 i = 0; i < g.n_impls; i++) {
		if ((long)i != g.chosen && (last = try_impl(i, s)) == MFX_ERR_NONE)
			goto opened;
	}
	snprintf(why, why_len,
		 "%u hardware VA-API VPL implementation(s) found, none opened a session "
		 "(last MFXCreateSession: %s)",
		 (unsigned)g.n_impls, h264_vpl_status_str(last));
	r = -ENODEV;
	goto out;
opened:
	g.sessions++;
out:
	pthread_mutex_unlock(&g.lock);
	return r;
}

void h264_vpl_session_close(struct h264_vpl_session *s)
{
	if (!s->session)
		return;
	/* Under the lock too: the dispatcher's session belongs to the shared loader. */
	pthread_mutex_lock(&g.lock);
	mfxStatus st = MFXClose(s->session);
	g.sessions--;
	pthread_mutex_unlock(&g.lock);
	if (st != MFX_ERR_NONE)
		log_warn("VPL: MFXClose: %s (%d)", h264_vpl_status_str(st), (int)st);
	s->session = NULL;
}

int h264_vpl_session_unload(void)
{
	pthread_mutex_lock(&g.lock);
	int r = 0;
	if (g.sessions) {
		r = -EBUSY;
	} else {
		if (g.loader)
			MFXUnload(g.loader);
		g.loader = NULL;
		g.probed = false;
		g.n_impls = 0;
		g.chosen = -1;
	}
	pthread_mutex_unlock(&g.lock);
	return r;
}
