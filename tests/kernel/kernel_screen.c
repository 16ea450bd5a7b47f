/* The model of the guest's screen and the client that must show it. See kernel_screen.h. */
#include "kernel_screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "kernel_patterns.h"
#include "util.h"

#define LOG(...) (fprintf(stderr, "kernel_check: " __VA_ARGS__), fputc('\n', stderr))

void ks_model_mode(struct ks_model *m, uint32_t width, uint32_t height)
{
	memset(m, 0, sizeof(*m));
	m->width = width;
	m->height = height;
	m->page[0].base = m->page[1].base = KS_SALT_BLACK;
	m->black_from = UINT64_MAX;
}

void ks_model_fill(struct ks_model *m, int page, uint32_t salt)
{
	m->page[page].base = salt;
	m->page[page].n_layers = 0;
}

void ks_model_fill_rect(struct ks_model *m, int page, uint32_t salt, struct ks_rect r)
{
	struct ks_page *p = &m->page[page];
	if (p->n_layers == KS_MAX_LAYERS) {
		LOG("model: too many rectangles on page %d", page);
		abort();
	}
	p->layer[p->n_layers] = r;
	p->layer_salt[p->n_layers++] = salt;
}

uint32_t ks_model_pixel(const struct ks_model *m, uint32_t x, uint32_t y)
{
	if ((uint64_t)y * m->width + x >= m->black_from)
		return 0;
	const struct ks_page *p = &m->page[m->shown];
	for (int i = p->n_layers - 1; i >= 0; i--) {
		const struct ks_rect *r = &p->layer[i];
		if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h)
			return kpat_pixel(x, y, p->layer_salt[i]);
	}
	if (p->base == KS_SALT_BLACK)
		return 0;
	if (p->base == KPAT_SALT_GRADIENT)
		return kpat_mdpy_gradient(y, m->height);
	return kpat_pixel(x, y, p->base);
}

static void model_frame(const struct ks_model *m, struct ref_frame *f)
{
	f->width = m->width;
	f->height = m->height;
	f->rgb = malloc((size_t)m->width * m->height * 3 + 1);
	for (uint32_t y = 0; y < m->height; y++)
		for (uint32_t x = 0; x < m->width; x++) {
			uint32_t v = ks_model_pixel(m, x, y);
			uint8_t *o = f->rgb + ((size_t)y * m->width + x) * 3;
			o[0] = (uint8_t)(v >> 16);
			o[1] = (uint8_t)(v >> 8);
			o[2] = (uint8_t)v;
		}
}

/* ---- the client ---- */

static struct ks_rect rects[KS_MAX_RECTS];
static int n_rects;
static GotFrameBufferUpdateProc lib_on_rect;

static void on_rect(rfbClient *cl, int x, int y, int w, int h)
{
	lib_on_rect(cl, x, y, w, h);
	if (n_rects < KS_MAX_RECTS)
		rects[n_rects++] = (struct ks_rect){(uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h};
}

void ks_rects_reset(void)
{
	n_rects = 0;
}

int ks_rects(const struct ks_rect **out)
{
	*out = rects;
	return n_rects;
}

bool ks_connect(struct vc *c, int port, double timeout)
{
	/* remote_cursor: the client takes cursor shapes, so libvncserver never draws a cursor
	 * into the shared framebuffer for it. (For clients that do not, libvncserver 0.9.14
	 * saves and restores the pixels under the cursor around every update, in the same
	 * framebuffer the capture thread writes: a stale pixel at the cursor position can
	 * stay. Reported against server/; not what this test is about.) */
	struct vc_opts o = {.encodings = "raw", .compress = 0, .quality = -1,
			    .remote_cursor = true};
	double end = now_s() + timeout;
	char err[256] = "";
	int attempts = 0;
	while (now_s() < end) {
		attempts++;
		if (vc_connect(c, "client", port, &o, err, sizeof(err)) == 0) {
			lib_on_rect = c->cl->GotFrameBufferUpdate;
			c->cl->GotFrameBufferUpdate = on_rect;
			LOG("client connected to 127.0.0.1:%d (attempt %d), %dx%d", port, attempts,
			    c->cl->width, c->cl->height);
			return true;
		}
		sleep_s(0.3);
	}
	LOG("client: no RFB server at 127.0.0.1:%d after %d attempts: %s", port, attempts, err);
	return false;
}

void ks_disconnect(struct vc *c)
{
	vc_close(c);
}

static bool frame_equal(const struct vc *c, const struct ref_frame *want)
{
	if (!c->cl || (uint32_t)c->cl->width != want->width ||
	    (uint32_t)c->cl->height != want->height)
		return false;
	uint8_t rgb[3];
	for (uint32_t y = 0; y < want->height; y++)
		for (uint32_t x = 0; x < want->width; x++) {
			vc_fb_rgb(c, (int)x, (int)y, rgb);
			if (memcmp(rgb, want->rgb + ((size_t)y * want->width + x) * 3, 3) != 0)
				return false;
		}
	return true;
}

static void report(const struct vc *c, const struct ref_frame *want, const char *what)
{
	struct ref_frame got = {0};
	if (!c->cl || vc_snapshot(c, &got) < 0) {
		LOG("%s: no client framebuffer", what);
		return;
	}
	struct tolerance exact = {0, 0};
	compare_frames(&got, want, &exact, what);
	free(got.rgb);
}

/* Whether the client's picture is on the way from `was` to `want`: every pixel is either
 * the old one or the new one (a guest drawing in place, a flip caught half way), or black:
 * libvncclient makes a new, black framebuffer for every ExtendedDesktopSize, also for the
 * server's answer to its own SetDesktopSize, which comes at the size still shown (step
 * 9), and after a size change the new framebuffer is black until its pixels come. */
static bool in_between(const struct vc *c, const struct ref_frame *was, const struct ref_frame *want)
{
	if (!c->cl)
		return false;
	uint32_t w = (uint32_t)c->cl->width, h = (uint32_t)c->cl->height;
	bool new_size = w == want->width && h == want->height;
	bool old_size = w == was->width && h == was->height;
	static const uint8_t black[3] = {0, 0, 0};
	if (!new_size) {
		if (!old_size)
			return false;
		uint8_t px[3];
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				vc_fb_rgb(c, (int)x, (int)y, px);
				if (memcmp(px, was->rgb + ((size_t)y * w + x) * 3, 3) != 0 &&
				    memcmp(px, black, 3) != 0)
					return false;
			}
		return true;
	}
	uint8_t rgb[3];
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			size_t i = ((size_t)y * w + x) * 3;
			vc_fb_rgb(c, (int)x, (int)y, rgb);
			if (memcmp(rgb, want->rgb + i, 3) == 0)
				continue;
			if (old_size ? memcmp(rgb, was->rgb + i, 3) != 0 : memcmp(rgb, black, 3) != 0)
				return false;
		}
	return true;
}

bool ks_expect(struct vc *c, const struct ks_model *m, double timeout, const char *what)
{
	struct ref_frame want, was = {0};
	model_frame(m, &want);
	if (!c->cl || vc_snapshot(c, &was) < 0) {
		LOG("%s: no client framebuffer", what);
		free(want.rgb);
		return false;
	}
	double start = now_s(), end = start + timeout;
	unsigned seen = c->updates, between = 0;
	bool ok = frame_equal(c, &want), wrong = false;
	/* Every complete update until the expected picture must be on the way to it: a wrong
	 * picture in between fails at once, even if the right one comes later. */
	while (!ok && !wrong) {
		if (c->updates != seen) {
			seen = c->updates;
			ok = frame_equal(c, &want);
			if (ok)
				break;
			wrong = !in_between(c, &was, &want);
			if (wrong) {
				LOG("%s: update %u shows a picture that is neither the one before the "
				    "step nor the expected one (pixel by pixel):", what, seen);
				break;
			}
			between++;
		}
		if (now_s() > end)
			break;
		if (vc_pump(&c, 1, 0.05) < 0)
			break;
	}
	if (ok)
		LOG("ok: %s (%ux%u, every pixel, after %.2f s; %u update(s) on the way, each between "
		    "the old and the new picture)", what, want.width, want.height, now_s() - start,
		    between);
	else
		report(c, &want, what);
	free(want.rgb);
	free(was.rgb);
	return ok;
}

bool ks_expect_still(struct vc *c, const struct ks_model *m, double seconds, const char *what)
{
	if (vc_pump(&c, 1, seconds) < 0)
		return false;
	struct ref_frame want;
	model_frame(m, &want);
	bool ok = frame_equal(c, &want);
	if (ok)
		LOG("ok: %s (unchanged for %.1f s)", what, seconds);
	else
		report(c, &want, what);
	free(want.rgb);
	return ok;
}

bool ks_damage_within(struct ks_rect r, uint32_t tile, const char *what)
{
	uint32_t x0 = r.x / tile * tile, y0 = r.y / tile * tile;
	uint32_t x1 = (r.x + r.w + tile - 1) / tile * tile, y1 = (r.y + r.h + tile - 1) / tile * tile;
	if (n_rects == 0) {
		LOG("%s: no rectangle with pixels arrived", what);
		return false;
	}
	uint64_t area = 0;
	for (int i = 0; i < n_rects; i++) {
		const struct ks_rect *q = &rects[i];
		area += (uint64_t)q->w * q->h;
		if (q->x < x0 || q->y < y0 || q->x + q->w > x1 || q->y + q->h > y1) {
			LOG("%s: rectangle %u,%u %ux%u lies outside the drawn area's tiles "
			    "%u,%u-%u,%u",
			    what, q->x, q->y, q->w, q->h, x0, y0, x1, y1);
			return false;
		}
	}
	LOG("ok: %s: %d rectangle(s), %llu pixels, all inside the tiles %u,%u-%u,%u", what,
	    n_rects, (unsigned long long)area, x0, y0, x1, y1);
	return true;
}
