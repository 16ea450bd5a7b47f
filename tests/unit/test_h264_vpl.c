/* The VPL back end, up to the seam: the real libvpl dispatcher drives the fake runtime of
 * tests/fake_vpl (found through ONEVPL_SEARCH_PATH, set by CMake), and vaCreateSurfaces /
 * vaDestroySurfaces are replaced by the recording fakes below (there is no VA display
 * here). We check what the back end asked the runtime and VA for, from the fake's log
 * ($FAKE_VPL_LOG), and that the packets are the runtime's Annex B access units.
 *
 * What this cannot show: that a real runtime and media driver accept these parameters,
 * import a GVT dma-buf, or produce a picture. That needs a Gen9 GVT-g host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "skip_status.h"

#include <drm_fourcc.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <va/va.h>
#include <va/va_drmcommon.h>
#include <vpl/mfx.h>

#include "fake_stream.h"
#include "h264_encoder.h"
#include "h264_vpl.h"
#include "h264_vpl_params.h"

#define W 100 /* not a multiple of 16: the runtime sees 112×64 with a 100×50 crop */
#define H 50
#define STRIDE 512                /* X-tiled: 512-byte tile rows */
#define SIZE (STRIDE * 56)        /* height rounded up to the 8-row X tile, as GVT does */
#define MOD I915_FORMAT_MOD_X_TILED

/* ---- The VA seam: stands in for vaCreateSurfaces and vaDestroySurfaces ---- */

static int dpy_storage;
#define FAKE_DPY ((VADisplay)&dpy_storage)

struct va_import {
	VASurfaceID id;
	int memtype;
	unsigned rt_format, width, height;
	/* DRM_PRIME_2 */
	int fd;
	uint32_t size, pitch, va_fourcc, drm_format, num_objects, num_layers;
	uint64_t modifier;
	/* DRM_PRIME */
	uintptr_t ext_buffer;
	uint32_t ext_num_buffers, ext_data_size, ext_pitch, ext_fourcc;
};

struct va_pool {
	VASurfaceID first;
	unsigned n, rt_format, width, height;
	uint32_t va_fourcc;
};

static struct {
	struct va_import imports[32];
	unsigned n_imports;
	struct va_pool pools[32];
	unsigned n_pools;
	VASurfaceID live[256];
	unsigned n_live;
	bool refuse_prime2;
	bool wrong_dpy;
	VASurfaceID next;
} va;

static void live_add(VASurfaceID id)
{
	assert_true(va.n_live < 256);
	va.live[va.n_live++] = id;
}

static bool is_live(VASurfaceID id)
{
	for (unsigned i = 0; i < va.n_live; i++)
		if (va.live[i] == id)
			return true;
	return false;
}

static VAStatus fake_create_surfaces(VADisplay dpy, unsigned int format, unsigned int width,
				     unsigned int height, VASurfaceID *surfaces, unsigned int n,
				     VASurfaceAttrib *attrs, unsigned int num_attrs)
{
	if (dpy != FAKE_DPY)
		va.wrong_dpy = true;
	int memtype = 0;
	void *desc = NULL;
	uint32_t pixfmt = 0;
	for (unsigned i = 0; i < num_attrs; i++) {
		if (attrs[i].type == VASurfaceAttribMemoryType)
			memtype = attrs[i].value.value.i;
		else if (attrs[i].type == VASurfaceAttribExternalBufferDescriptor)
			desc = attrs[i].value.value.p;
		else if (attrs[i].type == VASurfaceAttribPixelFormat)
			pixfmt = (uint32_t)attrs[i].value.value.i;
	}
	if (memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 ||
	    memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME) {
		if (memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2 && va.refuse_prime2)
			return VA_STATUS_ERROR_ATTR_NOT_SUPPORTED;
		assert_int_equal(n, 1);
		assert_non_null(desc);
		assert_true(va.n_imports < 32);
		struct va_import *im = &va.imports[va.n_imports++];
		memset(im, 0, sizeof(*im));
		im->memtype = memtype;
		im->rt_format = format;
		im->width = width;
		im->height = height;
		if (memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2) {
			const VADRMPRIMESurfaceDescriptor *d = desc;
			im->fd = d->objects[0].fd;
			im->size = d->objects[0].size;
			im->modifier = d->objects[0].drm_format_modifier;
			im->pitch = d->layers[0].pitch[0];
			im->va_fourcc = d->fourcc;
			im->drm_format = d->layers[0].drm_format;
			im->num_objects = d->num_objects;
			im->num_layers = d->num_layers;
		} else {
			const VASurfaceAttribExternalBuffers *e = desc;
			im->ext_buffer = e->buffers[0];
			im->ext_num_buffers = e->num_buffers;
			im->ext_data_size = e->data_size;
			im->ext_pitch = e->pitches[0];
			im->ext_fourcc = e->pixel_format;
		}
		im->id = surfaces[0] = ++va.next;
		live_add(im->id);
		return VA_STATUS_SUCCESS;
	}
	assert_true(va.n_pools < 32);
	struct va_pool *p = &va.pools[va.n_pools++];
	p->n = n;
	p->rt_format = format;
	p->width = width;
	p->height = height;
	p->va_fourcc = pixfmt;
	va.next = (va.next + 0x100) & ~0xffu; /* pools start at round numbers */
	p->first = va.next;
	for (unsigned i = 0; i < n; i++) {
		surfaces[i] = va.next++;
		live_add(surfaces[i]);
	}
	return VA_STATUS_SUCCESS;
}

static VAStatus fake_destroy_surfaces(VADisplay dpy, VASurfaceID *surfaces, int n)
{
	if (dpy != FAKE_DPY)
		va.wrong_dpy = true;
	for (int i = 0; i < n; i++) {
		bool found = false;
		for (unsigned j = 0; j < va.n_live; j++) {
			if (va.live[j] == surfaces[i]) {
				va.live[j] = va.live[--va.n_live];
				found = true;
				break;
			}
		}
		assert_true(found); /* never destroy what was not created, nor twice */
	}
	return VA_STATUS_SUCCESS;
}

static const struct h264_vpl_va_fns fake_va = {
	.create_surfaces = fake_create_surfaces,
	.destroy_surfaces = fake_destroy_surfaces,
};

static bool is_pool_surface(long id)
{
	for (unsigned i = 0; i < va.n_pools; i++)
		if (id >= (long)va.pools[i].first && id < (long)(va.pools[i].first + va.pools[i].n))
			return true;
	return false;
}

/* ---- The fake runtime's log ---- */

static char tmpdir[PATH_MAX], log_path[PATH_MAX + 16];

static char *log_read(void)
{
	FILE *f = fopen(log_path, "r");
	if (!f)
		return calloc(1, 1);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* The nth (0-based) line of event ev into line; its index among all lines, or -1. */
static int log_line(const char *ev, int nth, char *line, size_t len)
{
	char *all = log_read();
	char want[64];
	snprintf(want, sizeof(want), "event=%s", ev);
	int idx = 0, found = -1;
	for (char *save = NULL, *l = strtok_r(all, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save), idx++) {
		size_t wl = strlen(want);
		if (strncmp(l, want, wl) != 0 || (l[wl] != ' ' && l[wl] != '\0'))
			continue;
		if (nth-- == 0) {
			snprintf(line, len, "%s", l);
			found = idx;
			break;
		}
	}
	free(all);
	return found;
}

static int log_count(const char *ev)
{
	char line[2048];
	int n = 0;
	while (log_line(ev, n, line, sizeof(line)) >= 0)
		n++;
	return n;
}

static const char *value_of(const char *line, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(line, k);
	if (!p) {
		print_error("no %s in: %s\n", key, line);
		fail();
	}
	return p + strlen(k);
}

static long num(const char *line, const char *key)
{
	return strtol(value_of(line, key), NULL, 0);
}

static void str(const char *line, const char *key, char *out, size_t len)
{
	const char *v = value_of(line, key);
	size_t n = strcspn(v, " ");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
}

static void assert_str(const char *line, const char *key, const char *want)
{
	char got[256];
	str(line, key, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		print_error("%s=%s, want %s in: %s\n", key, got, want, line);
		fail();
	}
}

/* ---- Fixtures and helpers ---- */

static const char *const knobs[] = {"FAKE_VPL_IMPLS",         "FAKE_VPL_ENC_RGB",
				    "FAKE_VPL_NO_HEADERS",    "FAKE_VPL_FAIL_ENC_INIT",
				    "FAKE_VPL_FAIL_VPP_INIT", "FAKE_VPL_MIN_BITSTREAM",
				    "FAKE_VPL_LOWPOWER_ONLY"};

static int setup(void **state)
{
	(void)state;
	static int n;
	snprintf(log_path, sizeof(log_path), "%s/log%d", tmpdir, n++);
	setenv("FAKE_VPL_LOG", log_path, 1);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		unsetenv(knobs[i]);
	memset(&va, 0, sizeof(va));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(log_path);
	return 0;
}

static struct h264_encoder_config cfg_q(unsigned quality)
{
	struct h264_encoder_config c = {.width = W, .height = H, .fps = 30, .quality = quality};
	return c;
}

static struct h264_encoder *create_ok(unsigned quality)
{
	struct h264_encoder_config cfg = cfg_q(quality);
	struct h264_encoder *enc = NULL;
	char why[256] = "";
	int r = h264_vpl_create_with_display(&cfg, FAKE_DPY, &fake_va, &enc, why, sizeof(why));
	if (r != 0)
		print_error("create: %d (%s)\n", r, why);
	assert_int_equal(r, 0);
	assert_non_null(enc);
	assert_ptr_equal(enc->impl, &h264_vpl_impl);
	assert_int_equal(enc->impl->caps, H264_TAKES_DMABUF); /* imports, never uploads */
	return enc;
}

static void destroy_and_check(struct h264_encoder *enc)
{
	h264_encoder_destroy(enc);
	/* Every VA surface the back end created is gone, on the display it was given. */
	assert_int_equal(va.n_live, 0);
	assert_false(va.wrong_dpy);
	assert_int_equal(log_count("close"), 1);
}

static int make_dmabuf(void)
{
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	return fd;
}

/* A test's encoder and the two dma-bufs (memfds) it may import. The fake runtime's
 * FAKE_VPL_* switches are set before run_start, since create reads them. */
struct vpl_run {
	struct h264_encoder *enc;
	int a, b;
};

static struct vpl_run run_start(unsigned quality)
{
	struct vpl_run r = {.enc = create_ok(quality)};
	r.a = make_dmabuf();
	r.b = make_dmabuf();
	return r;
}

/* destroy_and_check's checks, then the dma-bufs go. */
static void run_end(struct vpl_run *r)
{
	destroy_and_check(r->enc);
	close(r->a);
	close(r->b);
}

/* create_with_display refuses cfg_q(6) with -ENODEV and no encoder; why says why. */
static void create_refused(char *why, size_t len)
{
	struct h264_encoder_config cfg = cfg_q(6);
	struct h264_encoder *enc = NULL;
	why[0] = '\0';
	assert_int_equal(h264_vpl_create_with_display(&cfg, FAKE_DPY, &fake_va, &enc, why, len),
			 -ENODEV);
	assert_null(enc);
}

static struct h264_frame frame_of(int fd, uint32_t id, uint32_t fourcc)
{
	struct h264_frame f = {
		.pixels = NULL,
		.fourcc = fourcc,
		.dmabuf_fd = fd,
		.dmabuf_id = id,
		.modifier = MOD,
		.dmabuf_stride = STRIDE,
		.dmabuf_size = SIZE,
	};
	return f;
}

static void assert_packet(const struct h264_packet *p, bool idr)
{
	static uint8_t au[sizeof(fake_sps) + sizeof(fake_pps) + sizeof(fake_idr_slice)];
	size_t n = 0;
	if (idr) {
		memcpy(au, fake_sps, sizeof(fake_sps));
		n += sizeof(fake_sps);
		memcpy(au + n, fake_pps, sizeof(fake_pps));
		n += sizeof(fake_pps);
		memcpy(au + n, fake_idr_slice, sizeof(fake_idr_slice));
		n += sizeof(fake_idr_slice);
	} else {
		memcpy(au, fake_p_slice, sizeof(fake_p_slice));
		n = sizeof(fake_p_slice);
	}
	assert_int_equal(p->idr, idr);
	assert_int_equal(p->len, n);
	assert_memory_equal(p->data, au, n);
}

static void encode_ok(struct h264_encoder *enc, int fd, uint32_t id, bool force_idr, bool idr)
{
	struct h264_frame f = frame_of(fd, id, DRM_FORMAT_XRGB8888);
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(enc, &f, force_idr, &p), 0);
	assert_packet(&p, idr);
}

static char idr_ctrl[16];

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
	setenv("FAKE_VPL_IMPLS", "vpl2", 1);
	struct vpl_run r = run_start(6);
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
	struct vpl_run r = run_start(6);
	va.refuse_prime2 = true;
	encode_ok(r.enc, r.a, 3, false, true);
	assert_int_equal(va.n_imports, 1);
	const struct va_import *im = &va.imports[0];
	assert_int_equal(im->memtype, VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME);
	assert_int_equal(im->ext_num_buffers, 1);
	assert_int_equal(im->ext_buffer, (uintptr_t)r.a);
	assert_int_equal(im->ext_data_size, SIZE);
	assert_int_equal(im->ext_pitch, STRIDE);
	assert_int_equal(im->ext_fourcc, VA_FOURCC_BGRX);
	run_end(&r);
}

static void test_encoder_taking_rgb_skips_vpp(void **state)
{
	(void)state;
	setenv("FAKE_VPL_ENC_RGB", "1", 1);
	struct vpl_run r = run_start(6);
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 0);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "fourcc", "RGB4");
	assert_int_equal(num(line, "chroma"), MFX_CHROMAFORMAT_YUV444);
	assert_int_equal(num(line, "iopattern"), MFX_IOPATTERN_IN_VIDEO_MEMORY);
	assert_int_equal(va.n_pools, 1); /* only the runtime's internal frames */
	encode_ok(r.enc, r.a, 1, false, true);
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
	setenv("FAKE_VPL_LOWPOWER_ONLY", "1", 1);
	struct vpl_run r = run_start(6);
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
	/* Kaby Lake+ VDEnc takes RGB: found by the second Query, no VPP. */
	setenv("FAKE_VPL_LOWPOWER_ONLY", "1", 1);
	setenv("FAKE_VPL_ENC_RGB", "1", 1);
	struct vpl_run r = run_start(6);
	char line[2048];
	assert_true(log_line("enc_query", 1, line, sizeof(line)) >= 0);
	assert_int_equal(num(line, "lowpower"), MFX_CODINGOPTION_ON);
	assert_int_equal(num(line, "sts"), MFX_ERR_NONE);
	assert_int_equal(log_count("vpp_init"), 0);
	assert_int_equal(log_count("enc_init"), 1);
	assert_true(log_line("enc_init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "fourcc", "RGB4");
	assert_int_equal(num(line, "lowpower"), MFX_CODINGOPTION_ON);
	encode_ok(r.enc, r.a, 1, false, true);
	run_end(&r);
}

static void test_missing_headers_are_prepended(void **state)
{
	(void)state;
	setenv("FAKE_VPL_NO_HEADERS", "1", 1);
	struct vpl_run r = run_start(6);
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

static void test_xbgr_rebuilds_pipeline(void **state)
{
	(void)state;
	struct vpl_run r = run_start(6);
	encode_ok(r.enc, r.a, 1, false, true);
	encode_ok(r.enc, r.a, 1, false, false);
	struct h264_frame f = frame_of(r.b, 2, DRM_FORMAT_XBGR8888);
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(r.enc, &f, false, &p), 0);
	assert_packet(&p, true); /* a new stream starts with an IDR */
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 2);
	assert_int_equal(log_count("enc_init"), 2);
	assert_int_equal(log_count("enc_close"), 1);
	assert_true(log_line("vpp_init", 1, line, sizeof(line)) >= 0);
	assert_str(line, "in_fourcc", "BGR4");
	assert_int_equal(va.imports[1].va_fourcc, VA_FOURCC_RGBX);
	assert_int_equal(va.imports[1].drm_format, DRM_FORMAT_XBGR8888);
	assert_true(log_line("encode", 2, line, sizeof(line)) >= 0);
	assert_str(line, "ctrl", idr_ctrl);
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
	setenv("FAKE_VPL_MIN_BITSTREAM", "4000000", 1);
	struct vpl_run r = run_start(6);
	encode_ok(r.enc, r.a, 1, false, true);
	assert_true(log_count("encode_not_enough_buffer") >= 1);
	run_end(&r);
}

int main(void)
{
	snprintf(idr_ctrl, sizeof(idr_ctrl), "0x%x",
		 MFX_FRAMETYPE_I | MFX_FRAMETYPE_IDR | MFX_FRAMETYPE_REF);
	if (!getenv("ONEVPL_SEARCH_PATH"))
		setenv("ONEVPL_SEARCH_PATH", FAKE_VPL_DIR, 1); /* run by hand, not by ctest */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_h264_vpl.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
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
		cmocka_unit_test_setup_teardown(test_encoder_taking_rgb_skips_vpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vdenc_only_driver_gets_lowpower, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vdenc_taking_rgb_skips_vpp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_headers_are_prepended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_xbgr_rebuilds_pipeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_failures_unwind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frames_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bitstream_grows, setup, teardown),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return skip_status(r);
}
