/* The VPL tests' common part. See vpl_harness.h. */
#include "vpl_harness.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <va/va_drmcommon.h>

#include "fake_stream.h"
#include "fake_va.h"
#include "skip_status.h"

/* ---- The VA seam: stands in for vaCreateSurfaces and vaDestroySurfaces ---- */

int vpl_dpy_storage;

struct vpl_va va;

static void live_add(VASurfaceID id)
{
	assert_true(va.n_live < 256);
	va.live[va.n_live++] = id;
}

bool is_live(VASurfaceID id)
{
	for (unsigned i = 0; i < va.n_live; i++)
		if (va.live[i] == id)
			return true;
	return false;
}

/* The VA fourcc for a DRM fourcc, as FFmpeg's table (and ours) has it. */
static uint32_t va_of_drm(uint32_t drm)
{
	switch (drm) {
	case DRM_FORMAT_XRGB8888:
		return VA_FOURCC_BGRX;
	case DRM_FORMAT_ARGB8888:
		return VA_FOURCC_BGRA;
	case DRM_FORMAT_XBGR8888:
		return VA_FOURCC_RGBX;
	case DRM_FORMAT_ABGR8888:
		return VA_FOURCC_RGBA;
	default:
		return 0;
	}
}

/* What Intel's media driver would refuse in an import (media_libva.cpp and
 * media_libva_util.cpp: the fourcc must name the layer's format, one RGB32 plane at
 * offset 0, pitch and size must hold width × height, the modifier must be one it knows,
 * with its tile pitch); NULL if nothing. */
static const char *descriptor_fault(int memtype, unsigned format, unsigned width,
				    unsigned height, const void *desc)
{
	if (format != VA_RT_FORMAT_RGB32)
		return "not an RGB32 import";
	uint32_t fourcc, pitch, size, offset;
	if (memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2) {
		const VADRMPRIMESurfaceDescriptor *d = desc;
		if (d->num_objects != 1 || d->num_layers != 1 || d->layers[0].num_planes != 1 ||
		    d->layers[0].object_index[0] != 0)
			return "not one object, one layer, one plane";
		if (d->width != width || d->height != height)
			return "descriptor size differs from the surface's";
		if (va_of_drm(d->layers[0].drm_format) != d->fourcc)
			return "VA fourcc does not name the layer's DRM format";
		uint64_t mod = d->objects[0].drm_format_modifier;
		pitch = d->layers[0].pitch[0];
		if (mod != DRM_FORMAT_MOD_LINEAR && mod != I915_FORMAT_MOD_X_TILED &&
		    mod != I915_FORMAT_MOD_Y_TILED)
			return "modifier not supported";
		if ((mod == I915_FORMAT_MOD_X_TILED && pitch % 512) ||
		    (mod == I915_FORMAT_MOD_Y_TILED && pitch % 128))
			return "pitch not a whole number of tiles";
		fourcc = d->fourcc;
		size = d->objects[0].size;
		offset = d->layers[0].offset[0];
	} else {
		const VASurfaceAttribExternalBuffers *e = desc;
		if (e->num_buffers != 1 || e->num_planes != 1)
			return "not one buffer, one plane";
		if (e->width != width || e->height != height)
			return "descriptor size differs from the surface's";
		fourcc = e->pixel_format;
		pitch = e->pitches[0];
		size = e->data_size;
		offset = e->offsets[0];
	}
	if (fourcc != VA_FOURCC_BGRX && fourcc != VA_FOURCC_BGRA && fourcc != VA_FOURCC_RGBX &&
	    fourcc != VA_FOURCC_RGBA)
		return "not a 32-bit RGB fourcc";
	if (offset != 0)
		return "plane not at offset 0";
	if (pitch < width * 4)
		return "pitch narrower than a row";
	if ((uint64_t)pitch * height > size)
		return "buffer smaller than pitch × height";
	return NULL;
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
		const char *bad = descriptor_fault(memtype, format, width, height, desc);
		if (bad) {
			va.bad_descriptors++;
			snprintf(va.bad_why, sizeof(va.bad_why), "%s", bad);
			return VA_STATUS_ERROR_INVALID_PARAMETER;
		}
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
			im->ext_flags = e->flags;
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

/* What the driver knows of id (fake_va.h): exported, the fake runtime asks through dlsym. */
__attribute__((visibility("default"))) bool fake_va_lookup(VASurfaceID id,
							    struct fake_va_surface *out);
bool fake_va_lookup(VASurfaceID id, struct fake_va_surface *out)
{
	if (!is_live(id))
		return false;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < va.n_imports; i++) {
		const struct va_import *im = &va.imports[i];
		if (im->id != id)
			continue;
		bool p2 = im->memtype == VA_SURFACE_ATTRIB_MEM_TYPE_DRM_PRIME_2;
		out->imported = true;
		out->rt_format = im->rt_format;
		out->width = im->width;
		out->height = im->height;
		out->va_fourcc = p2 ? im->va_fourcc : im->ext_fourcc;
		out->drm_format = im->drm_format;
		out->pitch = p2 ? im->pitch : im->ext_pitch;
		out->size = p2 ? im->size : im->ext_data_size;
		out->modifier = im->modifier;
		return true;
	}
	for (unsigned i = 0; i < va.n_pools; i++) {
		const struct va_pool *p = &va.pools[i];
		if (id < p->first || id >= p->first + p->n)
			continue;
		out->rt_format = p->rt_format;
		out->width = p->width;
		out->height = p->height;
		out->va_fourcc = p->va_fourcc;
		return true;
	}
	return false;
}

const struct h264_vpl_va_fns fake_va = {
	.create_surfaces = fake_create_surfaces,
	.destroy_surfaces = fake_destroy_surfaces,
};

bool is_pool_surface(long id)
{
	for (unsigned i = 0; i < va.n_pools; i++)
		if (id >= (long)va.pools[i].first && id < (long)(va.pools[i].first + va.pools[i].n))
			return true;
	return false;
}

/* ---- The fake runtime's log ---- */

char tmpdir[PATH_MAX], log_path[PATH_MAX + 16];

char *log_read(void)
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
int log_line(const char *ev, int nth, char *line, size_t len)
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

int log_count(const char *ev)
{
	char line[2048];
	int n = 0;
	while (log_line(ev, n, line, sizeof(line)) >= 0)
		n++;
	return n;
}

const char *value_of(const char *line, const char *key)
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

long num(const char *line, const char *key)
{
	return strtol(value_of(line, key), NULL, 0);
}

void str(const char *line, const char *key, char *out, size_t len)
{
	const char *v = value_of(line, key);
	size_t n = strcspn(v, " ");
	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
}

void assert_str(const char *line, const char *key, const char *want)
{
	char got[256];
	str(line, key, got, sizeof(got));
	if (strcmp(got, want) != 0) {
		print_error("%s=%s, want %s in: %s\n", key, got, want, line);
		fail();
	}
}

/* ---- Fixtures and helpers ---- */

static const char *const knobs[] = {
	"FAKE_VPL_IMPLS",         "FAKE_VPL_ENC_RGB",         "FAKE_VPL_NO_HEADERS",
	"FAKE_VPL_FAIL_ENC_INIT", "FAKE_VPL_FAIL_VPP_INIT",   "FAKE_VPL_MIN_BITSTREAM",
	"FAKE_VPL_LOWPOWER_ONLY", "FAKE_VPL_PROFILE",         "FAKE_VPL_RGB_INIT_FAILS",
	"FAKE_VPL_SYNC_CALLS",    "FAKE_VPL_SYNC_FAIL_EVERY", "FAKE_VPL_SYNC_FAIL_STATUS"};

int setup(void **state)
{
	(void)state;
	static int n;
	snprintf(log_path, sizeof(log_path), "%s/log%d", tmpdir, n++);
	setenv("FAKE_VPL_LOG", log_path, 1);
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		unsetenv(knobs[i]);
	memset(&va, 0, sizeof(va));
	assert_int_equal(h264_vpl_unload(), 0); /* the switches are read at enumeration */
	return 0;
}

int teardown(void **state)
{
	(void)state;
	unlink(log_path);
	return 0;
}

struct h264_encoder_config cfg_q(unsigned quality)
{
	struct h264_encoder_config c = {.width = W, .height = H, .fps = 30, .quality = quality};
	return c;
}

struct h264_encoder *create_ok(unsigned quality)
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

void destroy_and_check(struct h264_encoder *enc)
{
	h264_encoder_destroy(enc);
	/* Every VA surface the back end created is gone, on the display it was given. */
	assert_int_equal(va.n_live, 0);
	assert_false(va.wrong_dpy);
	assert_int_equal(log_count("close"), 1);
	/* Nothing the runtime or the driver would have refused or misread. */
	char line[2048];
	if (log_line("bad_surface", 0, line, sizeof(line)) >= 0)
		fail_msg("the runtime could not use a surface: %s", line);
	if (log_line("locked_reuse", 0, line, sizeof(line)) >= 0)
		fail_msg("a surface the runtime held was handed back: %s", line);
	if (va.bad_descriptors)
		fail_msg("the driver refused %u descriptor(s): %s", va.bad_descriptors, va.bad_why);
}

int make_dmabuf(void)
{
	int fd = memfd_create("fake-dmabuf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE_A16), 0);
	return fd;
}

/* A test's encoder and the two dma-bufs (memfds) it may import. The fake runtime's
 * FAKE_VPL_* switches are set before run_start, since create reads them. */
struct vpl_run run_start(unsigned quality)
{
	struct vpl_run r = {.enc = create_ok(quality)};
	r.a = make_dmabuf();
	r.b = make_dmabuf();
	return r;
}

/* destroy_and_check's checks, then the dma-bufs go. */
void run_end(struct vpl_run *r)
{
	destroy_and_check(r->enc);
	close(r->a);
	close(r->b);
}

/* create_with_display refuses cfg_q(6) with -ENODEV and no encoder; why says why. */
void create_refused(char *why, size_t len)
{
	struct h264_encoder_config cfg = cfg_q(6);
	struct h264_encoder *enc = NULL;
	why[0] = '\0';
	assert_int_equal(h264_vpl_create_with_display(&cfg, FAKE_DPY, &fake_va, &enc, why, len),
			 -ENODEV);
	assert_null(enc);
}

struct h264_frame frame_of(int fd, uint32_t id, uint32_t fourcc)
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

void assert_packet(const struct h264_packet *p, bool idr)
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

void encode_ok(struct h264_encoder *enc, int fd, uint32_t id, bool force_idr, bool idr)
{
	struct h264_frame f = frame_of(fd, id, DRM_FORMAT_XRGB8888);
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(enc, &f, force_idr, &p), 0);
	assert_packet(&p, idr);
}

char idr_ctrl[16];


void encode_a16_ok(struct h264_encoder *enc, int fd, uint32_t id, bool idr)
{
	struct h264_frame f = frame_of(fd, id, DRM_FORMAT_XRGB8888);
	f.dmabuf_size = SIZE_A16;
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(enc, &f, false, &p), 0);
	assert_packet(&p, idr);
}

struct vpl_run run_on(const char *knob, const char *value)
{
	setenv(knob, value, 1);
	return run_start(6);
}

void enc_init_is(int nth, char *line, size_t len, const char *fourcc)
{
	assert_true(log_line("enc_init", nth, line, len) >= 0);
	assert_str(line, "fourcc", fourcc);
}

void xbgr_after_xrgb(struct vpl_run *r)
{
	encode_ok(r->enc, r->a, 1, false, true);
	struct h264_frame f = frame_of(r->b, 2, DRM_FORMAT_XBGR8888);
	struct h264_packet p;
	assert_int_equal(h264_encoder_encode(r->enc, &f, false, &p), 0);
	assert_packet(&p, false);
	char line[2048];
	assert_int_equal(log_count("vpp_init"), 1);
	assert_int_equal(log_count("enc_init"), 1);
	assert_true(log_line("vpp_init", 0, line, sizeof(line)) >= 0);
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(va.imports[1].va_fourcc, VA_FOURCC_RGBX);
	assert_int_equal(va.imports[1].drm_format, DRM_FORMAT_XBGR8888);
	assert_true(log_line("vpp", 1, line, sizeof(line)) >= 0);
	assert_str(line, "in_fourcc", "RGB4");
	assert_int_equal(num(line, "in_surface"), va.imports[1].id);
}

int vpl_main(const struct CMUnitTest *tests, size_t n)
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
	int r = _cmocka_run_group_tests("vpl", tests, n, NULL, NULL);
	rmdir(tmpdir);
	return skip_status(r);
}
