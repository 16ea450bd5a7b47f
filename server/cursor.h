/* The guest's cursor as libvncserver cursors: built whole, published, then only read.
 *
 * libvncserver 0.9.14 converts a cursor lazily, on each client's output thread, without
 * a lock: rfbSendCursorShape() makes the XCursor bitmap (rfbMakeXCursorFromRichCursor)
 * when `source` is NULL, the rich form (rfbMakeRichCursorFromXCursor) when `richSource`
 * is NULL, and rfbShowCursor() makes the rich form too. Two clients converting the same
 * cursor at once leak or double-free its bitmap. So the capture thread builds every form
 * (rich pixels, alpha, mask, XCursor bitmap) before rfbSetCursor() publishes the cursor,
 * and no client thread ever writes to it.
 *
 * rfbSetCursor() would free the old cursor (cleanup) while another client's output
 * thread may be copying it into an update. Our cursors are reference-counted instead:
 * the screen holds one reference to the cursor it shows, and each client holds one to
 * the cursor it is sending (screen->getCursorPtr, which rfbSendCursorShape calls on the
 * client's output thread, swaps that client's reference for the current cursor). The
 * last reference frees the cursor. References are taken under screen->cursorMutex, the
 * lock rfbSetCursor() swaps under, so no one can take one to a cursor already released.
 */
#ifndef VGPU_CURSOR_H
#define VGPU_CURSOR_H

#include <rfb/rfb.h>
#include <stddef.h>
#include <stdint.h>

/* A cursor built from ARGB8888 pixels (bytes B,G,R,A; stride bytes a row), cropped to
 * CURSOR_MAX_SIDE around the hotspot, with every form libvncserver may send or draw, and
 * one reference. NULL pixels: the "no cursor" cursor. NULL when out of memory. */
rfbCursorPtr cursor_build(const uint8_t *pixels, size_t stride, uint32_t width, uint32_t height,
			  uint32_t x_hot, uint32_t y_hot);

/* Drop a reference (NULL is fine); the last one frees the cursor. Any thread. */
void cursor_release(rfbCursorPtr c);

/* Replace *held by a new reference to the screen's cursor, and return it. Any thread;
 * takes screen->cursorMutex for O(1) time. */
rfbCursorPtr cursor_hold(rfbScreenInfoPtr screen, rfbCursorPtr *held);

/* Cursor shapes must fit libvncserver's 32 KiB update buffer with their mask; larger
 * cursor planes are cropped to this size around the hotspot. */
#define CURSOR_MAX_SIDE 64u

#endif
