/* Hostile and failing guests: lying planes, a device that goes away, frames that cannot
 * be allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "synthetic_hostile.h"
#include "util.h"

#define SEG 64 /* pixels: the unit a torn update may mix (see segment_ok) */

struct good_frames {
	uint64_t n;               /* ticks 0..n-1 */
	struct ref_frame *frame;  /* rgb NULL where the tick's primary plane is bad */
};

static bool render_tick(const char *spec, uint64_t t, struct ref_frame *out)
{
	char err[256];
	if (ref_render(spec, t, NULL, 0, out, err, sizeof(err)) < 0) {
		say("reference %s at tick %llu: %s", spec, (unsigned long long)t, err);
		return false;
	}
	return true;
}

static bool load_good_frames(const char *spec, uint64_t ticks, struct good_frames *g)
{
	g->n = ticks + 1;
	g->frame = calloc(g->n, sizeof(*g->frame));
	if (!g->frame)
		return false;
	for (uint64_t t = 0; t < g->n; t++) {
		int i = synth_hostile_case_at(t);
		unsigned flags = 0;
		if (i >= 0)
			synth_hostile_case((unsigned)i, &flags);
		if (!(flags & SYNTH_HOSTILE_PRIMARY_BAD) && !render_tick(spec, t, &g->frame[t]))
			return false;
	}
	return true;
}

static void free_good_frames(struct good_frames *g)
{
	for (uint64_t t = 0; g->frame && t < g->n; t++)
		ref_frame_free(&g->frame[t]);
	free(g->frame);
}

/* A row segment of the client's frame must equal the same segment of some good frame.
 * Whole frames cannot be asked for: the shadow framebuffer is written by the capture
 * thread while a client's update is encoded from it, so one update may mix two good
 * frames. A rejected plane's pixels (shifted rows, zeros, another format) match none. */
static bool segment_ok(const struct good_frames *g, const struct ref_frame *got, uint32_t y,
		       uint32_t x)
{
	uint32_t w = got->width - x < SEG ? got->width - x : SEG;
	size_t off = ((size_t)y * got->width + x) * 3;
	for (uint64_t t = 0; t < g->n; t++) {
		const struct ref_frame *f = &g->frame[t];
		if (f->rgb && f->width == got->width && f->height == got->height &&
		    memcmp(f->rgb + off, got->rgb + off, (size_t)w * 3) == 0)
			return true;
	}
	return false;
}

static bool frame_from_good(const struct good_frames *g, const struct rr *c, unsigned update)
{
	struct ref_frame got;
	if (rr_snapshot(c, &got) < 0)
		return false;
	bool ok = true;
	for (uint32_t y = 0; ok && y < got.height; y++)
		for (uint32_t x = 0; ok && x < got.width; x += SEG)
			if (!segment_ok(g, &got, y, x)) {
				say("update %u: the pixels at row %u, x %u..%u match no good frame "
				    "(a rejected plane reached the screen?)",
				    update, y, x, x + SEG - 1);
				ok = false;
			}
	ref_frame_free(&got);
	return ok;
}

/* After the scene froze on a bad plane: the newest good frame before it, exactly. Its
 * tick goes to *shown. */
static bool last_good_stays(const struct good_frames *g, const struct rr *c, uint64_t frozen,
			    uint64_t *shown)
{
	struct ref_frame got;
	if (rr_snapshot(c, &got) < 0)
		return false;
	bool ok = false;
	uint64_t t = frozen;
	unsigned seen = 0;
	/* The capture thread polls at 30 Hz, the scene moves at 20: the newest good tick is
	 * there, but allow for a poll that came late under a sanitizer. */
	while (t-- > 0 && seen < 3 && !ok) {
		if (!g->frame[t].rgb)
			continue;
		seen++;
		ok = ref_frame_equal(&got, &g->frame[t]);
		if (ok) {
			say("at rest the client shows good tick %llu (frozen on bad tick %llu)",
			    (unsigned long long)t, (unsigned long long)frozen);
			*shown = t;
		}
	}
	if (!ok) {
		for (t = frozen; t-- > 0 && !g->frame[t].rgb;)
			;
		compare_frames(&got, &g->frame[t], &exact, "the last good frame");
	}
	ref_frame_free(&got);
	return ok;
}

struct log_site {
	const char *needle;
	const char *what;
};

static const struct log_site sites[] = {
	{"warning: primary plane (dmabuf id", "primary plane rejected by validation"},
	{"warning: primary plane: ", "primary plane that could not be mapped"},
	{"warning: primary plane query failed", "failed primary query"},
	{"warning: cursor plane (dmabuf id", "cursor plane rejected"},
};

/* A client without cursor shapes at rest: the frame the cursor-shape client shows (good
 * tick shown), with the guest's cursor at the frozen tick blended in, exactly. */
static bool soft_shows_cursor(const struct good_frames *g, struct rr *soft, const char *spec,
			      uint64_t shown, uint64_t frozen)
{
	struct ref_cursor cur;
	struct ref_frame want = {0}, got = {0};
	char err[256];
	if (ref_cursor(spec, frozen, NULL, 0, &cur, err, sizeof(err)) < 0) {
		say("reference cursor at tick %llu: %s", (unsigned long long)frozen, err);
		return false;
	}
	bool ok = rr_settle(soft, 0.5, 10);
	size_t bytes = (size_t)g->frame[shown].width * g->frame[shown].height * 3;
	want.width = g->frame[shown].width;
	want.height = g->frame[shown].height;
	want.rgb = malloc(bytes);
	ok = ok && want.rgb && rr_snapshot(soft, &got) == 0;
	if (ok) {
		memcpy(want.rgb, g->frame[shown].rgb, bytes);
		ref_blend_cursor(&want, &cur);
		char what[96];
		snprintf(what, sizeof(what), "%s at rest (tick %llu, cursor drawn in)", soft->label,
			 (unsigned long long)shown);
		ok = compare_frames(&got, &want, &exact, what);
	}
	ref_frame_free(&got);
	ref_frame_free(&want);
	ref_cursor_free(&cur);
	return ok;
}

#define SOFT_CLIENTS 3

bool case_hostile_guest(struct run *r)
{
	/* 2 ticks a case: two rounds of the table, frozen on "fd shorter than its size". */
	const unsigned n = synth_hostile_case_count();
	const uint64_t frozen = 2u * n + 2u * 13u + 1u;
	char spec[128];
	snprintf(spec, sizeof(spec), "320x240:hostile:rate=20,frames=%llu",
		 (unsigned long long)frozen);
	unsigned flags;
	if (strcmp(synth_hostile_case(13, &flags), "primary fd shorter than its size") != 0) {
		say("the hostile table changed: update the frozen case");
		return false;
	}
	struct good_frames g = {0};
	struct rr c = {.fd = -1}, soft[SOFT_CLIENTS];
	static const char *const soft_labels[SOFT_CLIENTS] = {
		"soft-cursor client 1", "soft-cursor client 2", "soft-cursor client 3"};
	for (unsigned i = 0; i < SOFT_CLIENTS; i++)
		soft[i] = (struct rr){.fd = -1};
	bool ok = load_good_frames(spec, frozen, &g) && start_server(r, spec, NULL) &&
		  rr_open(r, &c, "client", NULL);
	double t0 = now_s();
	/* Clients without cursor shapes: the server blends every cursor the guest shows (the
	 * 512x512 one too) into their frames, and must never send them a cursor shape
	 * (while the guest changes its cursor all the time, which is when one could slip
	 * into their updates). */
	static const int32_t raw_only[] = {RFB_ENC_RAW, RFB_ENC_DESKTOP_SIZE};
	char err[256];
	for (unsigned i = 0; ok && i < SOFT_CLIENTS; i++) {
		struct rr *s = &soft[i];
		if (rr_connect(s, soft_labels[i], "127.0.0.1", r->port, err, sizeof(err)) < 0 ||
		    rr_handshake(s, NULL, NULL, err, sizeof(err)) != RR_OK ||
		    !rr_set_encodings(s, raw_only, 2) ||
		    !rr_request(s, false, 0, 0, s->width, s->height)) {
			say("%s", err);
			ok = false;
		}
	}
	ok = ok && rr_request(&c, false, 0, 0, c.width, c.height);
	/* Until the scene has frozen (its clock started with the server, shortly before). */
	double scene_s = (double)frozen / 20.0 + 0.5;
	while (ok && now_s() - t0 < scene_s) {
		int m = rr_read_message(&c, 0.05);
		if (m == 1) {
			ok = frame_from_good(&g, &c, c.updates) &&
			     rr_request(&c, true, 0, 0, c.width, c.height);
		} else if (m == -1) {
			say("client: the server closed the connection");
			ok = false;
		}
		for (unsigned i = 0; ok && i < SOFT_CLIENTS; i++) {
			struct rr *s = &soft[i];
			while (ok && (m = rr_read_message(s, 0)) == 1)
				ok = rr_request(s, true, 0, 0, s->width, s->height);
			if (m == -1) {
				say("%s: the connection broke (the server closed it, or sent what "
				    "it could not parse)", s->label);
				ok = false;
			}
		}
	}
	unsigned soft_updates = 0;
	for (unsigned i = 0; i < SOFT_CLIENTS; i++)
		soft_updates += soft[i].updates;
	if (ok)
		say("%u updates checked, %u from the soft-cursor clients", c.updates, soft_updates);
	uint64_t shown = 0;
	ok = ok && c.updates >= 10 && rr_settle(&c, 0.5, 10) &&
	     last_good_stays(&g, &c, frozen, &shown);
	for (unsigned i = 0; ok && i < SOFT_CLIENTS; i++)
		ok = soft_shows_cursor(&g, &soft[i], spec, shown, frozen);
	/* The frozen bad plane is rejected 30 times a second: its rate-limited line comes
	 * again 5 s after the first, with the count of those it held back. */
	while (ok && now_s() - t0 < 6.5)
		ok = rr_read_message(&soft[0], 0.1) != -1;
	for (unsigned i = 0; i < SOFT_CLIENTS; i++)
		if (soft[i].cursor_shapes) {
			say("%s: %u cursor shapes, but it asked for none", soft[i].label,
			    soft[i].cursor_shapes);
			ok = false;
		}
	double elapsed = now_s() - t0;
	for (size_t i = 0; ok && i < sizeof(sites) / sizeof(sites[0]); i++) {
		unsigned long suppressed;
		unsigned lines = log_count(r, sites[i].needle, &suppressed);
		say("log: %u lines (%lu more suppressed) for the %s", lines, suppressed,
		    sites[i].what);
		if (lines == 0 || lines > 2 + (unsigned)(elapsed / 5.0)) {
			say("want 1..%u lines for the %s (rate-limited to one per 5 s)",
			    2 + (unsigned)(elapsed / 5.0), sites[i].what);
			ok = false;
		}
	}
	unsigned long held;
	log_count(r, sites[1].needle, &held);
	if (ok && held < 30) {
		say("the frozen bad plane: %lu rejections held back in 5 s, want >= 30", held);
		ok = false;
	}
	if (ok && !server_alive(r)) {
		say("the server died");
		ok = false;
	}
	for (unsigned i = 0; i < SOFT_CLIENTS; i++)
		rr_close(&soft[i]);
	rr_close(&c);
	free_good_frames(&g);
	return ok;
}

/* Settle a raw client, then compare it with the reference at tick. */
static bool shows_tick(struct rr *c, const char *spec, uint64_t tick, const char *what)
{
	struct ref_frame want, got;
	if (!render_tick(spec, tick, &want))
		return false;
	bool ok = rr_snapshot(c, &got) == 0 && compare_frames(&got, &want, &exact, what);
	if (got.rgb)
		ref_frame_free(&got);
	ref_frame_free(&want);
	return ok;
}

/* Pump a client until the server log has needle (or timeout): false if it never did. */
static bool pump_until_log(struct run *r, struct rr *c, const char *needle, double timeout)
{
	double deadline = now_s() + timeout;
	while (now_s() < deadline) {
		if (server_log_contains(&r->srv, needle))
			return true;
		int m = rr_read_message(c, 0.02);
		if (m == -1)
			return false;
		if (m == 1 && !rr_request(c, true, 0, 0, c->width, c->height))
			return false;
	}
	say("no \"%s\" in the server log within %.0f s", needle, timeout);
	return false;
}

/* The device goes away for ticks 45..89 (1.5 s) and comes back: meanwhile the client
 * keeps the last frame (of a tick just before 45), afterwards it follows the scene. */
bool case_device_gone(struct run *r)
{
	const char *spec = "320x240:video:rate=30,frames=120,fail=enodev@45-90";
	struct rr c = {.fd = -1};
	double t0 = now_s(); /* the scene's clock starts with the server */
	bool ok = start_server(r, spec, NULL) && rr_open(r, &c, "client", NULL) &&
		  rr_request(&c, false, 0, 0, c.width, c.height) &&
		  pump_until_log(r, &c, "primary plane query failed: No such device", 5) &&
		  rr_settle(&c, 0.4, 1.0);
	if (ok) {
		bool any = false;
		for (uint64_t t = 44; !any && t >= 40; t--) {
			struct ref_frame want, got;
			if (!render_tick(spec, t, &want))
				return false;
			any = rr_snapshot(&c, &got) == 0 && ref_frame_equal(&got, &want);
			if (any)
				say("while the device is gone the client shows tick %llu",
				    (unsigned long long)t);
			ref_frame_free(&got);
			ref_frame_free(&want);
		}
		if (!any) {
			say("while the device is gone the client shows none of ticks 40..44");
			ok = false;
		}
	}
	/* Back at tick 90; the scene ends at 120 (4 s after the start). */
	ok = ok && rr_pump_until(&c, t0 + 120.0 / 30 + 0.2) && rr_settle(&c, 0.5, 10) &&
	     shows_tick(&c, spec, 120, "after the device came back");
	if (ok && !server_alive(r)) {
		say("the server died");
		ok = false;
	}
	rr_close(&c);
	return ok;
}

/* Frame allocations over 2 MiB fail. The modes scene goes 320x240, 640x480, 800x600 (1.9
 * MiB), 1024x768 (3 MiB: refused) and back to 320x240, 65 ticks a mode at 60 a second. */
bool case_oom_resize(struct run *r)
{
	const char *spec = "320x240:modes:rate=60,frames=280";
	char env[512];
	if (built_with_asan()) {
		/* ASan owns malloc: its own limit makes the allocation fail instead. */
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(env, sizeof(env), "ASAN_OPTIONS=%s%smax_allocation_size_mb=2:"
			 "allocator_may_return_null=1", old ? old : "", old && *old ? ":" : "");
	} else {
		snprintf(env, sizeof(env), "LD_PRELOAD=%s", FAIL_ALLOC_SO);
		setenv("VGPU_TEST_ALLOC_MAX", "2097152", 1);
	}
	struct rr c = {.fd = -1};
	double t0 = now_s();
	bool ok = start_server_env(r, spec, NULL, env);
	unsetenv("VGPU_TEST_ALLOC_MAX");
	ok = ok && rr_open(r, &c, "client", NULL) &&
	     rr_request(&c, false, 0, 0, c.width, c.height) &&
	     pump_until_log(r, &c, "cannot resize to 1024x768", 8) && rr_settle(&c, 0.3, 0.8);
	/* The old frame stays: the 800x600 mode's picture (ticks 130..189). */
	ok = ok && shows_tick(&c, spec, 150, "after the refused resize");
	ok = ok && rr_pump_until(&c, t0 + 280.0 / 60 + 0.2) && rr_settle(&c, 0.5, 10) &&
	     shows_tick(&c, spec, 280, "back at 320x240");
	unsigned lines = log_count(r, "cannot resize to 1024x768", NULL);
	say("%u \"cannot resize\" lines for the 60 ticks of the refused mode", lines);
	if (ok && !server_alive(r)) {
		say("the server died");
		ok = false;
	}
	rr_close(&c);
	return ok;
}
