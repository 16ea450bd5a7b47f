/* The cursor plane as libvncserver's cursor: RichCursor / XCursor for clients that take a
 * cursor encoding, drawn by libvncserver into the frame for those that do not. */
#include <stdlib.h>
#include <string.h>

#include "drawn_cursor.h"
#include "log.h"
#include "vnc_server_private.h"

/* Cursor shapes must fit libvncserver's 32 KiB update buffer with their mask; larger
 * cursor planes are cropped to this size around the hotspot. */
#define CURSOR_MAX_SIDE 64u

static void retire(struct vnc_server *srv, rfbCursorPtr c)
{
	uint64_t now = log_now_ms();
	unsigned kept = 0;
	for (unsigned i = 0; i < srv->n_retired; i++) {
		struct retired_cursor *r = &srv->retired[i];
		bool old = now - r->since_ms > CURSOR_RETIRE_MS;
		/* When the list is full, the oldest goes even if it is young. */
		bool full = i == 0 && srv->n_retired == CURSOR_RETIRED_MAX;
		if (old || full)
			rfbFreeCursor(r->cursor);
		else
			srv->retired[kept++] = *r;
	}
	srv->n_retired = kept;
	if (c)
		srv->retired[srv->n_retired++] = (struct retired_cursor){c, now};
}

void cursor_free_all(struct vnc_server *srv)
{
	for (unsigned i = 0; i < srv->n_retired; i++)
		rfbFreeCursor(srv->retired[i].cursor);
	srv->n_retired = 0;
}

/* A 1x1 cursor with an empty mask is how libvncserver says "no cursor". */
static rfbCursorPtr make_empty_cursor(void)
{
	rfbCursorPtr c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->width = c->height = 1;
	c->source = calloc(1, 1);
	c->mask = calloc(1, 1);
	c->richSource = calloc(1, 4);
	c->cleanup = c->cleanupSource = c->cleanupMask = c->cleanupRichSource = TRUE;
	if (!c->source || !c->mask || !c->richSource) {
		rfbFreeCursor(c);
		return NULL;
	}
	return c;
}

/* Crop window: at most CURSOR_MAX_SIDE, containing the hotspot. */
static void crop_axis(uint32_t size, uint32_t hot, uint32_t *start, uint32_t *len)
{
	*start = 0;
	*len = size;
	if (size <= CURSOR_MAX_SIDE)
		return;
	*len = CURSOR_MAX_SIDE;
	*start = hot >= CURSOR_MAX_SIDE / 2 ? hot - CURSOR_MAX_SIDE / 2 : 0;
	if (*start + *len > size)
		*start = size - *len;
}

static rfbCursorPtr make_cursor(const uint8_t *pixels, size_t stride, uint32_t width,
				uint32_t height, uint32_t x_hot, uint32_t y_hot)
{
	uint32_t x0, y0, w, h;
	crop_axis(width, x_hot, &x0, &w);
	crop_axis(height, y_hot, &y0, &h);
	rfbCursorPtr c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t mask_stride = (w + 7) / 8;
	c->width = (unsigned short)w;
	c->height = (unsigned short)h;
	c->xhot = (unsigned short)(x_hot - x0);
	c->yhot = (unsigned short)(y_hot - y0);
	c->richSource = malloc((size_t)w * h * 4);
	c->alphaSource = malloc((size_t)w * h);
	c->mask = calloc(mask_stride, h);
	c->cleanup = c->cleanupMask = c->cleanupRichSource = TRUE;
	c->cleanupSource = TRUE;
	/* The XCursor (two-colour) form is derived by libvncserver when a client needs it. */
	c->foreRed = c->foreGreen = c->foreBlue = 0xffff;
	if (!c->richSource || !c->alphaSource || !c->mask) {
		rfbFreeCursor(c);
		return NULL;
	}
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *src = pixels + (size_t)(y0 + y) * stride + (size_t)x0 * 4;
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = src + (size_t)x * 4;
			uint8_t *d = c->richSource + ((size_t)y * w + x) * 4;
			/* Server format is XRGB8888: bytes B,G,R,X, like the plane's ARGB. */
			d[0] = p[0];
			d[1] = p[1];
			d[2] = p[2];
			d[3] = 0;
			c->alphaSource[(size_t)y * w + x] = p[3];
			/* Our own mask rule (alpha >= 128): libvncserver's dithering helper
			 * misplaces the first bit of every byte. */
			if (p[3] >= 128)
				c->mask[y * mask_stride + x / 8] |= (unsigned char)(0x80u >> (x & 7));
		}
	}
	return c;
}

/* Where a cursor covers the screen with the hotspot at x, y; w = 0 for none. */
static void cursor_rect(const rfbCursor *c, int x, int y, int out[4])
{
	if (!c || c->width <= 1) {
		out[0] = out[1] = out[2] = out[3] = 0;
		return;
	}
	out[0] = x - c->xhot;
	out[1] = y - c->yhot;
	out[2] = c->width;
	out[3] = c->height;
}

void vnc_server_set_cursor(struct vnc_server *srv, const uint8_t *pixels, size_t stride,
			   uint32_t width, uint32_t height, uint32_t x_hot, uint32_t y_hot)
{
	rfbCursorPtr c = pixels ? make_cursor(pixels, stride, width, height, x_hot, y_hot)
				: make_empty_cursor();
	if (!c) {
		log_warn("cursor: out of memory for a %ux%u cursor; keeping the old one", width,
			 height);
		return;
	}
	/* We free replaced cursors ourselves, later (see CURSOR_RETIRE_MS). */
	rfbCursorPtr old = srv->screen->cursor;
	int old_rect[4], new_rect[4];
	cursor_rect(old, srv->screen->cursorX, srv->screen->cursorY, old_rect);
	cursor_rect(c, srv->screen->cursorX, srv->screen->cursorY, new_rect);
	if (old)
		old->cleanup = FALSE;
	c->cleanup = FALSE;
	rfbSetCursor(srv->screen, c);
	if (old) {
		old->cleanup = TRUE;
		retire(srv, old);
	}
	drawn_cursor_mark(srv->screen, old_rect, new_rect);

	/* rfbSetCursor flags every client but does not wake their output threads. */
	rfbClientIteratorPtr it = rfbGetClientIterator(srv->screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		LOCK(cl->updateMutex);
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}

void vnc_server_move_cursor(struct vnc_server *srv, int x, int y)
{
	rfbScreenInfoPtr s = srv->screen;
	if (x < 0)
		x = 0;
	if (y < 0)
		y = 0;
	if (x >= s->width)
		x = s->width - 1;
	if (y >= s->height)
		y = s->height - 1;
	int old_rect[4], new_rect[4];
	LOCK(s->cursorMutex);
	cursor_rect(s->cursor, s->cursorX, s->cursorY, old_rect);
	cursor_rect(s->cursor, x, y, new_rect);
	bool moved = s->cursorX != x || s->cursorY != y;
	s->cursorX = x;
	s->cursorY = y;
	UNLOCK(s->cursorMutex);
	if (!moved)
		return;
	drawn_cursor_mark(s, old_rect, new_rect);
	rfbClientIteratorPtr it = rfbGetClientIterator(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		LOCK(cl->updateMutex);
		/* Clients with PointerPos get the position; for clients that see a drawn cursor,
		 * libvncserver notices the move itself and redraws the old and new areas. */
		cl->cursorWasMoved = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}
