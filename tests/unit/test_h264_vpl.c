/* The VPL back end, up to the seam: the real libvpl dispatcher drives the fake runtime of
 * tests/fake_vpl (found through ONEVPL_SEARCH_PATH, set by CMake), and vaCreateSurfaces /
 * vaDestroySurfaces are replaced by the recording fakes below (there is no VA display
 * here). We check what the back end asked the runtime and VA for, from the fake's log
 * ($FAKE_VPL_LOG), and that the packets are the runtime's Annex B access units.
 *
 * What this cannot show: that a real runtime and media driver accept these parameters,
 * import a GVT dma-buf, or produce a picture. That needs a Gen9 GVT-g host.
 */
#include "vpl_harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <va/va_drmcommon.h>

#include "fake_stream.h"
#include "h264_vpl_params.h"
#include "skip_status.h"

/* ---- Session: filters ---- */

static void test_no_runtime_is_enodev(void **state)
{
	(void)state;
	char *saved = strdup(getenv("ONEVPL_SEARCH_PATH"));
	char empty[PATH_MAX + 16];
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	assert_int_equal(mkdir(empty, 0700), 0);
	struct h264_encoder_config cfg = cfg_q(6);
	const char *paths[] = {empty, NULL};
	for (int i = 0; i < 2; i++) {
		if (paths[i])
			setenv("ONEVPL_SEARCH_PATH", paths[i], 1);
		else
			unsetenv("ONEVPL_SEARCH_PATH");
		struct h264_encoder *enc = NULL;
		char why[256] = "";
		assert_int_equal(h264_vpl_impl.create(&cfg, &enc, why, sizeof(why)), -ENODEV);
		assert_null(enc);
		assert_non_null(strstr(why, "VPL implementation"));
		create_refused(why, sizeof(why));
		assert_non_null(strstr(why, "VPL implementation"));
	}
	/* The fake runtime was never reached, and nothing touched VA. */
	assert_int_equal(log_count("query_impls"), 0);
	assert_int_equal(va.n_imports + va.n_pools, 0);
	setenv("ONEVPL_SEARCH_PATH", saved, 1);
	free(saved);
	rmdir(empty);
}

static void test_runtime_without_va_display_is_enodev(void **state)
{
	(void)state;
	if (access("/dev/dri", F_OK) == 0)
		SKIP_BECAUSE("this machine has /dev/dri: the real VA display path may open");
	struct h264_encoder_config cfg = cfg_q(6);
	struct h264_encoder *enc = NULL;
	char why[256] = "";
	assert_int_equal(h264_vpl_impl.create(&cfg, &enc, why, sizeof(why)), -ENODEV);
	assert_null(enc);
	assert_non_null(strstr(why, "no VA display"));
	/* The session was opened first, and closed again. */
	assert_int_equal(log_count("init"), 1);
	assert_int_equal(log_count("close"), 1);
	assert_int_equal(log_count("set_handle"), 0);
}

static void test_filters_pick_legacy_vaapi(void **state)
{
	(void)state;
	/* Offered: software (VA-API), hardware D3D11 at API 2.8, and hardware VA-API at
	 * API 1.35 without capability lists. Only hardware + VA-API filters, and no API
	 * version or encoder-capability filter, leave the last one. */
	struct vpl_run r = run_start(6);
	char line[2048];
	assert_true(log_line("init", 0, line, sizeof(line)) >= 0);
	assert_int_equal(log_count("init"), 1);
	assert_str(line, "api", "MFXInitEx");
	assert_int_equal(num(line, "impl"), MFX_IMPL_HARDWARE | MFX_IMPL_VIA_VAAPI);
	assert_str(line, "version", "1.35");
	run_end(&r);
}

static void test_filters_prefer_vpl2_vaapi(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_IMPLS", "vpl2");
	char line[2048];
	assert_true(log_line("init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "api", "MFXInitialize");
	assert_int_equal(num(line, "accel"), MFX_ACCEL_MODE_VIA_VAAPI);
	assert_int_equal(num(line, "vendor_impl_id"), 3);
	run_end(&r);
}

static void test_filters_refuse_software(void **state)
{
	(void)state;
	setenv("FAKE_VPL_IMPLS", "sw", 1);
	char why[256];
	create_refused(why, sizeof(why));
	assert_non_null(strstr(why, "no hardware VA-API VPL implementation"));
	assert_int_equal(log_count("query_impls"), 1); /* it was seen, and filtered out */
	assert_int_equal(log_count("init"), 0);
	assert_int_equal(va.n_imports + va.n_pools, 0);
}

/* ---- Parameters ---- */

static void test_session_and_parameters(void **state)
{
	(void)state;
	struct vpl_run r = run_start(0);
	char line[2048], want[64];

	/* The VA display reaches the session before any component is initialised. */
	int handle_at = log_line("set_handle", 0, line, sizeof(line));
	assert_true(handle_at >= 0);
	assert_int_equal(num(line, "type"), MFX_HANDLE_VA_DISPLAY);
	snprintf(want, sizeof(want), "%p", FAKE_DPY);
	assert_str(line, "hdl", want);
	int alloc_at = log_line("set_allocator", 0, line, sizeof(line));
	assert_true(alloc_at >= 0);
	assert_int_equal(num(line, "alloc") + num(line, "lock") + num(line, "unlock") +
				 num(line, "gethdl") + num(line, "free"),
			 5);

	/* RGB into ENCODE was asked for (runtime's encoder, then VDEnc) and refused: VPP
	 * converts, and the encoder is the runtime's choice. */
	assert_int_equal(log_count("enc_query"), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(log_line("enc_query", i, line, sizeof(line)) >= 0);
		assert_str(line, "fourcc", "RGB4");
		assert_int_equal(num(line, "lowpower"), i ? MFX_CODINGOPTION_ON : 0);
		assert_int_equal(num(line, "sts"), MFX_ERR_UNSUPPORTED);
	}

	int vpp_at = log_line("vpp_init", 0, line, sizeof(line));
	assert_true(vpp_at > handle_at && vpp_at > alloc_at);
	assert_int_equal(num(line, "iopattern"),
			 MFX_IOPATTERN_IN_VIDEO_MEMORY | MFX_IOPATTERN_OUT_VIDEO_MEMORY);
	assert_int_equal(num(line, "async"), 1);
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(num(line, "in_chroma"), MFX_CHROMAFORMAT_YUV444);
	assert_str(line, "out_fourcc", "NV12");
	assert_int_equal(num(line, "out_chroma"), MFX_CHROMAFORMAT_YUV420);
	assert_int_equal(num(line, "in_w"), 112);
	assert_int_equal(num(line, "in_h"), 64);
	assert_int_equal(num(line, "in_cropw"), W);
	assert_int_equal(num(line, "in_croph"), H);
	assert_int_equal(num(line, "out_w"), 112);
	assert_int_equal(num(line, "out_cropw"), W);
	assert_int_equal(num(line, "out_croph"), H);
	assert_int_equal(num(line, "in_picstruct"), MFX_PICSTRUCT_PROGRESSIVE);
	assert_str(line, "ext", "VVSI");
	assert_int_equal(num(line, "vvsi.in_range"), MFX_NOMINALRANGE_0_255);
	assert_int_equal(num(line, "vvsi.out_matrix"), MFX_TRANSFERMATRIX_BT601);
	assert_int_equal(num(line, "vvsi.out_range"), MFX_NOMINALRANGE_16_235);

	int enc_at = log_line("enc_init", 0, line, sizeof(line));
	assert_true(enc_at > vpp_at);
	assert_int_equal(num(line, "iopattern"), MFX_IOPATTERN_IN_VIDEO_MEMORY);
	assert_int_equal(num(line, "async"), 1);
	assert_int_equal(num(line, "codec"), MFX_CODEC_AVC);
	assert_int_equal(num(line, "profile"), MFX_PROFILE_AVC_CONSTRAINED_BASELINE);
	assert_int_equal(num(line, "rc"), MFX_RATECONTROL_CQP);
	assert_int_equal(num(line, "gop"), 0xFFFF);
	assert_int_equal(num(line, "refdist"), 1);
	assert_int_equal(num(line, "idrinterval"), 0);
	assert_int_equal(num(line, "numref"), 1);
	assert_int_equal(num(line, "slices"), 1);
	assert_int_equal(num(line, "lowpower"), 0);
	assert_str(line, "fourcc", "NV12");
	assert_int_equal(num(line, "chroma"), MFX_CHROMAFORMAT_YUV420);
	assert_int_equal(num(line, "w"), 112);
	assert_int_equal(num(line, "h"), 64);
	assert_int_equal(num(line, "cropw"), W);
	assert_int_equal(num(line, "croph"), H);
	assert_str(line, "fps", "30/1");
	assert_str(line, "ext", "CDOP,CDO2,VSIN");
	assert_int_equal(num(line, "co.maxdecframebuffering"), 1);
	assert_int_equal(num(line, "co.audelimiter"), MFX_CODINGOPTION_OFF);
	assert_int_equal(num(line, "co.nalhrdconformance"), MFX_CODINGOPTION_OFF);
	assert_int_equal(num(line, "co2.repeatpps"), MFX_CODINGOPTION_ON);
	assert_int_equal(num(line, "co2.lookahead"), 0);
	assert_int_equal(num(line, "vsi.matrix"), 6);
	assert_int_equal(num(line, "vsi.fullrange"), 0);

	/* The pool between VPP and ENCODE: VPP out (1) + ENCODE (2) NV12 surfaces. */
	assert_int_equal(va.n_pools, 2); /* the pool, and the runtime's internal NV12 */
	assert_int_equal(va.pools[0].n, 3);
	assert_int_equal(va.pools[0].rt_format, VA_RT_FORMAT_YUV420);
	assert_int_equal(va.pools[0].va_fourcc, VA_FOURCC_NV12);
	assert_int_equal(va.pools[0].width, 112);
	assert_int_equal(va.pools[0].height, 64);
	/* The runtime's own requests: NV12 served, its P8 bitstream buffers declined. */
	assert_true(log_line("alloc_internal", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "sts"), MFX_ERR_NONE);
	assert_int_equal(num(line, "surface0"), (long)va.pools[1].first);
	assert_true(log_line("alloc_internal", 1, line, sizeof(line)) >= 0);
	assert_str(line, "fourcc", "P8");
	assert_int_equal(num(line, "sts"), MFX_ERR_UNSUPPORTED);

	run_end(&r);
	assert_int_equal(log_count("enc_close"), 1);
	assert_int_equal(log_count("vpp_close"), 1);
	assert_true(log_line("free_internal", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "sts"), MFX_ERR_NONE);
}

static void test_quality_maps_to_qp(void **state)
{
	(void)state;
	assert_int_equal(h264_vpl_quality_qp(0), 40);
	assert_int_equal(h264_vpl_quality_qp(1), 38);
	assert_int_equal(h264_vpl_quality_qp(5), 29);
	assert_int_equal(h264_vpl_quality_qp(9), 20);
	assert_int_equal(h264_vpl_quality_qp(42), 20);

	char line[2048];
	struct h264_encoder *lo = create_ok(0);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "qpi"), 40);
	assert_int_equal(num(line, "qpp"), 40);
	destroy_and_check(lo);

	teardown(state);
	setup(state);
	struct h264_encoder *hi = create_ok(9);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "qpi"), 20);
	assert_int_equal(num(line, "qpp"), 20);
	destroy_and_check(hi);
}

/* ---- Frames ---- */

static void test_frames_import_once_idr_on_demand(void **state)
{
	(void)state;
	struct vpl_run r = run_start(6);
	char line[2048];

	/* 1: dma-buf 7, first of the stream: IDR although not forced. */
	encode_ok(r.enc, r.a, 7, false, true);
	assert_int_equal(va.n_imports, 1);
	const struct va_import *ia = &va.imports[0];
	assert_int_equal(ia->memtype, VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2);
	assert_int_equal(ia->rt_format, VA_RT_FORMAT_RGB32);
	assert_int_equal(ia->fd, r.a);
	assert_int_equal(ia->size, SIZE);
	assert_int_equal(ia->modifier, MOD);
	assert_int_equal(ia->pitch, STRIDE);
	assert_int_equal(ia->va_fourcc, VA_FOURCC_BGRX);
	assert_int_equal(ia->drm_format, DRM_FORMAT_XRGB8888);
	assert_int_equal(ia->num_objects, 1);
	assert_int_equal(ia->num_layers, 1);
	assert_int_equal(ia->width, W);
	assert_int_equal(ia->height, H);
	assert_true(log_line("vpp", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), ia->id); /* GetHDL gave the import */
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(num(line, "in_cropw"), W);
	long out0 = num(line, "out_surface");
	assert_true(is_pool_surface(out0));
	assert_str(line, "out_fourcc", "NV12");
	char memid_a[32];
	str(line, "in_memid", memid_a, sizeof(memid_a));
	assert_true(log_line("encode", 0, line, sizeof(line)) >= 0);
	assert_str(line, "ctrl", idr_ctrl);
	assert_int_equal(num(line, "surface"), out0); /* ENCODE gets VPP's output */
	assert_str(line, "fourcc", "NV12");

	/* 2: the same dma-buf: no import, no forced IDR, a P frame. */
	encode_ok(r.enc, r.a, 7, false, false);
	assert_int_equal(va.n_imports, 1);
	assert_true(log_line("vpp", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), ia->id);
	assert_str(line, "in_memid", memid_a);
	assert_true(log_line("encode", 1, line, sizeof(line)) >= 0);
	assert_str(line, "ctrl", "none");

	/* 3: a new id (a flip) and an IDR asked for: one import more, IDR in the control. */
	encode_ok(r.enc, r.b, 8, true, true);
	assert_int_equal(va.n_imports, 2);
	assert_int_equal(va.imports[1].fd, r.b);
	assert_true(log_line("vpp", 2, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), va.imports[1].id);
	assert_true(log_line("encode", 2, line, sizeof(line)) >= 0);
	assert_str(line, "ctrl", idr_ctrl);

	/* 4: back to dma-buf 7: still cached. */
	encode_ok(r.enc, r.a, 7, false, false);
	assert_int_equal(va.n_imports, 2);
	assert_true(log_line("vpp", 3, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), ia->id);
	assert_true(log_line("encode", 3, line, sizeof(line)) >= 0);
	assert_str(line, "ctrl", "none");

	assert_int_equal(log_count("encode"), 4);
	assert_int_equal(log_count("sync"), 4); /* one frame in flight, waited for */
	run_end(&r);
}

static void test_recycled_id_is_imported_again(void **state)
{
	(void)state;
	struct vpl_run r = run_start(6);
	encode_ok(r.enc, r.a, 7, false, true);
	VASurfaceID first = va.imports[0].id;
	/* Id 7 again, but another file: the old import must not be used. */
	encode_ok(r.enc, r.b, 7, false, false);
	assert_int_equal(va.n_imports, 2);
	assert_int_equal(va.imports[1].fd, r.b);
	assert_false(is_live(first));
	char line[2048];
	assert_true(log_line("vpp", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "in_surface"), va.imports[1].id);
	run_end(&r);
}

static void test_prime2_refused_falls_back_to_prime(void **state)
{
	(void)state;
	/* Legacy DRM_PRIME can state linear and Y-tiled layouts; the descriptor says which
	 * (the driver otherwise guesses from the buffer object). */
	static const uint64_t mods[] = {I915_FORMAT_MOD_Y_TILED, DRM_FORMAT_MOD_LINEAR};
	struct vpl_run r = run_start(6);
	va.refuse_prime2 = true;
	for (unsigned i = 0; i < 2; i++) {
		struct h264_frame f = frame_of(i ? r.b : r.a, 3 + i, DRM_FORMAT_XRGB8888);
		f.modifier = mods[i];
		struct h264_packet p;
		assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), 0);
		assert_packet(&p, i == 0);
		assert_int_equal(va.n_imports, i + 1);
		const struct va_import *im = &va.imports[i];
		assert_int_equal(im->memtype, VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME);
		assert_int_equal(im->ext_num_buffers, 1);
		assert_int_equal(im->ext_buffer, (uintptr_t)(i ? r.b : r.a));
		assert_int_equal(im->ext_data_size, SIZE);
		assert_int_equal(im->ext_pitch, STRIDE);
		assert_int_equal(im->ext_fourcc, VA_FOURCC_BGRX);
		assert_int_equal(im->ext_flags, i ? 0 : VA_SURFACE_EXTBUF_DESC_ENABLE_TILING);
	}
	run_end(&r);
}

static void test_prime2_refused_x_tiled_is_not_guessed(void **state)
{
	(void)state;
	/* X tiling cannot be stated in a legacy descriptor: the frame is refused as not
	 * importable, clearly, rather than left to the driver's guess; the encoder stays. */
	struct vpl_run r = run_start(6);
	va.refuse_prime2 = true;
	struct h264_frame f = frame_of(r.a, 3, DRM_FORMAT_XRGB8888); /* MOD: X-tiled */
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -ENOTSUP);
	assert_int_equal(va.n_imports, 0);
	assert_int_equal(log_count("vpp"), 0);
	f.modifier = DRM_FORMAT_MOD_INVALID; /* no modifier: no layout to state at all */
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -EINVAL);
	va.refuse_prime2 = false;
	f.modifier = MOD;
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), 0);
	assert_packet(&p, true);
	run_end(&r);
}

static void test_encoder_taking_rgb_skips_vpp(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_ENC_RGB", "1");
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 0);
	enc_init_is(0, line, sizeof(line), "RGB4");
	assert_int_equal(num(line, "chroma"), MFX_CHROMAFORMAT_YUV444);
	assert_int_equal(num(line, "iopattern"), MFX_IOPATTERN_IN_VIDEO_MEMORY);
	assert_int_equal(va.n_pools, 1); /* only the runtime's internal frames */
	encode_a16_ok(r.enc, r.a, 1, true); /* a buffer with the 16-aligned rows it reads */
	assert_true(log_line("encode", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "surface"), va.imports[0].id);
	assert_str(line, "fourcc", "RGB4");
	assert_int_equal(log_count("vpp"), 0);
	run_end(&r);
	assert_int_equal(log_count("vpp_close"), 0);
}

static void test_vdenc_only_driver_gets_lowpower(void **state)
{
	(void)state;
	/* A driver with VDEnc only (Debian's free media driver): the default Init is refused,
	 * the back end asks again with LowPower. */
	struct vpl_run r = run_on("FAKE_VPL_LOWPOWER_ONLY", "1");
	char line[2048];
	assert_int_equal(log_count("enc_init"), 2);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "lowpower"), 0);
	assert_true(log_line("enc_init", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "lowpower"), MFX_CODINGOPTION_ON);
	assert_str(line, "fourcc", "NV12");
	assert_int_equal(num(line, "rc"), MFX_RATECONTROL_CQP); /* what VDEnc does without HuC */
	encode_ok(r.enc, r.a, 1, false, true);
	encode_ok(r.enc, r.a, 1, false, false);
	run_end(&r);
}

static void test_vdenc_taking_rgb_skips_vpp(void **state)
{
	(void)state;
	/* Gen11+ VDEnc takes RGB: found by the second Query, no VPP. */
	setenv("FAKE_VPL_LOWPOWER_ONLY", "1", 1);
	struct vpl_run r = run_on("FAKE_VPL_ENC_RGB", "1");
	char line[2048];
	assert_true(log_line("enc_query", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "lowpower"), MFX_CODINGOPTION_ON);
	assert_int_equal(num(line, "sts"), MFX_ERR_NONE);
	assert_int_equal(log_count("vpp_init"), 0);
	assert_int_equal(log_count("enc_init"), 1);
	enc_init_is(0, line, sizeof(line), "RGB4");
	assert_int_equal(num(line, "lowpower"), MFX_CODINGOPTION_ON);
	encode_a16_ok(r.enc, r.a, 1, true);
	run_end(&r);
}

static void test_missing_headers_are_prepended(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_NO_HEADERS", "1");
	/* The runtime writes bare IDR slices; the packets still carry SPS and PPS (from
	 * GetVideoParam), byte for byte what a runtime that writes them would give. */
	encode_ok(r.enc, r.a, 1, false, true);
	encode_ok(r.enc, r.a, 1, false, false);
	encode_ok(r.enc, r.a, 1, true, true);
	char line[2048];
	assert_true(log_line("encode", 2, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "bytes"), sizeof(fake_idr_slice));
	run_end(&r);
}

static void test_xbgr_imports_rgbx_into_same_pipeline(void **state)
{
	(void)state;
	/* XBGR8888: the same RGB4 pipeline (VPP converts by the VA surface's format), the
	 * dma-buf imported as RGBX; the stream goes on, no new IDR. */
	struct vpl_run r = run_start(6);
	xbgr_after_xrgb(&r);
	run_end(&r);
}

/* ---- Failures ---- */

static void test_init_failures_unwind(void **state)
{
	(void)state;
	char why[256];
	setenv("FAKE_VPL_FAIL_ENC_INIT", "-3", 1); /* MFX_ERR_UNSUPPORTED */
	create_refused(why, sizeof(why));
	assert_non_null(strstr(why, "MFXVideoENCODE_Init"));
	assert_non_null(strstr(why, "MFX_ERR_UNSUPPORTED"));
	assert_int_equal(va.n_live, 0);
	assert_int_equal(log_count("vpp_close"), 1);
	assert_int_equal(log_count("close"), 1);

	teardown(state);
	setup(state);
	setenv("FAKE_VPL_FAIL_VPP_INIT", "-15", 1); /* MFX_ERR_INVALID_VIDEO_PARAM */
	create_refused(why, sizeof(why));
	assert_non_null(strstr(why, "MFXVideoVPP_Init"));
	assert_non_null(strstr(why, "non-free"));
	assert_int_equal(va.n_live, 0);
	assert_int_equal(log_count("enc_init"), 0);
	assert_int_equal(log_count("close"), 1);
}

static void test_bad_frames_are_refused(void **state)
{
	(void)state;
	struct vpl_run r = run_start(6);
	struct h264_packet p;
	struct h264_frame f = frame_of(-1, 1, DRM_FORMAT_XRGB8888);
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -ENOTSUP);
	f = frame_of(r.a, 1, DRM_FORMAT_NV12);
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -EINVAL);
	f = frame_of(r.a, 1, DRM_FORMAT_XRGB8888);
	f.dmabuf_size = STRIDE * (H - 1); /* smaller than the frame it claims */
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -EINVAL);
	f = frame_of(r.a, 1, DRM_FORMAT_XRGB8888);
	f.dmabuf_stride = W * 4 - 4; /* narrower than a row */
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), -EINVAL);
	assert_int_equal(va.n_imports, 0);
	assert_int_equal(log_count("encode"), 0);
	/* The encoder is still good. */
	encode_ok(r.enc, r.a, 1, false, true);
	run_end(&r);
}

static void test_bitstream_grows(void **state)
{
	(void)state;
	struct vpl_run r = run_on("FAKE_VPL_MIN_BITSTREAM", "4000000");
	encode_ok(r.enc, r.a, 1, false, true);
	assert_true(log_count("encode_not_enough_buffer") >= 1);
	run_end(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_runtime_is_enodev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_without_va_display_is_enodev, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_filters_pick_legacy_vaapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_prefer_vpl2_vaapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_refuse_software, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_and_parameters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quality_maps_to_qp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frames_import_once_idr_on_demand, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recycled_id_is_imported_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prime2_refused_falls_back_to_prime, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prime2_refused_x_tiled_is_not_guessed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_encoder_taking_rgb_skips_vpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vdenc_only_driver_gets_lowpower, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vdenc_taking_rgb_skips_vpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_headers_are_prepended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xbgr_imports_rgbx_into_same_pipeline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_init_failures_unwind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frames_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitstream_grows, setup, teardown),
	};
	return VPL_MAIN(tests);
}
