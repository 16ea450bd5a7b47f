/* The Tight-JPEG path: framebuffer updates for Tight clients that asked for JPEG.
 *
 * Which clients: preferred encoding Tight, a JPEG quality level (any of the three
 * pseudo-encodings, tight_jpeg_params.h), and a 32 bpp, depth 24, 8-bit-per-channel
 * true-colour pixel format. Everyone else (and libvncserver's own scaling): the library.
 *
 * Pixels come from what libvncserver's encoders read for the client (cl->scaledScreen):
 * the shadow framebuffer, so the cursor is never in the JPEG for clients that take
 * cursor shapes (the library sends RichCursor/XCursor); for clients that do not,
 * drawn_cursor.c's private copy with the cursor blended in.
 *
 * What an update is: the client's pending region (client_encoding_take_update answers
 * its request), by 64x64 damage tile (tight_jpeg_classify.h): one-colour tiles as Tight
 * fills; tiles of a few colours (text, flat UI: up to 24 in small updates, 8 in large
 * ones; more from compression level 2 up) exactly, with Tight's palette filter; others as
 * JPEG compressed straight from that framebuffer (XRGB8888 = TJPF_BGRX, with its pitch,
 * no copy); all merged into as few rectangles as clients decode (tight_jpeg_plan.h). A
 * tile that was sent as JPEG and then stayed unchanged for the refresh delay (default
 * 1 s) is sent once more losslessly (Tight basic, tight_jpeg_lossless.h); a timer marks
 * due tiles as modified, so a still screen gets its refresh too (tight_jpeg_waker.h).
 * The rectangle count is known before the first byte goes out, so the update carries the
 * exact count (LastRect only past 65535 rectangles, if the client takes it). Clients with
 * equal JPEG settings share encoded rectangles (tight_jpeg_cache.h).
 *
 * The path is tight_jpeg_ops (client_encoding.h); the functions below are its parts.
 *
 * Threads: the state is made on the handshake thread (client_encoding's newClient);
 * tight_jpeg_on_request runs on the client's input thread (client_encoding.c's request
 * hook).
 * tight_jpeg_applies and tight_jpeg_send_update run on the client's output thread, in the
 * screen's displayHook (client_encoding.c), holding the client's sendMutex; the update is
 * written with the client's update buffer and rfbWriteExact. The refresh timer marks due
 * tiles from its own thread. tight_jpeg_client_free runs when the client is gone; the
 * state is reference-counted, so a free during a send in progress is safe too.
 */
#ifndef VGPU_TIGHT_JPEG_H
#define VGPU_TIGHT_JPEG_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stdint.h>

#include "client_encoding.h"

struct tight_jpeg_client;

extern const struct client_encoding_ops tight_jpeg_ops;

/* The frame store whose generation keys the rectangles clients share; before the first
 * client (vnc_server_create). The caller keeps it. */
struct frame_store;
void tight_jpeg_set_frame_store(struct frame_store *fs);

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
 * Default TIGHT_REFRESH_DEFAULT_MS. */
void tight_jpeg_set_refresh_ms(uint32_t ms);

/* What the path did for a client, for logs, tests and benchmarks. */
struct tight_jpeg_stats {
	uint64_t updates;
	uint64_t jpeg_rects, jpeg_bytes, jpeg_shared; /* shared: taken from the cache */
	uint64_t fill_rects;
	uint64_t palette_rects, palette_bytes;   /* few colours, sent exactly */
	uint64_t lossless_rects, lossless_bytes; /* lossless refresh */
	uint64_t library_updates; /* updates libvncserver sent this client meanwhile */
};

void tight_jpeg_client_stats(const struct tight_jpeg_client *st, struct tight_jpeg_stats *out);

#endif
