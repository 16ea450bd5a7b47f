/* The screen's cursor, from the capture thread: the shape as a libvncserver cursor
 * (cursor.h) for clients that take a cursor encoding, drawn into a private copy of the
 * frame (drawn_cursor.h) for those that do not; vnc_server.h declares these. */
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>

#include "client_encoding.h"
#include "cursor.h"
#include "drawn_cursor.h"
#include "log.h"
#include "vnc_server.h"

/* screen->getCursorPtr, which rfbSendCursorShape() calls on the client's output thread.
 * The client keeps its reference until its next cursor shape (or until it is gone), which
 * covers the whole send. A client without our state (out of memory when it connected)
 * gets "no cursor" rather than a cursor that could be freed under it. */
static rfbCursorPtr cursor_for_client(rfbClientPtr cl)
{
	struct client_encoding *ce = client_encoding_get(cl);
	return ce ? cursor_hold(cl->screen, &ce->cursor) : NULL;
}

/* The cursor moved or changed from old to new: clients with a drawn cursor get both
 * areas redrawn (drawn_cursor.h). takes_cursor is read under the client's updateMutex. */
static void mark_drawn(rfbScreenInfoPtr screen, const int old_rect[4], const int new_rect[4])
{
	sraRegionPtr region = drawn_cursor_area(old_rect, new_rect);
	if (!region)
		return;
	rfbClientIteratorPtr it = rfbGetClientIterator(screen);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		struct client_encoding *ce = client_encoding_get(cl);
		if (!ce)
			continue;
		LOCK(cl->updateMutex);
		if (!ce->takes_cursor) {
			client_encoding_mark_locked(cl, region);
			TSIGNAL(cl->updateCond);
		}
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
	sraRgnDestroy(region);
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
	rfbCursorPtr c = cursor_build(pixels, stride, width, height, x_hot, y_hot);
	if (!c) {
		log_warn("cursor: out of memory for a %ux%u cursor; keeping the old one", width,
			 height);
		return;
	}
	rfbScreenInfoPtr s = vnc_server_screen(srv);
	/* Ours to free: see cursor.h. The first call installs the hook before any client. */
	if (s->getCursorPtr != cursor_for_client)
		s->getCursorPtr = cursor_for_client;
	/* What rfbSetCursor() does, except for the flag that sends the new shape: only
	 * clients that take cursor shapes get it. libvncserver reads that flag on the output
	 * thread without a lock, after our displayHook; a drawn-cursor client that found it
	 * set would be sent a cursor shape it never asked for. drawn_cursor_prepare() decides
	 * takes_cursor under the client's updateMutex, the lock held here. */
	LOCK(s->cursorMutex);
	rfbCursorPtr old = s->cursor;
	int old_rect[4], new_rect[4];
	cursor_rect(old, s->cursorX, s->cursorY, old_rect);
	cursor_rect(c, s->cursorX, s->cursorY, new_rect);
	s->cursor = c;
	UNLOCK(s->cursorMutex);
	/* The screen's reference; clients sending the old shape hold their own. */
	cursor_release(old);
	mark_drawn(s, old_rect, new_rect);

	rfbClientIteratorPtr it = rfbGetClientIterator(s);
	rfbClientPtr cl;
	while ((cl = rfbClientIteratorNext(it))) {
		struct client_encoding *ce = client_encoding_get(cl);
		LOCK(cl->updateMutex);
		if (ce && ce->takes_cursor)
			cl->cursorWasChanged = TRUE;
		TSIGNAL(cl->updateCond);
		UNLOCK(cl->updateMutex);
	}
	rfbReleaseClientIterator(it);
}

void vnc_server_move_cursor(struct vnc_server *srv, int x, int y)
{
	rfbScreenInfoPtr s = vnc_server_screen(srv);
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
	mark_drawn(s, old_rect, new_rect);
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
