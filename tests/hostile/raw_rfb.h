/* A raw RFB client for the hostile tests: every byte is ours to choose.
 *
 * libvncclient only speaks correct RFB; these tests also need to send what no client
 * should (truncated messages, absurd lengths, unknown types), to time the server's answer
 * to a wrong password to the millisecond, and to read updates at a chosen pace. The
 * client asks for the server's own pixel format (32 bpp, bytes B,G,R,X), so raw rectangles
 * copy straight into `fb`. One thread per connection; nothing is shared.
 */
#ifndef HOSTILE_RAW_RFB_H
#define HOSTILE_RAW_RFB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reference.h"

#define RFB_ENC_RAW 0
#define RFB_ENC_OPEN_H264 50
#define RFB_ENC_RICH_CURSOR (-239)
#define RFB_ENC_DESKTOP_SIZE (-223)

/* A rectangle of the last FramebufferUpdate read. */
struct rr_rect {
	uint16_t x, y, w, h;
	int32_t encoding;
};
#define RR_LAST_RECTS 16

struct rr {
	int fd;
	const char *label;
	uint16_t width, height;  /* from ServerInit, then DesktopSize */
	uint8_t *fb;             /* width * height * 4, bytes B,G,R,X; NULL before init */
	unsigned updates;        /* FramebufferUpdate messages read */
	unsigned raw_rects, h264_rects, other_rects, cursor_shapes;
	uint64_t bytes_read;
	double auth_answer_s;    /* seconds from sending the VNC auth response to its result */
	/* The last FramebufferUpdate's rectangle count and its first RR_LAST_RECTS. */
	unsigned last_n_rects;
	struct rr_rect last_rects[RR_LAST_RECTS];
};

/* Result of rr_handshake. */
enum rr_result {
	RR_OK = 0,
	RR_AUTH_FAILED = 1,  /* the server said the password is wrong */
	RR_REFUSED = 2,      /* the server closed the connection or refused during handshake */
	RR_ERROR = 3,        /* connect failed, protocol error, timeout */
};

/* TCP connect to 127.0.0.1:port (or a unix socket path if port is 0). 0 or -1 with err. */
int rr_connect(struct rr *c, const char *label, const char *host, int port, char *err,
	       size_t err_len);
/* RFB 3.8 handshake up to ServerInit; password NULL = expect security type None. With
 * sec_types non-NULL the offered security types are copied there (up to 8, 0-ended). */
enum rr_result rr_handshake(struct rr *c, const char *password, uint8_t sec_types[9],
			    char *err, size_t err_len);
void rr_close(struct rr *c);

bool rr_send(struct rr *c, const void *buf, size_t len);
/* 0, -1 (closed or error), -2 (timeout). */
int rr_read_exact(struct rr *c, void *buf, size_t len, double timeout_s);

bool rr_set_encodings(struct rr *c, const int32_t *encodings, unsigned n);
bool rr_request(struct rr *c, bool incremental, uint16_t x, uint16_t y, uint16_t w,
		uint16_t h);
/* Read one server message; a FramebufferUpdate is applied to fb. 1 if it was an update,
 * 0 for another message, -1 closed/error, -2 timeout. */
int rr_read_message(struct rr *c, double timeout_s);
/* True if the server closes the connection within timeout_s (reading and dropping what
 * it sends until then). */
bool rr_wait_closed(struct rr *c, double timeout_s);
/* The framebuffer as a packed RGB frame (caller frees). */
int rr_snapshot(const struct rr *c, struct ref_frame *out);

#endif
