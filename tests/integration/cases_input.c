/* Cursor and input cases: the cursor as a shape and blended in, pointer and keys. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

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
