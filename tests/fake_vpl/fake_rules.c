/* The fake runtime's rules: what the Gen9 (Media SDK) and Gen12 (vpl-gpu-rt) runtimes
 * refuse, the surfaces they hold (Data.Locked), and operations that take time or fail.
 *
 * $FAKE_VPL_PROFILE:
 *   unset   the permissive fake of old: VPP takes any RGB; ENCODE NV12, RGB4/BGR4 with
 *           $FAKE_VPL_ENC_RGB;
 *   gen9    Media SDK 22.5 rules: VPP refuses BGR4 input (mfx_vpp_utils.cpp,
 *           CheckFrameInfo); AVC ENCODE takes NV12 only (RGB4 is forced to 4:4:4 and
 *           refused by Color420Only; iHD lists AVC encode as 4:2:0 only on SKL/KBL);
 *   gen12   vpl-gpu-rt rules: VPP takes RGB4 and BGR4; ENCODE NV12, and RGB4 (4:4:4).
 * $FAKE_VPL_RGB_INIT_FAILS=<status>: Query accepts RGB4 into ENCODE where the profile
 * allows it, Init then refuses it so (the driver said no).
 * $FAKE_VPL_SYNC_CALLS=<n>: an ENCODE task needs n SyncOperation calls (the first n-1
 * say MFX_WRN_IN_EXECUTION). $FAKE_VPL_SYNC_FAIL_EVERY=<n>: every nth ENCODE task fails
 * at sync with $FAKE_VPL_SYNC_FAIL_STATUS (default MFX_ERR_UNKNOWN).
 *
 * Surfaces are checked against what the VA driver says they are (fake_va.h): a runtime
 * hands the VASurfaceID to the driver, which reads the format and size it was made with.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"
#include "fake_va.h"

enum profile { PROFILE_OLD, PROFILE_GEN9, PROFILE_GEN12 };

static enum profile profile(void)
{
	const char *p = getenv("FAKE_VPL_PROFILE");
	if (p && !strcmp(p, "gen9"))
		return PROFILE_GEN9;
	if (p && !strcmp(p, "gen12"))
		return PROFILE_GEN12;
	return PROFILE_OLD;
}

mfxStatus fake_enc_takes(const mfxInfoMFX *m, bool query)
{
	if (fake_env_on("FAKE_VPL_LOWPOWER_ONLY") && m->LowPower != MFX_CODINGOPTION_ON)
		return MFX_ERR_UNSUPPORTED;
	mfxU32 f = m->FrameInfo.FourCC;
	if (f == MFX_FOURCC_NV12)
		return m->FrameInfo.ChromaFormat == MFX_CHROMAFORMAT_YUV420 ? MFX_ERR_NONE
									  : MFX_ERR_INVALID_VIDEO_PARAM;
	bool rgb;
	switch (profile()) {
	case PROFILE_GEN9:
		rgb = false;
		break;
	case PROFILE_GEN12:
		rgb = f == MFX_FOURCC_RGB4 && m->FrameInfo.ChromaFormat == MFX_CHROMAFORMAT_YUV444;
		break;
	default:
		rgb = (f == MFX_FOURCC_RGB4 || f == MFX_FOURCC_BGR4) && fake_env_on("FAKE_VPL_ENC_RGB");
		break;
	}
	if (!rgb)
		return MFX_ERR_UNSUPPORTED;
	mfxStatus init_fails = fake_env_status("FAKE_VPL_RGB_INIT_FAILS");
	return query ? MFX_ERR_NONE : init_fails;
}

mfxStatus fake_vpp_takes(const mfxFrameInfo *in)
{
	mfxU32 f = in->FourCC;
	if (f == MFX_FOURCC_BGR4 && profile() == PROFILE_GEN9)
		return MFX_ERR_INVALID_VIDEO_PARAM;
	return f == MFX_FOURCC_RGB4 || f == MFX_FOURCC_BGR4 || f == MFX_FOURCC_NV12
		       ? MFX_ERR_NONE
		       : MFX_ERR_INVALID_VIDEO_PARAM;
}

static bool rgb32(uint32_t va_fourcc)
{
	return va_fourcc == VA_FOURCC_BGRX || va_fourcc == VA_FOURCC_BGRA ||
	       va_fourcc == VA_FOURCC_RGBX || va_fourcc == VA_FOURCC_RGBA ||
	       va_fourcc == VA_FOURCC_ARGB || va_fourcc == VA_FOURCC_ABGR;
}

/* Why the driver cannot use surface v where the runtime wants fi; NULL if it can. */
static const char *misfit(const struct fake_va_surface *v, const mfxFrameInfo *fi,
			  const char *where)
{
	bool vpp_in = !strcmp(where, "vpp_in");
	if (fi->FourCC == MFX_FOURCC_NV12) {
		if (v->rt_format != VA_RT_FORMAT_YUV420 || v->va_fourcc != VA_FOURCC_NV12)
			return "not an NV12 surface";
	} else if (v->rt_format != VA_RT_FORMAT_RGB32 || !rgb32(v->va_fourcc)) {
		return "not an RGB32 surface";
	}
	/* VPP reads its crop rectangle; ENCODE whole macroblocks, Width × Height. */
	unsigned w = vpp_in ? (unsigned)fi->CropX + fi->CropW : fi->Width;
	unsigned h = vpp_in ? (unsigned)fi->CropY + fi->CropH : fi->Height;
	if (v->width < w || v->height < h)
		return "smaller than what is read from it";
	/* The encoder's own conversion goes by the mfx label: RGB4 is B,G,R,A in memory. */
	if (!strcmp(where, "enc_in") && fi->FourCC == MFX_FOURCC_RGB4 &&
	    v->va_fourcc != VA_FOURCC_BGRX && v->va_fourcc != VA_FOURCC_BGRA)
		return "RGB4 to the encoder, but the surface's bytes are not B,G,R";
	return NULL;
}

mfxStatus fake_check_surface(struct fake_session *s, const mfxFrameSurface1 *f,
			     const char *where)
{
	static fake_va_lookup_fn lookup;
	if (!lookup)
		lookup = (fake_va_lookup_fn)dlsym(RTLD_DEFAULT, FAKE_VA_LOOKUP);
	long id = fake_surface_of(s, f->Data.MemId);
	if (!lookup)
		return MFX_ERR_NONE; /* no driver to ask: a test without fake_va.c */
	struct fake_va_surface v;
	const char *why = id < 0 ? "no VASurfaceID from GetHDL"
		      : !lookup((VASurfaceID)id, &v) ? "not a live VA surface"
						     : misfit(&v, &f->Info, where);
	if (!why)
		return MFX_ERR_NONE;
	char buf[8];
	fake_rec("event=bad_surface where=%s surface=%ld fourcc=%s w=%u h=%u why=\"%s\"", where, id,
		 fake_fcc(f->Info.FourCC, buf), f->Info.Width, f->Info.Height, why);
	return MFX_ERR_UNDEFINED_BEHAVIOR;
}

static bool held_by_vpp(const struct fake_session *s, const mfxFrameSurface1 *f)
{
	for (unsigned i = 0; i < s->n_tasks; i++)
		if (!s->tasks[i].encode && s->tasks[i].surf[1] == f)
			return true;
	return false;
}

mfxStatus fake_submit(struct fake_session *s, bool encode, mfxFrameSurface1 *a,
		      mfxFrameSurface1 *b, mfxSyncPoint *syncp)
{
	mfxFrameSurface1 *surf[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		if (!surf[i] || !surf[i]->Data.Locked || (encode && held_by_vpp(s, surf[i])))
			continue;
		fake_rec("event=locked_reuse encode=%d surface=%ld locked=%u", encode,
			 fake_surface_of(s, surf[i]->Data.MemId), surf[i]->Data.Locked);
		return MFX_ERR_UNDEFINED_BEHAVIOR;
	}
	if (s->n_tasks == FAKE_TASKS)
		return MFX_WRN_DEVICE_BUSY;
	struct fake_task *t = &s->tasks[s->n_tasks++];
	memset(t, 0, sizeof(*t));
	t->syncp = (mfxSyncPoint)(uintptr_t)(0x4000 + ++s->submitted);
	t->encode = encode;
	t->calls_left = 1;
	for (int i = 0; i < 2; i++) {
		t->surf[i] = surf[i];
		if (surf[i])
			surf[i]->Data.Locked++;
	}
	if (encode) {
		const char *calls = getenv("FAKE_VPL_SYNC_CALLS");
		if (calls && atoi(calls) > 1)
			t->calls_left = (unsigned)atoi(calls);
		const char *every = getenv("FAKE_VPL_SYNC_FAIL_EVERY");
		if (every && atoi(every) > 0 && (s->frames + 1) % (unsigned)atoi(every) == 0) {
			mfxStatus st = fake_env_status("FAKE_VPL_SYNC_FAIL_STATUS");
			t->result = st != MFX_ERR_NONE ? st : MFX_ERR_UNKNOWN;
		}
	}
	*syncp = t->syncp;
	return MFX_ERR_NONE;
}

/* Tasks 0..n-1 are done: their surfaces are free again. */
static void complete(struct fake_session *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (int j = 0; j < 2; j++)
			if (s->tasks[i].surf[j] && s->tasks[i].surf[j]->Data.Locked)
				s->tasks[i].surf[j]->Data.Locked--;
	memmove(s->tasks, s->tasks + n, (s->n_tasks - n) * sizeof(s->tasks[0]));
	s->n_tasks -= n;
}

mfxStatus fake_sync(struct fake_session *s, mfxSyncPoint syncp)
{
	for (unsigned i = 0; i < s->n_tasks; i++) {
		struct fake_task *t = &s->tasks[i];
		if (t->syncp != syncp)
			continue;
		if (--t->calls_left > 0)
			return MFX_WRN_IN_EXECUTION;
		mfxStatus st = t->result;
		complete(s, i + 1); /* the GPU runs them in order */
		return st;
	}
	return MFX_ERR_NULL_PTR; /* never submitted, or synced already */
}

void fake_drain(struct fake_session *s)
{
	complete(s, s->n_tasks);
}
