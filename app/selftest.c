/* --selftest: see selftest.h. */
#include "selftest.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dmabuf_cache.h"
#include "h264_annexb.h"
#include "h264_encoder.h"
#include "plane.h"
#include "plane_source.h"
#include "plane_source_open.h"
#include "proc_stats.h"
#include "vfio_tiling.h"

#define WAIT_PLANE_MS 10000u /* a guest that is still booting gets this long to show a plane */
#define QUIET_QUALITY 6u     /* the default of a client that asks for no quality */

struct selftest {
	FILE *out;
	unsigned passed, warned, failed;
};

static void say(struct selftest *t, const char *verdict, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct selftest *t, const char *verdict, const char *check, const char *fmt, ...)
{
	if (!strcmp(verdict, "PASS"))
		t->passed++;
	else if (!strcmp(verdict, "WARN"))
		t->warned++;
	else if (!strcmp(verdict, "FAIL"))
		t->failed++;
	fprintf(t->out, "%-4s %-9s ", verdict, check);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(t->out, fmt, ap);
	va_end(ap);
	fputc('\n', t->out);
	fflush(t->out);
}

/* ---- what the process holds: fds, memory, the GPU's objects ------------------------- */

struct holdings {
	long fds;
	long rss_kib;
	long gem_objects; /* -1: debugfs not readable */
};

/* i915's debugfs starts with "N shrinkable [M free] objects, B bytes" or "N objects, ...";
 * summed over every DRM minor that has it. */
static long gem_objects(void)
{
	glob_t g;
	if (glob("/sys/kernel/debug/dri/*/i915_gem_objects", 0, NULL, &g) != 0)
		return -1;
	long sum = -1;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		long n;
		if (f && fscanf(f, "%ld", &n) == 1)
			sum = (sum < 0 ? 0 : sum) + n;
		if (f)
			fclose(f);
	}
	globfree(&g);
	return sum;
}

static struct holdings holdings_now(void)
{
	return (struct holdings){proc_fd_count(0), proc_rss_kib(0), gem_objects()};
}

/* A leak grows with every flip: over a run cut in thirds it grows in both. Caches fill
 * up in the first third and churn without growing after. Growth is a failure for fds and
 * GEM objects; for resident memory only a warning, since an allocator (or a sanitizer's
 * quarantine of freed blocks) may keep what was freed. */
static void check_growth(struct selftest *t, const char *check, long a, long b, long c,
			 const char *unit, const char *verdict_if_growing)
{
	if (a < 0 || b < 0 || c < 0) {
		say(t, "SKIP", check, "not readable here%s",
		    !strcmp(check, "gem") ? " (i915 debugfs: run as root with debugfs mounted)" : "");
		return;
	}
	bool grows = a < b && b < c;
	say(t, grows ? verdict_if_growing : "PASS", check,
	    "%ld, %ld, %ld %s after each third of the run%s", a,
	    b, c, unit, grows ? ": growing with every flip" : "");
}

/* ---- the plane -------------------------------------------------------------------- */

/* The current primary plane: 1 present, 0 none (display off), -errno when the source
 * failed. ENOMEM / EAGAIN twice in a row are a real device's "not yet", as in capture. */
static int query_primary(struct plane_source *src, struct plane_info *p, char *why, size_t len)
{
	int r = plane_source_query_settled(src, PLANE_PRIMARY, p);
	if (r == -ENOMEM || r == -EAGAIN)
		return 0;
	if (r < 0) {
		snprintf(why, len, "query failed: %s", strerror(-r));
		return r;
	}
	if (!p->dmabuf_id && !p->is_region)
		return 0;
	return plane_info_validate(p, why, len) == 0 ? 1 : -EINVAL;
}

static int wait_for_plane(struct selftest *t, struct plane_source *src, struct plane_info *p)
{
	char why[256] = "";
	uint64_t deadline = clock_now_ms() + WAIT_PLANE_MS;
	int r;
	while ((r = query_primary(src, p, why, sizeof(why))) == 0 && clock_now_ms() < deadline)
		usleep(100 * 1000);
	if (r <= 0) {
		say(t, "FAIL", "plane", "%s",
		    r == 0 ? "no primary plane for 10 s: is the guest's display on?" : why);
		return -1;
	}
	char fc[5];
	say(t, "PASS", "plane", "%ux%u %s, modifier %s, stride %u, %s", p->width, p->height,
	    plane_fourcc_str(p->fourcc, fc), vfio_tiling_modifier_name(p->modifier), p->stride,
	    p->is_region ? "a region plane (no dma-buf)" : "a dma-buf");
	return 0;
}

static const char *read_path_name(enum dmabuf_read_path path)
{
	switch (path) {
	case DMABUF_READ_DIRECT: return "mapped directly";
	case DMABUF_READ_DETILE: return "mapped and detiled";
	case DMABUF_READ_READBACK: return "read back through VA-API (vaGetImage)";
	}
	return "?";
}

/* Distinct colours on a 32x32 grid of samples: 1 means a blank picture. */
static unsigned sampled_colours(const struct dmabuf_buffer *b)
{
	uint32_t seen[8];
	unsigned n = 0;
	for (unsigned gy = 0; gy < 32; gy++)
		for (unsigned gx = 0; gx < 32 && n < 8; gx++) {
			const uint8_t *row = b->pixels + (size_t)(b->info.height * gy / 32) * b->info.stride;
			uint32_t px;
			memcpy(&px, row + (size_t)(b->info.width * gx / 32) * 4, 4);
			px &= 0xffffffu;
			bool known = false;
			for (unsigned i = 0; i < n; i++)
				known |= seen[i] == px;
			if (!known)
				seen[n++] = px;
		}
	return n;
}

static int check_readback(struct selftest *t, struct dmabuf_cache *cache,
			  const struct plane_info *p)
{
	struct dmabuf_buffer *b;
	char why[256];
	if (dmabuf_cache_get(cache, p, &b, why, sizeof(why)) < 0) {
		say(t, "FAIL", "readback", "%s", why);
		return -1;
	}
	if (dmabuf_buffer_begin_read(b) < 0) {
		say(t, "FAIL", "readback", "the frame could not be read (%s)", read_path_name(b->path));
		return -1;
	}
	unsigned colours = sampled_colours(b);
	dmabuf_buffer_end_read(b);
	if (colours < 2)
		say(t, "WARN", "readback",
		    "%s, but the picture is one colour: if the guest shows anything, the read "
		    "returned nothing (iHD's vaGetImage on a GVT surface can do that)",
		    read_path_name(b->path));
	else
		say(t, "PASS", "readback", "%s, %s%u colours sampled", read_path_name(b->path),
		    colours >= 8 ? "at least " : "", colours);
	return 0;
}

/* ---- encoding the live frames ------------------------------------------------------ */

struct run {
	struct h264_encoder *enc;
	struct plane_info geometry; /* what enc was made for */
	unsigned frames, encoded, failed, forced, forced_ok, multi_slice;
	unsigned modes_followed, noplane_ticks, recreate_failed;
	char first_error[300];
	double *ms;
};

static int make_encoder(const struct config *cfg, const struct plane_info *p,
			struct h264_encoder **enc, char *why, size_t len)
{
	struct h264_encoder_config ec = {
		.width = p->width, .height = p->height, .fps = cfg->fps,
		.quality = QUIET_QUALITY, .threads = 1,
	};
	return h264_encoder_create(cfg->encoder, &ec, enc, why, len);
}

static void note_error(struct run *r, const char *fmt, int err)
{
	if (!r->first_error[0])
		snprintf(r->first_error, sizeof(r->first_error), fmt, strerror(-err));
}

static void encode_one(struct run *r, struct dmabuf_cache *cache, const struct plane_info *p,
		       bool force_idr)
{
	struct dmabuf_buffer *b;
	char why[256];
	if (dmabuf_cache_get(cache, p, &b, why, sizeof(why)) < 0) {
		r->failed++;
		if (!r->first_error[0])
			snprintf(r->first_error, sizeof(r->first_error), "import: %s", why);
		return;
	}
	/* A back end that takes the dma-buf gets no CPU pixels: that is the zero-copy path
	 * the server runs, and the readback check above already read one frame. */
	bool cpu = !(r->enc->impl->caps & H264_TAKES_DMABUF) || b->fd < 0;
	if (cpu && dmabuf_buffer_begin_read(b) < 0) {
		r->failed++;
		note_error(r, "readback: %s", -EIO);
		return;
	}
	struct h264_frame f = {
		.pixels = cpu ? b->pixels : NULL, .stride = b->info.stride, .fourcc = p->fourcc,
		.dmabuf_fd = b->fd, .dmabuf_id = p->dmabuf_id, .modifier = p->modifier,
		.dmabuf_stride = p->stride, .dmabuf_size = p->size,
	};
	struct h264_packet pkt;
	double t0 = clock_now_s();
	int e = h264_encoder_encode(r->enc, &f, force_idr, &pkt);
	double t1 = clock_now_s();
	if (cpu)
		dmabuf_buffer_end_read(b);
	if (e < 0) {
		r->failed++;
		note_error(r, "encode: %s", e);
		return;
	}
	r->ms[r->encoded++] = (t1 - t0) * 1000.0;
	struct h264_annexb_scan s;
	h264_annexb_scan(pkt.data, pkt.len, &s);
	const uint32_t idr = 1u << H264_NAL_SPS | 1u << H264_NAL_PPS | 1u << H264_NAL_IDR;
	if (force_idr) {
		r->forced++;
		r->forced_ok += (s.types & idr) == idr;
	}
	r->multi_slice += s.slices != 1;
}

/* One frame period: follow the plane, re-make the encoder on a new geometry, encode. */
static void step(struct selftest *t, const struct config *cfg, struct run *r,
		 struct plane_source *src, struct dmabuf_cache *cache, bool force_idr)
{
	struct plane_info p;
	char why[256];
	int q = query_primary(src, &p, why, sizeof(why));
	if (q <= 0) {
		if (q < 0 && !r->first_error[0])
			snprintf(r->first_error, sizeof(r->first_error), "%s", why);
		r->noplane_ticks += q == 0;
		r->failed += q < 0;
		return;
	}
	if (p.width != r->geometry.width || p.height != r->geometry.height) {
		h264_encoder_destroy(r->enc);
		r->enc = NULL;
		if (make_encoder(cfg, &p, &r->enc, why, sizeof(why)) < 0) {
			r->recreate_failed++;
			say(t, "FAIL", "follow", "no encoder for the new mode %ux%u: %s", p.width,
			    p.height, why);
			return;
		}
		r->modes_followed++;
		force_idr = true;
	}
	r->geometry = p;
	encode_one(r, cache, &p, force_idr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void report_run(struct selftest *t, const struct config *cfg, struct run *r)
{
	say(t, r->failed ? "FAIL" : "PASS", "frames", "%u encoded, %u failed of %u%s%s",
	    r->encoded, r->failed, r->frames, r->failed ? ": first: " : "", r->first_error);
	say(t, r->forced && r->forced == r->forced_ok ? "PASS" : "FAIL", "idr",
	    "%u of %u IDRs asked for came with SPS + PPS + IDR", r->forced_ok, r->forced);
	say(t, r->multi_slice ? "FAIL" : "PASS", "slices", "%u of %u pictures not one slice",
	    r->multi_slice, r->encoded);
	if (r->encoded) {
		qsort(r->ms, r->encoded, sizeof(*r->ms), cmp_double);
		double p50 = r->ms[r->encoded / 2], p99 = r->ms[r->encoded * 99 / 100];
		double budget = 1000.0 / cfg->fps;
		say(t, p99 <= budget ? "PASS" : "WARN", "timing",
		    "encode %.2f ms median, %.2f ms p99 at %ux%u; budget %.1f ms a frame (--fps %u)",
		    p50, p99, r->geometry.width, r->geometry.height, budget, cfg->fps);
	}
	say(t, r->recreate_failed ? "FAIL" : "PASS", "follow",
	    "%u mode changes followed, %u frame periods without a plane", r->modes_followed,
	    r->noplane_ticks);
}

static int encode_live(struct selftest *t, const struct config *cfg, struct plane_source *src,
		       struct dmabuf_cache *cache, const struct plane_info *first)
{
	struct run r = {.geometry = *first, .frames = SELFTEST_SECONDS * cfg->fps};
	char why[256];
	if (make_encoder(cfg, first, &r.enc, why, sizeof(why)) < 0) {
		say(t, "FAIL", "encoder", "%s", why);
		return -1;
	}
	say(t, "PASS", "encoder", "%s (%s)", r.enc->impl->name,
	    r.enc->impl->caps & H264_TAKES_DMABUF ? "takes the dma-buf: no CPU copy"
						   : "takes CPU pixels");
	r.ms = calloc(r.frames, sizeof(*r.ms));
	if (!r.ms) {
		h264_encoder_destroy(r.enc);
		say(t, "FAIL", "frames", "out of memory");
		return -1;
	}
	struct holdings at[3];
	uint64_t next = clock_now_ns();
	for (unsigned i = 0; i < r.frames && r.enc; i++) {
		step(t, cfg, &r, src, cache, i == 0 || i == r.frames / 2);
		if (i == r.frames / 3 || i == 2 * r.frames / 3)
			at[i == r.frames / 3 ? 0 : 1] = holdings_now();
		next += 1000000000u / cfg->fps;
		clock_sleep_until_ns(next);
	}
	at[2] = holdings_now();
	report_run(t, cfg, &r);
	check_growth(t, "fds", at[0].fds, at[1].fds, at[2].fds, "open", "FAIL");
	check_growth(t, "rss", at[0].rss_kib, at[1].rss_kib, at[2].rss_kib, "KiB resident",
		     "WARN");
	check_growth(t, "gem", at[0].gem_objects, at[1].gem_objects, at[2].gem_objects,
		     "i915 GEM objects", "FAIL");
	h264_encoder_destroy(r.enc);
	free(r.ms);
	return 0;
}

int selftest_run(const struct config *cfg, FILE *out)
{
	struct selftest t = {.out = out};
	struct plane_source *src;
	char err[512];
	fprintf(out, "vgpu-vnc self-test: source %s, encoder %s, %u s at %u fps\n", cfg->source,
		h264_backend_name(cfg->encoder), SELFTEST_SECONDS, cfg->fps);
	if (plane_source_open(cfg->source, &src, err, sizeof(err)) < 0) {
		say(&t, "FAIL", "source", "%s", err);
		return 2;
	}
	struct dmabuf_cache cache;
	if (dmabuf_cache_init(&cache, src, DMABUF_CACHE_DEFAULT_CAPACITY) < 0) {
		plane_source_destroy(src);
		say(&t, "FAIL", "source", "out of memory");
		return 2;
	}
	struct plane_info p;
	if (wait_for_plane(&t, src, &p) == 0 && check_readback(&t, &cache, &p) == 0)
		encode_live(&t, cfg, src, &cache, &p);
	dmabuf_cache_destroy(&cache);
	plane_source_destroy(src);
	fprintf(out, "self-test: %u passed, %u warnings, %u failed\n", t.passed, t.warned,
		t.failed);
	return t.failed ? 1 : 0;
}
