/* Private framebuffer copies with the cursor blended in, for clients without cursor
 * encodings. */
#include "drawn_cursor.h"

#include <rfb/rfbregion.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Copy a rectangle of the shared framebuffer into the client's copy. */
static void copy_rect(struct drawn_cursor *dc, const rfbScreenInfo *s, int x1, int y1, int x2,
		      int y2)
{
	for (int y = y1; y < y2; y++)
		memcpy(dc->fb + (size_t)y * dc->width * 4 + (size_t)x1 * 4,
		       s->frameBuffer + (size_t)y * s->paddedWidthInBytes + (size_t)x1 * 4,
		       (size_t)(x2 - x1) * 4);
}

/* Blend the cursor over the part of it inside the clip rectangle of fb (XRGB8888 like the
 * shared framebuffer, stride bytes a row); the cursor's richSource is in the same format,
 * with its alpha. */
static void blend_cursor(uint8_t *fb, size_t stride, const rfbCursor *c, int cx, int cy, int x1,
			 int y1, int x2, int y2)
{
	int bx1 = cx > x1 ? cx : x1, by1 = cy > y1 ? cy : y1;
	int bx2 = cx + c->width < x2 ? cx + c->width : x2;
	int by2 = cy + c->height < y2 ? cy + c->height : y2;
	for (int y = by1; y < by2; y++) {
		for (int x = bx1; x < bx2; x++) {
			size_t ci = (size_t)(y - cy) * c->width + (size_t)(x - cx);
			unsigned a = c->alphaSource ? c->alphaSource[ci]
						    : ((c->mask[(y - cy) * ((c->width + 7) / 8) +
								(x - cx) / 8] >> (7 - ((x - cx) & 7))) & 1) * 255;
			if (a == 0)
				continue;
			uint8_t *d = fb + (size_t)y * stride + (size_t)x * 4;
			const uint8_t *src = c->richSource + ci * 4;
			for (int k = 0; k < 3; k++)
				d[k] = (uint8_t)((src[k] * a + d[k] * (255 - a) + 127) / 255);
		}
	}
}

/* Size the copy to the screen; a new copy starts as the whole shared framebuffer. */
static bool ensure_copy(struct drawn_cursor *dc, rfbScreenInfoPtr s)
{
	if (dc->fb && dc->width == s->width && dc->height == s->height)
		return true;
	char *fb = malloc((size_t)s->width * s->height * 4);
	if (!fb)
		return false;
	free(dc->fb);
	dc->fb = fb;
	dc->width = s->width;
	dc->height = s->height;
	copy_rect(dc, s, 0, 0, s->width, s->height);
	return true;
}

static void end_override(rfbClientPtr cl, struct drawn_cursor *dc)
{
	cl->scaledScreen = cl->screen;
	free(dc->fb);
	dc->fb = NULL;
	dc->active = false;
}

/* Under the client's updateMutex: whether this update draws the cursor. It also keeps
 * libvncserver from sending such a client a cursor shape (or drawing the cursor into the
 * shared framebuffer) during this update: the capture thread only flags new shapes for
 * clients with takes_cursor, read under the same lock (cursor.c). */
static bool decide_locked(rfbClientPtr cl, struct drawn_cursor *dc, bool *takes_cursor)
{
	if (dc->active) {
		/* A new SetEncodings resets the flag to what the client asked for: with a
		 * RichCursor it now takes shapes itself; without, we override again. */
		if (cl->useRichCursorEncoding) {
			end_override(cl, dc);
			*takes_cursor = true;
			cl->cursorWasChanged = TRUE;
			return false;
		}
	} else {
		*takes_cursor = cl->enableCursorShapeUpdates;
		if (*takes_cursor)
			return false;
	}
	*takes_cursor = false;
	cl->enableCursorShapeUpdates = TRUE;
	cl->cursorWasChanged = FALSE;
	cl->cursorWasMoved = FALSE;
	return true;
}

void drawn_cursor_prepare(rfbClientPtr cl, struct drawn_cursor *dc, bool *takes_cursor)
{
	rfbScreenInfoPtr s = cl->screen;
	LOCK(cl->updateMutex);
	bool draw = decide_locked(cl, dc, takes_cursor);
	UNLOCK(cl->updateMutex);
	if (!draw)
		return;
	if (!ensure_copy(dc, s)) {
		/* Out of memory: this update goes out without the cursor. */
		end_override(cl, dc);
		return;
	}
	dc->active = true;
	/* The copy describes the screen as it is now (size, format), with our pixels, which
	 * drawn_cursor_refresh() brings up to date over the region that is sent. */
	dc->copy = *s;
	dc->copy.frameBuffer = dc->fb;
	dc->copy.paddedWidthInBytes = dc->width * 4;
	cl->scaledScreen = &dc->copy;
}

/* Copy the shared framebuffer into the copy over region, the cursor blended on top. */
static void refresh_over(struct drawn_cursor *dc, rfbScreenInfoPtr s, sraRegionPtr region)
{
	LOCK(s->cursorMutex);
	rfbCursorPtr c = s->cursor;
	int cx = c ? s->cursorX - c->xhot : 0, cy = c ? s->cursorY - c->yhot : 0;
	sraRectangleIterator *it = sraRgnGetIterator(region);
	sraRect r;
	while (sraRgnIteratorNext(it, &r)) {
		int x1 = r.x1 < 0 ? 0 : r.x1, y1 = r.y1 < 0 ? 0 : r.y1;
		int x2 = r.x2 > s->width ? s->width : r.x2, y2 = r.y2 > s->height ? s->height : r.y2;
		if (x1 >= x2 || y1 >= y2)
			continue;
		copy_rect(dc, s, x1, y1, x2, y2);
		if (c && c->richSource && c->width > 1)
			blend_cursor((uint8_t *)dc->fb, (size_t)dc->width * 4, c, cx, cy, x1, y1, x2,
				     y2);
	}
	sraRgnReleaseIterator(it);
	UNLOCK(s->cursorMutex);
}

static bool copy_current(const rfbClientPtr cl, const struct drawn_cursor *dc)
{
	const rfbScreenInfo *s = cl->screen;
	return dc->active && dc->fb && dc->width == s->width && dc->height == s->height;
}

void drawn_cursor_refresh(rfbClientPtr cl, struct drawn_cursor *dc, sraRegionPtr region)
{
	if (copy_current(cl, dc))
		refresh_over(dc, cl->screen, region);
}

void drawn_cursor_refresh_for_library(rfbClientPtr cl, struct drawn_cursor *dc)
{
	if (!copy_current(cl, dc))
		return;
	LOCK(cl->updateMutex);
	sraRegionPtr region = sraRgnCreateRgn(cl->modifiedRegion);
	if (dc->marked)
		sraRgnMakeEmpty(dc->marked);
	else
		dc->marked = sraRgnCreate();
	UNLOCK(cl->updateMutex);
	refresh_over(dc, cl->screen, region);
	sraRgnDestroy(region);
}

void drawn_cursor_marked_locked(struct drawn_cursor *dc, sraRegionPtr region)
{
	if (dc->marked)
		sraRgnOr(dc->marked, region);
}

void drawn_cursor_library_sent(rfbClientPtr cl, struct drawn_cursor *dc)
{
	LOCK(cl->updateMutex);
	sraRegionPtr marked = dc->marked;
	dc->marked = NULL;
	if (marked)
		sraRgnOr(cl->modifiedRegion, marked);
	UNLOCK(cl->updateMutex);
	if (marked)
		sraRgnDestroy(marked);
}

uint64_t drawn_cursor_overlay(rfbScreenInfoPtr s, uint8_t *dst, size_t stride)
{
	LOCK(s->cursorMutex);
	rfbCursorPtr c = s->cursor;
	if (!c || !c->richSource || c->width <= 1) {
		UNLOCK(s->cursorMutex);
		return 0;
	}
	int cx = s->cursorX - c->xhot, cy = s->cursorY - c->yhot;
	if (dst)
		blend_cursor(dst, stride, c, cx, cy, 0, 0, s->width, s->height);
	/* Where, and which shape: the pixels and the mask or alpha. */
	const int32_t where[4] = {cx, cy, c->width, c->height};
	uint64_t key = XXH3_64bits(where, sizeof(where));
	size_t n = (size_t)c->width * c->height;
	key = XXH3_64bits_withSeed(c->richSource, n * 4, key);
	if (c->alphaSource)
		key = XXH3_64bits_withSeed(c->alphaSource, n, key);
	else if (c->mask)
		key = XXH3_64bits_withSeed(c->mask, (size_t)(c->width + 7) / 8 * c->height, key);
	UNLOCK(s->cursorMutex);
	return key ? key : 1;
}

sraRegionPtr drawn_cursor_area(const int old_rect[4], const int new_rect[4])
{
	sraRegionPtr region = sraRgnCreate();
	const int *rects[2] = {old_rect, new_rect};
	for (int i = 0; i < 2; i++) {
		const int *q = rects[i];
		if (q[2] <= 0 || q[3] <= 0)
			continue;
		sraRegionPtr r = sraRgnCreateRect(q[0], q[1], q[0] + q[2], q[1] + q[3]);
		sraRgnOr(region, r);
		sraRgnDestroy(r);
	}
	if (sraRgnEmpty(region)) {
		sraRgnDestroy(region);
		return NULL;
	}
	return region;
}

void drawn_cursor_free(rfbClientPtr cl, struct drawn_cursor *dc)
{
	if (dc->marked)
		sraRgnDestroy(dc->marked);
	dc->marked = NULL;
	if (dc->active)
		cl->scaledScreen = cl->screen;
	free(dc->fb);
	dc->fb = NULL;
	dc->active = false;
}
