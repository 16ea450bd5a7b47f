/* The Open H.264 encoding (RFB encoding 50) for clients that list it.
 *
 * Such a client sees the whole screen as one H.264 context: every update is one rectangle
 * (0, 0, screen width, screen height) of encoding 50 carrying u32 length, u32 flags and
 * that many bytes of Annex B access units. A new context (ResetContext, an IDR with SPS
 * and PPS first) starts when the client connects, asks non-incrementally, changes size
 * (then also ResetAllContexts, as the old size's context is dead) or fell behind.
 * Pictures come from shared streams (open_h264_stream.h): clients with the same screen
 * size and quality share one encoder. Clients that take cursor shapes get the cursor as a
 * RichCursor from libvncserver and share a stream without it; clients that list 50 but no
 * cursor encoding share another stream, encoded from the shadow framebuffer with the
 * cursor drawn in (drawn_cursor_overlay). Either way the first picture is an IDR.
 *
 * A frame the encoder cannot take is skipped: the client's damage stays, its request
 * waits unanswered, and the next publish of the frame store (the next capture tick) asks
 * again. A stream that keeps failing moves to x264 (open_h264_stream.h), with a new
 * context for its clients; only when not even x264 works does libvncserver serve them.
 *
 * A client whose stream imports the plane (VPL) is counted in the frame store as a
 * zero-copy client; while all clients are, the capture thread reads no pixels.
 *
 * The path is open_h264_ops (client_encoding.h): it applies to clients that listed
 * encoding 50 once open_h264_init() succeeded.
 *
 * Threads: open_h264_init() and open_h264_shutdown() run on the main thread, before the
 * first client and after the last. The path's send_update runs on a client's output
 * thread inside the screen's displayHook, holding the client's sendMutex, which is what
 * keeps our FramebufferUpdate whole on the wire; it blocks only on the shared stream's
 * lock while another client encodes. Its on_request runs on the client's input thread:
 * it counts non-incremental requests and lets a new request in only after the update in
 * progress.
 */
#ifndef VGPU_OPEN_H264_H
#define VGPU_OPEN_H264_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client_encoding.h"
#include "config.h"
#include "open_h264_stream.h"

/* ResetContext and ResetAllContexts (rfbproto: bits 0 and 1 of flags). */
#define OPEN_H264_RESET_CONTEXT 1u
#define OPEN_H264_RESET_ALL_CONTEXTS 2u

/* FramebufferUpdate header (4 bytes), the rectangle header (12) and the encoding's
 * length and flags (8). */
#define OPEN_H264_HEADER_SIZE 24u

/* How much a stream keeps since its last IDR, and how much a new context may replay. */
#define OPEN_H264_MAX_FRAMES 120u
#define OPEN_H264_MAX_BYTES (8u << 20)
#define OPEN_H264_REPLAY_MAX_BYTES (1u << 20)

/* Choose the H.264 back end once (--encoder; auto = VPL if it works here, else x264) and
 * log which and why. Pictures come from the shadow framebuffer and, for a back end that
 * imports dma-bufs, from frames (the caller's, kept until after open_h264_shutdown()),
 * whose publish hook it takes (retries of failed frames) and whose clients it counts.
 * Call it before the first client. 0 (also for auto when no back end works: H.264 is
 * then off, and said so); -ENODEV when --encoder vpl was asked for and VPL cannot run
 * here, or another negative errno when the back end asked for does not work: err says
 * why, and the server should exit 1. */
struct frame_store;
int open_h264_init(const struct config *cfg, struct frame_store *frames, char *err,
		   size_t err_len);

/* Once the frame store holds the source's first frame, before the first client: a back
 * end that imports (VPL) imports and encodes that frame (pixels, stride: the shadow
 * framebuffer, for one that also reads pixels). If it cannot, auto mode goes on with x264
 * (logged); for --encoder vpl it is an error: a negative errno, err says why, and the
 * server should exit 1. 0 also when there is no plane yet or nothing to try. */
int open_h264_probe(const uint8_t *pixels, size_t stride, char *err, size_t err_len);

/* After the last client: free what open_h264_init() made. */
void open_h264_shutdown(void);

/* The H.264 back end in use ("vpl", "x264"), or "off". Any thread after init. */
const char *open_h264_backend_name(void);

/* The path. Its send_update sends what changed as H.264, or returns false when
 * libvncserver should serve this client instead (no encoder works for it); the request
 * is then left for the library. Its on_request counts
 * non-incremental requests and, for a client that listed encoding 50, registers the
 * request under the client's sendMutex (between updates). */
extern const struct client_encoding_ops open_h264_ops;

/* Write the message header: a FramebufferUpdate with one rectangle (0, 0, w, h) of
 * encoding 50, data length len and flags. Returns OPEN_H264_HEADER_SIZE. */
size_t open_h264_header(uint8_t out[OPEN_H264_HEADER_SIZE], uint16_t width, uint16_t height,
			uint32_t len, uint32_t flags);

/* The quality level for a client's tight quality (-1 or 0..9) and fine JPEG quality (-1
 * or 1..100) pseudo-encodings: the first given, else 6. */
unsigned open_h264_quality(int tight_quality, int turbo_quality);

#endif
