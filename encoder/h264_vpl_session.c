/* VPL dispatcher: hardware + VA-API filters, first implementation that gives a session. */
#include "h264_vpl_session.h"

#include <errno.h>
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

static int add_u32_filter(struct h264_vpl_session *s, const char *name, mfxU32 value,
			  char *why, size_t why_len)
{
	/* One mfxConfig per property: the dispatcher ANDs all configs of a loader. */
	mfxConfig cfg = MFXCreateConfig(s->loader);
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

int h264_vpl_session_open(struct h264_vpl_session *s, char *why, size_t why_len)
{
	memset(s, 0, sizeof(*s));
	s->loader = MFXLoad();
	if (!s->loader) {
		snprintf(why, why_len, "MFXLoad failed (libvpl dispatcher)");
		return -ENOMEM;
	}
	int r = add_u32_filter(s, "mfxImplDescription.Impl", MFX_IMPL_TYPE_HARDWARE, why,
			       why_len);
	if (r == 0)
		r = add_u32_filter(s, "mfxImplDescription.AccelerationMode",
				   MFX_ACCEL_MODE_VIA_VAAPI, why, why_len);
	if (r < 0) {
		h264_vpl_session_close(s);
		return r;
	}

	/* Take the first implementation that opens: the dispatcher sorts them (hardware,
	 * then highest API). One that fails (a runtime installed for another GPU) is
	 * skipped and named in the log. */
	mfxStatus last = MFX_ERR_NOT_FOUND;
	mfxU32 tried = 0;
	for (mfxU32 i = 0;; i++) {
		mfxHDL desc = NULL;
		mfxStatus st = MFXEnumImplementations(s->loader, i, MFX_IMPLCAPS_IMPLDESCSTRUCTURE,
						      &desc);
		if (st != MFX_ERR_NONE)
			break;
		MFXDispReleaseImplDescription(s->loader, desc);
		tried++;
		st = MFXCreateSession(s->loader, i, &s->session);
		if (st == MFX_ERR_NONE) {
			log_impl(s->loader, i);
			return 0;
		}
		s->session = NULL;
		last = st;
		log_warn("VPL: MFXCreateSession on implementation %u: %s (%d)", (unsigned)i,
			 h264_vpl_status_str(st), (int)st);
	}
	if (tried == 0)
		snprintf(why, why_len,
			 "no hardware VA-API VPL implementation (the libvpl dispatcher found none "
			 "in its default paths or ONEVPL_SEARCH_PATH; Gen9 needs libmfx1, newer "
			 "Intel GPUs libmfx-gen1.2)");
	else
		snprintf(why, why_len,
			 "%u hardware VA-API VPL implementation(s) found, none opened a session "
			 "(last MFXCreateSession: %s)",
			 (unsigned)tried, h264_vpl_status_str(last));
	h264_vpl_session_close(s);
	return -ENODEV;
}

void h264_vpl_session_close(struct h264_vpl_session *s)
{
	if (s->session) {
		mfxStatus st = MFXClose(s->session);
		if (st != MFX_ERR_NONE)
			log_warn("VPL: MFXClose: %s (%d)", h264_vpl_status_str(st), (int)st);
		s->session = NULL;
	}
	if (s->loader) {
		MFXUnload(s->loader);
		s->loader = NULL;
	}
}
