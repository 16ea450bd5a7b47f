/* The RFB security phase, per connection: which security types a client is offered and
 * the VeNCrypt exchange (X509Vnc / X509None) with its TLS handshake.
 *
 * libvncserver 0.9.14 keeps one process-wide list of security types, the same for every
 * listener, and knows no VeNCrypt. So after rfbNewClient() has sent the server's
 * ProtocolVersion, security_run() reads the client's version and does the security phase
 * itself, on the handshake thread, with the types this connection may have:
 *
 *   connection                              offered
 *   ------------------------------------    ---------------------------------------------
 *   inside TLS already (wss://)             VncAuth with a password, None without
 *   TCP with --tls-cert, not loopback       VeNCrypt only (X509Vnc, or X509None)
 *   TCP with --tls-cert, loopback           VeNCrypt first, then VncAuth / None
 *   unix socket, or TCP without TLS         VncAuth / None (as libvncserver would)
 *
 * It leaves the client in RFB_AUTHENTICATION (VNC authentication's challenge was sent;
 * libvncserver checks the answer with screen->passwordCheck) or RFB_INITIALISATION, for
 * auth_handshake_run() to finish. Nothing a client sends before that reaches the VM.
 */
#ifndef VGPU_SECURITY_H
#define VGPU_SECURITY_H

#include <rfb/rfb.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* What kind of connection this is, decided from its listener. */
struct security_link {
	const char *peer;      /* for the log */
	uint64_t deadline_ms;  /* clock_now_ms() clock: the handshake timeout */
	unsigned timeout_s;    /* --handshake-timeout, for the log */
	bool tcp;              /* a TCP listener (TLS applies), not a unix socket */
	bool remote;           /* not loopback: with TLS, nothing unencrypted */
	bool tls_outer;        /* the whole connection is TLS already (wss://) */
};

/* Is the socket (a listening one, or a connected one handed in) TCP, and is the address it
 * is bound to other than loopback (0.0.0.0 and [::] are not loopback)? */
void security_classify(int fd, bool *tcp, bool *remote);

/* The first byte of a connection on a TLS listener, without taking it: true when the
 * client started with a TLS ClientHello (a browser's wss://). An RFB client waits for
 * the server, so nothing within wait_ms means no. */
bool security_peek_tls(int fd, unsigned wait_ms);

/* Run the security phase on cl (handshake thread, client on hold). 0 with cl->state
 * RFB_AUTHENTICATION or RFB_INITIALISATION; otherwise -1 with the client closed
 * (rfbCloseClient) and a log line saying why; the caller then calls
 * rfbClientConnectionGone(). */
int security_run(rfbClientPtr cl, const struct security_link *l);

#endif
