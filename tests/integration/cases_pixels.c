/* Pixel cases: each scene and encoding, a static scene that stays quiet, a mode change. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

bool case_pixels(struct run *r, const struct scene *sc, const struct encoding *e)
{
	struct vc_opts o = pixel_opts(e);
	struct ref_frame want;
	struct vc c;

	if (!start_scene(r, sc, &c, &o, &want))
		return false;
	bool ok = settle_and_check(&c, sc, &want, e->quality >= 0 ? &jpeg : &exact);
	vc_close(&c);
	ref_frame_free(&want);
	return ok;
}

/* For `seconds`, ask for an incremental update every 100 ms (on top of the one libvncclient
 * sends after each update it handled). */
static bool pump_requesting(struct vc *c, double seconds)
{
	struct vc *cs[] = {c};
	double end = now_s() + seconds;

	while (now_s() < end) {
		if (!SendIncrementalFramebufferUpdateRequest(c->cl) || vc_pump(cs, 1, 0.1) < 0)
			return false;
	}
	return true;
}

bool case_static_quiet(struct run *r)
{
	const struct scene *sc = find_scene("static");
	struct ref_frame want;
	struct vc c;

	if (!start_scene(r, sc, &c, &default_opts, &want))
		return false;
	bool ok = settle_and_check(&c, sc, &want, &exact);
	unsigned rects0 = c.pixel_rects, updates0 = c.updates;
	ok = ok && pump_requesting(&c, 1.5);
	if (ok && c.pixel_rects != rects0) {
		say("static scene: %u pixel rectangles in %u updates arrived in 1.5 s of "
		    "incremental requests after the first full update (want none)",
		    c.pixel_rects - rects0, c.updates - updates0);
		ok = false;
	}
	vc_close(&c);
	ref_frame_free(&want);
	return ok;
}

static void print_sizes(const struct vc *c)
{
	char buf[512] = "";
	size_t len = 0;

	for (unsigned i = 0; i < c->n_sizes && len < sizeof(buf) - 32; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %dx%d", c->sizes[i][0],
					c->sizes[i][1]);
	say("%s: framebuffer sizes in order:%s", c->label, buf);
}

bool case_resize(struct run *r)
{
	const struct scene *sc = find_scene("modes");
	struct vc_opts o = pixel_opts(find_encoding("tight"));
	struct ref_frame want;
	struct vc c;
	bool changed = false;

	if (!start_scene(r, sc, &c, &o, &want))
		return false;
	bool ok = settle_and_check(&c, sc, &want, &exact);
	for (unsigned i = 1; i < c.n_sizes; i++)
		changed |= c.sizes[i][0] != c.sizes[0][0] || c.sizes[i][1] != c.sizes[0][1];
	if (!changed) {
		say("the client never saw a size change (want at least one)");
		ok = false;
	}
	if (!ok || getenv("VNC_CHECK_VERBOSE"))
		print_sizes(&c);
	vc_close(&c);
	ref_frame_free(&want);
	return ok;
}
