/* h264_check: the Open H.264 (encoding 50) integration cases.
 *
 *   h264_check PATH/TO/vgpu-vnc CASE
 *
 * Starts the real server binary on the synthetic vGPU (as vnc_check does), connects a
 * raw RFB 3.8 client (tests/lib/rfb_test_client; libvncclient cannot decode encoding 50)
 * with a decoder of its own: security
 * None, 32-bpp true colour, SetEncodings [50, raw, Cursor, DesktopSize,
 * ExtendedDesktopSize, LastRect], one non-incremental request and then an incremental one
 * after every FramebufferUpdate, as noVNC does. It decodes the H.264 with libavcodec
 * (full-range BT.601 to RGB with libyuv, as the stream's VUI says) and compares the
 * settled picture with the synthetic source rendered in-process (reference.c).
 *
 * Which picture: PSNR cannot tell a stale picture (tick 0 against tick 30 of the desktop
 * scene is 42 dB; one tick stale on typing or flip 31-32 dB). So the scenes stamp their tick
 * (stamp=on: 16 black/white 16x16 blocks, see synthetic.h), the client reads the stamp from
 * the decoded picture, waits until it shows the scene's last tick (a missed update never
 * does) and only then compares with THAT tick's reference.
 * Threshold: PSNR >= 30 dB (RGB, all channels) for every scene at the default quality
 * (6, CRF 26). Measured: 32-37 dB, and 4:2:0 chroma alone (RGB → J420 → RGB, no codec)
 * already caps these colourful scenes at 33-37 dB. A wrong picture of the right tick
 * (shifted, wrong colours, the cursor in the video) is far below.
 *
 * Cases (one ctest entry each):
 *   pixels.SCENE   the last tick shows; the decoded picture matches; the first rectangle
 *                  starts a context (ResetContext, SPS+PPS+IDR); pixels come only as
 *                  encoding 50; the cursor is not in the video (PSNR of its box)
 *   static-quiet   a static scene sends no rectangle after the first picture, over 1.5 s
 *                  of incremental requests
 *   resize         the modes scene: after the size change the next H.264 rectangle has
 *                  the new size, ResetContext and SPS+PPS+IDR first; the end matches
 *   two-clients    two H.264 clients share one encode (the server's "h264: encoded
 *                  frame" lines against the access units both received), both match
 *   mixed          an H.264 client and a libvncclient client (Tight, no 50) on one
 *                  server: the H.264 one matches, the other is exact
 *   no-cursor      a client that lists 50 but no cursor encoding gets H.264 from its
 *                  first picture (ResetContext, SPS+PPS+IDR; no raw), with the cursor
 *                  drawn in: the picture matches the reference with the cursor blended
 *   encoder-vpl    --encoder vpl where VPL cannot run: exit status 1, a clear message
 *   failed-frame   the first three frames fail (VGPU_TEST_H264_FAIL_FRAMES) on a static
 *                  scene: the picture still arrives, as H.264 starting at an IDR, no raw
 *
 * Environment: H264_CHECK_VERBOSE=1 prints each rectangle; VNC_CHECK_ECHO_SERVER=1 echoes
 * the server's log.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libyuv.h>

#include "compare.h"
#include "harness.h"
#include "reference.h"
#include "synthetic.h"
#include "util.h"
#include "vnc_client.h"

#define PSNR_MIN 30.0       /* dB, every scene at quality 6 */
#define CURSOR_PSNR_MIN 25.0 /* dB, the cursor's box: a baked-in arrow gives ~10 */
#define SETTLE_LIMIT_S 30   /* an outer limit for the last tick to show, not a speed */
#define IO_TIMEOUT_S 5.0    /* the rest of a message once its first byte came */
#define WATCHDOG_S 50
#define MAX_EVENTS 4096


/* ---- a raw RFB client (tests/lib) that decodes encoding 50 ------------------------------ */

enum event_kind { EV_SIZE, EV_H264 };

/* What arrived, in order: size changes and H.264 rectangles. */
struct event {
	enum event_kind kind;
	uint16_t w, h;
	uint32_t flags, len;
	uint8_t types[4]; /* the first NAL types of an H.264 payload */
	unsigned n_types;
	uint16_t fb_w, fb_h; /* the client's framebuffer when it came */
};

struct rc {
	struct rr rr;   /* the connection; rr.fb holds the picture (B,G,R,X) */
	unsigned aus;   /* access units decoded */
	/* the H.264 context: one decoder for one rectangle */
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	uint16_t ctx_x, ctx_y, ctx_w, ctx_h;
	struct event events[MAX_EVENTS];
	unsigned n_events;
};

static void close_decoder(struct rc *c)
{
	avcodec_free_context(&c->dec);
	c->ctx_w = c->ctx_h = 0;
}

static bool open_decoder(struct rc *c, uint16_t x, uint16_t y, uint16_t w, uint16_t h)
{
	close_decoder(c);
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_H264);
	c->dec = codec ? avcodec_alloc_context3(codec) : NULL;
	if (!c->dec)
		return rr_fail(&c->rr, "no H.264 decoder in libavcodec");
	/* One picture out for every access unit in, as a low-latency client needs. */
	c->dec->flags |= AV_CODEC_FLAG_LOW_DELAY;
	c->dec->thread_count = 1;
	if (avcodec_open2(c->dec, codec, NULL) < 0)
		return rr_fail(&c->rr, "avcodec_open2 failed");
	c->ctx_x = x;
	c->ctx_y = y;
	c->ctx_w = w;
	c->ctx_h = h;
	return true;
}

/* Decode one access unit and put the picture (cropped to the rectangle) in the framebuffer. */
static bool decode_au(struct rc *c, const uint8_t *p, size_t n)
{
	struct rr *rr = &c->rr;
	if (av_new_packet(c->pkt, (int)n) < 0)
		return rr_fail(rr, "out of memory");
	memcpy(c->pkt->data, p, n);
	int r = avcodec_send_packet(c->dec, c->pkt);
	av_packet_unref(c->pkt);
	if (r < 0)
		return rr_fail(rr, "H.264 access unit %u (%zu bytes) does not decode: %s", c->aus,
			       n, av_err2str(r));
	r = avcodec_receive_frame(c->dec, c->frame);
	if (r < 0)
		return rr_fail(rr, "access unit %u gave no picture at once (%s)", c->aus,
			       av_err2str(r));
	c->aus++;
	const AVFrame *f = c->frame;
	if (f->width < c->ctx_w || f->height < c->ctx_h)
		return rr_fail(rr, "a %dx%d picture for a %ux%u rectangle", f->width, f->height,
			       c->ctx_w, c->ctx_h);
	if (f->color_range != AVCOL_RANGE_JPEG || f->colorspace != AVCOL_SPC_SMPTE170M)
		return rr_fail(rr, "the stream says range %d, matrix %d (want full range, BT.601)",
			       f->color_range, f->colorspace);
	if (c->ctx_x + c->ctx_w > rr->width || c->ctx_y + c->ctx_h > rr->height)
		return rr_fail(rr, "H.264 rectangle %ux%u+%u+%u outside the %ux%u framebuffer",
			       c->ctx_w, c->ctx_h, c->ctx_x, c->ctx_y, rr->width, rr->height);
	/* libyuv's ARGB is B,G,R,A in memory: the framebuffer's order. */
	J420ToARGB(f->data[0], f->linesize[0], f->data[1], f->linesize[1], f->data[2],
		   f->linesize[2], rr->fb + ((size_t)c->ctx_y * rr->width + c->ctx_x) * 4,
		   rr->width * 4, c->ctx_w, c->ctx_h);
	return true;
}

/* Annex B: the NAL after a start code at p[i], and where the next start code is. */
static size_t next_start(const uint8_t *p, size_t n, size_t i)
{
	for (; i + 3 <= n; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
			return i;
	return n;
}

/* One rectangle of encoding 50 (the raw client's hook): the access units one by one. */
static bool on_h264(struct rr *rr, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
		    uint32_t flags, const uint8_t *data, size_t len)
{
	struct rc *c = rr->opaque;
	struct event *ev = c->n_events < MAX_EVENTS ? &c->events[c->n_events++] : NULL;
	if (ev)
		*ev = (struct event){.kind = EV_H264, .w = w, .h = h, .flags = flags,
				     .len = (uint32_t)len, .fb_w = rr->width, .fb_h = rr->height};

	bool fresh = false;
	if (flags & 3u) /* ResetAllContexts / ResetContext: we keep only one */
		close_decoder(c);
	if (!c->dec || c->ctx_x != x || c->ctx_y != y || c->ctx_w != w || c->ctx_h != h) {
		if (!open_decoder(c, x, y, w, h))
			return false;
		fresh = true;
	}
	if (getenv("H264_CHECK_VERBOSE"))
		say("%s: H.264 %ux%u+%u+%u flags %u, %zu bytes%s", rr->label, w, h, x, y, flags,
		    len, fresh ? ", new context" : "");
	size_t i = next_start(data, len, 0), au_start = i;
	if (len && i != 0 && !(i == 1 && data[0] == 0))
		return rr_fail(rr, "H.264 payload does not start with a start code");
	unsigned k = 0, slices = 0;
	while (i < len) {
		size_t nal = i + 3, end = next_start(data, len, nal);
		/* a 4-byte start code's leading zero belongs to the next one */
		size_t nal_end = end < len && end > nal && data[end - 1] == 0 ? end - 1 : end;
		if (nal >= len)
			return rr_fail(rr, "an empty NAL unit");
		unsigned type = data[nal] & 0x1f;
		if (ev && ev->n_types < 4)
			ev->types[ev->n_types++] = (uint8_t)type;
		if (type != 1 && type != 5 && type != 7 && type != 8)
			return rr_fail(rr, "NAL type %u in the stream (noVNC takes 1, 5, 7, 8)", type);
		/* A new context must start with SPS, PPS and an IDR. */
		if (fresh && k == 0 && type != 7)
			return rr_fail(rr, "a new context starts with NAL type %u, not an SPS", type);
		if (fresh && type == 1 && slices == 0)
			return rr_fail(rr, "a new context's first picture is not an IDR");
		k++;
		if (type == 1 || type == 5) {
			/* One slice per picture: the slice ends the access unit. */
			slices++;
			if (!decode_au(c, data + au_start, nal_end - au_start))
				return false;
			au_start = end;
		}
		i = end;
	}
	if (au_start < len && next_start(data, len, au_start) < len)
		return rr_fail(rr, "NAL units after the last picture of a rectangle");
	return true;
}

static void on_size(struct rr *rr, uint16_t w, uint16_t h)
{
	struct rc *c = rr->opaque;
	if (c->n_events < MAX_EVENTS)
		c->events[c->n_events++] = (struct event){.kind = EV_SIZE, .w = w, .h = h};
}

/* Connect, handshake (None) and ask for the encodings listed, as a viewer does. */
static bool rc_connect(struct rc *c, const char *label, int port, const int32_t *encs,
		       size_t n_encs)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	if (rr_connect(&c->rr, label, "127.0.0.1", port, err, sizeof(err)) < 0 ||
	    rr_handshake(&c->rr, NULL, NULL, err, sizeof(err)) != RR_OK) {
		say("%s", err);
		return false;
	}
	c->rr.io_timeout_s = IO_TIMEOUT_S;
	c->rr.on_h264 = on_h264;
	c->rr.on_size = on_size;
	c->rr.opaque = c;
	c->pkt = av_packet_alloc();
	c->frame = av_frame_alloc();
	return c->pkt && c->frame && rr_start(&c->rr, encs, (unsigned)n_encs);
}

static void rc_close(struct rc *c)
{
	rr_close(&c->rr);
	close_decoder(c);
	av_packet_free(&c->pkt);
	av_frame_free(&c->frame);
}

/* Handle messages of these clients (and libvncclient ones) for `seconds`. */
static bool pump(struct rc **cs, size_t n, struct vc **vs, size_t nv, double seconds)
{
	double end = now_s() + seconds;
	do {
		struct pollfd pfd[8];
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = cs[i]->rr.fd, .events = POLLIN};
		double left = end - now_s();
		int ms = nv ? 10 : (left > 0 ? (int)(left * 1000) + 1 : 0);
		if (n && poll(pfd, (nfds_t)n, ms) > 0) {
			for (size_t i = 0; i < n; i++) {
				if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ||
				    rr_read_message(&cs[i]->rr, IO_TIMEOUT_S) >= 0)
					continue;
				say("%s: %s", cs[i]->rr.label, cs[i]->rr.why);
				return false;
			}
		}
		if (nv && vc_pump(vs, nv, n ? 0.01 : left > 0 ? left : 0) < 0)
			return false;
	} while (now_s() < end);
	return true;
}

/* Whether an H.264 client shows the scene's last tick (its stamp; any size). */
static bool shows_tick(const struct rc *c, uint64_t tick, uint64_t *seen)
{
	struct ref_frame got;
	*seen = UINT64_MAX;
	if (rr_snapshot(&c->rr, &got) < 0)
		return false;
	bool ok = ref_read_stamp(got.rgb, got.width, got.height, seen) == 0 &&
		  *seen == (tick & ((1ull << SYNTHETIC_TICK_STAMP_BITS) - 1));
	ref_frame_free(&got);
	return ok;
}

/* Until every client shows the scene's last tick: the H.264 ones by the stamp in the decoded
 * picture (the scenes have stamp=on), the libvncclient ones exactly. No waiting for "quiet":
 * a missed last update never shows the last tick, and fails here after SETTLE_LIMIT_S. */
static bool settle(struct rc **cs, size_t n, struct vc **vs, size_t nv, const struct scene *sc)
{
	double deadline = now_s() + SETTLE_LIMIT_S;
	struct ref_frame want = {0};
	char err[256];
	uint64_t seen;

	if (nv && ref_render(sc->spec, sc->ticks, NULL, 0, &want, err, sizeof(err)) < 0) {
		say("reference for %s: %s", sc->spec, err);
		return false;
	}
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all &= shows_tick(cs[i], sc->ticks, &seen);
		for (size_t i = 0; all && i < nv; i++) {
			struct ref_frame got;
			all = vc_snapshot(vs[i], &got) == 0 && ref_frame_equal(&got, &want);
			ref_frame_free(&got);
		}
		if (all)
			break;
		if (now_s() > deadline) {
			for (size_t i = 0; i < n; i++)
				if (!shows_tick(cs[i], sc->ticks, &seen))
					say("%s: after %d s, %u updates, the picture shows %s%llu, "
					     "not the last tick %llu", cs[i]->rr.label, SETTLE_LIMIT_S,
					     cs[i]->rr.updates, seen == UINT64_MAX ? "no stamp " : "tick ",
					     seen == UINT64_MAX ? 0ull : (unsigned long long)seen,
					     (unsigned long long)sc->ticks);
			for (size_t i = 0; i < nv; i++)
				say("%s: not the last picture after %d s", vs[i]->label, SETTLE_LIMIT_S);
			ref_frame_free(&want);
			return false;
		}
		if (!pump(cs, n, vs, nv, 0.05)) {
			ref_frame_free(&want);
			return false;
		}
	}
	ref_frame_free(&want);
	return true;
}

/* ---- comparisons -------------------------------------------------------------------------- */

static double psnr_box(const struct ref_frame *got, const struct ref_frame *want, int x0, int y0,
		       int x1, int y1)
{
	double se = 0;
	size_t n = 0;
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > (int)want->width)
		x1 = (int)want->width;
	if (y1 > (int)want->height)
		y1 = (int)want->height;
	for (int y = y0; y < y1; y++) {
		for (int x = x0; x < x1; x++) {
			const uint8_t *g = got->rgb + ((size_t)y * got->width + x) * 3;
			const uint8_t *w = want->rgb + ((size_t)y * want->width + x) * 3;
			for (int k = 0; k < 3; k++) {
				double d = (double)g[k] - w[k];
				se += d * d;
				n++;
			}
		}
	}
	if (!n)
		return 99.0;
	return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

/* How the cursor should look in a client's decoded picture. */
enum cursor_check { CURSOR_ANY, CURSOR_NOT_IN_VIDEO, CURSOR_DRAWN_IN };

/* PSNR of the cursor's box against want; false when the scene has no cursor. */
static bool cursor_psnr(const struct ref_frame *got, const struct ref_frame *want,
			const struct scene *sc, double *db)
{
	struct ref_cursor cur;
	char err[256];
	if (ref_cursor(sc->spec, sc->ticks, NULL, 0, &cur, err, sizeof(err)) < 0)
		return false;
	*db = psnr_box(got, want, cur.x, cur.y, cur.x + (int)cur.width, cur.y + (int)cur.height);
	ref_cursor_free(&cur);
	return true;
}

/* The reference of the scene's last tick, with the cursor blended in when drawn. */
static bool reference(const struct scene *sc, bool drawn, struct ref_frame *want)
{
	char err[256];
	if (ref_render(sc->spec, sc->ticks, NULL, 0, want, err, sizeof(err)) < 0) {
		say("reference for %s: %s", sc->spec, err);
		return false;
	}
	struct ref_cursor cur;
	if (drawn && ref_cursor(sc->spec, sc->ticks, NULL, 0, &cur, err, sizeof(err)) == 0) {
		ref_blend_cursor(want, &cur);
		ref_cursor_free(&cur);
	}
	return true;
}

static bool check_picture(const struct rc *c, const struct scene *sc, enum cursor_check cc)
{
	struct ref_frame want, bare;
	if (!reference(sc, cc == CURSOR_DRAWN_IN, &want))
		return false;
	struct ref_frame got;
	if (rr_snapshot(&c->rr, &got) < 0) {
		ref_frame_free(&want);
		return false;
	}
	bool ok = true;
	if (got.width != want.width || got.height != want.height) {
		say("%s: framebuffer %ux%u, the source shows %ux%u", c->rr.label, got.width,
		    got.height, want.width, want.height);
		ok = false;
	}
	double db = ok ? psnr_box(&got, &want, 0, 0, (int)want.width, (int)want.height) : 0;
	if (ok && db < PSNR_MIN) {
		say("%s, %s: PSNR %.2f dB < %.1f dB", c->rr.label, sc->spec, db, PSNR_MIN);
		ok = false;
	} else if (ok) {
		say("%s, %s: PSNR %.2f dB (>= %.1f), %u access units in %u rectangles", c->rr.label,
		     sc->spec, db, PSNR_MIN, c->aus, c->rr.h264_rects);
	}
	/* A RichCursor client: never in the video. A client without cursor shapes: in it,
	 * the box like the reference with the cursor blended, unlike the one without. */
	double cdb, bare_db;
	if (ok && cc == CURSOR_NOT_IN_VIDEO && cursor_psnr(&got, &want, sc, &cdb) &&
	    cdb < CURSOR_PSNR_MIN) {
		say("%s: PSNR %.2f dB under the cursor: is the cursor in the video?", c->rr.label,
		    cdb);
		ok = false;
	}
	if (ok && cc == CURSOR_DRAWN_IN && reference(sc, false, &bare)) {
		ok = cursor_psnr(&got, &want, sc, &cdb) && cursor_psnr(&got, &bare, sc, &bare_db);
		ok = ok && holds(cdb >= CURSOR_PSNR_MIN && bare_db < CURSOR_PSNR_MIN,
				 "%s: the cursor's box: PSNR %.2f dB against the picture with the "
				 "cursor, %.2f dB without (want >= and < %.1f): no cursor drawn in?",
				 c->rr.label, cdb, bare_db, CURSOR_PSNR_MIN);
		if (ok)
			say("%s: the cursor is drawn in (box %.2f dB with it, %.2f dB without)",
			    c->rr.label, cdb, bare_db);
		ref_frame_free(&bare);
	}
	ref_frame_free(&got);
	ref_frame_free(&want);
	return ok;
}

/* The first H.264 rectangle after event index `from` starts a context: the whole
 * framebuffer as it was then, ResetContext, SPS+PPS+IDR first. */
static bool check_context_start(const struct rc *c, unsigned from, const char *what)
{
	for (unsigned i = from; i < c->n_events; i++) {
		const struct event *e = &c->events[i];
		if (e->kind != EV_H264)
			continue;
		bool ok = e->w == e->fb_w && e->h == e->fb_h && (e->flags & 1) && e->n_types >= 3 &&
			  e->types[0] == 7 && e->types[1] == 8 && e->types[2] == 5;
		if (!ok)
			say("%s: %s: H.264 rectangle %ux%u flags %u, NAL types %u,%u,%u (want the "
			     "framebuffer's %ux%u, ResetContext, 7,8,5)",
			     c->rr.label, what, e->w, e->h, e->flags, e->types[0],
			     e->n_types > 1 ? e->types[1] : 0, e->n_types > 2 ? e->types[2] : 0,
			     e->fb_w, e->fb_h);
		else
			say("%s: %s: %ux%u, flags %u, SPS+PPS+IDR", c->rr.label, what, e->w, e->h,
			     e->flags);
		return ok;
	}
	say("%s: %s: no H.264 rectangle", c->rr.label, what);
	return false;
}

static const int32_t h264_encs[] = {RFB_ENC_OPEN_H264,        RFB_ENC_RAW,
				    RFB_ENC_RICH_CURSOR,      RFB_ENC_DESKTOP_SIZE,
				    RFB_ENC_EXT_DESKTOP_SIZE, RFB_ENC_LAST_RECT};
#define N_H264_ENCS (sizeof(h264_encs) / sizeof(h264_encs[0]))

/* The server on the scene, and client c ("client", the H.264 encodings) connected to it.
 * c can be closed either way. */
static bool rc_start(struct run *r, const struct scene *sc, struct rc *c)
{
	memset(c, 0, sizeof(*c));
	c->rr.fd = -1;
	return start_server(r, sc->spec, NULL) &&
	       rc_connect(c, "client", r->port, h264_encs, N_H264_ENCS);
}

/* ---- cases --------------------------------------------------------------------------------- */

static bool case_pixels(struct run *r, const struct scene *sc)
{
	struct rc c;
	bool ok = rc_start(r, sc, &c);
	struct rc *cs[] = {&c};
	ok = ok && settle(cs, 1, NULL, 0, sc);
	ok = ok && check_picture(&c, sc, CURSOR_NOT_IN_VIDEO);
	ok = ok && check_context_start(&c, 0, "first picture");
	ok = ok && holds(c.rr.raw_rects == 0, "%u raw rectangles reached an H.264 client",
			 c.rr.raw_rects);
	ok = ok && holds(c.rr.h264_rects > 0, "no H.264 rectangle");
	ok = ok && holds(server_log_contains(&r->srv, "H.264: "),
			 "the server did not log its H.264 encoder");
	rc_close(&c);
	return ok;
}

static bool case_static_quiet(struct run *r)
{
	const struct scene *sc = find_scene("static");
	struct rc c;
	bool ok = rc_start(r, sc, &c);
	struct rc *cs[] = {&c};
	ok = ok && settle(cs, 1, NULL, 0, sc) && check_picture(&c, sc, CURSOR_ANY);
	unsigned rects = c.rr.pixel_rects, updates = c.rr.updates;
	/* Ask again every 100 ms, on top of the request after each update. */
	for (int i = 0; ok && i < 15; i++)
		ok = rr_request(&c.rr, true, 0, 0, c.rr.width, c.rr.height) &&
		     pump(cs, 1, NULL, 0, 0.1);
	ok = ok && holds(c.rr.pixel_rects == rects,
			 "static scene: %u rectangles in %u updates in 1.5 s after the first "
			 "picture (want none)",
			 c.rr.pixel_rects - rects, c.rr.updates - updates);
	rc_close(&c);
	return ok;
}

static bool case_resize(struct run *r)
{
	const struct scene *sc = find_scene("modes");
	struct rc c;
	bool ok = rc_start(r, sc, &c);
	uint16_t w0 = c.rr.width, h0 = c.rr.height;
	struct rc *cs[] = {&c};
	ok = ok && settle(cs, 1, NULL, 0, sc) && check_picture(&c, sc, CURSOR_ANY);
	/* The size change that gave the final size, then the next H.264 rectangle. */
	int change = -1;
	for (unsigned i = 0; ok && i < c.n_events; i++)
		if (c.events[i].kind == EV_SIZE && (c.events[i].w != w0 || c.events[i].h != h0))
			change = (int)i;
	ok = ok &&
	     holds(change >= 0, "no size change arrived (the client stayed at %ux%u)", w0, h0);
	if (ok) {
		const struct event *e = &c.events[change];
		ok = check_context_start(&c, (unsigned)change + 1, "after the resize");
		for (unsigned i = (unsigned)change + 1; ok && i < c.n_events; i++) {
			if (c.events[i].kind == EV_H264) {
				if (c.events[i].w != e->w || c.events[i].h != e->h) {
					say("after the resize to %ux%u: an H.264 rectangle of %ux%u",
					     e->w, e->h, c.events[i].w, c.events[i].h);
					ok = false;
				}
				break;
			}
		}
		for (unsigned i = (unsigned)change + 1; ok && i < c.n_events; i++) {
			if (c.events[i].kind == EV_H264 && (c.events[i].flags & 2)) {
				say("after the resize: ResetAllContexts too (flags %u): the old "
				     "size's context is dead", c.events[i].flags);
				break;
			}
		}
	}
	rc_close(&c);
	return ok;
}

/* The number of "h264: encoded frame" lines in the server's log. */
static unsigned count_encodes(struct server_proc *s)
{
	unsigned n = 0;
	pthread_mutex_lock(&s->lock);
	for (const char *p = s->log; p && (p = strstr(p, "h264: encoded frame ")); p++)
		n++;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static bool case_two_clients(struct run *r)
{
	const struct scene *sc = find_scene("video-long");
	const char *extra[] = {"--encoder", "x264", NULL};
	struct rc a, b;
	if (!start_server(r, sc->spec, extra))
		return false;
	bool ok = rc_connect(&a, "client A", r->port, h264_encs, N_H264_ENCS) &&
		  rc_connect(&b, "client B", r->port, h264_encs, N_H264_ENCS);
	struct rc *cs[] = {&a, &b};
	ok = ok && settle(cs, 2, NULL, 0, sc);
	ok = ok && check_picture(&a, sc, CURSOR_NOT_IN_VIDEO) && check_picture(&b, sc, CURSOR_NOT_IN_VIDEO);
	unsigned encodes = count_encodes(&r->srv), received = a.aus + b.aus;
	say("%u encodes for %u + %u access units received", encodes, a.aus, b.aus);
	/* Shared: nearly every picture encoded once went to both. Separate encoders would
	 * make encodes == received. */
	ok = ok && holds(encodes > 0 && (double)received >= 1.5 * encodes,
			 "two clients on one stream: %u encodes for %u access units received (want "
			 "received >= 1.5 x encodes)",
			 encodes, received);
	ok = ok && holds(server_log_contains(&r->srv, "H.264: using x264 (software)"),
			 "--encoder x264: the log does not say \"H.264: using x264 (software)\"");
	rc_close(&a);
	rc_close(&b);
	return ok;
}

static bool case_mixed(struct run *r)
{
	const struct scene *sc = find_scene("desktop");
	struct rc c;
	struct vc v;
	const struct vc_opts o = {.encodings = "tight copyrect", .compress = 1, .quality = -1,
				  .remote_cursor = true};
	char err[256];
	if (!start_server(r, sc->spec, NULL))
		return false;
	bool ok = rc_connect(&c, "H.264 client", r->port, h264_encs, N_H264_ENCS);
	if (ok && vc_connect(&v, "Tight client", r->port, &o, err, sizeof(err)) < 0) {
		say("%s", err);
		rc_close(&c);
		return false;
	}
	struct rc *cs[] = {&c};
	struct vc *vs[] = {&v};
	ok = ok && settle(cs, 1, vs, 1, sc) && check_picture(&c, sc, CURSOR_NOT_IN_VIDEO);
	if (ok) {
		struct ref_frame want, got;
		static const struct tolerance exact = {0, 0};
		ok = ref_render(sc->spec, sc->ticks, NULL, 0, &want, err, sizeof(err)) == 0;
		if (ok && vc_snapshot(&v, &got) == 0) {
			ok = compare_frames(&got, &want, &exact, "Tight client next to H.264");
			ref_frame_free(&got);
		} else {
			ok = false;
		}
		if (ok)
			say("Tight client: exact (%u rectangles)", v.pixel_rects);
		ref_frame_free(&want);
	}
	vc_close(&v);
	rc_close(&c);
	return ok;
}

/* The client settles on the scene's last tick with the right picture, and got H.264
 * only, from a context start at its first picture (never libvncserver's raw). */
static bool h264_only_from_idr(struct rc *c, const struct scene *sc, enum cursor_check cc)
{
	struct rc *cs[] = {c};
	return settle(cs, 1, NULL, 0, sc) && check_picture(c, sc, cc) &&
	       check_context_start(c, 0, "first picture") &&
	       holds(c->rr.raw_rects == 0 && c->rr.pixel_rects == c->rr.h264_rects,
		     "%u raw rectangles, %u pixel rectangles of which %u H.264 (want H.264 only)",
		     c->rr.raw_rects, c->rr.pixel_rects, c->rr.h264_rects);
}

/* A client that lists 50 but no cursor encoding: H.264 from its first picture (an IDR,
 * never libvncserver's raw), from the stream with the cursor drawn in. */
static bool case_no_cursor(struct run *r)
{
	const struct scene *sc = find_scene("desktop");
	static const int32_t encs[] = {RFB_ENC_OPEN_H264, RFB_ENC_RAW, RFB_ENC_DESKTOP_SIZE};
	struct rc c;
	if (!start_server(r, sc->spec, NULL))
		return false;
	bool ok = rc_connect(&c, "client", r->port, encs, 3);
	ok = ok && h264_only_from_idr(&c, sc, CURSOR_DRAWN_IN);
	rc_close(&c);
	return ok;
}

/* The first frames fail (as a GPU that cannot import them would) and then the screen
 * stands still: no new damage comes, yet the client converges to the right picture,
 * H.264 all the way (its damage was kept and retried on the next capture ticks). */
static bool case_failed_frame(struct run *r)
{
	const struct scene *sc = find_scene("static");
	struct rc c;
	setenv("VGPU_TEST_H264_FAIL_FRAMES", "0-2", 1);
	bool ok = rc_start(r, sc, &c);
	unsetenv("VGPU_TEST_H264_FAIL_FRAMES");
	ok = ok && h264_only_from_idr(&c, sc, CURSOR_NOT_IN_VIDEO);
	ok = ok && holds(server_log_contains(&r->srv, "frame skipped (1 in a row), its damage kept"),
			 "the server did not log the skipped frame");
	rc_close(&c);
	return ok;
}

static bool case_encoder_vpl(struct run *r)
{
	const char *args[] = {"--source", "synthetic:320x240:static", "--listen",
			      "tcp:127.0.0.1:0", "--encoder", "vpl", NULL};
	char st[64];
	r->started = server_start(&r->srv, r->bin, args) == 0;
	if (!r->started)
		return false;
	if (!server_wait_exit(&r->srv, 10)) {
		if (server_log_contains(&r->srv, "H.264: using VPL")) {
			say("VPL runs on this machine: nothing to check (stopping the server)");
			return true;
		}
		say("--encoder vpl without VPL: the server still runs after 10 s");
		return false;
	}
	server_join_log(&r->srv);
	bool ok = WIFEXITED(r->srv.status) && WEXITSTATUS(r->srv.status) == 1;
	if (!ok)
		say("--encoder vpl without VPL: %s (want exit status 1)",
		     server_status_str(&r->srv, st, sizeof(st)));
	if (!server_log_contains(&r->srv, "H.264 (--encoder vpl): VPL unavailable (")) {
		say("the log does not say why VPL cannot be used");
		ok = false;
	}
	return ok;
}

/* ---- main ---------------------------------------------------------------------------------- */

static const struct check_case cases[] = {
	{"static-quiet", case_static_quiet}, {"resize", case_resize},
	{"two-clients", case_two_clients},   {"mixed", case_mixed},
	{"no-cursor", case_no_cursor},       {"encoder-vpl", case_encoder_vpl},
	{"failed-frame", case_failed_frame},
};

int main(int argc, char **argv)
{
	static const struct check_driver d = {
		.name = "h264_check", .cases = cases, .n_cases = sizeof(cases) / sizeof(cases[0]),
		.pixels_scene = case_pixels, .watchdog_s = WATCHDOG_S, .log_lines = 60};

	return check_main(&d, argc, argv);
}
