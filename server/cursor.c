/* The guest's cursor as libvncserver cursors, reference-counted: cursor.h. */
#include "cursor.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


/* Our cursors: libvncserver's struct first, so that a cursor pointer is a pointer to its
 * record. `cleanup` stays FALSE: libvncserver never frees one of ours (rfbSetCursor
 * frees the old cursor only when it is set). */
struct shared_cursor {
	rfbCursor c;
	atomic_uint refs;
};

static rfbCursorPtr cursor_alloc(void)
{
	struct shared_cursor *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	atomic_init(&sc->refs, 1);
	rfbCursorPtr c = &sc->c;
	/* XCursor colours: bits set in `source` are white, the others black. */
	c->foreRed = c->foreGreen = c->foreBlue = 0xffff;
	return c;
}

void cursor_release(rfbCursorPtr c)
{
	if (!c)
		return;
	struct shared_cursor *sc = (struct shared_cursor *)c;
	if (atomic_fetch_sub_explicit(&sc->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(c->source);
	free(c->mask);
	free(c->richSource);
	free(c->alphaSource);
	free(sc);
}

rfbCursorPtr cursor_hold(rfbScreenInfoPtr screen, rfbCursorPtr *held)
{
	LOCK(screen->cursorMutex);
	rfbCursorPtr c = screen->cursor;
	if (c)
		atomic_fetch_add_explicit(&((struct shared_cursor *)c)->refs, 1,
					  memory_order_relaxed);
	UNLOCK(screen->cursorMutex);
	cursor_release(*held);
	*held = c;
	return c;
}

/* A 1x1 cursor with an empty mask is how libvncserver says "no cursor". */
static rfbCursorPtr make_empty_cursor(void)
{
	rfbCursorPtr c = cursor_alloc();
	if (!c)
		return NULL;
	c->width = c->height = 1;
	c->source = calloc(1, 1);
	c->mask = calloc(1, 1);
	c->richSource = calloc(1, 4);
	c->alphaSource = calloc(1, 1);
	if (!c->source || !c->mask || !c->richSource || !c->alphaSource) {
		cursor_release(c);
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
	rfbCursorPtr c = cursor_alloc();
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
	c->source = calloc(mask_stride, h);
	if (!c->richSource || !c->alphaSource || !c->mask || !c->source) {
		cursor_release(c);
		return NULL;
	}
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *src = pixels + (size_t)(y0 + y) * stride + (size_t)x0 * 4;
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = src + (size_t)x * 4;
			uint8_t *d = c->richSource + ((size_t)y * w + x) * 4;
			size_t byte = y * mask_stride + x / 8;
			unsigned char bit = (unsigned char)(0x80u >> (x & 7));
			/* Server format is XRGB8888: bytes B,G,R,X, like the plane's ARGB. */
			d[0] = p[0];
			d[1] = p[1];
			d[2] = p[2];
			d[3] = 0;
			c->alphaSource[(size_t)y * w + x] = p[3];
			/* Our own mask rule (alpha >= 128): libvncserver's dithering helper
			 * misplaces the first bit of every byte. */
			if (p[3] >= 128)
				c->mask[byte] |= bit;
			/* The XCursor form: white where the pixel is light, black where it is
			 * dark (libvncserver's own conversion makes every non-black pixel white). */
			if ((unsigned)p[0] + p[1] + p[2] >= 3u * 128u)
				c->source[byte] |= bit;
		}
	}
	return c;
}

rfbCursorPtr cursor_build(const uint8_t *pixels, size_t stride, uint32_t width, uint32_t height,
			  uint32_t x_hot, uint32_t y_hot)
{
	return pixels ? make_cursor(pixels, stride, width, height, x_hot, y_hot)
		      : make_empty_cursor();
}
