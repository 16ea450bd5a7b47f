/* Which path serves a client's framebuffer updates, and the hooks that let it.
 *
 * libvncserver encodes raw, hextile, zlib, tight, zrle, ultra itself from the shadow
 * framebuffer. Two encodings are ours: Open H.264 (RFB encoding 50, for clients that list
 * it: noVNC >= 1.6, TigerVNC >= 1.13) and our Tight-JPEG path (for Tight clients that sent
 * a JPEG quality level). Each path is a struct client_encoding_ops; the server hands a
 * list of them, in priority order, to client_encoding_register(), and the first whose
 * applies() says yes serves the client's next update. The last is
 * client_encoding_library: it always applies and leaves the update to libvncserver.
 *
 * For a path that sends updates itself, the screen's displayHook, which libvncserver
 * calls on the client's output thread (holding the client's sendMutex) at the start of
 * every framebuffer update, sends our update and empties the client's requested region,
 * so the library itself sends only the pseudo-rectangles (cursor shape and position,
 * desktop size) that remain.
 *
 * Per-client state lives in one libvncserver protocol extension (which also receives
 * the paths' pseudo-encodings from SetEncodings); it and every path's state are created
 * on the handshake thread and used on the client's output thread. The extension also
 * installs the client's one FramebufferUpdateRequest hook (input thread), which lets the
 * Tight-JPEG and H.264 paths order each request after the update in progress;
 * vnc_server_clients.c's guard runs around it and makes sure that what libvncserver
 * stores is never an empty rectangle.
 */
#ifndef VGPU_CLIENT_ENCODING_H
#define VGPU_CLIENT_ENCODING_H

#include <rfb/rfb.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "drawn_cursor.h"

#define RFB_ENCODING_OPEN_H264 50

/* A path's slot in a client's state; each path has its own. */
enum client_path {
	CLIENT_PATH_LIBRARY,    /* libvncserver's own encoders */
	CLIENT_PATH_TIGHT_JPEG, /* tight_jpeg.c */
	CLIENT_PATH_H264,       /* open_h264.c */
	CLIENT_PATH_COUNT
};

struct client_encoding;

/* One way to serve a client's updates. */
struct client_encoding_ops {
	const char *name;      /* the control socket's word: "h264", "tight-jpeg", "library" */
	const char *title;     /* the log's: "Open H.264" */
	enum client_path path; /* its slot in struct client_encoding */
	int pseudo_encoding;   /* a SetEncodings value that sets listed[path]; 0 = none */
	/* Handshake thread, before the client's threads start: the path's state for a new
	 * client (NULL when out of memory: the path then never serves it). NULL: none. */
	void *(*new_state)(rfbClientPtr cl);
	/* Output thread: does this path serve the client's next update? Reads settings. */
	bool (*applies)(rfbClientPtr cl, struct client_encoding *ce);
	/* Output thread, in the displayHook, holding the client's sendMutex: send the
	 * client's pending update (client_encoding_take_update) to the client. False when
	 * libvncserver should send it after all (client_encoding_give_back). NULL: the
	 * library sends it. */
	bool (*send_update)(rfbClientPtr cl, struct client_encoding *ce);
	/* Input thread, for every FramebufferUpdateRequest before libvncserver adds it. True
	 * when the path registered the request itself, between updates: libvncserver must
	 * then add nothing that could arrive inside an update. NULL: nothing to do. */
	bool (*on_request)(rfbClientPtr cl, struct client_encoding *ce,
			   const rfbFramebufferUpdateRequestMsg *msg);
	/* Both of the client's threads have ended: free what new_state() made. */
	void (*free_state)(void *state);
};

/* libvncserver's built-in encodings: applies always, sends nothing itself. */
extern const struct client_encoding_ops client_encoding_library;

struct client_encoding {
	ClientFramebufferUpdateRequestHookPtr next_request_hook; /* set before our hook */
	void *state[CLIENT_PATH_COUNT]; /* each path's own (new_state), NULL if none */
	/* The client listed the path's pseudo-encoding (its input thread's, SetEncodings). */
	bool listed[CLIENT_PATH_COUNT];
	/* The path of the last update, for logs and the control socket (written on the
	 * output thread, read by any). */
	_Atomic(const struct client_encoding_ops *) served_by;
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

/* Main thread, before the first client: the paths, in priority order (the last one
 * should be client_encoding_library; n <= CLIENT_PATH_COUNT, each path once). The list
 * stays the caller's. Registers the extension once. */
void client_encoding_register(const struct client_encoding_ops *const *paths, size_t n);

/* From the server's clientGoneHook: free the client's state (libvncserver does not). */
void client_encoding_client_gone(rfbClientPtr cl);

/* screen->displayHook. */
void client_encoding_display_hook(rfbClientPtr cl);

/* From screen->displayFinishedHook, at the end of every update (drawn_cursor.h: what
 * was marked while libvncserver sent from a drawn cursor's copy is modified again). */
void client_encoding_update_sent(rfbClientPtr cl);

/* Holding cl->updateMutex: new pixels in region (a capture tick, a cursor move) are
 * modified for the client. Every such mark goes through here, for the drawn cursor. */
void client_encoding_mark_locked(rfbClientPtr cl, sraRegionPtr region);

/* The state of a client (NULL before the extension saw it). */
struct client_encoding *client_encoding_get(rfbClientPtr cl);

/* The name of the path that served the client's last update ("library" before any). */
const char *client_encoding_served_by(rfbClientPtr cl);

/* Take the client's pending update: the modified part of what it requested. Returns NULL
 * when there is nothing to send; otherwise a region the caller destroys, and both the
 * client's modified and requested regions are emptied of it (the request is answered).
 * For a client with a drawn cursor, cl->scaledScreen's copy is then brought up to date
 * over the region (drawn_cursor_refresh). Takes cl->updateMutex for O(region) time. */
sraRegionPtr client_encoding_take_update(rfbClientPtr cl);

/* Put a taken region back, requested and modified, for libvncserver to send in this
 * update (a path that cannot). Takes cl->updateMutex for O(region) time. */
void client_encoding_give_back(rfbClientPtr cl, sraRegionPtr region);

#endif
