/* Which path serves a client's framebuffer updates, and the hook that takes them over.
 *
 * libvncserver encodes raw, hextile, zlib, tight, zrle, ultra itself from the shadow
 * framebuffer. Two encodings are ours: Open H.264 (RFB encoding 50, for clients that list
 * it: noVNC >= 1.6, TigerVNC >= 1.13) and our Tight-JPEG path (for Tight clients that sent
 * a JPEG quality level). For those clients, the screen's displayHook, which libvncserver
 * calls on the client's output thread (holding the client's sendMutex) at the start of
 * every framebuffer update, sends our update and empties the client's requested region,
 * so the library itself sends only the pseudo-rectangles (cursor shape and position,
 * desktop size) that remain.
 *
 * Per-client state lives in a libvncserver protocol extension (which also receives
 * pseudo-encoding 50 from SetEncodings); it is created on the handshake thread and used
 * on the client's output thread. The extension also installs the client's one
 * FramebufferUpdateRequest hook (input thread), which lets the Tight-JPEG and H.264
 * paths order each request after the update in progress; vnc_server.c's guard runs
 * around it and makes sure that what libvncserver stores is never an empty rectangle.
 */
#ifndef VGPU_CLIENT_ENCODING_H
#define VGPU_CLIENT_ENCODING_H

#include <rfb/rfb.h>
#include <stdbool.h>

#include "drawn_cursor.h"

#define RFB_ENCODING_OPEN_H264 50

enum client_path {
	CLIENT_PATH_LIBRARY,    /* libvncserver's own encoders */
	CLIENT_PATH_TIGHT_JPEG, /* tight_jpeg.c */
	CLIENT_PATH_H264,       /* open_h264.c */
};

struct open_h264_client;
struct tight_jpeg_client;

struct client_encoding {
	ClientFramebufferUpdateRequestHookPtr next_request_hook; /* set before our hook */
	bool lists_h264;                 /* the client listed encoding 50 */
	struct open_h264_client *h264;   /* open_h264.c's state, NULL until used */
	struct tight_jpeg_client *tjpeg; /* tight_jpeg.c's state, NULL until used */
	enum client_path path;           /* the path of the last update, for logs and stats */
	/* The client takes cursor shapes (RichCursor/XCursor). libvncserver's own flag can
	 * not say: drawn_cursor.c sets it for clients that do not. Written on the output
	 * thread and read by the capture thread, both under the client's updateMutex (the
	 * capture thread sends new shapes only to clients that take them). */
	bool takes_cursor;
	/* The cursor whose shape this client sends or sent last: a reference (cursor.h),
	 * swapped on the output thread, dropped when the client is gone. */
	rfbCursorPtr cursor;
	struct drawn_cursor drawn_cursor;
};

/* Register the extension; once, before the first client. */
void client_encoding_register(void);

/* From the server's clientGoneHook: free the client's state (libvncserver does not). */
void client_encoding_client_gone(rfbClientPtr cl);

/* screen->displayHook. */
void client_encoding_display_hook(rfbClientPtr cl);

/* The state of a client (NULL before the extension saw it). */
struct client_encoding *client_encoding_get(rfbClientPtr cl);

/* The path that serves this client now. */
enum client_path client_encoding_choose(rfbClientPtr cl, const struct client_encoding *ce);

/* Take the client's pending update: the modified part of what it requested. Returns NULL
 * when there is nothing to send; otherwise a region the caller destroys, and both the
 * client's modified and requested regions are emptied of it (the request is answered).
 * Takes cl->updateMutex for O(region) time. */
sraRegionPtr client_encoding_take_update(rfbClientPtr cl);

#endif
