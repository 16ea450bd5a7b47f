/* A minimal RFB 3.8 client that parses everything vgpu-vnc sends and decodes nothing
 * (except what a hook asks for): for load and CPU measurements, where a decoding client
 * would eat the CPU the server needs (32 libvncclient clients decoding JPEG would not fit
 * on two cores).
 *
 * Handshake: security None, ClientInit shared, pixel format 32 bpp / depth 24 / little
 * endian / R,G,B at shifts 16,8,0 (the server's own, so raw is a straight copy), the
 * encodings given, then one non-incremental request; after every FramebufferUpdate it
 * sends the next incremental request at once, as noVNC and libvncclient do, so one
 * request is always outstanding. It understands Raw, Tight (fill, JPEG, basic with any
 * filter), Open H.264 (50), RichCursor, PointerPos, LastRect, DesktopSize and
 * ExtendedDesktopSize, Bell and ServerCutText.
 *
 * One thread per set of probes (rfb_probe_pump polls many).
 */
#ifndef VGPU_BENCH_RFB_PROBE_H
#define VGPU_BENCH_RFB_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFB_ENC_RAW 0
#define RFB_ENC_TIGHT 7
#define RFB_ENC_OPEN_H264 50
#define RFB_ENC_RICH_CURSOR (-239)
#define RFB_ENC_POINTER_POS (-232)
#define RFB_ENC_LAST_RECT (-224)
#define RFB_ENC_DESKTOP_SIZE (-223)
#define RFB_ENC_EXT_DESKTOP_SIZE (-308)
#define RFB_ENC_QUALITY(q) (-32 + (q))   /* JPEG quality level 0..9 */
#define RFB_ENC_COMPRESS(c) (-256 + (c)) /* compression level 0..9 */

struct rfb_probe;

/* Called for each Open H.264 rectangle with its flags and payload (valid during the call). */
typedef void (*rfb_h264_hook)(void *opaque, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
			      uint32_t flags, const uint8_t *data, size_t len);

struct rfb_probe {
	int fd;
	uint16_t width, height;
	bool dead;
	char why[160];
	uint64_t updates;       /* FramebufferUpdates handled */
	uint64_t pixel_rects;   /* rectangles that carried pixels */
	uint64_t bytes;         /* bytes received after the handshake */
	double last_update_s;   /* bench_now_s() when the last update ended */
	double last_ready_s;    /* bench_now_s() when the last message's first bytes were there */
	rfb_h264_hook on_h264;
	void *opaque;
	/* read buffer */
	uint8_t *buf;
	size_t cap, pos, len;
	uint8_t *scratch;       /* for payloads a hook wants whole */
	size_t scratch_cap;
};

/* Connect to 127.0.0.1:port, handshake, ask for the encodings (in order of preference)
 * and the first update. 0, or -1 with the reason in p->why. */
int rfb_probe_connect(struct rfb_probe *p, int port, const int32_t *encodings, size_t n);

/* rfb_probe_connect() in two steps, so that many probes can connect at once: the server
 * waits ~100 ms on every new socket for a WebSocket upgrade before it speaks RFB, and
 * those waits overlap when all sockets are open before the first handshake. */
int rfb_probe_open(struct rfb_probe *p, int port);
int rfb_probe_handshake(struct rfb_probe *p, const int32_t *encodings, size_t n);

void rfb_probe_close(struct rfb_probe *p);

/* Handle whatever arrives on any of the live probes for up to timeout_ms (returns early
 * after the first message when return_early). A message that started is read to its end.
 * The number of FramebufferUpdates handled; -1 if a probe died (see its why). */
int rfb_probe_pump(struct rfb_probe **ps, size_t n, int timeout_ms, bool return_early);

/* Send a PointerEvent. */
bool rfb_probe_pointer(struct rfb_probe *p, uint16_t x, uint16_t y, uint8_t buttons);

#endif
