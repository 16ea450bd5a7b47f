/* The first bytes of a connection, looked at before libvncserver sees them.
 *
 * libvncserver 0.9.14 (websockets.c) takes a connection whose first 4 bytes are "GET "
 * for a WebSocket and reads the HTTP request itself, up to 4095 bytes: every "GET " line
 * in it is strdup'ed into cl->wspath, the copy before it lost (some 250 lost strings a
 * connection, before any password), and a client that sends fewer than 4 bytes makes its
 * peek loop spin. So the handshake thread calls ws_guard_check() first: it peeks
 * (MSG_PEEK, nothing is consumed) and lets an HTTP request through only when the whole
 * header block is there, within libvncserver's 4095 bytes, with exactly one request
 * line; anything else that starts like "GET " is refused with the reason, and so is a
 * connection whose first message stops before 4 bytes.
 *
 * A client that sends nothing within WS_GUARD_FIRST_MS is an RFB client waiting for the
 * server's version (WS_GUARD_PLAIN). libvncserver then waits as long again for a "GET ";
 * a WebSocket that starts in that second window was not checked here: the caller cuts it
 * off before libvncserver reads its request (vnc_server_liblog.c, cut_unchecked_websocket).
 *
 * Threads: the handshake thread of the connection; no state.
 */
#ifndef VGPU_WS_GUARD_H
#define VGPU_WS_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* libvncserver's own wait for the first 4 bytes (WEBSOCKETS_CLIENT_CONNECT_WAIT_MS). */
#define WS_GUARD_FIRST_MS 100
/* libvncserver reads at most this much of the request (WEBSOCKETS_MAX_HANDSHAKE_LEN - 1). */
#define WS_GUARD_MAX_HEADER 4095u

enum ws_guard_result {
	WS_GUARD_PLAIN,      /* not HTTP (RFB, TLS, nothing yet): libvncserver decides */
	WS_GUARD_HTTP,       /* one complete, bounded HTTP request: libvncserver may read it */
	/* Close the connection; why says why. One value per kind of refusal, so that each
	 * kind gets its own rate-limited log line. */
	WS_GUARD_GET_LINES,  /* more than one request line */
	WS_GUARD_TOO_LONG,   /* no end of the header within WS_GUARD_MAX_HEADER */
	WS_GUARD_BAD_BYTE,   /* a control byte (NUL, ...) in the header */
	WS_GUARD_INCOMPLETE, /* the header stopped (peer shut its side, or the deadline) */
	WS_GUARD_CLOSED,     /* the peer went away, or a socket error */
	WS_GUARD_N_RESULTS
};

/* Look at the first bytes on fd (a connected stream socket) until deadline_ms
 * (clock_now_ms() clock) at the latest. */
enum ws_guard_result ws_guard_check(int fd, uint64_t deadline_ms, char *why, size_t why_len);

/* The request header in buf[0..n) (which starts with "GET "), split into lines the way
 * libvncserver does: WS_GUARD_HTTP if it is complete and acceptable (*header_len set),
 * WS_GUARD_INCOMPLETE if more bytes are needed, or the refusal (why says why). */
enum ws_guard_result ws_guard_header(const char *buf, size_t n, size_t *header_len, char *why, size_t why_len);

#endif
