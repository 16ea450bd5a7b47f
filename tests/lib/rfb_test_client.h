/* The raw RFB test client: every byte is ours to choose, every byte that comes is parsed.
 *
 * libvncclient only speaks correct RFB and decodes everything; the tests and benchmarks
 * also need to send what no client should (truncated messages, absurd lengths, unknown
 * types), to time the server's answer to a wrong password, to read updates at a chosen
 * pace, to see each rectangle's encoding and to hand Open H.264 payloads to a decoder of
 * their own, and to parse a stream without decoding it (a load that leaves the CPU to the
 * server). One client of the test tree does all that: tests/hostile, tests/integration's
 * h264_check, tests/vdi's rfb_probe and the benchmarks in bench/.
 *
 * RFB 3.8: security None or VNC authentication (libvncserver's rfbEncryptBytes), ClientInit
 * shared. Server messages: FramebufferUpdate with Raw (into `fb`, bytes B,G,R,X: the
 * server's own pixel format, asked for with rr_set_pixel_format or left as the server's
 * default), Tight (parsed, not decoded, when the client asked for it), Open H.264 (to
 * on_h264, or skipped), RichCursor, XCursor, PointerPos, LastRect, DesktopSize,
 * ExtendedDesktopSize; SetColourMapEntries, Bell, ServerCutText. Any other encoding fails
 * the client (with a message on stderr). One thread per client; nothing is shared.
 */
#ifndef VGPU_TESTS_RFB_TEST_CLIENT_H
#define VGPU_TESTS_RFB_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFB_ENC_RAW 0
#define RFB_ENC_TIGHT 7
#define RFB_ENC_ZRLE 16
#define RFB_ENC_OPEN_H264 50
#define RFB_ENC_RICH_CURSOR (-239)
#define RFB_ENC_XCURSOR (-240)
#define RFB_ENC_POINTER_POS (-232)
#define RFB_ENC_LAST_RECT (-224)
#define RFB_ENC_DESKTOP_SIZE (-223)
#define RFB_ENC_EXT_DESKTOP_SIZE (-308)
#define RFB_ENC_QUALITY(q) (-32 + (q))   /* JPEG quality level 0..9 */
#define RFB_ENC_COMPRESS(c) (-256 + (c)) /* compression level 0..9 */

struct rr;

/* An Open H.264 rectangle: its flags and payload (valid during the call). False fails the
 * client (say why with rr_fail). */
typedef bool (*rr_h264_hook)(struct rr *c, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
			     uint32_t flags, const uint8_t *data, size_t len);
/* A DesktopSize or ExtendedDesktopSize rectangle (after fb has the new size). */
typedef void (*rr_size_hook)(struct rr *c, uint16_t w, uint16_t h);

/* A rectangle of the last FramebufferUpdate read. */
struct rr_rect {
	uint16_t x, y, w, h;
	int32_t encoding;
};
#define RR_LAST_RECTS 16

struct rr {
	int fd;
	const char *label;       /* for messages */
	uint16_t width, height;  /* from ServerInit, then DesktopSize */
	char name[256];          /* the desktop name from ServerInit (cut to fit) */
	uint8_t *fb;             /* width * height * 4, bytes B,G,R,X; NULL before init and
				  * with parse_only */

	/* Settings (zero: off), before rr_handshake. */
	bool parse_only;         /* keep no framebuffer: raw pixels are read and dropped */
	bool auto_request;       /* after each update, ask for the next (incremental, whole
				  * screen), as noVNC and libvncclient do */
	bool read_ahead;         /* read what the socket has into a buffer (fewer system
				  * calls, for many clients); then do not read c->fd yourself */
	double io_timeout_s;     /* the rest of a message once it began; 0: 20 s */
	rr_h264_hook on_h264;    /* NULL: H.264 payloads are skipped */
	rr_size_hook on_size;
	void *opaque;            /* for the hooks */

	/* What happened. */
	bool dead;               /* a protocol error or a failed read: why says which */
	char why[256];
	bool refused;            /* the handshake ended in the server's no (no security types,
				  * a failed security result, not the type asked for); why
				  * has the server's reason */
	unsigned updates;        /* FramebufferUpdate messages read */
	unsigned pixel_rects;    /* rectangles with pixels: raw, Tight, H.264 */
	unsigned raw_rects, tight_rects, h264_rects, other_rects, cursor_shapes;
	uint64_t bytes_read;
	double auth_answer_s;    /* seconds from sending the VNC auth response to its result */
	double last_update_s;    /* rr_now_s() when the last update ended */
	double last_ready_s;     /* rr_now_s() when rr_pump found the last message's first bytes */
	/* The last FramebufferUpdate's rectangle count and its first RR_LAST_RECTS. */
	unsigned last_n_rects;
	struct rr_rect last_rects[RR_LAST_RECTS];

	/* Private. */
	bool asked_tight;
	uint8_t *buf;
	size_t cap, pos, len;
	uint8_t *scratch;
	size_t scratch_cap;
};

/* Result of rr_handshake. */
enum rr_result {
	RR_OK = 0,
	RR_AUTH_FAILED = 1,  /* the server said the password is wrong */
	RR_REFUSED = 2,      /* the server closed the connection or refused during handshake */
	RR_ERROR = 3,        /* connect failed, protocol error, timeout */
};

/* Monotonic clock in seconds. */
double rr_now_s(void);

/* TCP connect to host:port (an IPv4 address), or to the unix socket at host if port is 0.
 * Clears *c first (settings too). 0, or -1 with err. */
int rr_connect(struct rr *c, const char *label, const char *host, int port, char *err,
	       size_t err_len);
/* Take a connected socket (clears *c first). */
void rr_attach(struct rr *c, const char *label, int fd);
/* RFB 3.8 handshake up to ServerInit; password NULL = expect security type None. With
 * sec_types non-NULL the offered security types are copied there (up to 8, 0-ended). */
enum rr_result rr_handshake(struct rr *c, const char *password, uint8_t sec_types[9],
			    char *err, size_t err_len);
/* After the handshake: SetPixelFormat (rr_set_pixel_format), SetEncodings, a request for
 * the whole screen, and auto_request on: what a viewer does. */
bool rr_start(struct rr *c, const int32_t *encodings, unsigned n);
void rr_close(struct rr *c);

/* Say why the client failed (once; also on stderr unless quiet) and mark it dead. False. */
bool rr_fail(struct rr *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool rr_send(struct rr *c, const void *buf, size_t len);
/* 0, -1 (closed or error), -2 (timeout). */
int rr_read_exact(struct rr *c, void *buf, size_t len, double timeout_s);

/* SetPixelFormat: 32 bpp, depth 24, little endian, true colour, red at 16, green at 8, blue
 * at 0: bytes B,G,R,X, the server's own. */
bool rr_set_pixel_format(struct rr *c);
bool rr_set_encodings(struct rr *c, const int32_t *encodings, unsigned n);
bool rr_request(struct rr *c, bool incremental, uint16_t x, uint16_t y, uint16_t w,
		uint16_t h);
bool rr_pointer(struct rr *c, uint16_t x, uint16_t y, uint8_t buttons);
/* Read one server message; a FramebufferUpdate is applied to fb. 1 if it was an update,
 * 0 for another message, -1 closed/error, -2 timeout (before the message began). */
int rr_read_message(struct rr *c, double timeout_s);
/* Read whatever arrives on the live clients for up to `seconds` (returns early after the
 * first update when return_early): the number of updates read, or -1 if a client died
 * (see its why). */
int rr_pump(struct rr **cs, size_t n, double seconds, bool return_early);
/* True if the server closes the connection within timeout_s (reading and dropping what
 * it sends until then). */
bool rr_wait_closed(struct rr *c, double timeout_s);
/* The framebuffer as packed R,G,B bytes (width * height * 3; the caller frees), or NULL. */
uint8_t *rr_rgb(const struct rr *c);

#endif
