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
 * drawn_cursor_prepare() runs on the client's output thread from the displayHook;
 * drawn_cursor_mark() on the capture thread when the cursor moves or changes. Whether a
 * client takes cursor shapes (client_encoding's takes_cursor) is decided by the first and
 * read by the second under the client's updateMutex; the capture thread flags new cursor
 * shapes only for clients that take them (cursor.c), so libvncserver, which reads that
 * flag after the displayHook without a lock, never sends one to a client we draw for.
 */
#ifndef VGPU_DRAWN_CURSOR_H
#define VGPU_DRAWN_CURSOR_H

#include <rfb/rfb.h>
#include <stdbool.h>

struct client_encoding;

struct drawn_cursor {
	bool active;             /* we override cl->enableCursorShapeUpdates */
	rfbScreenInfo copy;      /* a copy of the screen whose frameBuffer is ours */
	char *fb;
	int width, height;       /* of fb */
};

/* Before each update: decide whether the client needs a drawn cursor and, if so, bring
 * its private framebuffer up to date over the region about to be sent. */
void drawn_cursor_prepare(rfbClientPtr cl, struct client_encoding *ce);

/* Capture thread: the cursor moved or changed from old to new (x, y, w, h; w = 0 for
 * none): clients with a drawn cursor get both areas redrawn. */
void drawn_cursor_mark(rfbScreenInfoPtr screen, const int old_rect[4], const int new_rect[4]);

/* Client gone: free the copy. */
void drawn_cursor_free(rfbClientPtr cl, struct drawn_cursor *dc);

#endif
