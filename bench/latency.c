/* End-to-end latency: input to pixels in a real client's framebuffer.
 *
 * The server runs the static WxH synthetic scene at o->fps. The synthetic vGPU paints a
 * SYNTHETIC_STAMP_SIZE square of SYNTHETIC_STAMP_RGB where button 1 goes down, at once,
 * inside the server's input handler (synthetic.h). So: t0 just before the client sends
 * the press at (x, y); t1 when the pixel at (x, y) of the client's own framebuffer, after
 * it decoded the update, is closer to the stamp colour than to what was there. That is
 * input -> source change -> capture tick -> damage -> encode -> send -> decode, plus one
 * loopback input message (~0.1 ms). The input wakes the capture thread (capture.h), so
 * the tick comes at once or at most CAPTURE_INPUT_GAP_MS after the last one; a guest that
 * answers later than at once is seen at the next tick of the burst that follows input
 * (up to 1/CAPTURE_BURST_HZ later), and one that draws by itself at the next tick at
 * --fps (uniform over one frame interval).
 *
 * Clients: raw and tight-jpeg are libvncclient (it decodes both; remote cursor, so the
 * cursor is never drawn over the probed pixel); h264 is a vb_probe decoding encoding 50
 * with libavcodec and converting each picture to RGB in full (what a client does before it
 * can show it). Stamps go to fresh spots of a 24-pixel grid in a shuffled order (never on
 * an earlier stamp, rarely in the same tile twice in a row); after each detection the
 * client waits a random 0..2 frame intervals, so clicks fall at every phase of the tick.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include "bench_proc.h"
#include "bench_util.h"
#include "rfb_test_client.h"
#include "synthetic.h"
#include "vnc_bench.h"

#ifdef VGPU_BENCH_HAVE_AVCODEC
#include <libavcodec/avcodec.h>
#include <libyuv.h>
#endif

#define GRID 24
#define MARGIN 96
#define SAMPLE_TIMEOUT_S 1.0
#define MAX_SAMPLES 4096

/* ---- a client: libvncclient, or a vb_probe with an H.264 decoder ---------------------- */

struct client {
	rfbClient *vnc;            /* raw, tight-jpeg */
	struct rr probe;           /* h264 */
	bool is_probe;
	uint32_t w, h;
	uint8_t *rgbx;             /* probe: decoded frame, bytes B,G,R,X */
	double ready_s;            /* when the last message handled started to arrive */
	uint64_t h264_rects;
#ifdef VGPU_BENCH_HAVE_AVCODEC
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
#endif
};

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static void dbg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static void pixel(const struct client *c, int x, int y, int rgb[3])
{
	if (c->is_probe) {
		const uint8_t *p = c->rgbx + ((size_t)y * c->w + (size_t)x) * 4;
		rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0];
		return;
	}
	const rfbClient *cl = c->vnc;
	const uint8_t *p = (const uint8_t *)cl->frameBuffer + ((size_t)y * (size_t)cl->width + (size_t)x) * 4;
	rgb[0] = p[cl->format.redShift / 8];
	rgb[1] = p[cl->format.greenShift / 8];
	rgb[2] = p[cl->format.blueShift / 8];
}

#ifdef VGPU_BENCH_HAVE_AVCODEC
/* Errors leave the picture as it was: the sample times out. */
static bool on_h264(struct rr *p, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
		    uint32_t flags, const uint8_t *data, size_t len)
{
	struct client *c = p->opaque;
	c->h264_rects++;
	if ((flags & 3u) || !c->dec) { /* ResetContext / ResetAllContexts: a new decoder */
		avcodec_free_context(&c->dec);
		const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
		c->dec = codec ? avcodec_alloc_context3(codec) : NULL;
		if (!c->dec)
			return true;
		c->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
		c->dec->thread_count = 1;
		if (avcodec_open2(c->dec, codec, NULL) < 0)
			avcodec_free_context(&c->dec);
	}
	if (!c->dec || x || y || w != c->w || h != c->h || av_new_packet(c->pkt, (int)len) < 0)
		return true;
	memcpy(c->pkt->data, data, len);
	int r = avcodec_send_packet(c->dec, c->pkt);
	av_packet_unref(c->pkt);
	if (r < 0 || avcodec_receive_frame(c->dec, c->frame) < 0)
		return true;
	const AVFrame *f = c->frame;
	/* Full range BT.601, as the stream's VUI says (encoder/h264_x264.h). */
	J420ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
		   f->linesize[2], c->rgbx, (int)c->w * 4, (int)c->w, (int)c->h);
	return true;
}
#endif

static int client_open(struct client *c, const char *enc, int port, unsigned quality)
{
	memset(c, 0, sizeof(*c));
	if (!strcmp(enc, "h264")) {
#ifdef VGPU_BENCH_HAVE_AVCODEC
		int32_t list[16];
		size_t n;
		vb_encodings("h264", quality, list, &n);
		c->is_probe = true;
		c->pkt = av_packet_alloc();
		c->frame = av_frame_alloc();
		c->probe.on_h264 = NULL;
		if (vb_probe_connect(&c->probe, port, list, n) < 0) {
			fprintf(stderr, "vnc_bench: latency: %s\n", c->probe.why);
			return -1;
		}
		c->probe.on_h264 = on_h264;
		c->probe.opaque = c;
		c->w = c->probe.width;
		c->h = c->probe.height;
		c->rgbx = calloc((size_t)c->w * c->h, 4);
		return c->rgbx ? 0 : -1;
#else
		return -1;
#endif
	}
	rfbClientLog = quiet;
	rfbClientErr = getenv("VB_DEBUG") ? dbg : quiet;
	rfbClient *cl = rfbGetClient(8, 3, 4);
	cl->appData.encodingsString = !strcmp(enc, "raw") ? "raw" : !strcmp(enc, "zrle") ? "zrle" : "tight";
	cl->appData.enableJPEG = !strcmp(enc, "tight-jpeg");
	cl->appData.qualityLevel = (int)quality;
	cl->appData.compressLevel = 2;
	cl->appData.useRemoteCursor = TRUE;
	free(cl->serverHost);
	cl->serverHost = strdup("127.0.0.1");
	cl->serverPort = port;
	int argc = 1;
	char prog[] = "vnc_bench", *argv[] = {prog, NULL};
	if (!rfbInitClient(cl, &argc, argv)) /* frees cl on failure */
		return -1;
	c->vnc = cl;
	c->w = (uint32_t)cl->width;
	c->h = (uint32_t)cl->height;
	return 0;
}

static void client_close(struct client *c)
{
	if (c->is_probe) {
		rr_close(&c->probe);
		free(c->rgbx);
#ifdef VGPU_BENCH_HAVE_AVCODEC
		avcodec_free_context(&c->dec);
		av_packet_free(&c->pkt);
		av_frame_free(&c->frame);
#endif
	} else if (c->vnc) {
		free(c->vnc->frameBuffer);
		c->vnc->frameBuffer = NULL;
		rfbClientCleanup(c->vnc);
	}
}

/* Handle what arrives for up to timeout_s; returns after the first update when early.
 * -1 if the connection failed. */
static int client_pump(struct client *c, double timeout_s, bool early)
{
	if (c->is_probe) {
		struct rr *p = &c->probe;
		int r = rr_pump(&p, 1, timeout_s, early);
		c->ready_s = p->last_ready_s;
		return r;
	}
	double end = bench_now_s() + timeout_s;
	int handled = 0;
	do {
		double left = end - bench_now_s();
		int r = WaitForMessage(c->vnc, left > 0 ? (unsigned)(left * 1e6) : 0);
		if (r < 0)
			return -1;
		if (r > 0)
			c->ready_s = bench_now_s();
		while (r > 0 || c->vnc->buffered > 0) {
			if (!HandleRFBServerMessage(c->vnc))
				return -1;
			handled++;
			r = 0;
		}
		if (early && handled)
			return handled;
	} while (bench_now_s() < end);
	return handled;
}

static bool client_send_click(struct client *c, int x, int y)
{
	if (c->is_probe)
		return rr_pointer(&c->probe, (uint16_t)x, (uint16_t)y, 1) &&
		       rr_pointer(&c->probe, (uint16_t)x, (uint16_t)y, 0);
	return SendPointerEvent(c->vnc, x, y, 1) && SendPointerEvent(c->vnc, x, y, 0);
}

/* ---- the measurement ----------------------------------------------------------------- */

static int dist(const int a[3], const int b[3])
{
	return abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]);
}

static void shuffle(int *v, size_t n, uint64_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(bench_rand(seed) % i);
		int t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Latencies in ms into out; returns how many, -1 if the connection failed. */
static int sample(const struct vb_opts *o, struct client *c, double *out, double *client_ms,
		  unsigned want, unsigned *misses)
{
	const int stamp[3] = {SYNTHETIC_STAMP_RGB >> 16 & 0xff, SYNTHETIC_STAMP_RGB >> 8 & 0xff,
			      SYNTHETIC_STAMP_RGB & 0xff};
	int cols = ((int)c->w - 2 * MARGIN) / GRID, rows = ((int)c->h - 2 * MARGIN) / GRID;
	if (cols <= 0 || rows <= 0)
		return -1;
	int *spots = malloc(sizeof(int) * (size_t)cols * (size_t)rows);
	uint64_t seed = 0x5eed;
	for (int i = 0; i < cols * rows; i++)
		spots[i] = i;
	shuffle(spots, (size_t)cols * (size_t)rows, &seed);
	double period = 1.0 / o->fps;
	unsigned n = 0;
	*misses = 0;
	for (int s = 0; s < cols * rows && n < want; s++) {
		int x = MARGIN + spots[s] % cols * GRID, y = MARGIN + spots[s] / cols * GRID;
		int before[3], now[3];
		pixel(c, x, y, before);
		if (dist(before, stamp) < 120)
			continue; /* already that colour: could not tell */
		double t0 = bench_now_s();
		if (!client_send_click(c, x, y))
			break;
		bool seen = false;
		while (!seen && bench_now_s() - t0 < SAMPLE_TIMEOUT_S) {
			if (client_pump(c, SAMPLE_TIMEOUT_S, true) < 0) {
				free(spots);
				return -1;
			}
			pixel(c, x, y, now);
			seen = dist(now, stamp) < dist(now, before);
		}
		if (seen) {
			double t1 = bench_now_s();
			client_ms[n] = (t1 - (c->ready_s > t0 ? c->ready_s : t0)) * 1000;
			out[n++] = (t1 - t0) * 1000;
		}
		else
			(*misses)++;
		/* a random phase for the next click: 0..2 frame intervals, pumping meanwhile */
		client_pump(c, period * 2 * (double)(bench_rand(&seed) % 1000) / 1000.0, false);
	}
	free(spots);
	return (int)n;
}

/* SetEncodings with exactly this list, after libvncclient sent its own (which only
 * names encodings and a 0..9 quality level). */
static bool client_set_encodings(struct client *c, const int32_t *list, size_t n)
{
	uint8_t msg[4 + 4 * 32];
	if (c->is_probe || n > 32)
		return false;
	msg[0] = 2, msg[1] = 0, msg[2] = (uint8_t)(n >> 8), msg[3] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)list[i];
		msg[4 + 4 * i] = (uint8_t)(v >> 24), msg[5 + 4 * i] = (uint8_t)(v >> 16);
		msg[6 + 4 * i] = (uint8_t)(v >> 8), msg[7 + 4 * i] = (uint8_t)v;
	}
	return WriteToRFBServer(c->vnc, (const char *)msg, (unsigned)(4 + 4 * n));
}

int vb_latency_at(const struct vb_opts *o, int port, const char *enc, const int32_t *list,
		  size_t n_list, double *lat, unsigned want, unsigned *misses)
{
	static double client_ms[MAX_SAMPLES];
	struct client c;
	int n = -1;
	if (client_open(&c, enc, port, o->quality) == 0 &&
	    (!list || client_set_encodings(&c, list, n_list))) {
		client_pump(&c, o->settle, false);
		n = sample(o, &c, lat, client_ms, want < MAX_SAMPLES ? want : MAX_SAMPLES, misses);
	}
	client_close(&c);
	return n;
}

static int run_encoding(const struct vb_opts *o, const char *enc, double *lat, double *client_ms,
			unsigned *misses)
{
	char source[96], log[600];
	int port;
	snprintf(source, sizeof(source), "synthetic:%ux%u:static", o->width, o->height);
	snprintf(log, sizeof(log), "%s/latency-%s.log", o->logdir, enc);
	pid_t pid = bench_server_start(o->bin, source, o->fps, o->server_args, log, &port);
	if (pid < 0)
		return -1;
	struct client c;
	int n = -1;
	if (client_open(&c, enc, port, o->quality) == 0) {
		/* the first full update, and a moment for the lossless refresh after it */
		client_pump(&c, o->settle, false);
		n = sample(o, &c, lat, client_ms, o->samples < MAX_SAMPLES ? o->samples : MAX_SAMPLES,
			   misses);
		if (c.is_probe && c.h264_rects == 0) {
			fprintf(stderr, "vnc_bench: latency: the server sent no H.264\n");
			n = -1;
		}
	}
	client_close(&c);
	bench_child_stop(pid, 5);
	return n;
}

int vb_latency(const struct vb_opts *o)
{
	static double lat[MAX_SAMPLES], client_ms[MAX_SAMPLES];
	double worst_p50 = 0, worst_p99 = 0;
	unsigned measured = 0;
	fprintf(o->md,
		"| encoding (%ux%u, %u fps, quality %u) | samples | p50 ms | p90 ms | p99 ms | "
		"max ms | min ms | of which client read + decode, p50 ms |\n"
		"|---|---:|---:|---:|---:|---:|---:|---:|\n",
		o->width, o->height, o->fps, o->quality);
	for (unsigned e = 0; e < o->n_encodings; e++) {
		const char *enc = o->encodings[e];
		bool built = strcmp(enc, "h264") != 0 || (vb_have_h264() &&
#ifdef VGPU_BENCH_HAVE_AVCODEC
							  1
#else
							  0
#endif
							  );
		if (!built) {
			fprintf(o->md, "| %s | not measured: not built | | | | | | |\n", enc);
			continue;
		}
		unsigned misses = 0;
		int n = run_encoding(o, enc, lat, client_ms, &misses);
		if (n <= 0) {
			fprintf(o->md,
				"| %s | not measured: the client got no stamp (see logs) | | | | | | |\n",
				enc);
			continue;
		}
		for (int i = 0; i < n; i++)
			fprintf(o->tsv, "%s\t%.4f\n", enc, lat[i]);
		double p50 = bench_percentile(lat, (size_t)n, 50), p90 = bench_percentile(lat, (size_t)n, 90);
		double p99 = bench_percentile(lat, (size_t)n, 99), mx = lat[n - 1], mn = lat[0];
		double cp50 = bench_percentile(client_ms, (size_t)n, 50);
		fprintf(o->md, "| %s | %d%s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", enc, n,
			misses ? " (some missed)" : "", p50, p90, p99, mx, mn, cp50);
		fprintf(o->kv, "latency_%s_p50_ms=%.2f\nlatency_%s_p99_ms=%.2f\n", enc, p50, enc, p99);
		if (misses)
			fprintf(o->kv, "latency_%s_missed=%u\n", enc, misses);
		/* The summary's latency_p50_ms / latency_p99_ms: the worst of the pixel
		 * encodings (raw, Tight-JPEG); H.264's is its own figure. */
		if (strcmp(enc, "h264") != 0) {
			worst_p50 = p50 > worst_p50 ? p50 : worst_p50;
			worst_p99 = p99 > worst_p99 ? p99 : worst_p99;
		}
		measured++;
	}
	if (worst_p99 > 0)
		fprintf(o->kv, "latency_p50_ms=%.2f\nlatency_p99_ms=%.2f\n", worst_p50, worst_p99);
	return measured > 0 ? 0 : -1;
}
