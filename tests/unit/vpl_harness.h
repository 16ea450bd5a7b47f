/* The VPL back end's tests, their common part: the VA "driver" (vaCreateSurfaces /
 * vaDestroySurfaces stand-ins, handed to h264_vpl_create_with_display, that check the
 * descriptors they get as Intel's media driver would and tell the fake runtime what a
 * surface is: tests/fake_vpl/fake_va.h), the fake runtime's log, fixtures and helpers.
 *
 * The real libvpl dispatcher drives the fake runtime of tests/fake_vpl (found through
 * ONEVPL_SEARCH_PATH, set by CMake). Every test's encoder ends in destroy_and_check(),
 * which also fails the test if the runtime met a surface it could not use (bad_surface),
 * a locked surface handed back (locked_reuse), or the driver a malformed descriptor.
 */
#ifndef VGPU_TESTS_VPL_HARNESS_H
#define VGPU_TESTS_VPL_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>

#include <drm_fourcc.h>
#include <va/va.h>
#include <vpl/mfx.h>

#include "h264_encoder.h"
#include "h264_vpl.h"

#define W 100 /* not a multiple of 16: the runtime sees 112×64 with a 100×50 crop */
#define H 50
#define STRIDE 512                /* X-tiled: 512-byte tile rows */
#define SIZE (STRIDE * 56)        /* height rounded up to the 8-row X tile, as GVT does */
#define MOD I915_FORMAT_MOD_X_TILED
#define SIZE_A16 (STRIDE * 64) /* holds the 112×64 an encoder taking RGB reads */

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
	uint32_t ext_num_buffers, ext_data_size, ext_pitch, ext_fourcc, ext_flags;
};

struct va_pool {
	VASurfaceID first;
	unsigned n, rt_format, width, height;
	uint32_t va_fourcc;
};

struct vpl_va {
	struct va_import imports[32];
	unsigned n_imports;
	struct va_pool pools[32];
	unsigned n_pools;
	VASurfaceID live[256];
	unsigned n_live;
	bool refuse_prime2;
	unsigned bad_descriptors; /* imports the driver refused as malformed */
	char bad_why[160];
	bool wrong_dpy;
	VASurfaceID next;
};
extern struct vpl_va va;

struct vpl_run {
	struct h264_encoder *enc;
	int a, b;
};


extern int vpl_dpy_storage;
#define FAKE_DPY ((VADisplay)&vpl_dpy_storage)
extern const struct h264_vpl_va_fns fake_va;
extern char tmpdir[PATH_MAX], log_path[PATH_MAX + 16];
extern char idr_ctrl[16]; /* "0x..." of an IDR's mfxEncodeCtrl.FrameType */

bool is_live(VASurfaceID id);
bool is_pool_surface(long id);

/* The fake runtime's log: the nth (0-based) line of event ev into line, its index among
 * all lines or -1; how many lines of ev; a key's value in a line. */
char *log_read(void);
int log_line(const char *ev, int nth, char *line, size_t len);
int log_count(const char *ev);
const char *value_of(const char *line, const char *key);
long num(const char *line, const char *key);
void str(const char *line, const char *key, char *out, size_t len);
void assert_str(const char *line, const char *key, const char *want);

/* A fresh log, no FAKE_VPL_* switch set, a fresh VA driver, the dispatcher's loader
 * forgotten (h264_vpl_unload). */
int setup(void **state);
int teardown(void **state);

struct h264_encoder_config cfg_q(unsigned quality);
struct h264_encoder *create_ok(unsigned quality);
/* Destroy; every VA surface gone, on the right display; nothing the runtime or driver
 * refused as malformed or locked. */
void destroy_and_check(struct h264_encoder *enc);
int make_dmabuf(void);
struct vpl_run run_start(unsigned quality);
/* run_start(6) with the fake runtime's switch knob set to value first. */
struct vpl_run run_on(const char *knob, const char *value);
/* The nth enc_init line of the log into line, which must say this fourcc. */
void enc_init_is(int nth, char *line, size_t len, const char *fourcc);
void run_end(struct vpl_run *r);
/* create_with_display refuses cfg_q(6) with -ENODEV and no encoder; why says why. */
void create_refused(char *why, size_t len);
struct h264_frame frame_of(int fd, uint32_t id, uint32_t fourcc);
void assert_packet(const struct h264_packet *p, bool idr);
void encode_ok(struct h264_encoder *enc, int fd, uint32_t id, bool force_idr, bool idr);
/* encode_ok() of a frame whose buffer holds SIZE_A16 bytes. */
void encode_a16_ok(struct h264_encoder *enc, int fd, uint32_t id, bool idr);

/* XRGB8888 on r.a (id 1, IDR), then XBGR8888 on r.b (id 2): one pipeline, VPP fed RGB4
 * both times, the second buffer imported as RGBX; the stream goes on (a P frame). */
void xbgr_after_xrgb(struct vpl_run *r);

/* One test with the common fixtures. */
#define VPL_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* main() of a VPL test: the tmpdir, ONEVPL_SEARCH_PATH when run by hand, the group. */
int vpl_main(const struct CMUnitTest *tests, size_t n);
#define VPL_MAIN(tests) vpl_main(tests, sizeof(tests) / sizeof(tests[0]))

#endif
