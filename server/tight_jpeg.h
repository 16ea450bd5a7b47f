/* The Tight-JPEG path: framebuffer updates for Tight clients that asked for JPEG.
 *
 * This is the glue between libvncserver and the encoder (encoder/tight_jpeg_encoder.h,
 * which says what an update is and writes it as bytes): the extension that gives each
 * client its state, which clients take this path, the order of their requests, the sink
 * that writes into the client's socket, and the refresh timer that marks due tiles as
 * modified.
 *
 * Which clients: preferred encoding Tight, a JPEG quality level (any of the three
 * pseudo-encodings, tight_jpeg_encoder.h), and a 32 bpp, depth 24, 8-bit-per-channel
 * true-colour pixel format. Everyone else (and libvncserver's own scaling): the library.
 *
 * Pixels come from what libvncserver's encoders read for the client (cl->scaledScreen):
 * the shadow framebuffer, so the cursor is never in the JPEG for clients that take
 * cursor shapes (the library sends RichCursor/XCursor); for clients that do not,
 * drawn_cursor.c's private copy with the cursor blended in.
 *
 * The update: the client's pending region (client_encoding_take_update answers its
 * request), encoded by the client's tight_jpeg_encoder from that framebuffer. A timer
 * (tight_waker, tight_jpeg_lossless.h) asks the encoder which tiles are due for their
 * lossless refresh and marks them as modified, so a still screen gets its refresh too.
 * Clients that are being served at the same time share one tight_cache: the frame's tile
 * facts, and for equal settings its encoded JPEG and lossless rectangles, named by the
 * frame store's generation (tight_jpeg_set_frame_store); a client with a drawn cursor
 * reads its own copy and shares nothing.
 *
 * Threads: the state is made on the handshake thread (client_encoding's newClient);
 * tight_jpeg_on_request runs on the client's input thread (client_encoding.c's request
 * hook). tight_jpeg_applies and tight_jpeg_send_update run on the client's output
 * thread, in the screen's displayHook (client_encoding.c), holding the client's
 * sendMutex; the update is written with rfbWriteExact after what the client's update
 * buffer held. The refresh timer asks the encoder for due tiles and marks them from its
 * own thread. tight_jpeg_client_free runs when the client is gone; the state is
 * reference-counted, so a free during a send in progress is safe too. The frame store
 * pointer and the refresh delay are atomics: set from any thread.
 */
#ifndef VGPU_TIGHT_JPEG_H
#define VGPU_TIGHT_JPEG_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stdint.h>

#include "client_encoding.h"

struct tight_jpeg_client;

struct frame_store;

/* The frame store whose generation tells whether a JPEG of the framebuffer may be shared
 * between clients (set by whoever creates the store, before clients come; NULL: no
 * sharing). */
void tight_jpeg_set_frame_store(struct frame_store *fs);

/* The path (client_encoding.h); the functions below are its parts. */
extern const struct client_encoding_ops tight_jpeg_ops;

/* Input thread, for each FramebufferUpdateRequest before libvncserver adds it: once this
 * path has served the client, wait for the update in progress (see tight_jpeg.c). */
void tight_jpeg_on_request(rfbClientPtr cl, struct tight_jpeg_client *st);

/* Does this client's next update go through this path? Reads the client's settings only. */
bool tight_jpeg_applies(rfbClientPtr cl);

/* Send the client's pending update. False if the path could not serve it (out of memory,
 * settings changed under it): the update is then left to libvncserver. */
bool tight_jpeg_send_update(rfbClientPtr cl, struct client_encoding *ce);

/* The client is closing: stop its refresh timer and drop the owner's reference. Safe to
 * call more than once, and from inside tight_jpeg_send_update (a failed write closes
 * the client). */
void tight_jpeg_client_free(struct tight_jpeg_client *st);

/* The lossless refresh delay in ms, for clients served from now on; 0 turns it off.
 * Default TIGHT_REFRESH_DEFAULT_MS (tight_jpeg_lossless.h). */
void tight_jpeg_set_refresh_ms(uint32_t ms);

#endif
