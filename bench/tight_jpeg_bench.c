/* tight_jpeg_bench: the Tight-JPEG path against its baselines, as a Markdown table.
 *
 *   tight_jpeg_bench [--size WxH] [--frames N] [--quality Q] [--subsamp 444|422|420|gray]
 *                    [--scene NAME [--rect X,Y,W,H]] [--kv FILE]
 *   --scene: just that scene's row; --rect: with it, that rectangle is also marked as
 *   modified every tick (to time small updates of known content). --kv: per scene, ours
 *   over libvncserver in time and in bytes, and the worst of both over the scenes
 *   (tight_jpeg_vs_libvncserver_worst, bench/run's summary).
 *
 * Not a test: it measures. The real pieces run in-process, single-threaded and in order:
 * the synthetic vGPU steps one tick, the capture code finds the damage and copies it into
 * the server's shadow framebuffer (exactly as in the server), and fake clients, made with
 * rfbNewClient() on a socketpair whose other end a thread drains (the bytes are counted
 * there), get a framebuffer update each:
 *   ours     client A through the displayHook, i.e. the Tight-JPEG path (tight_jpeg.c);
 *   library  client B with the same settings, the hook off: libvncserver's own Tight with
 *            JPEG (rfbSendFramebufferUpdate -> rfbSendRectEncodingTight);
 *   raw      one tjCompress2() of the whole frame at the same quality and subsampling,
 *            from the same framebuffer (no rectangles, no hashing, no socket).
 * Times are per frame, the update's whole send including the write into the socketpair
 * (the raw baseline writes nothing). Rows:
 *   SCENE        the scene's own damage each tick;
 *   full: SCENE  the whole screen marked as modified each tick (a fully changed frame);
 *   shared       two clients of ours with equal settings: the second one's update (the
 *                first client encodes, the second sends the first one's JPEGs);
 *   refresh      a lossless refresh of the whole desktop (our Tight basic, zlib stream 3)
 *                against libvncserver's lossless Tight (no quality level).
 * The lossless refresh is off in all other rows, so that each compares like with like.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "frame_store.h"
#include "log.h"
#include "plane_source.h"
#include "plane_source_open.h"
#include "synthetic.h"
#include "tight_jpeg.h"
#include "tight_jpeg_encoder.h"
#include "vnc_server.h"

struct opts {
	unsigned width, height, frames;
	int quality, subsamp_level; /* TurboVNC's levels: 0 1X, 1 4X, 2 2X, 3 gray */
	int mark[4];                /* --rect: x, y, w, h marked each tick (w 0: none) */
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The mean without the slowest 5 % of frames: what a frame costs, without the moments
 * when another process on this shared machine had the core (the same cut for every
 * method, which run interleaved frame by frame). Sparse damage (a clock ticking once a
 * second) needs a mean: its median frame is empty. */
static double trimmed_mean(double *v, unsigned n)
{
	unsigned keep = n - n / 20;
	double sum = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	for (unsigned i = 0; i < keep; i++)
		sum += v[i];
	return sum / keep;
}

/* ---- fake clients ------------------------------------------------------------------ */

struct fake {
	rfbClientPtr cl;
	int peer;               /* our end of the socketpair */
	pthread_t drain;
	atomic_uint_fast64_t bytes; /* drained so far */
};

static void *drain_main(void *arg)
{
	struct fake *f = arg;
	static char buf[1 << 16];
	ssize_t n;

	/* One thread per client, but one buffer is enough: nobody looks at the bytes. */
	while ((n = read(f->peer, buf, sizeof(buf))) > 0)
		atomic_fetch_add(&f->bytes, (uint64_t)n);
	return NULL;
}

static int fake_new(struct fake *f, rfbScreenInfoPtr s, const struct opts *o)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	f->peer = sv[1];
	if (pthread_create(&f->drain, NULL, drain_main, f) != 0)
		return -EAGAIN;
	f->cl = rfbNewClient(s, sv[0]);
	if (!f->cl)
		return -EIO;
	/* What a TurboVNC viewer at this preset would have sent: Tight, fine quality and
	 * subsampling, LastRect, cursor shapes; the server's own pixel format. */
	rfbClientPtr cl = f->cl;
	cl->state = RFB_NORMAL;
	cl->readyForSetColourMapEntries = TRUE;
	cl->preferredEncoding = rfbEncodingTight;
	cl->enableLastRectEncoding = TRUE;
	cl->enableCursorShapeUpdates = TRUE;
	cl->useRichCursorEncoding = TRUE;
	cl->tightCompressLevel = 1;
	cl->tightQualityLevel = -1;
	cl->turboQualityLevel = o->quality;
	cl->turboSubsampLevel = o->subsamp_level;
	return 0;
}

static void fake_free(struct fake *f)
{
	if (f->cl) {
		rfbCloseClient(f->cl);
		rfbClientConnectionGone(f->cl); /* closes our socket end; the drain sees EOF */
	}
	pthread_join(f->drain, NULL);
	close(f->peer);
}

/* Wait for the drain to have read everything written so far. */
static uint64_t fake_bytes_settled(struct fake *f)
{
	uint64_t last = atomic_load(&f->bytes);
	for (int quiet = 0; quiet < 5;) {
		struct timespec t = {0, 2000000};
		nanosleep(&t, NULL);
		uint64_t b = atomic_load(&f->bytes);
		quiet = b == last ? quiet + 1 : 0;
		last = b;
	}
	return last;
}

/* One update to the client as its output thread would send it, after a request for the
 * whole screen. Returns the time it took, in ms. */
static double fake_update(struct fake *f, bool ours)
{
	rfbClientPtr cl = f->cl;
	rfbScreenInfoPtr s = cl->screen;
	void (*hook)(rfbClientPtr) = s->displayHook;
	sraRegionPtr all = sraRgnCreateRect(0, 0, s->width, s->height);

	LOCK(cl->updateMutex);
	sraRgnOr(cl->requestedRegion, all);
	sraRegionPtr given = sraRgnCreateRgn(cl->modifiedRegion);
	UNLOCK(cl->updateMutex);
	if (!ours)
		s->displayHook = NULL;
	double t0 = now_ms();
	LOCK(cl->sendMutex);
	rfbSendFramebufferUpdate(cl, given);
	UNLOCK(cl->sendMutex);
	double t = now_ms() - t0;
	s->displayHook = hook;
	sraRgnDestroy(given);
	sraRgnDestroy(all);
	return t;
}

static void mark_all(rfbScreenInfoPtr s)
{
	rfbMarkRectAsModified(s, 0, 0, s->width, s->height);
}

/* ---- the run ------------------------------------------------------------------------- */

struct bench {
	struct opts o;
	struct config cfg;
	struct plane_source *src;
	struct capture *cap;
	struct frame_store frames;
	struct vnc_server *srv;
	rfbScreenInfoPtr screen;
	struct fake ours, lib;
	struct tight_jpeg_compressor raw; /* the same TurboJPEG binding as ours */
	struct tight_jpeg_params params;
};

static int setup(struct bench *b, const char *scene)
{
	char spec[256], err[512];
	uint32_t w, h;
	int r;

	snprintf(spec, sizeof(spec), "synthetic:%ux%u:%s:frames=1000000", b->o.width, b->o.height,
		 scene);
	memset(&b->cfg, 0, sizeof(b->cfg));
	b->cfg.max_clients = 16;
	snprintf(b->cfg.desktop_name, sizeof(b->cfg.desktop_name), "bench");
	if ((r = plane_source_open(spec, &b->src, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	synthetic_source_set_tick(b->src, 0);
	frame_store_init(&b->frames);
	if ((r = capture_create(b->src, 30, &b->frames, &b->cap)) < 0)
		return r;
	capture_initial_size(b->cap, &w, &h);
	if ((r = vnc_server_create(&b->cfg, NULL, &b->frames, w, h, &b->srv, err, sizeof(err))) <
	    0) {
		fprintf(stderr, "%s\n", err);
		return r;
	}
	b->screen = vnc_server_screen(b->srv);
	capture_tick(b->cap, b->srv);
	if ((r = fake_new(&b->ours, b->screen, &b->o)) < 0 ||
	    (r = fake_new(&b->lib, b->screen, &b->o)) < 0)
		return r;
	/* The first update of each (the whole screen, and the cursor) is not measured. */
	mark_all(b->screen);
	fake_update(&b->ours, true);
	fake_update(&b->lib, false);
	return 0;
}

static void teardown(struct bench *b)
{
	fake_free(&b->ours);
	fake_free(&b->lib);
	vnc_server_destroy(b->srv);
	capture_destroy(b->cap);
	frame_store_destroy(&b->frames);
	b->src->ops->destroy(b->src);
}

/* The raw baseline: one tjCompress2 of the whole framebuffer (through the path's own
 * binding to libturbojpeg: tight_jpeg_compress is that one call and nothing else). */
static double raw_jpeg(struct bench *b, unsigned long *len)
{
	rfbScreenInfoPtr s = b->screen;
	const uint8_t *out;
	size_t n;
	double t0 = now_ms();
	if (tight_jpeg_compress(&b->raw, (const uint8_t *)s->frameBuffer,
			      (size_t)s->paddedWidthInBytes, (uint32_t)s->width,
			      (uint32_t)s->height, &b->params, &out, &n) < 0) {
		fprintf(stderr, "tjCompress2 failed\n");
		exit(1);
	}
	double t = now_ms() - t0;
	*len = n;
	return t;
}

struct row {
	char name[64];
	double damaged_mpx;  /* per frame, as the capture reported it */
	double ours_ms, lib_ms, raw_ms;
	double ours_kb, lib_kb, raw_kb;
	double vs_lib, vs_raw; /* medians of the per-frame ratios */
};

static void print_header(const struct opts *o)
{
	static const char *const ss[] = {"4:4:4", "4:2:0", "4:2:2", "gray"};
	printf("\n### Tight-JPEG at %ux%u, JPEG quality %d, %s, %u frames a row\n\n", o->width,
	       o->height, o->quality, ss[o->subsamp_level], o->frames);
	printf("| scene | damaged Mpx/frame | ours ms | ours KB | ours Mpx/s | libvncserver "
	       "tight ms | libvncserver KB | raw tjCompress2 (whole frame) ms | raw KB | ours / "
	       "libvncserver | ours / raw |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

/* --kv: each scene's ratios to libvncserver (time: the median per-frame ratio; bytes: of
 * the means), and the worst of either over the scenes (the summary's figure). */
static FILE *g_kv;
static double g_worst;
static char g_worst_at[64];

static void kv_row(const char *key, const struct row *r)
{
	if (!g_kv || r->lib_ms <= 0 || r->lib_kb <= 0)
		return; /* nothing changed in the frames timed: no ratio */
	double bytes = r->ours_kb / r->lib_kb;
	fprintf(g_kv, "tight_jpeg_%s_cpu_vs_libvncserver=%.3f\ntight_jpeg_%s_bytes_vs_libvncserver=%.3f\n",
		key, r->vs_lib, key, bytes);
	double worse = r->vs_lib > bytes ? r->vs_lib : bytes;
	if (worse > g_worst) {
		g_worst = worse;
		snprintf(g_worst_at, sizeof(g_worst_at), "%s %s", key, worse == bytes ? "bytes" : "cpu");
	}
}

static void print_row(const struct row *r)
{
	double mpx_s = r->ours_ms > 0 ? r->damaged_mpx / (r->ours_ms / 1e3) : 0;
	printf("| %s | %.2f | %.2f | %.1f | %.0f | %.2f | %.1f | %.2f | %.1f | %.2f | %.2f |\n",
	       r->name, r->damaged_mpx, r->ours_ms, r->ours_kb, mpx_s, r->lib_ms, r->lib_kb,
	       r->raw_ms, r->raw_kb, r->vs_lib, r->vs_raw);
	fflush(stdout);
}

/* Damaged pixels of the shared modified region of client A right now. */
static double pending_mpx(struct fake *f, uint32_t w, uint32_t h)
{
	double px = 0;
	sraRect r;
	LOCK(f->cl->updateMutex);
	sraRectangleIterator *it = sraRgnGetIterator(f->cl->modifiedRegion);
	while (sraRgnIteratorNext(it, &r)) {
		int x1 = r.x1 < 0 ? 0 : r.x1, y1 = r.y1 < 0 ? 0 : r.y1;
		int x2 = r.x2 > (int)w ? (int)w : r.x2, y2 = r.y2 > (int)h ? (int)h : r.y2;
		if (x2 > x1 && y2 > y1)
			px += (double)(x2 - x1) * (y2 - y1);
	}
	sraRgnReleaseIterator(it);
	UNLOCK(f->cl->updateMutex);
	return px / 1e6;
}

/* Ours and libvncserver's update of the same frame, taking turns by the frame's number i:
 * whoever goes first meets caches made cold by what ran before (run_scene's raw baseline:
 * 8 MB through them) and wakes the drain thread. */
static void update_both(struct bench *b, unsigned i, double *t_ours, double *t_lib)
{
	if (i % 2 == 0) {
		*t_ours = fake_update(&b->ours, true);
		*t_lib = fake_update(&b->lib, false);
	} else {
		*t_lib = fake_update(&b->lib, false);
		*t_ours = fake_update(&b->ours, true);
	}
}

static int run_scene(struct bench *b, const char *scene, bool full, struct row *row)
{
	unsigned n = b->o.frames, changed = 0;
	double *t_ours = calloc(n, sizeof(double)), *t_lib = calloc(n, sizeof(double));
	double *t_raw = calloc(n, sizeof(double));
	unsigned long raw_bytes = 0;
	double mpx = 0;
	int r;

	if (!t_ours || !t_lib || !t_raw)
		return -ENOMEM;
	memset(row, 0, sizeof(*row));
	snprintf(row->name, sizeof(row->name), "%s%s", full ? "full: " : "", scene);
	if ((r = setup(b, scene)) < 0)
		return r;
	uint64_t ours0 = fake_bytes_settled(&b->ours), lib0 = fake_bytes_settled(&b->lib);
	for (unsigned i = 0; i < n; i++) {
		unsigned long len;
		synthetic_source_set_tick(b->src, i + 1);
		capture_tick(b->cap, b->srv);
		if (full)
			mark_all(b->screen);
		if (b->o.mark[2] > 0)
			rfbMarkRectAsModified(b->screen, b->o.mark[0], b->o.mark[1],
					      b->o.mark[0] + b->o.mark[2],
					      b->o.mark[1] + b->o.mark[3]);
		double m = pending_mpx(&b->ours, (uint32_t)b->screen->width,
				       (uint32_t)b->screen->height);
		/* Frames without damage cost nothing anywhere: only the others count. */
		if (m == 0) {
			fake_update(&b->ours, true);
			fake_update(&b->lib, false);
			continue;
		}
		mpx += m;
		update_both(b, changed, &t_ours[changed], &t_lib[changed]);
		t_raw[changed] = raw_jpeg(b, &len);
		raw_bytes += len;
		changed++;
	}
	if (changed < n)
		snprintf(row->name, sizeof(row->name), "%s (%u of %u frames changed)", scene,
			 changed, n);
	unsigned d = changed ? changed : 1;
	row->damaged_mpx = mpx / d;
	/* The ratios frame by frame first (the three ran back to back on the same frame, so
	 * a busy moment of the machine hits them alike), then the times. */
	double *q_lib = calloc(d, sizeof(double)), *q_raw = calloc(d, sizeof(double));
	if (!q_lib || !q_raw)
		return -ENOMEM;
	for (unsigned i = 0; i < changed; i++) {
		q_lib[i] = t_lib[i] > 0 ? t_ours[i] / t_lib[i] : 0;
		q_raw[i] = t_raw[i] > 0 ? t_ours[i] / t_raw[i] : 0;
	}
	row->vs_lib = median(q_lib, changed);
	row->vs_raw = median(q_raw, changed);
	free(q_lib), free(q_raw);
	row->ours_ms = trimmed_mean(t_ours, changed);
	row->lib_ms = trimmed_mean(t_lib, changed);
	row->raw_ms = trimmed_mean(t_raw, changed);
	row->ours_kb = (double)(fake_bytes_settled(&b->ours) - ours0) / d / 1024;
	row->lib_kb = (double)(fake_bytes_settled(&b->lib) - lib0) / d / 1024;
	row->raw_kb = (double)raw_bytes / d / 1024;
	teardown(b);
	free(t_ours), free(t_lib), free(t_raw);
	return 0;
}

/* Two clients of ours on full frames: the time of the second one's update. */
static int run_shared(struct bench *b, struct row *row)
{
	unsigned n = b->o.frames;
	double *t1 = calloc(n, sizeof(double)), *t2 = calloc(n, sizeof(double));
	struct fake second;
	int r;

	if (!t1 || !t2)
		return -ENOMEM;
	memset(row, 0, sizeof(*row));
	snprintf(row->name, sizeof(row->name), "full: video, 2nd client (shared)");
	if ((r = setup(b, "video")) < 0 || (r = fake_new(&second, b->screen, &b->o)) < 0)
		return r;
	mark_all(b->screen);
	fake_update(&second, true);
	uint64_t b0 = fake_bytes_settled(&second);
	double first_ms = 0;
	for (unsigned i = 0; i < n; i++) {
		synthetic_source_set_tick(b->src, i + 1);
		capture_tick(b->cap, b->srv);
		mark_all(b->screen);
		row->damaged_mpx += pending_mpx(&second, (uint32_t)b->screen->width,
						(uint32_t)b->screen->height) / n;
		t1[i] = fake_update(&b->ours, true);
		t2[i] = fake_update(&second, true);
	}
	first_ms = trimmed_mean(t1, n);
	row->ours_ms = trimmed_mean(t2, n);
	row->ours_kb = (double)(fake_bytes_settled(&second) - b0) / n / 1024;
	fake_free(&second);
	teardown(b);
	free(t1), free(t2);
	printf("| %s | %.2f | %.2f | %.1f | %.0f | (1st client, encoding: %.2f ms) | | | | | |\n",
	       row->name, row->damaged_mpx, row->ours_ms, row->ours_kb,
	       row->ours_ms > 0 ? row->damaged_mpx / (row->ours_ms / 1e3) : 0, first_ms);
	return 0;
}

/* A lossless refresh of the whole desktop: ours, and libvncserver's lossless Tight. */
static int run_refresh(struct bench *b)
{
	unsigned n = b->o.frames < 10 ? b->o.frames : 10;
	double *t_ours = calloc(n, sizeof(double)), *t_lib = calloc(n, sizeof(double));
	uint64_t ours_bytes = 0, lib_bytes = 0;
	int r;

	if (!t_ours || !t_lib)
		return -ENOMEM;
	if ((r = setup(b, "static")) < 0)
		return r;
	b->lib.cl->turboQualityLevel = -1; /* lossless Tight */
	for (unsigned i = 0; i < n; i++) {
		struct timespec t = {0, 3000000};
		/* A JPEG update (refresh off) makes every tile lossy; with a 1 ms delay, all of
		 * it is due 3 ms later. */
		tight_jpeg_set_refresh_ms(0);
		mark_all(b->screen);
		fake_update(&b->ours, true);
		uint64_t o0 = fake_bytes_settled(&b->ours), l0 = fake_bytes_settled(&b->lib);
		tight_jpeg_set_refresh_ms(1);
		nanosleep(&t, NULL);
		mark_all(b->screen);
		update_both(b, i, &t_ours[i], &t_lib[i]);
		ours_bytes += fake_bytes_settled(&b->ours) - o0;
		lib_bytes += fake_bytes_settled(&b->lib) - l0;
	}
	tight_jpeg_set_refresh_ms(0);
	double mpx = (double)b->screen->width * b->screen->height / 1e6;
	double ours_ms = trimmed_mean(t_ours, n), lib_ms = trimmed_mean(t_lib, n);
	printf("| lossless refresh: static (ours: Tight basic, palette or copy + zlib; "
	       "libvncserver: lossless Tight) | %.2f | %.2f | %.1f | %.0f | %.2f | %.1f | | | %.2f "
	       "| |\n",
	       mpx, ours_ms, (double)ours_bytes / n / 1024, mpx / (ours_ms / 1e3), lib_ms,
	       (double)lib_bytes / n / 1024, lib_ms > 0 ? ours_ms / lib_ms : 0);
	teardown(b);
	free(t_ours), free(t_lib);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tight_jpeg_bench [--size WxH] [--frames N] [--quality 1..100] "
			"[--subsamp 444|420|422|gray] [--scene NAME [--rect X,Y,W,H]] [--kv FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},   {"frames", required_argument, NULL, 'f'},
		{"quality", required_argument, NULL, 'q'},
		{"subsamp", required_argument, NULL, 'u'},
		{"scene", required_argument, NULL, 'c'},
		{"rect", required_argument, NULL, 'r'},
		{"kv", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	static const int level_tjsamp[4] = {TJSAMP_444, TJSAMP_420, TJSAMP_422, TJSAMP_GRAY};
	struct bench b = {.o = {1920, 1080, 120, 95, 0}};
	const char *only = NULL; /* --scene: just that scene's row */
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (sscanf(optarg, "%ux%u", &b.o.width, &b.o.height) != 2) {
				usage();
				return 2;
			}
			break;
		case 'f':
			b.o.frames = (unsigned)atoi(optarg);
			break;
		case 'c':
			only = optarg;
			break;
		case 'k':
			if (!(g_kv = fopen(optarg, "w"))) {
				perror(optarg);
				return 2;
			}
			break;
		case 'r':
			if (sscanf(optarg, "%d,%d,%d,%d", &b.o.mark[0], &b.o.mark[1], &b.o.mark[2],
				   &b.o.mark[3]) != 4) {
				usage();
				return 2;
			}
			break;
		case 'q':
			b.o.quality = atoi(optarg);
			break;
		case 'u':
			b.o.subsamp_level = !strcmp(optarg, "444")	? 0
					    : !strcmp(optarg, "420") ? 1
					    : !strcmp(optarg, "422") ? 2
					    : !strcmp(optarg, "gray") ? 3
								      : -1;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (b.o.frames < 1 || b.o.quality < 1 || b.o.quality > 100 || b.o.subsamp_level < 0) {
		usage();
		return 2;
	}
	/* Quiet: libvncserver warns that a socketpair takes no TCP_NODELAY. */
	log_set_level(LOG_ERROR);
	tight_jpeg_set_refresh_ms(0);
	b.params.quality = b.o.quality;
	b.params.subsamp = level_tjsamp[b.o.subsamp_level];

	print_header(&b.o);
	static const char *const scenes[] = {"desktop", "typing", "scroll",
					     "drag",    "video",  "flip"};
	struct row row;
	if (only) {
		if (run_scene(&b, only, false, &row) < 0)
			return 1;
		print_row(&row);
		return 0;
	}
	for (size_t i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++) {
		if (run_scene(&b, scenes[i], false, &row) < 0)
			return 1;
		print_row(&row);
		kv_row(scenes[i], &row);
	}
	static const char *const full[] = {"static", "video"};
	for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
		if (run_scene(&b, full[i], true, &row) < 0)
			return 1;
		print_row(&row);
	}
	if (run_shared(&b, &row) < 0 || run_refresh(&b) < 0)
		return 1;
	printf("\nours: the update through tight_jpeg.c (plan, solid tiles, JPEG per rectangle, "
	       "write); libvncserver: rfbSendFramebufferUpdate with the library's Tight+JPEG for "
	       "the same client settings; raw: one tjCompress2 of the whole frame, no write. "
	       "ms: mean per changed frame without the slowest 5 %%; KB = KiB per changed frame "
	       "written; ratios: median of the per-frame ratios.\n");
	tight_jpeg_compressor_destroy(&b.raw);
	if (g_kv) {
		if (g_worst > 0)
			fprintf(g_kv, "tight_jpeg_vs_libvncserver_worst=%.3f\ntight_jpeg_vs_libvncserver_worst_at=%s\n",
				g_worst, g_worst_at);
		fclose(g_kv);
	}
	return 0;
}
