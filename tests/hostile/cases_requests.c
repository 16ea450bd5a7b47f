/* Update requests through the server's request hooks: a client gets the updates that are
 * due and no others.
 *
 * "No other update" is decided by an event, not by a silence: on a still screen the
 * client asks for a small square once non-incrementally (the answer: the scene there),
 * then again and again incrementally, then paints into it (the synthetic source paints a
 * square under the pointer while button 1 is down). The next update must be the one that
 * carries exactly that paint; an update the server sent for nothing would come first. A
 * second round, in another square, shows that none came in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/rfbproto.h>

#include "hostile.h"
#include "synthetic.h"
#include "util.h"

#define SPEC "320x240:static:cursor=off"
#define SIDE 5u           /* the requested square; the paint (6x6) covers it */
#define REPEATS 50        /* incremental requests before each paint */
#define SENTINEL 0x5a     /* what the client's copy holds where nothing was sent */

static bool pointer(struct rr *c, uint8_t buttons, uint16_t x, uint16_t y)
{
	uint8_t m[6] = {rfbPointerEvent, buttons, (uint8_t)(x >> 8), (uint8_t)x,
			(uint8_t)(y >> 8), (uint8_t)y};
	return rr_send(c, m, sizeof(m));
}

/* Read one message that must be a FramebufferUpdate (generous timeout: an event is
 * coming, this only keeps a broken server from hanging the test). */
static bool read_update(struct rr *c, const char *what)
{
	for (;;) {
		int m = rr_read_message(c, 20);
		if (m == 1)
			return true;
		if (m == 0)
			continue; /* bell, colour map: not updates */
		say("%s: %s", what, m == -2 ? "no update within 20 s" : "the connection broke");
		return false;
	}
}

/* Every pixel of the client's copy inside the square at x, y equals rgb (0xRRGGBB, or
 * -1: the reference frame), and every pixel outside it is still the sentinel. */
static bool only_square(const struct rr *c, uint16_t x0, uint16_t y0, long rgb,
			const struct ref_frame *ref, const char *what)
{
	for (uint32_t y = 0; y < c->height; y++) {
		for (uint32_t x = 0; x < c->width; x++) {
			const uint8_t *p = c->fb + ((size_t)y * c->width + x) * 4; /* B,G,R,X */
			bool inside = x >= x0 && x < x0 + SIDE && y >= y0 && y < y0 + SIDE;
			uint8_t want[3];
			if (!inside) {
				if (p[0] == SENTINEL && p[1] == SENTINEL && p[2] == SENTINEL)
					continue;
				say("%s: the pixel at %u,%u was sent, outside the requested "
				    "%ux%u square at %u,%u", what, x, y, SIDE, SIDE, x0, y0);
				return false;
			}
			if (rgb >= 0) {
				want[0] = (uint8_t)rgb;
				want[1] = (uint8_t)(rgb >> 8);
				want[2] = (uint8_t)(rgb >> 16);
			} else {
				const uint8_t *q = ref->rgb + ((size_t)y * ref->width + x) * 3;
				want[0] = q[2];
				want[1] = q[1];
				want[2] = q[0];
			}
			if (memcmp(p, want, 3) != 0) {
				say("%s: the pixel at %u,%u is %02x%02x%02x, want %02x%02x%02x "
				    "(an update before the one that was due?)", what, x, y, p[2], p[1],
				    p[0], want[2], want[1], want[0]);
				return false;
			}
		}
	}
	return true;
}

/* The last update's pixel rectangles lie inside the square at x0, y0 and cover it once
 * (no rectangle twice, none outside); pseudo-rectangles are not expected either. */
static bool rects_exact(const struct rr *c, uint16_t x0, uint16_t y0, const char *what)
{
	uint64_t area = 0;
	unsigned n = c->last_n_rects < RR_LAST_RECTS ? c->last_n_rects : RR_LAST_RECTS;
	for (unsigned i = 0; i < n; i++) {
		const struct rr_rect *q = &c->last_rects[i];
		if (q->encoding != RFB_ENC_RAW || q->x < x0 || q->y < y0 ||
		    q->x + q->w > x0 + SIDE || q->y + q->h > y0 + SIDE) {
			say("%s: rectangle %u of %u is %ux%u+%u+%u encoding %d, want raw inside the "
			    "%ux%u square at %u,%u", what, i + 1, c->last_n_rects, q->w, q->h, q->x,
			    q->y, q->encoding, SIDE, SIDE, x0, y0);
			return false;
		}
		area += (uint64_t)q->w * q->h;
	}
	if (c->last_n_rects > RR_LAST_RECTS || area != SIDE * SIDE) {
		say("%s: %u rectangles of %llu pixels in all for a square of %u", what,
		    c->last_n_rects, (unsigned long long)area, SIDE * SIDE);
		return false;
	}
	return true;
}

static void fill_sentinel(struct rr *c)
{
	memset(c->fb, SENTINEL, (size_t)c->width * c->height * 4);
}

/* How many pixels of the square show the paint. */
static unsigned painted(const struct rr *c, uint16_t x0, uint16_t y0)
{
	unsigned n = 0;
	for (uint32_t y = y0; y < y0 + SIDE; y++)
		for (uint32_t x = x0; x < x0 + SIDE; x++) {
			const uint8_t *p = c->fb + ((size_t)y * c->width + x) * 4;
			n += p[2] == (uint8_t)(SYNTHETIC_STAMP_RGB >> 16) &&
			     p[1] == (uint8_t)(SYNTHETIC_STAMP_RGB >> 8) &&
			     p[0] == (uint8_t)SYNTHETIC_STAMP_RGB;
		}
	return n;
}

/* A non-incremental request for the square at x, y (answer: the scene there), then
 * REPEATS incremental ones on a still screen, then a paint over it: the next update must
 * carry the paint and nothing else. */
static bool paint_round(struct rr *c, uint16_t x, uint16_t y, const struct ref_frame *ref,
			const char *what)
{
	fill_sentinel(c);
	if (!rr_request(c, false, x, y, SIDE, SIDE) || !read_update(c, what) ||
	    !rects_exact(c, x, y, what) || !only_square(c, x, y, -1, ref, what))
		return false;
	fill_sentinel(c);
	unsigned before = c->updates;
	for (int i = 0; i < REPEATS; i++)
		if (!rr_request(c, true, x, y, SIDE, SIDE))
			return false;
	/* Press and release at the square's centre: a 6x6 paint covering the square. */
	uint16_t px = (uint16_t)(x + SIDE / 2 + 1), py = (uint16_t)(y + SIDE / 2 + 1);
	if (!pointer(c, 1, px, py) || !pointer(c, 0, px, py) || !read_update(c, what))
		return false;
	unsigned n = painted(c, x, y);
	if (n == 0) {
		only_square(c, x, y, -1, ref, what); /* says what it got instead */
		say("%s: the first update after %d requests carries no paint: an update for "
		    "nothing on a still screen", what, REPEATS);
		return false;
	}
	if (n < SIDE * SIDE) {
		/* The capture thread read the source while it painted (the synthetic source
		 * paints in place): the rest comes with the next request. The unpainted
		 * pixels must be the scene's. */
		say("%s: the paint came in two captures (%u of %u pixels in the first)", what, n,
		    SIDE * SIDE);
		if (!rr_request(c, true, x, y, SIDE, SIDE) || !read_update(c, what))
			return false;
	} else if (!rects_exact(c, x, y, what)) {
		return false;
	}
	if (!only_square(c, x, y, SYNTHETIC_STAMP_RGB, NULL, what))
		return false;
	say("%s: %u update(s) for %d requests and one paint, carrying exactly the paint", what,
	    c->updates - before, REPEATS);
	return true;
}

/* One client, two rounds, in squares at x0, y0 and x0 + 160, y0 + 90 (each client its
 * own: the reference is the scene without paint). */
static bool one_client(struct run *r, const int32_t *enc, unsigned n_enc, const char *label,
		       uint16_t x0, uint16_t y0)
{
	struct rr c = {.fd = -1};
	struct ref_frame ref = {0};
	char err[256];
	bool ok = rr_connect(&c, label, "127.0.0.1", r->port, err, sizeof(err)) == 0 &&
		  rr_handshake(&c, NULL, NULL, err, sizeof(err)) == RR_OK;
	if (!ok)
		say("%s", err);
	ok = ok && rr_set_encodings(&c, enc, n_enc);
	if (ok && ref_render(SPEC, 0, NULL, 0, &ref, err, sizeof(err)) < 0) {
		say("reference: %s", err);
		ok = false;
	}
	/* Squares that the paint of the other round does not touch. */
	char what[2][96];
	snprintf(what[0], sizeof(what[0]), "%s, round 1", label);
	snprintf(what[1], sizeof(what[1]), "%s, round 2", label);
	ok = ok && paint_round(&c, x0, y0, &ref, what[0]) &&
	     paint_round(&c, (uint16_t)(x0 + 160), (uint16_t)(y0 + 90), &ref, what[1]);
	ref_frame_free(&ref);
	rr_close(&c);
	return ok;
}

bool case_request_hooks(struct run *r)
{
	/* Every H.264 frame fails: after H264_STREAM_MAX_FAILURES skipped frames (about a
	 * second of capture ticks) the library serves the client that lists Open H.264,
	 * while the H.264 request hook still sees its requests. */
	setenv("VGPU_TEST_H264_FAIL_FRAMES", "0-4000000000", 1);
	bool started = start_server(r, SPEC, NULL);
	unsetenv("VGPU_TEST_H264_FAIL_FRAMES");
	if (!started)
		return false;
	/* Open H.264 listed without a cursor encoding, served by the library (its encoder
	 * failed): the cursor is drawn, and the H.264 request hook sees its requests. */
	static const int32_t h264_raw[] = {RFB_ENC_RAW, RFB_ENC_OPEN_H264};
	/* Plain raw, for comparison: the same rounds with no H.264 in the way. */
	static const int32_t raw[] = {RFB_ENC_RAW};
	bool ok = one_client(r, h264_raw, 2, "raw+H.264 client", 40, 60) &&
		  one_client(r, raw, 1, "raw client", 100, 60);
	if (ok && !server_alive(r)) {
		say("the server died");
		ok = false;
	}
	return ok;
}

/* ---- cursor shapes to many XCursor clients ---- */

#define XCURSOR_CLIENTS 8
#define XCURSOR_SHAPES 100 /* per client */

/* Eight clients take XCursor shapes (libvncserver's two-colour form, which it used to
 * make from the rich cursor on each client's output thread, unlocked) while one of them
 * flips the guest's cursor between arrow and hand as fast as it can, at --fps 240. Every
 * client must keep a parseable stream and get its shapes; the server must exit cleanly
 * (under ASan: no leak, no double free). */
bool case_xcursor_race(struct run *r)
{
	static const char *const extra[] = {"--fps", "240", NULL};
	if (!start_server(r, "320x240:static", extra))
		return false;
	static const int32_t enc[] = {RFB_ENC_RAW, rfbEncodingXCursor};
	static const char *const labels[XCURSOR_CLIENTS] = {
		"xcursor 1", "xcursor 2", "xcursor 3", "xcursor 4",
		"xcursor 5", "xcursor 6", "xcursor 7", "xcursor 8"};
	struct rr c[XCURSOR_CLIENTS];
	char err[256];
	bool ok = true;
	for (unsigned i = 0; i < XCURSOR_CLIENTS; i++)
		c[i] = (struct rr){.fd = -1};
	for (unsigned i = 0; ok && i < XCURSOR_CLIENTS; i++) {
		ok = rr_connect(&c[i], labels[i], "127.0.0.1", r->port, err, sizeof(err)) == 0 &&
		     rr_handshake(&c[i], NULL, NULL, err, sizeof(err)) == RR_OK;
		if (!ok)
			say("%s", err);
		ok = ok && rr_set_encodings(&c[i], enc, 2) &&
		     rr_request(&c[i], false, 0, 0, c[i].width, c[i].height);
	}
	double deadline = now_s() + 60;
	unsigned flips = 0;
	bool done = false;
	while (ok && !done) {
		if (now_s() > deadline) {
			say("no %u cursor shapes for every client within 60 s", XCURSOR_SHAPES);
			ok = false;
			break;
		}
		/* Button 1 down: the hand; up: the arrow. At the screen's corner, off the
		 * requested paint of other tests; each press paints a little there. */
		ok = pointer(&c[0], (uint8_t)(flips++ & 1), 2, 2);
		done = true;
		for (unsigned i = 0; ok && i < XCURSOR_CLIENTS; i++) {
			int m;
			while (ok && (m = rr_read_message(&c[i], 0.002)) == 1)
				ok = rr_request(&c[i], true, 0, 0, c[i].width, c[i].height);
			if (m == -1) {
				say("%s: the connection broke", c[i].label);
				ok = false;
			}
			done = done && c[i].cursor_shapes >= XCURSOR_SHAPES;
		}
	}
	if (ok) {
		unsigned total = 0;
		for (unsigned i = 0; i < XCURSOR_CLIENTS; i++)
			total += c[i].cursor_shapes;
		say("%u cursor flips, %u XCursor shapes to %u clients", flips, total,
		    XCURSOR_CLIENTS);
	}
	for (unsigned i = 0; i < XCURSOR_CLIENTS; i++)
		rr_close(&c[i]);
	if (ok && !server_alive(r)) {
		say("the server died");
		ok = false;
	}
	return ok;
}
