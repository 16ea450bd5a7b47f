/* tight_jpeg_check: the Tight-JPEG path end to end.
 *
 *   tight_jpeg_check PATH/TO/vgpu-vnc CASE
 *
 * The real server binary on the synthetic vGPU, real libvncclient clients asking for
 * Tight with a JPEG quality, checked against the synthetic source run in-process (the
 * helpers of vnc_check). The client's JPEG rectangles go through a hook of ours that
 * counts them and decodes them as libvncclient would; fills and other rectangles are
 * counted too, and the bytes the client's socket received come from TCP_INFO. So each
 * case sees which sub-encodings arrived, not just the pixels.
 *
 * Cases (one ctest entry each):
 *   pixels.SCENE    quality level 6 (JPEG Q79 4:4:4, noVNC's default): when the scene has
 *                   come to rest the frame is within the JPEG tolerance, JPEG rectangles
 *                   arrived and the server says the client goes through Tight-JPEG; after
 *                   the lossless refresh (1 s later) the frame equals the source exactly
 *   static-refresh  a still screen: after the first update, exactly one more update with
 *                   pixels in 3 s (the lossless refresh: no JPEG in it), then exact
 *   partial-bytes   typing: an update of a few changed tiles costs far fewer bytes than
 *                   the first, full one
 *   fine-quality    TurboVNC's "perceptually lossless" preset (fine quality 95, 1X
 *                   subsampling, pseudo-encodings -417 and -768): the server uses it
 *   gray            grayscale subsampling: a gray picture within tolerance, no refresh
 *   shared          two clients with the same settings: encoded rectangles are shared
 *                   (the server's summary), both end exact
 *   softcursor      a client without cursor shapes gets the cursor in the picture, exact
 *                   after the refresh
 */
#include <errno.h>
#include <linux/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "compare.h"
#include "harness.h"
#include "reference.h"
#include "util.h"
#include "vnc_client.h"

#define REFRESH_WAIT_S 1.4 /* the server's refresh delay (1 s) + slack + scheduling */
#define WATCHDOG_S 50

/* Q79 (quality level 6) on the synthetic scenes, measured: mean error per channel up to
 * ~2.8 (the scroll scene, all text), single channels off by up to 130 (a saturated colour
 * edge in the static scene). These bounds only catch gross errors (wrong channel order,
 * garbage); a stale tile shows in the exact comparison after the lossless refresh. */
static const struct tolerance q79 = {4.0, 160};
static const struct tolerance exact = {0, 0};

/* The shared scenes, but a larger still screen: more JPEG (harness.c). */
static const struct scene static_vga = {"static", "640x480:static:frames=1,stamp=on", 1, 30};

static const struct scene *tj_scene(const char *name)
{
	return strcmp(name, "static") == 0 ? &static_vga : find_scene(name);
}

/* ---- the client, with counting hooks ------------------------------------------------- */

struct tc {
	struct vc vc;
	/* libvncclient's hooks, called on by ours */
	GotFrameBufferUpdateProc rect_next;
	FinishedFrameBufferUpdateProc done_next;
	GotFillRectProc fill_next;
	unsigned rects, jpeg_rects, fill_rects;
	/* The refresh: once `at_rest` is set, the first update with a lossless rectangle
	 * starts it; jpeg_before_refresh is the JPEG count before that update. */
	bool at_rest, refresh_started;
	unsigned jpeg_before_refresh, jpeg_at_done, other_at_done;
	uint64_t jpeg_bytes;
	unsigned pixel_updates;     /* updates that carried pixel rectangles */
	unsigned rects_at_last_update;
	uint64_t first_update_jpeg; /* JPEG bytes of the first update with pixels */
	uint64_t jpeg_at_last_update;
	bool jpeg_error;
};

static int tc_tag;

static struct tc *tc_of(rfbClient *cl)
{
	return rfbClientGetClientData(cl, &tc_tag);
}

static void on_rect(rfbClient *cl, int x, int y, int w, int h)
{
	struct tc *t = tc_of(cl);
	t->rects++;
	t->rect_next(cl, x, y, w, h);
}

static void on_fill(rfbClient *cl, int x, int y, int w, int h, uint32_t colour)
{
	struct tc *t = tc_of(cl);
	t->fill_rects++;
	t->fill_next(cl, x, y, w, h, colour);
}

static void on_done(rfbClient *cl)
{
	struct tc *t = tc_of(cl);
	if (getenv("VNC_CHECK_VERBOSE"))
		say("%s: update at +%.3f s: %u rects so far (%u JPEG, %u fills)", t->vc.label,
		    now_s() - t->vc.connected_at, t->rects, t->jpeg_rects, t->fill_rects);
	unsigned other = t->rects - t->jpeg_rects - t->fill_rects;
	if (t->at_rest && !t->refresh_started && other != t->other_at_done) {
		t->refresh_started = true;
		t->jpeg_before_refresh = t->jpeg_at_done;
	}
	t->jpeg_at_done = t->jpeg_rects;
	t->other_at_done = other;
	if (t->rects != t->rects_at_last_update) {
		if (t->pixel_updates++ == 0)
			t->first_update_jpeg = t->jpeg_bytes;
		t->rects_at_last_update = t->rects;
		t->jpeg_at_last_update = t->jpeg_bytes;
	}
	t->done_next(cl);
}

/* A Tight JPEG rectangle: counted, then decoded into the framebuffer the way libvncclient
 * does it (whose check of the rectangle's bounds has run already). libvncclient 0.9.14
 * hands the compressed data over and does not free it: this hook owns it. */
static rfbBool on_jpeg(rfbClient *cl, const uint8_t *buf, int len, int x, int y, int w, int h)
{
	struct tc *t = tc_of(cl);
	const rfbPixelFormat *f = &cl->format;
	int pf = -1, r = -1;
	tjhandle tj;

	t->jpeg_rects++;
	t->jpeg_bytes += (uint64_t)len;
	if (f->bitsPerPixel == 32 && !f->bigEndian && f->redShift == 0 && f->blueShift == 16)
		pf = TJPF_RGBX;
	else if (f->bitsPerPixel == 32 && !f->bigEndian && f->redShift == 16 && f->blueShift == 0)
		pf = TJPF_BGRX;
	/* Only functions that libvncclient's look-alike TurboJPEG has too: this program links
	 * both, and which one a name binds to depends on the link order. */
	if (pf >= 0 && (tj = tjInitDecompress())) {
		int jw, jh, sub;
		if (tjDecompressHeader2(tj, (unsigned char *)buf, (unsigned long)len, &jw, &jh,
					&sub) == 0 &&
		    jw == w && jh == h)
			r = tjDecompress2(tj, buf, (unsigned long)len,
					  (uint8_t *)cl->frameBuffer +
						  ((size_t)y * cl->width + x) * 4,
					  w, cl->width * 4, h, pf, 0);
		tjDestroy(tj);
	}
	free((void *)buf);
	if (r != 0) {
		say("%s: a %dx%d JPEG rectangle at %d,%d does not decode", t->vc.label, w, h, x, y);
		t->jpeg_error = true;
		return FALSE;
	}
	return TRUE;
}

static struct vc_opts opts(int quality, bool cursor)
{
	struct vc_opts o = {
		.encodings = "tight copyrect",
		.compress = 1,
		.quality = quality,
		.remote_cursor = cursor,
	};
	return o;
}

static bool tc_connect(struct tc *t, const char *label, int port, const struct vc_opts *o)
{
	char err[256];

	memset(t, 0, sizeof(*t));
	if (vc_connect(&t->vc, label, port, o, err, sizeof(err)) < 0) {
		say("%s", err);
		return false;
	}
	rfbClient *cl = t->vc.cl;
	rfbClientSetClientData(cl, &tc_tag, t);
	t->rect_next = cl->GotFrameBufferUpdate;
	t->done_next = cl->FinishedFrameBufferUpdate;
	t->fill_next = cl->GotFillRect;
	cl->GotFrameBufferUpdate = on_rect;
	cl->FinishedFrameBufferUpdate = on_done;
	cl->GotFillRect = on_fill;
	cl->GotJpeg = on_jpeg;
	return true;
}

/* Bytes the client's socket has received (read or not). */
static uint64_t wire_bytes(const struct tc *t)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(t->vc.cl->sock, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 0;
	return ti.tcpi_bytes_received;
}

static unsigned other_rects(const struct tc *t)
{
	return t->rects - t->jpeg_rects - t->fill_rects;
}

static void report(const struct tc *t)
{
	say("%s: %u updates with pixels; %u JPEG rects (%llu bytes), %u fills, %u lossless "
	    "rects; %llu bytes received",
	    t->vc.label, t->pixel_updates, t->jpeg_rects, (unsigned long long)t->jpeg_bytes,
	    t->fill_rects, other_rects(t), (unsigned long long)wire_bytes(t));
}

/* ---- the server ------------------------------------------------------------------------- */

/* The log line that proves a client went through our path at all. */
static bool says_fast_path(struct run *r)
{
	if (server_log_contains(&r->srv, "updates now through Tight-JPEG"))
		return true;
	say("the server's log never says \"updates now through Tight-JPEG\"");
	return false;
}

/* ---- helpers ------------------------------------------------------------------------- */

static bool check(const struct tc *t, const struct ref_frame *want, const struct tolerance *tol,
		  const char *what)
{
	struct ref_frame got;
	char label[160];
	bool ok;

	if (vc_snapshot(&t->vc, &got) < 0)
		return false;
	snprintf(label, sizeof(label), "%s, %s", t->vc.label, what);
	ok = compare_frames(&got, want, tol, label);
	ref_frame_free(&got);
	return ok;
}

/* Until every client shows want within tol (with want's tick stamp: the scenes have
 * stamp=on), at most WAIT_LIMIT_S: the expected picture, recognised when it comes, rather
 * than 0.5 s of quiet. On the limit, say how the last picture differs. */
static bool wait_all(struct tc **ts, size_t n, const struct ref_frame *want,
		     const struct tolerance *tol, const char *what)
{
	struct vc *cs[4];
	double deadline = now_s() + WAIT_LIMIT_S;

	for (size_t i = 0; i < n; i++)
		cs[i] = &ts[i]->vc;
	for (;;) {
		size_t matched = 0;
		for (size_t i = 0; i < n; i++) {
			struct ref_frame got;
			if (vc_snapshot(cs[i], &got) < 0)
				return false;
			matched += frames_match(&got, want, tol);
			ref_frame_free(&got);
		}
		if (matched == n)
			return true;
		if (now_s() > deadline) {
			say("not %s within %d s:", what, WAIT_LIMIT_S);
			for (size_t i = 0; i < n; i++)
				check(ts[i], want, tol, what);
			return false;
		}
		if (vc_pump(cs, n, 0.05) < 0)
			return false;
	}
}

/* The scene's last picture, within the lossy tolerance. */
static bool settle(struct tc **ts, size_t n, const struct ref_frame *want,
		   const struct tolerance *tol)
{
	return wait_all(ts, n, want, tol, "the last tick's picture");
}

/* The lossless refresh: the exact picture. */
static bool settle_refresh(struct tc **ts, size_t n, const struct ref_frame *want)
{
	return wait_all(ts, n, want, &exact, "the exact picture (refresh)");
}

static bool pump(struct tc *t, double seconds)
{
	struct vc *cs[] = {&t->vc};
	return vc_pump(cs, 1, seconds) == 0;
}

/* The scene's last tick into want (zeroed if that fails), the server on the scene, t
 * connected ("client") with o. */
static bool tc_start(struct run *r, const struct scene *sc, struct tc *t, const struct vc_opts *o,
		     struct ref_frame *want)
{
	return render(sc, NULL, 0, want) && start_server(r, sc->spec, NULL) &&
	       tc_connect(t, "client", r->port, o);
}

/* ---- cases ------------------------------------------------------------------------------- */

static bool case_pixels(struct run *r, const struct scene *sc)
{
	struct vc_opts o = opts(6, true);
	struct ref_frame want;
	struct tc t, *ts[] = {&t};
	bool ok;

	ok = tc_start(r, sc, &t, &o, &want);
	if (ok) {
		ok = settle(ts, 1, &want, &q79) && check(&t, &want, &q79, "at rest (JPEG)");
		/* From here on the scene is still: the server may finish sending its last
		 * tick's region (as JPEG), then comes the lossless refresh, with no JPEG in it. */
		t.at_rest = true;
		if (ok && t.jpeg_rects == 0) {
			say("no JPEG rectangle arrived");
			ok = false;
		}
		ok = ok && settle_refresh(ts, 1, &want) && check(&t, &want, &exact, "after the refresh");
		if (ok && (!t.refresh_started || t.jpeg_rects != t.jpeg_before_refresh)) {
			say("%u JPEG rectangles arrived in or after the lossless refresh "
			    "(want none: only the lossless refresh)",
			    t.jpeg_rects - (t.refresh_started ? t.jpeg_before_refresh : t.jpeg_rects));
			ok = false;
		}
		if (ok && other_rects(&t) == 0) {
			say("no lossless rectangle ever arrived, yet the frame is exact");
			ok = false;
		}
		ok = ok && !t.jpeg_error && says_fast_path(r);
		if (!ok || getenv("VNC_CHECK_VERBOSE"))
			report(&t);
		vc_close(&t.vc);
	}
	ref_frame_free(&want);
	return ok;
}

static bool case_static_refresh(struct run *r)
{
	const struct scene *sc = tj_scene("static");
	struct vc_opts o = opts(6, true);
	struct ref_frame want, got;
	struct tc t, *ts[] = {&t};
	bool ok;

	ok = tc_start(r, sc, &t, &o, &want);
	if (ok) {
		ok = settle(ts, 1, &want, &q79) && check(&t, &want, &q79, "first update");
		unsigned updates0 = t.pixel_updates, jpeg0 = t.jpeg_rects, other0 = other_rects(&t);
		uint64_t bytes0 = wire_bytes(&t);
		if (ok && jpeg0 == 0) {
			say("the first update has no JPEG rectangle");
			ok = false;
		}
		/* JPEG at Q79 does not give text back exactly: proof the picture is lossy yet. */
		if (ok && vc_snapshot(&t.vc, &got) == 0) {
			if (ref_frame_equal(&got, &want)) {
				say("the frame is already exact before the refresh (not lossy?)");
				ok = false;
			}
			ref_frame_free(&got);
		}
		ok = ok && pump(&t, 3.0);
		if (ok && (t.pixel_updates - updates0 != 1 || t.jpeg_rects != jpeg0 ||
			   other_rects(&t) == other0)) {
			say("in 3 s of a still screen after the first update: %u updates with "
			    "pixels, %u JPEG and %u lossless rectangles (want exactly 1 update, "
			    "lossless)",
			    t.pixel_updates - updates0, t.jpeg_rects - jpeg0,
			    other_rects(&t) - other0);
			ok = false;
		}
		ok = ok && check(&t, &want, &exact, "after the refresh") && says_fast_path(r);
		if (ok || getenv("VNC_CHECK_VERBOSE"))
			say("refresh: %llu bytes; first update: %llu JPEG bytes",
			    (unsigned long long)(wire_bytes(&t) - bytes0),
			    (unsigned long long)t.first_update_jpeg);
		if (!ok)
			report(&t);
		vc_close(&t.vc);
	}
	ref_frame_free(&want);
	return ok;
}

static bool case_partial_bytes(struct run *r)
{
	/* 2 s of typing into a 640x480 screen: a few tiles a tick. */
	const struct scene sc = {"typing", "640x480:typing:frames=60,stamp=on", 60, 30};
	struct vc_opts o = opts(6, true);
	struct ref_frame want;
	struct tc t, *ts[] = {&t};
	bool ok;

	ok = tc_start(r, &sc, &t, &o, &want);
	if (ok) {
		/* A window in the middle of the scene, before the first refresh (1 s). */
		ok = pump(&t, 0.25);
		unsigned u0 = t.pixel_updates;
		uint64_t b0 = wire_bytes(&t), full = t.first_update_jpeg;
		ok = ok && pump(&t, 0.6);
		unsigned n = t.pixel_updates - u0;
		uint64_t bytes = wire_bytes(&t) - b0;
		if (ok && (u0 == 0 || n < 5)) {
			say("%u updates before and %u in the window (want a full one, then >= 5)",
			    u0, n);
			ok = false;
		}
		if (ok) {
			double per = (double)bytes / n;
			say("full first update: %llu JPEG bytes; typing: %u updates, %.0f bytes "
			    "each on the wire",
			    (unsigned long long)full, n, per);
			if (per * 8 > (double)full) {
				say("a partial update costs more than 1/8 of the full one");
				ok = false;
			}
		}
		ok = ok && settle(ts, 1, &want, &q79) && check(&t, &want, &q79, "at rest") &&
		     settle_refresh(ts, 1, &want) && check(&t, &want, &exact, "after the refresh") &&
		     says_fast_path(r);
		if (!ok || getenv("VNC_CHECK_VERBOSE"))
			report(&t);
		vc_close(&t.vc);
	}
	ref_frame_free(&want);
	return ok;
}

/* SetEncodings of our own: libvncclient sends quality levels 0..9 only. */
static bool send_encodings(struct tc *t, const int32_t *encs, size_t n)
{
	uint8_t buf[4 + 4 * 32];

	if (n > 32)
		return false;
	buf[0] = rfbSetEncodings;
	buf[1] = 0;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)encs[i];
		buf[4 + 4 * i] = (uint8_t)(v >> 24);
		buf[5 + 4 * i] = (uint8_t)(v >> 16);
		buf[6 + 4 * i] = (uint8_t)(v >> 8);
		buf[7 + 4 * i] = (uint8_t)v;
	}
	return WriteToRFBServer(t->vc.cl, (char *)buf, (unsigned)(4 + 4 * n)) &&
	       SendFramebufferUpdateRequest(t->vc.cl, 0, 0, t->vc.cl->width, t->vc.cl->height,
					    FALSE);
}

#define ENC_FINE_QUALITY(q) (-512 + (q))
#define ENC_SUBSAMP(level) (-768 + (level))
#define ENC_RICH_CURSOR (-239)
#define ENC_LAST_RECT (-224)
#define ENC_NEW_FB_SIZE (-223)

static void luma(struct ref_frame *f)
{
	for (size_t i = 0; i < (size_t)f->width * f->height; i++) {
		uint8_t *p = f->rgb + i * 3;
		uint8_t y = (uint8_t)((19595 * p[0] + 38470 * p[1] + 7471 * p[2] + 32768) >> 16);
		p[0] = p[1] = p[2] = y;
	}
}

static bool case_fine_quality(struct run *r, bool gray)
{
	const struct scene *sc = tj_scene("desktop");
	/* No quality level from libvncclient: ours come in the SetEncodings below. */
	struct vc_opts o = opts(-1, true);
	const int32_t encs[] = {rfbEncodingTight,
				rfbEncodingCopyRect,
				gray ? ENC_FINE_QUALITY(50) : ENC_FINE_QUALITY(95),
				gray ? ENC_SUBSAMP(3) : ENC_SUBSAMP(0),
				ENC_RICH_CURSOR,
				ENC_LAST_RECT,
				ENC_NEW_FB_SIZE};
	const char *want_log = gray ? "Tight-JPEG quality 50, subsampling gray"
				    : "Tight-JPEG quality 95, subsampling 4:4:4";
	/* Q95 4:4:4 is "perceptually lossless": far tighter than Q79. Gray Q50: luma only. */
	const struct tolerance q95 = {1.5, 48}, gray50 = {3.0, 96};
	struct ref_frame want;
	struct tc t, *ts[] = {&t};
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	if (gray)
		luma(&want);
	ok = start_server(r, sc->spec, NULL) && tc_connect(&t, "client", r->port, &o) &&
	     send_encodings(&t, encs, sizeof(encs) / sizeof(encs[0]));
	if (ok) {
		ok = settle(ts, 1, &want, gray ? &gray50 : &q95) &&
		     check(&t, &want, gray ? &gray50 : &q95, "at rest");
		unsigned other0 = other_rects(&t);
		if (ok && !server_log_contains(&r->srv, want_log)) {
			say("the server's log never says \"%s\"", want_log);
			ok = false;
		}
		if (ok && t.jpeg_rects == 0) {
			say("no JPEG rectangle arrived");
			ok = false;
		}
		if (gray) {
			/* A lossless refresh would put colour back: there is none in gray. */
			ok = ok && pump(&t, REFRESH_WAIT_S + 0.5);
			if (ok && other_rects(&t) != other0) {
				say("%u lossless rectangles arrived in grayscale (want none)",
				    other_rects(&t) - other0);
				ok = false;
			}
			ok = ok && check(&t, &want, &gray50, "still gray");
		} else {
			ok = ok && settle_refresh(ts, 1, &want) &&
			     check(&t, &want, &exact, "after the refresh");
		}
		ok = ok && !t.jpeg_error;
		if (!ok || getenv("VNC_CHECK_VERBOSE"))
			report(&t);
		vc_close(&t.vc);
	}
	ref_frame_free(&want);
	return ok;
}

/* The client summary line: "client 0x...: Tight-JPEG: ... JPEG rects (N KiB, S shared)". */
static unsigned long long shared_in_log(struct run *r, unsigned *lines)
{
	unsigned long long total = 0;
	const char *p;

	*lines = 0;
	pthread_mutex_lock(&r->srv.lock);
	for (p = r->srv.log; p && (p = strstr(p, " shared), ")); p++) {
		const char *q = p;
		while (q > r->srv.log && q[-1] >= '0' && q[-1] <= '9')
			q--;
		total += strtoull(q, NULL, 10);
		(*lines)++;
	}
	pthread_mutex_unlock(&r->srv.lock);
	return total;
}

static bool case_shared(struct run *r)
{
	const struct scene *sc = tj_scene("large-video");
	struct vc_opts o = opts(6, true);
	struct ref_frame want;
	struct tc a, b, *ts[] = {&a, &b};
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	ok = start_server(r, sc->spec, NULL) && tc_connect(&a, "client A", r->port, &o);
	if (ok) {
		ok = tc_connect(&b, "client B", r->port, &o);
		if (ok) {
			ok = settle(ts, 2, &want, &q79) && check(&a, &want, &q79, "at rest") &&
			     check(&b, &want, &q79, "at rest") && settle_refresh(ts, 2, &want) &&
			     check(&a, &want, &exact, "after the refresh") &&
			     check(&b, &want, &exact, "after the refresh");
			if (!ok || getenv("VNC_CHECK_VERBOSE"))
				report(&a), report(&b);
			vc_close(&b.vc);
		}
		vc_close(&a.vc);
	}
	/* The summaries come when the clients are gone. */
	unsigned lines = 0;
	unsigned long long shared = 0;
	for (double end = now_s() + 5; ok && now_s() < end; sleep_s(0.05)) {
		shared = shared_in_log(r, &lines);
		if (lines >= 2)
			break;
	}
	if (ok && (lines < 2 || shared == 0)) {
		say("%u client summaries in the server's log, %llu shared JPEG rectangles (want 2, "
		    "> 0)",
		    lines, shared);
		ok = false;
	}
	if (ok)
		say("%llu JPEG rectangles went to the second client without a second encode",
		    shared);
	ref_frame_free(&want);
	return ok;
}

static bool case_softcursor(struct run *r)
{
	const struct scene *sc = tj_scene("desktop");
	const struct ref_event move = {.kind = REF_POINTER, .x = 100, .y = 80};
	struct vc_opts o = opts(6, false);
	struct ref_frame want;
	struct ref_cursor cur;
	struct tc t, *ts[] = {&t};
	char err[256];
	bool ok;

	if (!render(sc, &move, 1, &want))
		return false;
	if (ref_cursor(sc->spec, sc->ticks, &move, 1, &cur, err, sizeof(err)) < 0) {
		say("reference cursor: %s", err);
		ref_frame_free(&want);
		return false;
	}
	ref_blend_cursor(&want, &cur);
	ok = start_server(r, sc->spec, NULL) && tc_connect(&t, "client", r->port, &o) &&
	     vc_send(&t.vc, &move);
	if (ok) {
		ok = settle(ts, 1, &want, &q79) && check(&t, &want, &q79, "at rest") &&
		     settle_refresh(ts, 1, &want) && check(&t, &want, &exact, "after the refresh") &&
		     says_fast_path(r);
		if (ok && t.jpeg_rects == 0) {
			say("no JPEG rectangle arrived");
			ok = false;
		}
		if (!ok || getenv("VNC_CHECK_VERBOSE"))
			report(&t);
		vc_close(&t.vc);
	}
	ref_cursor_free(&cur);
	ref_frame_free(&want);
	return ok;
}

/* ---- driver ---------------------------------------------------------------------------- */

static bool case_fine(struct run *r)
{
	return case_fine_quality(r, false);
}

static bool case_gray(struct run *r)
{
	return case_fine_quality(r, true);
}

static const struct check_case cases[] = {
	{"static-refresh", case_static_refresh}, {"partial-bytes", case_partial_bytes},
	{"fine-quality", case_fine},             {"gray", case_gray},
	{"shared", case_shared},                 {"softcursor", case_softcursor},
};

int main(int argc, char **argv)
{
	static const struct check_driver d = {
		.name = "tight_jpeg_check", .cases = cases,
		.n_cases = sizeof(cases) / sizeof(cases[0]), .pixels_scene = case_pixels,
		.scene_of = tj_scene, .watchdog_s = WATCHDOG_S, .log_lines = 60};

	return check_main(&d, argc, argv);
}
