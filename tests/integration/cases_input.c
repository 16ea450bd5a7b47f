/* Cursor and input cases: the cursor as a shape and blended in, pointer and keys, input
 * that wakes the capture. */
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rfb/keysym.h>

#include "util.h"

/* libvncserver builds the mask from alpha by error diffusion (rfbMakeMaskFromAlphaSource,
 * threshold 128); the diffused error stays below 128, so alpha 0 is always transparent and
 * alpha 255 always opaque, and only partly transparent pixels may go either way. Colour is
 * checked where the mask is set: exact, or for partial alpha also un-premultiplied (±1). */
static bool cursor_pixel_ok(const struct vc *c, const struct ref_cursor *rc, int x, int y,
			    char *why, size_t why_len)
{
	const uint8_t *p = rc->bgra + ((size_t)y * rc->width + x) * 4;
	uint8_t a = p[3], want[3] = {p[2], p[1], p[0]}, got[3];
	bool mask = c->cur_mask[(size_t)y * c->cur_w + x] != 0;

	if ((a == 0 && mask) || (a == 255 && !mask)) {
		snprintf(why, why_len, "mask %d where alpha is %u", mask, a);
		return false;
	}
	if (!mask)
		return true;
	vc_cursor_rgb(c, x, y, got);
	for (int i = 0; i < 3; i++) {
		int unpremul = a ? want[i] * 255 / a : 0;

		if (got[i] != want[i] && (a == 255 || abs(got[i] - unpremul) > 1)) {
			snprintf(why, why_len, "RGB %u,%u,%u, the plane has %u,%u,%u alpha %u", got[0],
				 got[1], got[2], want[0], want[1], want[2], a);
			return false;
		}
	}
	return true;
}

static bool compare_cursor(const struct vc *c, const struct ref_cursor *rc)
{
	unsigned opaque = 0;
	char why[128];

	if (c->cursor_shapes == 0 || !c->cur_px || !c->cur_mask) {
		say("no cursor shape arrived");
		return false;
	}
	if ((uint32_t)c->cur_w != rc->width || (uint32_t)c->cur_h != rc->height ||
	    (uint32_t)c->cur_xhot != rc->x_hot || (uint32_t)c->cur_yhot != rc->y_hot) {
		say("cursor shape %dx%d hotspot %d,%d; the plane is %ux%u hotspot %u,%u", c->cur_w,
		    c->cur_h, c->cur_xhot, c->cur_yhot, rc->width, rc->height, rc->x_hot,
		    rc->y_hot);
		return false;
	}
	for (int y = 0; y < c->cur_h; y++)
		for (int x = 0; x < c->cur_w; x++) {
			if (!cursor_pixel_ok(c, rc, x, y, why, sizeof(why))) {
				say("cursor pixel (%d,%d): %s", x, y, why);
				return false;
			}
			opaque += c->cur_mask[(size_t)y * c->cur_w + x] != 0;
		}
	if (opaque == 0) {
		say("the cursor shape is fully transparent");
		return false;
	}
	return true;
}

/* The shape the client holds against the cursor plane after those events. */
static bool check_cursor(const struct vc *c, const struct scene *sc, const struct ref_event *ev,
			 size_t n, const char *what)
{
	struct ref_cursor rc;
	char err[256];
	bool ok;

	if (ref_cursor(sc->spec, sc->ticks, ev, n, &rc, err, sizeof(err)) < 0) {
		say("reference cursor: %s", err);
		return false;
	}
	ok = compare_cursor(c, &rc);
	if (!ok)
		say("(that was the %s cursor)", what);
	ref_cursor_free(&rc);
	return ok;
}

/* Send one event, wait for the cursor shape that follows it, then for the picture want. */
static bool send_and_wait_shape(struct vc *c, const struct ref_event *e, const char *what,
				const struct ref_frame *want)
{
	struct vc *cs[] = {c};
	unsigned before = c->cursor_shapes;
	double deadline = now_s() + WAIT_LIMIT_S;

	if (!vc_send(c, e))
		return false;
	while (c->cursor_shapes == before && now_s() < deadline)
		if (vc_pump(cs, 1, 0.05) < 0)
			return false;
	if (c->cursor_shapes == before) {
		say("no new cursor shape within %d s after the %s", WAIT_LIMIT_S, what);
		return false;
	}
	return wait_picture(cs, 1, 0, want, &exact, what);
}

/* The arrow first; button 1 down turns the synthetic cursor into a hand (another buffer,
 * another hotspot), up turns it back. The framebuffer must never show the cursor. */
bool case_cursor(struct run *r)
{
	const struct scene *sc = find_scene("desktop");
	const struct ref_event ev[] = {
		{.kind = REF_POINTER, .x = 200, .y = 150, .buttons = rfbButton1Mask},
		{.kind = REF_POINTER, .x = 200, .y = 150, .buttons = 0},
	};
	struct ref_frame want, painted;
	struct vc c;
	bool ok;

	if (!render(sc, NULL, 0, &want))
		return false;
	if (!render(sc, ev, 1, &painted)) {
		ref_frame_free(&want);
		return false;
	}
	ok = start_server(r, sc->spec, NULL) && connect_client(r, &c, "client", &default_opts);
	if (ok) {
		ok = settle_and_check(&c, sc, &want, &exact) && check_cursor(&c, sc, NULL, 0, "arrow");
		ok = ok && send_and_wait_shape(&c, &ev[0], "button-1 press", &painted) &&
		     check_cursor(&c, sc, ev, 1, "hand (button 1 down)");
		ok = ok && send_and_wait_shape(&c, &ev[1], "button-1 release", &painted) &&
		     check_cursor(&c, sc, ev, 2, "arrow after the release");
		vc_close(&c);
	}
	ref_frame_free(&painted);
	ref_frame_free(&want);
	return ok;
}

/* The scene's frame with the cursor plane blended in at its position. */
static bool render_blended(const struct scene *sc, const struct ref_event *ev, size_t n,
			   struct ref_frame *out)
{
	struct ref_cursor rc;
	char err[256];

	if (!render(sc, ev, n, out))
		return false;
	if (ref_cursor(sc->spec, sc->ticks, ev, n, &rc, err, sizeof(err)) < 0) {
		say("reference cursor: %s", err);
		ref_frame_free(out);
		return false;
	}
	ref_blend_cursor(out, &rc);
	ref_cursor_free(&rc);
	return true;
}

/* A client that takes no cursor shapes gets the cursor drawn into its framebuffer, where
 * the cursor plane is, and it follows the pointer. */
bool case_softcursor(struct run *r)
{
	const struct scene *sc = find_scene("desktop");
	const struct ref_event move = {.kind = REF_POINTER, .x = 100, .y = 80};
	struct vc_opts o = default_opts;
	struct ref_frame want0, want1;
	struct vc c;
	bool ok;

	o.remote_cursor = false;
	if (!render_blended(sc, NULL, 0, &want0))
		return false;
	if (!render_blended(sc, &move, 1, &want1)) {
		ref_frame_free(&want0);
		return false;
	}
	ok = start_server(r, sc->spec, NULL) && connect_client(r, &c, "client", &o);
	if (ok) {
		struct scene after = *sc;

		after.ticks = 0; /* the scene is over: only the move changes the picture */
		ok = settle_and_check(&c, sc, &want0, &exact) && vc_send(&c, &move) &&
		     settle_and_check(&c, &after, &want1, &exact);
		vc_close(&c);
	}
	ref_frame_free(&want1);
	ref_frame_free(&want0);
	return ok;
}

/* Type text as a client on a US keyboard would: Shift around upper case and '!'. */
static size_t script_text(struct ref_event *ev, size_t n, const char *text)
{
	for (; *text; text++) {
		bool shift = (*text >= 'A' && *text <= 'Z') || *text == '!';
		struct ref_event k = {.kind = REF_KEY, .keysym = (unsigned char)*text};

		if (shift)
			ev[n++] = (struct ref_event){.kind = REF_KEY, .keysym = XK_Shift_L, .down = true};
		k.down = true;
		ev[n++] = k;
		k.down = false;
		ev[n++] = k;
		if (shift)
			ev[n++] = (struct ref_event){.kind = REF_KEY, .keysym = XK_Shift_L};
	}
	return n;
}

/* Pointer moves, three button-1 clicks, then typing. Returns the number of events. */
static size_t input_script(struct ref_event *ev)
{
	static const int moves[][2] = {{10, 10}, {100, 60}, {160, 120}};
	static const int clicks[][2] = {{60, 50}, {420, 90}, {250, 330}};
	size_t n = 0;

	for (size_t i = 0; i < 3; i++)
		ev[n++] = (struct ref_event){.kind = REF_POINTER, .x = moves[i][0], .y = moves[i][1]};
	for (size_t i = 0; i < 3; i++) {
		struct ref_event p = {.kind = REF_POINTER, .x = clicks[i][0], .y = clicks[i][1]};

		ev[n++] = p;
		p.buttons = rfbButton1Mask;
		ev[n++] = p;
		p.buttons = 0;
		ev[n++] = p;
	}
	ev[n++] = (struct ref_event){.kind = REF_POINTER, .x = 5, .y = 5};
	return script_text(ev, n, "Hello, vgpu!");
}

/* Send the script, keeping the connection serviced between events. */
static bool send_script(struct vc *c, const struct ref_event *ev, size_t n)
{
	struct vc *cs[] = {c};

	for (size_t i = 0; i < n; i++) {
		if (!vc_send(c, &ev[i])) {
			say("%s: sending input event %zu failed", c->label, i);
			return false;
		}
		if (vc_pump(cs, 1, 0.005) < 0)
			return false;
	}
	return true;
}

bool case_input(struct run *r)
{
	const struct scene *sc = find_scene("desktop");
	struct ref_event ev[128];
	size_t n = input_script(ev);
	struct ref_frame want, plain;
	struct vc c, *cs[] = {&c};
	bool ok;

	if (!render(sc, ev, n, &want))
		return false;
	if (!render(sc, NULL, 0, &plain)) {
		ref_frame_free(&want);
		return false;
	}
	ok = !ref_frame_equal(&want, &plain);
	if (!ok)
		say("test bug: the input script does not change the desktop scene");
	ok = ok && start_server(r, sc->spec, NULL) &&
	     connect_client(r, &c, "client", &default_opts);
	if (ok) {
		/* Input goes in after the scene came to rest (its last tick), the same tick at
		 * which the reference applies it. */
		ok = settle(cs, 1, sc) && send_script(&c, ev, n);
		if (ok) {
			struct scene after = *sc;

			after.ticks = 0; /* the scene is over: only the input changes the picture */
			ok = settle_and_check(&c, &after, &want, &exact);
			if (!ok && check_client(&c, &plain, &exact, "client vs. the no-input frame"))
				say("the framebuffer equals the scene without input: no input arrived");
		}
		vc_close(&c);
	}
	ref_frame_free(&plain);
	ref_frame_free(&want);
	return ok;
}

/* ---- input wakes the capture ---- */

/* The capture thread's tick counters (metrics.h), read through the control socket. */
struct tick_counts {
	uint64_t ticks, input, burst;
};

/* The value of metric `name` in the control socket's reply, where the exposition is a
 * JSON string: each sample line follows an escaped newline. */
static bool metric_value(const char *reply, const char *name, uint64_t *out)
{
	char key[128];
	snprintf(key, sizeof(key), "\\n%s ", name);
	const char *p = strstr(reply, key);
	char *end;
	if (!p)
		return holds(false, "the metrics have no %s", name);
	*out = strtoull(p + strlen(key), &end, 10);
	return holds(end != p + strlen(key), "%s has no number", name);
}

static bool read_ticks(const char *path, struct tick_counts *t)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	static const char req[] = "{\"command\":\"metrics\"}\n";
	char reply[16384];
	size_t len = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		say("control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (len < sizeof(reply) - 1 && !memchr(reply, '\n', len)) {
		ssize_t n = read(fd, reply + len, sizeof(reply) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	reply[len] = '\0';
	if (!holds(strchr(reply, '\n') && strstr(reply, "\"ok\""),
		   "control socket: no answer to metrics (\"%.200s\")", reply))
		return false;
	return metric_value(reply, "vgpu_vnc_frames_captured_total", &t->ticks) &&
	       metric_value(reply, "vgpu_vnc_capture_input_ticks_total", &t->input) &&
	       metric_value(reply, "vgpu_vnc_capture_burst_ticks_total", &t->burst);
}

/* Ticks on the --fps schedule. */
static uint64_t scheduled(const struct tick_counts *t)
{
	return t->ticks - t->input - t->burst;
}

#define WAKE_CLICKS 4

/* A click is seen without waiting for the capture's next tick: at --fps 1 the server
 * shows WAKE_CLICKS button-1 presses one after the other, each waited for in the
 * client's framebuffer before the next is sent, with fewer scheduled ticks than clicks
 * (each click needs a tick after it: on the schedule alone that would be one per click),
 * and the control socket's metrics count the input ticks. */
bool case_input_wake(struct run *r)
{
	const struct scene *sc = find_scene("static");
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[256], path[300], control[310], pw[512];
	/* A control socket asks for a password. */
	const char *extra[] = {"--fps", "1", "--control", control, "--password-file", pw, NULL};
	struct vc_opts o = default_opts;
	struct ref_event ev[WAKE_CLICKS];
	struct tick_counts before, after;
	struct vc c, *cs[] = {&c};
	bool ok;

	o.password = "wake";
	if (!write_password_file(pw, sizeof(pw), "wake\n"))
		return false;
	snprintf(dir, sizeof(dir), "%s/vnc_check_XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		say("mkdtemp(%s) failed", dir);
		unlink(pw);
		return false;
	}
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	snprintf(control, sizeof(control), "unix:%s", path);
	for (int i = 0; i < WAKE_CLICKS; i++)
		ev[i] = (struct ref_event){.kind = REF_POINTER, .x = 40 + 60 * i, .y = 60 + 30 * i,
					   .buttons = rfbButton1Mask};
	ok = start_server(r, sc->spec, extra) && connect_client(r, &c, "client", &o);
	if (ok) {
		ok = settle(cs, 1, sc) && read_ticks(path, &before);
		for (int i = 0; ok && i < WAKE_CLICKS; i++) {
			struct ref_frame want;
			char what[64];

			snprintf(what, sizeof(what), "click %d at %d,%d", i + 1, ev[i].x, ev[i].y);
			ok = render(sc, ev, (size_t)i + 1, &want);
			if (ok) {
				ok = vc_send(&c, &ev[i]) &&
				     wait_picture(cs, 1, 0, &want, &exact, what);
				ref_frame_free(&want);
			}
		}
		ok = ok && read_ticks(path, &after);
		ok = ok && holds(after.input > before.input, "no input ticks (%llu before and after)",
				 (unsigned long long)after.input);
		ok = ok && holds(scheduled(&after) - scheduled(&before) < WAKE_CLICKS,
				 "%llu scheduled ticks for %d clicks: the clicks waited for them",
				 (unsigned long long)(scheduled(&after) - scheduled(&before)),
				 WAKE_CLICKS);
		vc_close(&c);
	}
	unlink(path);
	rmdir(dir);
	unlink(pw);
	return ok;
}
