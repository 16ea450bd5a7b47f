/* The cursor, drawn into the picture for clients that take no cursor encoding.
 *
 * libvncserver would draw it into the shared shadow framebuffer while it sends to such a
 * client and restore the pixels underneath afterwards. With a capture thread writing that
 * framebuffer and other clients reading it at the same time, that loses the capture
 * thread's writes under the cursor and shows the cursor to clients that draw their own.
 * So for those clients we keep libvncserver from drawing (it believes they take cursor
 * shapes, and never has a shape change to send them) and give them a private copy of the
 * framebuffer instead (cl->scaledScreen, which every libvncserver encoder reads), in
 * which the cursor is blended over the regions being sent.
 *
 * drawn_cursor_prepare() runs on the client's output thread from the displayHook, and
 * drawn_cursor_refresh() on the same thread where the region to send is known. The first
 * decides whether the client takes cursor shapes (client_encoding's takes_cursor), under
 * the client's updateMutex; the capture thread reads that under the same lock when the
 * cursor moves or changes (vnc_server_cursor.c): it marks drawn_cursor_area() modified
 * for clients we draw for and flags new cursor shapes only for clients that take them,
 * so libvncserver, which reads that flag after the displayHook without a lock, never
 * sends one to a client we draw for. Every mark of new pixels (capture ticks, cursor
 * moves) also reaches drawn_cursor_marked_locked() under that lock
 * (client_encoding_mark_locked), for the updates libvncserver sends itself.
 */
#ifndef VGPU_DRAWN_CURSOR_H
#define VGPU_DRAWN_CURSOR_H

#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct drawn_cursor {
	bool active;             /* we override cl->enableCursorShapeUpdates */
	rfbScreenInfo copy;      /* a copy of the screen whose frameBuffer is ours */
	char *fb;
	int width, height;       /* of fb */
	/* While libvncserver sends an update from the copy: new pixels marked since the copy
	 * was refreshed, which the library may take out of the modified region with the
	 * update (drawn_cursor_library_sent puts them back); NULL otherwise. Under the
	 * client's updateMutex. */
	sraRegionPtr marked;
};

/* Before each update: decide whether the client takes cursor shapes (*takes_cursor,
 * written under cl->updateMutex) or needs a drawn cursor and, if so, point
 * cl->scaledScreen at its private framebuffer (a new one starts as a whole copy). */
void drawn_cursor_prepare(rfbClientPtr cl, struct drawn_cursor *dc, bool *takes_cursor);

/* Bring the private framebuffer up to date over region, the cursor blended on top;
 * nothing for a client that takes
 * cursor shapes. It must run after the region to be sent left cl->modifiedRegion:
 * whatever the capture thread (or a cursor move) marks later stays modified and is
 * sent again, while a mark between an earlier copy and the taking would be answered
 * with the old pixels and then forgotten (client_encoding_take_update). */
void drawn_cursor_refresh(rfbClientPtr cl, struct drawn_cursor *dc, sraRegionPtr region);

/* libvncserver sends this update itself, from the copy: refresh it over the client's
 * modified region as it is now, and from here on note the new pixels marked. The library
 * takes the region it sends out of the modified one a moment later, and with it whatever
 * was marked in between, which the copy does not show yet. */
void drawn_cursor_refresh_for_library(rfbClientPtr cl, struct drawn_cursor *dc);

/* Holding cl->updateMutex: new pixels (a capture tick, a cursor move) were marked
 * modified in region. */
void drawn_cursor_marked_locked(struct drawn_cursor *dc, sraRegionPtr region);

/* The displayFinishedHook: the library's update is over; what was marked during it is
 * modified again, to be sent from the copy refreshed at the next update. */
void drawn_cursor_library_sent(rfbClientPtr cl, struct drawn_cursor *dc);

/* The screen's cursor as it is now, blended over dst (the whole screen, XRGB8888, stride
 * bytes a row; NULL to draw nothing). Returns a key for what is drawn: the same for the
 * same shape at the same place, 0 for no cursor. Takes the screen's cursorMutex. The
 * Open H.264 streams with the cursor drawn in (open_h264.c) use it. */
uint64_t drawn_cursor_overlay(rfbScreenInfoPtr s, uint8_t *dst, size_t stride);

/* The area to redraw when the cursor moved or changed from old to new (x, y, w, h; w = 0
 * for none): a region the caller destroys, or NULL when both are empty. */
sraRegionPtr drawn_cursor_area(const int old_rect[4], const int new_rect[4]);

/* Client gone: free the copy. */
void drawn_cursor_free(rfbClientPtr cl, struct drawn_cursor *dc);

#endif
