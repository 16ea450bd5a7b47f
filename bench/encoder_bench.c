/* encoder_bench: the x264 back end per scene, against x264 itself on the same I420 frame.
 *
 *   encoder_bench [--size WxH] [--frames N] [--quality Q] [--scenes a,b] [--md F] [--kv F]
 *
 * For each scene the synthetic vGPU is stepped tick by tick (synthetic_source_set_tick:
 * the drawing is not timed) and each frame goes, in turn, through:
 *   ours      h264_encoder_encode() of the x264 back end (encoder/h264_x264.c) straight
 *             from the plane's pixels: RGB -> I420 with libyuv, then x264, then the SEI
 *             dropped; what the Open H.264 path costs per frame;
 *   x264      x264_encoder_encode() alone, same parameters (h264_x264_params), on an I420
 *             picture converted beforehand outside the timing: the library's own cost.
 * Both start with an IDR (forced) that is not counted; the rest are the P frames a client
 * gets. ms: median per frame; bytes: mean per frame; Mpixel/s: frame pixels / median
 * time. One thread each (x264 threads = 1, one slice, as noVNC needs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libyuv.h>

#include "bench_util.h"
#include "h264_encoder.h"
#include "h264_x264.h"
#include "log.h"
#include "synthetic.h"

#define MAX_FRAMES 1024

struct opts {
	uint32_t w, h;
	unsigned frames, quality;
	char scenes[16][16];
	unsigned n_scenes;
	FILE *md, *kv;
};

struct raw_x264 {
	x264_t *x;
	x264_picture_t pic;
	uint8_t *yuv;
};

static int raw_open(struct raw_x264 *r, const struct h264_encoder_config *cfg)
{
	x264_param_t p;
	char why[128];
	if (h264_x264_params(cfg, &p, why, sizeof(why)) < 0)
		return -EINVAL;
	r->x = x264_encoder_open(&p);
	size_t luma = (size_t)p.i_width * p.i_height;
	r->yuv = malloc(luma + luma / 2);
	if (!r->x || !r->yuv)
		return -ENOMEM;
	x264_picture_init(&r->pic);
	r->pic.img.i_csp = X264_CSP_I420;
	r->pic.img.i_plane = 3;
	r->pic.img.plane[0] = r->yuv;
	r->pic.img.plane[1] = r->yuv + luma;
	r->pic.img.plane[2] = r->yuv + luma + luma / 4;
	r->pic.img.i_stride[0] = p.i_width;
	r->pic.img.i_stride[1] = r->pic.img.i_stride[2] = p.i_width / 2;
	return 0;
}

static void raw_close(struct raw_x264 *r)
{
	if (r->x)
		x264_encoder_close(r->x);
	free(r->yuv);
}

/* Encode the I420 picture; bytes out, or -1. */
static int raw_encode(struct raw_x264 *r, bool idr)
{
	x264_nal_t *nals;
	int n;
	x264_picture_t out;
	r->pic.i_type = idr ? X264_TYPE_IDR : X264_TYPE_AUTO;
	r->pic.i_pts++;
	return x264_encoder_encode(r->x, &nals, &n, &r->pic, &out);
}

struct row {
	double ours_ms, ours_bytes, raw_ms, raw_bytes, convert_ms;
};

static int run_scene(const struct opts *o, const char *scene, struct row *row)
{
	static double ours_ms[MAX_FRAMES], raw_ms[MAX_FRAMES], conv_ms[MAX_FRAMES];
	char spec[96], err[256];
	struct plane_source *src;
	snprintf(spec, sizeof(spec), "%ux%u:%s:cursor=off", o->w, o->h, scene);
	if (synthetic_source_create(spec, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "encoder_bench: %s\n", err);
		return -1;
	}
	struct h264_encoder_config cfg = {.width = o->w, .height = o->h, .fps = 30,
					  .quality = o->quality, .threads = 1};
	struct h264_encoder *enc = NULL;
	struct raw_x264 raw = {0};
	char why[256];
	if (h264_encoder_create(H264_BACKEND_X264, &cfg, &enc, why, sizeof(why)) < 0 ||
	    raw_open(&raw, &cfg) < 0) {
		fprintf(stderr, "encoder_bench: x264: %s\n", why);
		return -1;
	}
	uint8_t *maps[4] = {0};
	uint32_t ids[4] = {0};
	size_t lens[4] = {0};
	double ours_bytes = 0, raw_bytes = 0;
	unsigned n = 0, frames = o->frames < MAX_FRAMES ? o->frames : MAX_FRAMES;
	int rc = 0;
	for (unsigned t = 0; t <= frames && rc == 0; t++) {
		synthetic_source_set_tick(src, t); /* draws: not timed */
		struct plane_info p;
		plane_source_query(src, PLANE_PRIMARY, &p);
		unsigned k = 0;
		while (k < 4 && ids[k] && ids[k] != p.dmabuf_id)
			k++;
		if (k == 4)
			return -1;
		if (!ids[k]) {
			int fd = plane_source_get_dmabuf(src, p.dmabuf_id);
			void *m = fd >= 0 ? mmap(NULL, p.size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
			if (fd >= 0)
				close(fd);
			if (m == MAP_FAILED)
				return -1;
			ids[k] = p.dmabuf_id, maps[k] = m, lens[k] = p.size;
		}
		struct h264_frame f = {.pixels = maps[k], .stride = p.stride, .fourcc = p.fourcc,
				       .dmabuf_fd = -1};
		struct h264_packet pkt;
		uint64_t t0 = bench_now_ns();
		rc = h264_encoder_encode(enc, &f, t == 0, &pkt);
		uint64_t t1 = bench_now_ns();
		/* the same frame as I420 for x264 alone (converted outside its timing) */
		int cw = raw.pic.img.i_stride[0];
		ARGBToJ420(maps[k], (int)p.stride, raw.pic.img.plane[0], cw, raw.pic.img.plane[1],
			   cw / 2, raw.pic.img.plane[2], cw / 2, (int)o->w, (int)o->h);
		uint64_t t2 = bench_now_ns();
		int bytes = raw_encode(&raw, t == 0);
		uint64_t t3 = bench_now_ns();
		if (rc < 0 || bytes < 0) {
			rc = -1;
			break;
		}
		if (t == 0)
			continue; /* the IDR */
		ours_ms[n] = (double)(t1 - t0) / 1e6;
		conv_ms[n] = (double)(t2 - t1) / 1e6;
		raw_ms[n] = (double)(t3 - t2) / 1e6;
		ours_bytes += (double)pkt.len;
		raw_bytes += bytes;
		n++;
	}
	if (n) {
		row->ours_ms = bench_median(ours_ms, n);
		row->raw_ms = bench_median(raw_ms, n);
		row->convert_ms = bench_median(conv_ms, n);
		row->ours_bytes = ours_bytes / n;
		row->raw_bytes = raw_bytes / n;
	}
	for (unsigned i = 0; i < 4; i++)
		if (maps[i])
			munmap(maps[i], lens[i]);
	h264_encoder_destroy(enc);
	raw_close(&raw);
	plane_source_destroy(src);
	return rc < 0 || !n ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.w = 1920, .h = 1080, .frames = 60, .quality = 6, .md = stdout, .kv = stdout};
	const char *scenes = "static,typing,scroll,drag,video,flip";
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--size") && sscanf(v, "%ux%u", &o.w, &o.h) == 2)
			continue;
		if (!strcmp(k, "--frames"))
			o.frames = (unsigned)atoi(v);
		else if (!strcmp(k, "--quality"))
			o.quality = (unsigned)atoi(v);
		else if (!strcmp(k, "--scenes"))
			scenes = v;
		else if (!strcmp(k, "--md") && (o.md = fopen(v, "w")))
			continue;
		else if (!strcmp(k, "--kv") && (o.kv = fopen(v, "w")))
			continue;
		else {
			fprintf(stderr, "encoder_bench: bad option %s %s\n", k, v);
			return 2;
		}
	}
	for (const char *s = scenes; *s && o.n_scenes < 16;) {
		size_t len = strcspn(s, ",");
		snprintf(o.scenes[o.n_scenes++], 16, "%.*s", (int)len, s);
		s += len + (s[len] == ',');
	}
	log_set_level(LOG_ERROR);
	double mpx = (double)o.w * o.h / 1e6;
	fprintf(o.md,
		"| scene (%ux%u, quality %u = CRF %.0f) | ours ms | ours bytes | ours Mpixel/s | "
		"of which RGB->I420 ms | x264 alone ms | x264 alone bytes | x264 alone Mpixel/s | "
		"ours / x264 alone |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
		o.w, o.h, o.quality, (double)h264_x264_crf(o.quality));
	double worst = 0;
	for (unsigned i = 0; i < o.n_scenes; i++) {
		struct row r = {0};
		if (run_scene(&o, o.scenes[i], &r) < 0) {
			fprintf(o.md, "| %s | failed | | | | | | | |\n", o.scenes[i]);
			continue;
		}
		fprintf(o.md, "| %s | %.2f | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f |\n",
			o.scenes[i], r.ours_ms, r.ours_bytes, mpx / (r.ours_ms / 1e3), r.convert_ms,
			r.raw_ms, r.raw_bytes, mpx / (r.raw_ms / 1e3), r.ours_ms / r.raw_ms);
		double vs = r.ours_ms / r.raw_ms;
		fprintf(o.kv, "x264_%s_ms=%.3f\nx264_%s_fps=%.1f\nx264_%s_vs_alone=%.3f\n", o.scenes[i],
			r.ours_ms, o.scenes[i], 1000 / r.ours_ms, o.scenes[i], vs);
		worst = vs > worst ? vs : worst;
	}
	/* The summary's x264_vs_alone: the worst scene's. */
	if (worst > 0)
		fprintf(o.kv, "x264_vs_alone=%.3f\n", worst);
	return 0;
}
