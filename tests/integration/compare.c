/* Pixel comparison of a received frame with the reference. See compare.h. */
#include "compare.h"

#include <stdint.h>
#include <stdlib.h>

#include "util.h"

struct diff_stats {
	uint64_t differing;            /* pixels with a channel error over the allowed max */
	uint32_t first_x, first_y;     /* first differing pixel in raster order */
	uint32_t x0, y0, x1, y1;       /* bounding box of the differing pixels */
	uint64_t sum_abs[3];           /* per channel */
	int max_abs;
	uint32_t max_x, max_y;
};

static void note_pixel(struct diff_stats *d, const uint8_t *g, const uint8_t *w, uint32_t x,
		       uint32_t y, int allowed)
{
	int worst = 0;

	for (int c = 0; c < 3; c++) {
		int e = abs((int)g[c] - (int)w[c]);

		d->sum_abs[c] += (uint64_t)e;
		if (e > worst)
			worst = e;
	}
	if (worst > d->max_abs) {
		d->max_abs = worst;
		d->max_x = x, d->max_y = y;
	}
	if (worst <= allowed)
		return;
	if (d->differing++ == 0) {
		d->first_x = d->x0 = d->x1 = x;
		d->first_y = d->y0 = d->y1 = y;
	}
	if (x < d->x0)
		d->x0 = x;
	if (x > d->x1)
		d->x1 = x;
	if (y < d->y0)
		d->y0 = y;
	if (y > d->y1)
		d->y1 = y;
}

static const uint8_t *px(const struct ref_frame *f, uint32_t x, uint32_t y)
{
	return f->rgb + ((size_t)y * f->width + x) * 3;
}

static bool compare(const struct ref_frame *got, const struct ref_frame *want,
		    const struct tolerance *tol, const char *what)
{
	struct diff_stats d = {0};
	double n, mean[3], worst_mean = 0;
	uint64_t want_tick, got_tick;

	if (got->width != want->width || got->height != want->height) {
		if (what)
			say("%s: framebuffer is %ux%u, the source shows %ux%u", what, got->width,
			    got->height, want->width, want->height);
		return false;
	}
	/* A stamped picture (stamp=on) must show the reference's tick, whatever the tolerance:
	 * a stale lossy picture can be close to the right one everywhere else. (An exact
	 * comparison needs no stamp check.) */
	if ((tol->max_abs || tol->mean_abs > 0) && ref_read_stamp(want->rgb, want->width, want->height, &want_tick) == 0 &&
	    (ref_read_stamp(got->rgb, got->width, got->height, &got_tick) < 0 ||
	     got_tick != want_tick)) {
		if (what) {
			if (ref_read_stamp(got->rgb, got->width, got->height, &got_tick) < 0)
				say("%s: no readable tick stamp (want tick %llu)", what,
				    (unsigned long long)want_tick);
			else
				say("%s: the picture of tick %llu, want tick %llu", what,
				    (unsigned long long)got_tick, (unsigned long long)want_tick);
		}
		return false;
	}
	for (uint32_t y = 0; y < want->height; y++)
		for (uint32_t x = 0; x < want->width; x++)
			note_pixel(&d, px(got, x, y), px(want, x, y), x, y, tol->max_abs);
	n = (double)want->width * want->height;
	for (int c = 0; c < 3; c++) {
		mean[c] = n > 0 ? (double)d.sum_abs[c] / n : 0;
		if (mean[c] > worst_mean)
			worst_mean = mean[c];
	}
	if (d.differing == 0 && worst_mean <= tol->mean_abs) {
		if (what && getenv("VNC_CHECK_VERBOSE"))
			say("%s: equal; mean abs error R %.3f G %.3f B %.3f, max %d", what, mean[0],
			    mean[1], mean[2], d.max_abs);
		return true;
	}
	if (!what)
		return false;
	if (d.differing) {
		const uint8_t *g = px(got, d.first_x, d.first_y), *w = px(want, d.first_x, d.first_y);

		say("%s: %llu of %.0f pixels differ%s, in the box (%u,%u)-(%u,%u); first at (%u,%u): "
		    "got RGB %u,%u,%u, want %u,%u,%u",
		    what, (unsigned long long)d.differing, n, tol->max_abs ? " beyond tolerance" : "",
		    d.x0, d.y0, d.x1, d.y1, d.first_x, d.first_y, g[0], g[1], g[2], w[0], w[1], w[2]);
	}
	say("%s: mean abs error R %.3f G %.3f B %.3f (allowed %.1f), max %d at (%u,%u) (allowed %d)",
	    what, mean[0], mean[1], mean[2], tol->mean_abs, d.max_abs, d.max_x, d.max_y,
	    tol->max_abs);
	return false;
}

bool compare_frames(const struct ref_frame *got, const struct ref_frame *want,
		    const struct tolerance *tol, const char *what)
{
	return compare(got, want, tol, what ? what : "frame");
}

bool frames_match(const struct ref_frame *got, const struct ref_frame *want,
		  const struct tolerance *tol)
{
	return compare(got, want, tol, NULL);
}
