/* A libvncclient client with bookkeeping for the checks.
 *
 * Each struct vc wraps one rfbClient and records what arrived: updates, pixel rectangles,
 * size changes, the cursor shape. vc_pump() drives any number of clients from one thread
 * (poll on their sockets); libvncclient asks for the next incremental update by itself
 * after each one it handled.
 */
#ifndef VNC_CHECK_VNC_CLIENT_H
#define VNC_CHECK_VNC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rfb/rfbclient.h>

#include "reference.h"

struct vc_opts {
	const char *encodings; /* libvncclient's encodingsString, e.g. "tight copyrect" */
	int compress;          /* compression level 0..9 */
	int quality;           /* -1: no JPEG (no quality pseudo-encoding); 0..9: JPEG */
	bool remote_cursor;    /* ask for cursor shapes (RichCursor) */
	const char *password;  /* answer to VNC authentication, or NULL */
};

#define VC_MAX_SIZES 16

struct vc {
	const char *label;       /* for messages: "client", "client A", ... */
	const char *password;    /* from vc_opts */
	rfbClient *cl;
	double connected_at;     /* now_s() after the handshake */
	double last_update;      /* now_s() after the last FramebufferUpdate */
	unsigned updates;        /* FramebufferUpdate messages handled */
	unsigned pixel_rects;    /* rectangles that carried pixels */
	unsigned n_sizes;        /* framebuffer sizes seen, in order (first = initial) */
	int sizes[VC_MAX_SIZES][2];
	unsigned cursor_shapes;  /* cursor shape updates */
	int cur_w, cur_h, cur_xhot, cur_yhot;
	uint8_t *cur_px;         /* cur_w*cur_h pixels in the client's format */
	uint8_t *cur_mask;       /* cur_w*cur_h bytes, 1 = opaque */
	bool dead;               /* the connection failed */
};

/* Connect to 127.0.0.1:port and do the handshake; on failure c->cl is NULL and err says
 * why. (tests/kernel uses this file too: keep the interface.) */
int vc_connect(struct vc *c, const char *label, int port, const struct vc_opts *o, char *err,
	       size_t err_len);

/* The same to host: an address ("::1") or a unix socket's path (then port is unused). */
int vc_connect_to(struct vc *c, const char *label, const char *host, int port,
		  const struct vc_opts *o, char *err, size_t err_len);

/* Disconnect and free everything. Safe on a client that failed to connect. */
void vc_close(struct vc *c);

/* Handle messages for all live clients for `seconds`. -1 if a connection failed. */
int vc_pump(struct vc **cs, size_t n, double seconds);

/* R, G, B of a pixel of the client's framebuffer / cursor shape (client's pixel format). */
void vc_fb_rgb(const struct vc *c, int x, int y, uint8_t rgb[3]);
void vc_cursor_rgb(const struct vc *c, int x, int y, uint8_t rgb[3]);

/* The client framebuffer as a packed RGB frame (caller frees with ref_frame_free). */
int vc_snapshot(const struct vc *c, struct ref_frame *out);

/* Send a pointer / key event (and remember nothing: the caller keeps the script). */
bool vc_send(struct vc *c, const struct ref_event *e);

#endif
