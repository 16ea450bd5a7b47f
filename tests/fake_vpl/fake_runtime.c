/* A fake VPL runtime, for testing the VPL back end without an Intel GPU.
 *
 * Built as libvplfake.so.1 in a directory of its own; the real libvpl 2.8 dispatcher finds
 * it through ONEVPL_SEARCH_PATH (it loads every libvpl*.so* there that exports
 * MFXInitialize), enumerates it through MFXQueryImplsDescription and forwards the
 * application's calls to it. It exports every function the dispatcher looks up: the 2.x
 * entry points it validates, and the 1.x table of dispatcher/linux/mfxvideo_functions.h
 * (v2023.1.1) plus MFXInit, MFXInitEx, MFXClose, MFXJoinSession. What the tests do not
 * need returns MFX_ERR_UNSUPPORTED.
 *
 * Implementations offered ($FAKE_VPL_IMPLS), so that the test can see which filters the
 * application set from which one it got:
 *   unset/"legacy": 0 "fake-sw"     software, API 2.8, VA-API
 *                   1 "fake-d3d11"  hardware, API 2.8, D3D11 only
 *                   2 "fake-msdk"   hardware, API 1.35, VA-API, no capability lists: what
 *                                   the dispatcher makes of Gen9's Media SDK runtime
 *   "vpl2":         the three above and 3 "fake-vpl2" hardware, API 2.8, VA-API
 *   "sw":           0 only
 * Other knobs: FAKE_VPL_PROFILE=gen9|gen12, FAKE_VPL_RGB_INIT_FAILS, FAKE_VPL_SYNC_CALLS,
 * FAKE_VPL_SYNC_FAIL_EVERY (fake_rules.c); FAKE_VPL_ENC_RGB=1 (ENCODE accepts RGB4/BGR4
 * input), FAKE_VPL_LOWPOWER_ONLY=1 (ENCODE accepts only mfx.LowPower on), FAKE_VPL_NO_HEADERS=1
 * (IDRs without SPS/PPS; GetVideoParam still gives them), FAKE_VPL_FAIL_ENC_INIT=<status>
 * and FAKE_VPL_FAIL_VPP_INIT=<status> (Init fails so), FAKE_VPL_MIN_BITSTREAM=<bytes>
 * (EncodeFrameAsync wants at least that much room, else MFX_ERR_NOT_ENOUGH_BUFFER),
 * FAKE_VPL_FAIL_FRAMES=<n>-<m> (a session's frames n..m, from 0, fail at EncodeFrameAsync with
 * $FAKE_VPL_FAIL_FRAMES_STATUS, default MFX_ERR_UNKNOWN: one lost frame).
 *
 * It records what it was asked for, one "event=... key=value ..." line per call, appended
 * to the file named by $FAKE_VPL_LOG, and encodes by copying the canned access units of
 * fake_stream.h. Descriptions are static: one loader at a time. ENCODE and VPP are in
 * fake_codec.c, what it refuses in fake_rules.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"

void fake_rec(const char *fmt, ...)
{
	const char *path = getenv("FAKE_VPL_LOG");
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

bool fake_env_on(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

mfxStatus fake_env_status(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? (mfxStatus)atoi(v) : MFX_ERR_NONE;
}

const char *fake_fcc(mfxU32 f, char buf[8])
{
	if (f == MFX_FOURCC_P8) {
		snprintf(buf, 8, "P8");
		return buf;
	}
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);
		buf[i] = (c >= 32 && c < 127) ? c : '?';
	}
	buf[4] = '\0';
	return buf;
}

/* ---- Implementation descriptions ---- */

static mfxAccelerationMode mode_vaapi = MFX_ACCEL_MODE_VIA_VAAPI;
static mfxAccelerationMode mode_d3d11 = MFX_ACCEL_MODE_VIA_D3D11;
static mfxImplDescription descs[4];
static mfxHDL desc_handles[4];

static void describe(mfxImplDescription *d, mfxU32 idx, const char *name, mfxImplType impl,
		     mfxU16 major, mfxU16 minor, mfxAccelerationMode *mode)
{
	memset(d, 0, sizeof(*d));
	d->Version.Version = MFX_IMPLDESCRIPTION_VERSION;
	d->Impl = impl;
	d->AccelerationMode = *mode;
	d->ApiVersion.Major = major;
	d->ApiVersion.Minor = minor;
	snprintf(d->ImplName, sizeof(d->ImplName), "%s", name);
	snprintf(d->License, sizeof(d->License), "MIT");
	d->VendorID = 0x8086;
	d->VendorImplID = idx;
	d->Dev.Version.Version = MFX_DEVICEDESCRIPTION_VERSION;
	snprintf(d->Dev.DeviceID, sizeof(d->Dev.DeviceID), "5916");
	d->AccelerationModeDescription.Version.Version = MFX_ACCELERATIONMODESCRIPTION_VERSION;
	d->AccelerationModeDescription.NumAccelerationModes = 1;
	d->AccelerationModeDescription.Mode = mode;
	d->PoolPolicies.Version.Version = MFX_POOLPOLICYDESCRIPTION_VERSION;
}

mfxHDL *MFXQueryImplsDescription(mfxImplCapsDeliveryFormat format, mfxU32 *num_impls)
{
	*num_impls = 0;
	if (format != MFX_IMPLCAPS_IMPLDESCSTRUCTURE)
		return NULL; /* no mfxImplementedFunctions: allowed, the dispatcher copes */
	const char *set = getenv("FAKE_VPL_IMPLS");
	if (!set || !*set)
		set = "legacy";
	mfxU32 n = 0;
	describe(&descs[n++], 0, "fake-sw", MFX_IMPL_TYPE_SOFTWARE, 2, 8, &mode_vaapi);
	if (strcmp(set, "sw") != 0) {
		describe(&descs[n++], 1, "fake-d3d11", MFX_IMPL_TYPE_HARDWARE, 2, 8, &mode_d3d11);
		describe(&descs[n++], 2, "fake-msdk", MFX_IMPL_TYPE_HARDWARE, 1, 35, &mode_vaapi);
	}
	if (strcmp(set, "vpl2") == 0)
		describe(&descs[n++], 3, "fake-vpl2", MFX_IMPL_TYPE_HARDWARE, 2, 8, &mode_vaapi);
	for (mfxU32 i = 0; i < n; i++)
		desc_handles[i] = &descs[i];
	*num_impls = n;
	fake_rec("event=query_impls set=%s n=%u", set, n);
	return desc_handles;
}

mfxStatus MFXReleaseImplDescription(mfxHDL hdl)
{
	(void)hdl;
	return MFX_ERR_NONE;
}

/* ---- Sessions ---- */

static mfxStatus new_session(mfxU16 major, mfxU16 minor, mfxSession *session)
{
	struct fake_session *s = calloc(1, sizeof(*s));
	if (!s)
		return MFX_ERR_MEMORY_ALLOC;
	s->version.Major = major;
	s->version.Minor = minor;
	*session = (mfxSession)s;
	return MFX_ERR_NONE;
}

mfxStatus MFXInitialize(mfxInitializationParam par, mfxSession *session)
{
	fake_rec("event=init api=MFXInitialize accel=0x%x vendor_impl_id=%u", par.AccelerationMode,
	    par.VendorImplID);
	return new_session(2, 8, session);
}

mfxStatus MFXInitEx(mfxInitParam par, mfxSession *session)
{
	fake_rec("event=init api=MFXInitEx impl=0x%x version=%u.%u", par.Implementation,
	    par.Version.Major, par.Version.Minor);
	return new_session(par.Version.Major, par.Version.Minor, session);
}

mfxStatus MFXInit(mfxIMPL impl, mfxVersion *ver, mfxSession *session)
{
	fake_rec("event=init api=MFXInit impl=0x%x", impl);
	return new_session(ver ? ver->Major : 1, ver ? ver->Minor : 35, session);
}

void fake_free_internal(struct fake_session *s)
{
	if (!s->has_internal)
		return;
	mfxStatus st = s->alloc.Free(s->alloc.pthis, &s->internal);
	fake_rec("event=free_internal sts=%d", st);
	s->has_internal = false;
}

mfxStatus MFXClose(mfxSession session)
{
	if (!session)
		return MFX_ERR_INVALID_HANDLE;
	fake_drain(S(session));
	fake_free_internal(S(session));
	fake_rec("event=close");
	free(session);
	return MFX_ERR_NONE;
}

mfxStatus MFXQueryIMPL(mfxSession session, mfxIMPL *impl)
{
	(void)session;
	*impl = MFX_IMPL_HARDWARE | MFX_IMPL_VIA_VAAPI;
	return MFX_ERR_NONE;
}

mfxStatus MFXQueryVersion(mfxSession session, mfxVersion *version)
{
	*version = S(session)->version;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXJoinSession, (mfxSession session, mfxSession child))
UNSUPPORTED(MFXDisjoinSession, (mfxSession session))
UNSUPPORTED(MFXCloneSession, (mfxSession session, mfxSession *clone))
UNSUPPORTED(MFXSetPriority, (mfxSession session, mfxPriority priority))
UNSUPPORTED(MFXGetPriority, (mfxSession session, mfxPriority *priority))

/* ---- CORE ---- */

mfxStatus MFXVideoCORE_SetFrameAllocator(mfxSession session, mfxFrameAllocator *allocator)
{
	struct fake_session *s = S(session);
	if (!allocator)
		return MFX_ERR_NULL_PTR;
	s->alloc = *allocator;
	s->has_alloc = true;
	fake_rec("event=set_allocator alloc=%d lock=%d unlock=%d gethdl=%d free=%d",
	    allocator->Alloc != NULL, allocator->Lock != NULL, allocator->Unlock != NULL,
	    allocator->GetHDL != NULL, allocator->Free != NULL);
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoCORE_SetHandle(mfxSession session, mfxHandleType type, mfxHDL hdl)
{
	fake_rec("event=set_handle type=%d hdl=%p", (int)type, hdl);
	if (type != MFX_HANDLE_VA_DISPLAY)
		return MFX_ERR_UNSUPPORTED;
	S(session)->va_display = hdl;
	return MFX_ERR_NONE;
}

mfxStatus MFXVideoCORE_GetHandle(mfxSession session, mfxHandleType type, mfxHDL *hdl)
{
	if (type != MFX_HANDLE_VA_DISPLAY || !S(session)->va_display)
		return MFX_ERR_NOT_FOUND;
	*hdl = S(session)->va_display;
	return MFX_ERR_NONE;
}

UNSUPPORTED(MFXVideoCORE_QueryPlatform, (mfxSession session, mfxPlatform *platform))

mfxStatus MFXVideoCORE_SyncOperation(mfxSession session, mfxSyncPoint syncp, mfxU32 wait)
{
	mfxStatus st = syncp ? fake_sync(S(session), syncp) : MFX_ERR_NULL_PTR;
	fake_rec("event=sync syncp=%p wait=%u sts=%d", (void *)syncp, wait, st);
	return st;
}

long fake_surface_of(struct fake_session *s, mfxMemId mid)
{
	mfxHDL h = NULL;
	if (!s->has_alloc || s->alloc.GetHDL(s->alloc.pthis, mid, &h) != MFX_ERR_NONE || !h)
		return -1;
	return (long)*(const uint32_t *)h; /* VASurfaceID * */
}

/* ---- Not used by the encoder: present because the dispatcher looks them up ---- */

UNSUPPORTED(MFXMemory_GetSurfaceForVPP, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForVPPOut, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForEncode, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXMemory_GetSurfaceForDecode, (mfxSession session, mfxFrameSurface1 **surface))
UNSUPPORTED(MFXVideoDECODE_Query, (mfxSession session, mfxVideoParam *in, mfxVideoParam *out))
UNSUPPORTED(MFXVideoDECODE_DecodeHeader,
	    (mfxSession session, mfxBitstream *bs, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_QueryIOSurf,
	    (mfxSession session, mfxVideoParam *par, mfxFrameAllocRequest *request))
UNSUPPORTED(MFXVideoDECODE_Init, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_Reset, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_Close, (mfxSession session))
UNSUPPORTED(MFXVideoDECODE_GetVideoParam, (mfxSession session, mfxVideoParam *par))
UNSUPPORTED(MFXVideoDECODE_GetDecodeStat, (mfxSession session, mfxDecodeStat *stat))
UNSUPPORTED(MFXVideoDECODE_SetSkipMode, (mfxSession session, mfxSkipMode mode))
UNSUPPORTED(MFXVideoDECODE_GetPayload, (mfxSession session, mfxU64 *ts, mfxPayload *payload))
UNSUPPORTED(MFXVideoDECODE_DecodeFrameAsync,
	    (mfxSession session, mfxBitstream *bs, mfxFrameSurface1 *surface_work,
	     mfxFrameSurface1 **surface_out, mfxSyncPoint *syncp))
UNSUPPORTED(MFXVideoDECODE_VPP_Init,
	    (mfxSession session, mfxVideoParam *decode_par, mfxVideoChannelParam **vpp_par_array,
	     mfxU32 num_vpp_par))
UNSUPPORTED(MFXVideoDECODE_VPP_DecodeFrameAsync,
	    (mfxSession session, mfxBitstream *bs, mfxU32 *skip_channels,
	     mfxU32 num_skip_channels, mfxSurfaceArray **surf_array_out))
UNSUPPORTED(MFXVideoDECODE_VPP_Reset,
	    (mfxSession session, mfxVideoParam *decode_par, mfxVideoChannelParam **vpp_par_array,
	     mfxU32 num_vpp_par))
UNSUPPORTED(MFXVideoDECODE_VPP_GetChannelParam,
	    (mfxSession session, mfxVideoChannelParam *par, mfxU32 channel_id))
UNSUPPORTED(MFXVideoDECODE_VPP_Close, (mfxSession session))
